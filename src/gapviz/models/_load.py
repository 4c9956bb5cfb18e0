"""Loading model files (.keras, .h5 from Keras 3 or tf.keras, SavedModel folders) safely.

Every load is ``compile=False``: gapviz only runs forward passes. Which loader read a file, and
why another one could not, is recorded in a :class:`ModelSource` kept beside the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gapviz._errors import GapvizError
from gapviz.models._frameworks import KERAS, TF_KERAS, framework_of, is_model

_SOURCES: weakref.WeakKeyDictionary[Any, ModelSource] = weakref.WeakKeyDictionary()

_LAMBDA_CLASSES = {"Lambda", "__lambda__"}  # a Lambda layer; a Python lambda serialised by Keras 3
_H5_SUFFIXES = (".h5", ".hdf5")
_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
_UNSAFE_HINT = "gapviz.load_model(path, safe_mode=False) or, on the command line, --unsafe-load"
_RESAVE_HINT = (
    "re-save it from the Python code that built it with model.save('model.keras') (Keras 3) "
    "or model.save('model.h5') (tf.keras)"
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model came from and how it was read.

    Attributes
    ----------
    path : str or None
        The file or folder it was loaded from (None for an in-memory model).
    sha256 : str or None
        SHA-256 of the file; for a SavedModel folder, of ``saved_model.pb`` and the files under
        ``variables/`` (relative names included), in sorted order.
    loader : str
        ``"keras"`` (Keras 3), ``"tf_keras"`` (Keras 2) or ``"in-memory"``.
    format : str
        ``"keras"``, ``"h5"``, ``"savedmodel"`` or ``"in-memory"``.
    framework : str
        The Keras the model object belongs to: ``"keras"`` or ``"tf_keras"``.
    notes : tuple of str
        What else was tried first and why it failed (a fallback is never silent).

    Examples
    --------
    >>> import gapviz
    >>> from gapviz.models import load_model, model_source
    >>> source = model_source(load_model(gapviz.demo_model()))
    >>> source
    ModelSource('.../demo_model.keras', loader='keras', format='keras')
    >>> source.framework, len(source.sha256), source.notes
    ('keras', 64, ())
    >>> sorted(source.to_dict())
    ['format', 'framework', 'loader', 'notes', 'path', 'sha256']
    """

    path: str | None
    sha256: str | None
    loader: str
    format: str
    framework: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out

    def __repr__(self) -> str:
        where = self.path if self.path is not None else "in memory"
        return f"ModelSource({where!r}, loader={self.loader!r}, format={self.format!r})"


def model_source(model: Any) -> ModelSource:
    """Where a model came from: the file, its hash, the loader and the format.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
        A model returned by :func:`load_model`, or any in-memory model.

    Returns
    -------
    ModelSource
        For a model that :func:`load_model` did not read from a file, ``loader`` and ``format``
        are ``"in-memory"``.

    Examples
    --------
    >>> import keras
    >>> from gapviz.models import load_model, model_source
    >>> model = load_model(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)]))
    >>> model_source(model).loader
    'in-memory'
    """
    if not is_model(model):
        raise GapvizError(
            f"model_source() needs a keras or tf_keras Model, got {type(model).__name__}; "
            "load a file with gapviz.load_model(path) first"
        )
    found = _SOURCES.get(model)
    if found is not None:
        return found
    return ModelSource(None, None, "in-memory", "in-memory", framework_of(model) or KERAS)


def load_model(path_or_model: Any, *, safe_mode: bool = True) -> Any:
    """Load a Keras model for tapping, from a file, a SavedModel folder or memory.

    Files are read with Keras 3 first; a tf.keras (Keras 2) file that Keras 3 cannot read is read
    with ``tf_keras`` instead, and :func:`model_source` records which loader succeeded and why the
    other failed. Models are always loaded with ``compile=False``.

    Parameters
    ----------
    path_or_model : str, os.PathLike, keras.Model or tf_keras.Model
        A ``.keras`` file, an ``.h5`` file written by Keras 3 or by tf.keras, a SavedModel folder
        written by tf.keras ``model.save(folder)``, or a model already in memory (returned as is).
    safe_mode : bool, default True
        Refuse models that carry Python code (``Lambda`` layers, serialised lambdas), which would
        run on load. The file's config is inspected before anything is deserialised, for every
        format. Pass False only for files you trust.

    Returns
    -------
    keras.Model or tf_keras.Model

    Raises
    ------
    GapvizError
        The path is missing, a folder holds no model, the file is truncated or corrupt, an
        ``.h5`` holds only weights, a SavedModel cannot be rebuilt into layers, the model holds a
        Lambda layer while ``safe_mode`` is on, or no loader could read it (each loader's reason
        is listed).

    Examples
    --------
    >>> import keras
    >>> from gapviz.models import load_model, model_source
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    >>> model.save("/tmp/gapviz_example.keras")
    >>> loaded = load_model("/tmp/gapviz_example.keras")
    >>> model_source(loaded).loader, model_source(loaded).format
    ('keras', 'keras')
    """
    if is_model(path_or_model):
        if path_or_model not in _SOURCES:
            _SOURCES[path_or_model] = model_source(path_or_model)
        return path_or_model
    if framework_of(path_or_model) is not None:
        raise GapvizError(
            f"load_model() needs a model, got the layer {path_or_model.name!r} "
            f"({type(path_or_model).__name__}); wrap it in keras.Model(inputs, outputs)"
        )
    if not isinstance(path_or_model, (str, os.PathLike)):
        raise GapvizError(
            "model must be a path (.keras, .h5, SavedModel folder) or a keras/tf_keras Model, "
            f"got {type(path_or_model).__name__}"
        )
    path = Path(os.fspath(path_or_model)).expanduser()
    if not path.exists():
        raise GapvizError(
            f"model not found: {str(path)!r} does not exist; give a .keras or .h5 file or a SavedModel folder"
        )
    if path.is_dir():
        model, source = _load_dir(path, safe_mode)
    else:
        model, source = _load_file(path, safe_mode)
    _SOURCES[model] = source
    return model


# -- files -------------------------------------------------------------------------------------------


def _load_file(path: Path, safe_mode: bool) -> tuple[Any, ModelSource]:
    size = path.stat().st_size
    if size == 0:
        raise GapvizError(f"model file {str(path)!r} is empty (0 bytes); it was probably not written completely")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if zipfile.is_zipfile(path):
        return _load_keras_zip(path, safe_mode)
    if head.startswith(b"PK"):
        raise GapvizError(
            f"model file {str(path)!r} starts like a .keras (zip) archive but its zip directory cannot be "
            "read: the file is truncated or corrupt; copy or save it again"
        )
    import h5py

    if h5py.is_hdf5(str(path)):
        return _load_h5(path, safe_mode)
    raise GapvizError(
        f"model file {str(path)!r} is neither a .keras archive (zip) nor an HDF5 .h5 file "
        f"(it starts with {head!r}, {size} bytes): tried both; it is corrupt, truncated, or another format"
    )


def _load_keras_zip(path: Path, safe_mode: bool) -> tuple[Any, ModelSource]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise GapvizError(
                    f"{str(path)!r} is a zip archive but not a .keras model (no config.json inside; "
                    f"it holds {', '.join(sorted(names)[:5]) or 'nothing'})"
                )
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:  # ValueError covers bad JSON
        raise GapvizError(
            f"model file {str(path)!r} could not be read as a .keras archive ({_reason(exc)}): it is "
            "truncated or corrupt; copy or save it again"
        ) from exc
    if safe_mode:
        _refuse_lambdas(_find_lambdas(config), path)
    model, loader, notes = _try_loaders(path, safe_mode, "keras")
    return model, ModelSource(str(path), _sha256_file(path), loader, "keras", framework_of(model) or loader, notes)


def _load_h5(path: Path, safe_mode: bool) -> tuple[Any, ModelSource]:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
            top_keys = sorted(h5.keys())
            attr_keys = sorted(h5.attrs.keys())
    except OSError as exc:
        raise GapvizError(
            f"model file {str(path)!r} could not be opened as HDF5 ({_reason(exc)}): it is truncated or "
            "corrupt; copy or save it again"
        ) from exc
    if raw is None:
        # tf.keras save_weights() writes a 'layer_names' attribute; Keras 3 writes 'layers' and 'vars'
        if "layer_names" in attr_keys or {"layers", "vars"} <= set(top_keys):
            what = "only weights (it was written by model.save_weights())"
        else:
            listed = ", ".join(top_keys[:5]) or "nothing"
            what = f"no Keras model (its top level holds {listed})"
        raise GapvizError(
            f"{str(path)!r} holds {what}: there is no 'model_config' attribute, so the architecture is "
            "unknown. Build the model in Python and call model.load_weights(path), then pass the model "
            "object, or save the whole model with model.save('model.keras')"
        )
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise GapvizError(f"{str(path)!r} has an unreadable 'model_config' attribute ({_reason(exc)})") from exc
    if safe_mode:
        _refuse_lambdas(_find_lambdas(config), path)
    if path.suffix.lower() not in _H5_SUFFIXES:
        raise GapvizError(
            f"{str(path)!r} is an HDF5 model file but its name does not end in .h5; Keras only reads "
            "HDF5 models by that suffix, so rename or copy it to a name ending in .h5"
        )
    model, loader, notes = _try_loaders(path, safe_mode, "h5")
    return model, ModelSource(str(path), _sha256_file(path), loader, "h5", framework_of(model) or loader, notes)


def _try_loaders(path: Path, safe_mode: bool, fmt: str) -> tuple[Any, str, tuple[str, ...]]:
    """Keras 3 first, then tf_keras; every failure is kept and reported."""
    failures: list[str] = []
    for loader in (KERAS, TF_KERAS):
        try:
            if loader == KERAS:
                import keras

                model = keras.models.load_model(str(path), compile=False, safe_mode=safe_mode)
            else:
                import tf_keras

                model = tf_keras.models.load_model(str(path), compile=False, safe_mode=safe_mode)
        except Exception as exc:  # a loader's own errors are many and undocumented: report each
            failures.append(f"{_LOADER_NAMES[loader]} declined it first ({_reason(exc)})")
            continue
        if not is_model(model):
            failures.append(f"{_LOADER_NAMES[loader]} returned a {type(model).__name__}, not a model")
            continue
        # a tf.keras file read by tf_keras is the normal path, not a failure: say what happened first
        notes = tuple(
            f"loaded with {_LOADER_NAMES[loader]}, as files written by tf.keras are; {failure}" for failure in failures
        )
        return model, loader, notes
    raise GapvizError(
        f"could not load the {fmt} model {str(path)!r}: "
        + "; ".join(f.replace(" declined it first (", " could not read it (") for f in failures)
        + ". If the file was written with custom layers, load it in Python with their code and pass the model object"
    )


_LOADER_NAMES = {KERAS: "Keras 3 (keras)", TF_KERAS: "Keras 2 (tf_keras)"}


# -- folders -----------------------------------------------------------------------------------------


def _load_dir(path: Path, safe_mode: bool) -> tuple[Any, ModelSource]:
    if (path / "saved_model.pb").is_file():
        return _load_savedmodel(path, safe_mode)
    inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _MODEL_SUFFIXES)
    hint = f"; it contains {', '.join(inside[:5])}: pass one of those files" if inside else ""
    raise GapvizError(
        f"folder {str(path)!r} holds no model: tried it as a SavedModel folder but there is no "
        f"saved_model.pb{hint}"
    )


def _load_savedmodel(path: Path, safe_mode: bool) -> tuple[Any, ModelSource]:
    meta_path = path / "keras_metadata.pb"
    if not meta_path.is_file():
        raise GapvizError(
            f"SavedModel {str(path)!r} cannot be tapped: it has no keras_metadata.pb, so it was written by "
            "tf.saved_model.save() or Keras 3 model.export(), which keep only the inference function and "
            f"not the layers. To tap it, {_RESAVE_HINT}"
        )
    if safe_mode:
        _refuse_lambdas(_savedmodel_lambdas(meta_path), path)
    import tf_keras

    # Keras 3 cannot load SavedModel folders at all (only as an opaque TFSMLayer), so tf_keras it is.
    try:
        model = tf_keras.models.load_model(str(path), compile=False)
    except Exception as exc:
        raise GapvizError(
            f"SavedModel {str(path)!r} could not be rebuilt into layers by Keras 2 (tf_keras) ({_reason(exc)}); "
            f"Keras 3 cannot read SavedModel folders. To tap it, {_RESAVE_HINT}"
        ) from exc
    if not is_model(model) or not getattr(model, "layers", None):
        raise GapvizError(
            f"SavedModel {str(path)!r} loads only as an inference function ({type(model).__name__}) without "
            f"layers, so it cannot be tapped. To tap it, {_RESAVE_HINT}"
        )
    return model, ModelSource(str(path), _sha256_savedmodel(path), TF_KERAS, "savedmodel", TF_KERAS)


def _savedmodel_lambdas(meta_path: Path) -> list[str]:
    from tf_keras.protobuf import saved_metadata_pb2

    meta = saved_metadata_pb2.SavedMetadata()
    try:
        meta.ParseFromString(meta_path.read_bytes())
    except Exception as exc:
        raise GapvizError(f"{str(meta_path)!r} is corrupt ({_reason(exc)}); save the model again") from exc
    found: list[str] = []
    for node in meta.nodes:
        try:
            found.extend(_find_lambdas(json.loads(node.metadata)))
        except ValueError:
            continue
    return sorted(set(found))


# -- safety ------------------------------------------------------------------------------------------


def _find_lambdas(config: Any, owner: str | None = None) -> list[str]:
    """Names of Lambda layers (and layers holding serialised lambdas) anywhere in a model config."""
    found: list[str] = []
    if isinstance(config, dict):
        inner = config.get("config")
        name = config.get("name") or (inner.get("name") if isinstance(inner, dict) else None) or owner
        if config.get("class_name") in _LAMBDA_CLASSES:
            found.append(str(name or "<unnamed>"))
        for value in config.values():
            found.extend(_find_lambdas(value, name if isinstance(name, str) else owner))
    elif isinstance(config, list):
        for value in config:
            found.extend(_find_lambdas(value, owner))
    return found


def _refuse_lambdas(names: list[str], path: Path) -> None:
    if not names:
        return
    listed = ", ".join(repr(n) for n in sorted(set(names)))
    raise GapvizError(
        f"refusing to load {str(path)!r}: it holds Lambda layer(s) {listed}, i.e. Python code that would "
        "run while loading (a risk of arbitrary code execution). If you trust the file, use "
        f"{_UNSAFE_HINT}"
    )


# -- hashing -----------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_savedmodel(path: Path) -> str:
    files = [path / "saved_model.pb"]
    variables = path / "variables"
    if variables.is_dir():
        files += sorted(p for p in variables.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    """The first line of an exception, short enough for a one-line error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
