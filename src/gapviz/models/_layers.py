"""The layer tree of a model: listing, name resolution, presets from the case study."""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gapviz._errors import GapvizError
from gapviz.models._capture import capture_outputs
from gapviz.models._frameworks import (
    children,
    declared_input_shape,
    graph_of,
    is_model,
    symbolic_output_shape,
)

#: Tap layers of the case study, per architecture (bare layer names, shallow to deep).
PRESETS: dict[str, list[str]] = {
    "vgg16": ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"],
    "mobilenetv2": [
        "Conv1",
        "block_1_project",
        "block_2_project",
        "block_3_project",
        "block_4_project",
        "block_5_project",
    ],
    "resnet50": [
        "conv1_conv",
        "conv2_block3_3_conv",
        "conv3_block4_3_conv",
        "conv4_block6_3_conv",
        "conv5_block3_3_conv",
    ],
    "resnet50v2": [
        "conv1_conv",
        "conv2_block3_3_conv",
        "conv3_block4_3_conv",
        "conv4_block6_3_conv",
        "conv5_block3_3_conv",
    ],
}

#: display names of the presets' architectures (the result's ``model["architecture"]``)
PRESET_NAMES: dict[str, str] = {"vgg16": "VGG16", "mobilenetv2": "MobileNetV2", "resnet50": "ResNet50",
                                "resnet50v2": "ResNet50V2"}  # fmt: skip


def architecture(model: Any, preset: str | None) -> str:
    """A model's architecture as the result names it: the preset's display name, else class and name.

    Examples
    --------
    >>> architecture(None, "resnet50")
    'ResNet50'
    >>> architecture(object(), None)
    'object'
    """
    if preset in PRESET_NAMES:
        return PRESET_NAMES[preset]
    return f"{type(model).__name__} {getattr(model, 'name', '')}".strip()


# Layers that tell apart architectures sharing preset names: (must exist, must not exist).
# VGG19 has block3_conv4; ResNet101/152 have conv4_block7; ResNet50V2 has post_bn, ResNet50 has not.
_SIGNATURES: dict[str, tuple[set[str], set[str]]] = {
    "vgg16": ({"block5_conv3"}, {"block3_conv4", "block5_conv4"}),
    "mobilenetv2": ({"block_16_project", "Conv_1"}, set()),
    "resnet50v2": ({"post_bn", "conv2_block1_preact_bn"}, {"conv4_block7_3_conv"}),
    "resnet50": ({"conv1_bn"}, {"conv4_block7_3_conv", "post_bn"}),
}


# model -> (input size probed, {id(layer): output shape}) for subclassed models
_PROBED: weakref.WeakKeyDictionary[Any, tuple[tuple, dict[int, tuple]]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a model, as :func:`list_layers` reports it.

    Attributes
    ----------
    path : str
        Where the layer sits: names of the nested models joined by ``/``, e.g.
        ``"resnet50v2/conv1_conv"``. Pass it (or the bare name, when unique) to :func:`tap`.
    name : str
        The layer's own name.
    class_name : str
        Its Python class, e.g. ``"Conv2D"``.
    output_shape : tuple or None
        Batch-first output shape (``None`` for unknown sizes); None when it cannot be known without
        running the model (a subclassed model never built).
    depth : int
        Position in the depth-first listing (a nested model comes just before its own layers).
    preset : bool
        Whether :func:`tap` taps it when no layers are given.

    Examples
    --------
    >>> import gapviz
    >>> from gapviz.models import list_layers, load_model
    >>> info = list_layers(load_model(gapviz.demo_model()))
    >>> info[1]
    LayerInfo('Conv1', Conv2D, (None, 48, 48, 16))
    >>> info[1].output_shape, info[1].preset
    ((None, 48, 48, 16), True)
    >>> info[1].to_dict()
    {'path': 'Conv1', 'name': 'Conv1', 'class_name': 'Conv2D', 'output_shape': [None, 48, 48, 16],
     'depth': 1, 'preset': True}
    """

    path: str
    name: str
    class_name: str
    output_shape: tuple | None
    depth: int
    preset: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (shapes as lists)."""
        return {
            "path": self.path,
            "name": self.name,
            "class_name": self.class_name,
            "output_shape": _shape_to_json(self.output_shape),
            "depth": self.depth,
            "preset": self.preset,
        }

    def __repr__(self) -> str:
        return f"LayerInfo({self.path!r}, {self.class_name}, {self.output_shape})"


@dataclass
class _Node:
    path: str
    layer: Any
    parents: tuple[Any, ...]  # containers from the outer model down to the direct parent
    depth: int
    shape: tuple | None = None
    bare: str = field(init=False)

    def __post_init__(self) -> None:
        self.bare = self.path.rsplit("/", 1)[-1]


def _check_model(model: Any) -> None:
    if not is_model(model):
        raise GapvizError(
            f"expected a keras or tf_keras Model, got {type(model).__name__}; "
            "load a file with gapviz.load_model(path) first"
        )


def walk(model: Any) -> list[_Node]:
    """Every layer under ``model``, depth first, nested models and custom layers' sublayers included."""
    _check_model(model)
    nodes: list[_Node] = []
    seen: set[int] = {id(model)}

    def visit(container: Any, prefix: str, parents: tuple[Any, ...]) -> None:
        for layer in children(container):
            if id(layer) in seen:  # a layer shared between two places is listed once
                continue
            seen.add(id(layer))
            path = f"{prefix}{layer.name}"
            nodes.append(_Node(path, layer, parents, len(nodes), symbolic_output_shape(layer)))
            visit(layer, f"{path}/", (*parents, layer))

    visit(model, "", (model,))
    if any(n.shape is None for n in nodes) and graph_of(model) is None:
        _probe_shapes(model, nodes)
    return nodes


def _probe_shapes(model: Any, nodes: list[_Node]) -> None:
    """Fill in output shapes of a subclassed model from one zero batch through captured calls.

    The batch has the size the model was built with; the result is cached per model and input
    size, so listing, resolving and tapping the same model probe it once.
    """
    shape = declared_input_shape(model)
    if shape is None or any(d is None for d in shape[1:]) or not getattr(model, "built", False):
        return
    cached = _PROBED.get(model)
    if cached is None or cached[0] != shape[1:]:
        import numpy as np


        layers = [n.layer for n in nodes if n.shape is None]
        zeros = np.zeros((1, *shape[1:]), dtype="float32")
        outputs = capture_outputs(model, layers, zeros, allow_repeat=True)
        found = {key: (None, *(int(d) for d in out.shape[1:])) for key, out in outputs.items() if hasattr(out, "shape")}
        cached = (shape[1:], found)
        _PROBED[model] = cached
    for node in nodes:
        if node.shape is None:
            node.shape = cached[1].get(id(node.layer))


def list_layers(model: Any) -> list[LayerInfo]:
    """Every layer of a model, nested ones included, with path, class, output shape and preset flag.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
        A model from :func:`load_model` or in memory. For a subclassed model whose layers have no
        symbolic outputs, the shapes come from one forward pass of a zero batch at the size the
        model was built with (None if it was never built).

    Returns
    -------
    list of LayerInfo
        In depth-first order; ``preset`` marks the layers :func:`tap` uses when given no layers.

    Examples
    --------
    >>> import keras
    >>> from gapviz.models import list_layers
    >>> base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3))
    >>> model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)])
    >>> info = list_layers(model)
    >>> [i.path for i in info if i.preset][:2]
    ['vgg16/block1_conv1', 'vgg16/block2_conv1']
    """
    nodes = walk(model)
    try:
        default = set(_default_paths(model, nodes))
    except GapvizError:  # nothing tappable by default (no conv layers): listing still works
        default = set()
    return [
        LayerInfo(
            path=n.path,
            name=n.layer.name,
            class_name=type(n.layer).__name__,
            output_shape=n.shape,
            depth=n.depth,
            preset=n.path in default,
        )
        for n in nodes
    ]


def format_layer_table(layers: Sequence[LayerInfo]) -> str:
    """A readable, aligned text table of :func:`list_layers` output; preset taps marked with ``*``.

    Examples
    --------
    >>> from gapviz.models import LayerInfo, format_layer_table
    >>> print(format_layer_table([LayerInfo("conv1", "conv1", "Conv2D", (None, 8, 8, 4), 0, True)]))
    depth  tap  path   class   output shape
        0  *    conv1  Conv2D  (None, 8, 8, 4)
    <BLANKLINE>
    1 layers; * = tapped by default (when no layers are given)
    """
    header = ("depth", "tap", "path", "class", "output shape")
    rows = [
        (str(i.depth), "*" if i.preset else "", i.path, i.class_name, _shape_text(i.output_shape))
        for i in layers
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].rjust(widths[0])] + [cell.ljust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    n_preset = sum(i.preset for i in layers)
    footer = f"{len(layers)} layers; * = tapped by default (when no layers are given)"
    if not n_preset:
        footer = f"{len(layers)} layers; no default taps (pass layer names)"
    return "\n".join([line(header), *(line(r) for r in rows), "", footer])


def detect_preset(model: Any) -> str | None:
    """The case-study preset that matches a model's layer names, or None.

    Detection looks at bare layer names anywhere in the model (so a base nested in a
    ``Sequential`` wrapper is found) and at a few signature layers that tell apart look-alikes
    (VGG19, ResNet101, ResNet50 vs ResNet50V2).

    Examples
    --------
    >>> import keras
    >>> from gapviz.models import detect_preset
    >>> detect_preset(keras.applications.ResNet50V2(include_top=False, weights=None, input_shape=(64, 64, 3)))
    'resnet50v2'
    """
    return _detect(walk(model))


def _detect(nodes: list[_Node]) -> str | None:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.bare] = counts.get(n.bare, 0) + 1
    for preset, (needed, absent) in _SIGNATURES.items():
        names = set(PRESETS[preset]) | needed
        if all(counts.get(name) == 1 for name in names) and not any(name in counts for name in absent):
            return preset
    return None


def resolve_layers(model: Any, layers: str | Iterable[str] | None = None) -> list[str]:
    """Canonical paths of the layers to tap, in the order given.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    layers : str or iterable of str, optional
        Exact paths (``"resnet50v2/conv1_conv"``), top-level names, or bare names that are unique
        inside nested models. None: the detected preset (:data:`PRESETS`), else a spread of
        convolution layers, the last one at each spatial resolution.

    Returns
    -------
    list of str

    Raises
    ------
    GapvizError
        A name is unknown (the closest real names are listed), ambiguous (its full paths are
        listed), or given twice.

    Examples
    --------
    >>> import keras
    >>> from gapviz.models import resolve_layers
    >>> base = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3))
    >>> model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)])
    >>> resolve_layers(model, ["conv1_conv"])
    ['resnet50/conv1_conv']
    """
    nodes = walk(model)
    if layers is None:
        return _default_paths(model, nodes)
    return _resolve_many(nodes, layers)


def _resolve_many(nodes: list[_Node], layers: str | Iterable[str]) -> list[str]:
    if isinstance(layers, str):
        layers = [layers]
    requested = list(layers)
    if not requested:
        raise GapvizError("layers is empty: give at least one layer name, or layers=None for the default taps")
    resolved = [_resolve_one(nodes, name) for name in requested]
    first: dict[str, str] = {}
    for name, path in zip(requested, resolved, strict=True):
        if path in first:
            raise GapvizError(f"layer {path!r} is requested twice (as {first[path]!r} and {name!r}); list it once")
        first[path] = name
    return resolved


def _resolve_one(nodes: list[_Node], name: Any) -> str:
    if not isinstance(name, str):
        raise GapvizError(f"layer names must be strings, got {name!r} ({type(name).__name__})")
    for n in nodes:
        if n.path == name:
            return n.path
    bare = name.strip("/").rsplit("/", 1)[-1] if "/" in name else name
    matches = [n.path for n in nodes if n.bare == bare]
    if "/" not in name and len(matches) == 1:
        return matches[0]
    if "/" not in name and len(matches) > 1:
        raise GapvizError(
            f"layer name {name!r} is ambiguous: it occurs at {', '.join(matches)}; give the full path"
        )
    return _unknown(nodes, name)


def _unknown(nodes: list[_Node], name: str) -> str:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.bare] = counts.get(n.bare, 0) + 1
    # what a user may type for each layer: its bare name where that is unique, else its path
    typable = {n.bare if counts[n.bare] == 1 else n.path: n.path for n in nodes}
    key = name.rsplit("/", 1)[-1] if "/" in name else name
    other_case = [t for t in typable if t.rsplit("/", 1)[-1].lower() == key.lower()]
    if other_case:
        raise GapvizError(
            f"unknown layer {name!r}: layer names are case-sensitive; did you mean {', '.join(other_case[:3])}?"
        )
    lowered: dict[str, str] = {}
    for t in typable:
        lowered.setdefault(t.rsplit("/", 1)[-1].lower(), t.rsplit("/", 1)[-1])
    close = [lowered[c] for c in difflib.get_close_matches(key.lower(), list(lowered), n=5, cutoff=0.6)]
    by_bare: dict[str, list[str]] = {}
    for t in typable:
        by_bare.setdefault(t.rsplit("/", 1)[-1], []).append(t)
    suggestions = [t for c in close for t in by_bare[c]][:5]
    hint = f"closest real names: {', '.join(suggestions)}" if suggestions else "no similar names"
    raise GapvizError(
        f"unknown layer {name!r}: {hint}. List all layers with gapviz.list_layers(model) or "
        "'gapviz layers --model PATH'"
    )


def _default_paths(model: Any, nodes: list[_Node]) -> list[str]:
    preset = _detect(nodes)
    if preset is not None:
        by_bare = {n.bare: n.path for n in nodes}
        return [by_bare[name] for name in PRESETS[preset]]
    return _conv_spread(model, nodes)


def _conv_spread(model: Any, nodes: list[_Node]) -> list[str]:
    """The last convolution at each spatial resolution, shallow to deep."""
    convs = [n for n in nodes if "Conv" in type(n.layer).__name__ and not is_model(n.layer)]
    if not convs:
        raise GapvizError(
            f"model {model.name!r} has no convolution layers and matches no preset "
            f"({', '.join(PRESETS)}), so there is nothing to tap by default; pass layers=[...]"
        )
    if all(n.shape is None for n in convs) and graph_of(model) is None:
        raise GapvizError(
            f"cannot pick default taps for the subclassed model {model.name!r}: its layer shapes are "
            "unknown because it was never built. Call it once on a batch (model(batch)) or pass layers=[...]"
        )
    if not any(n.shape is not None and len(n.shape) == 4 for n in convs):
        raise GapvizError(
            f"cannot pick default taps for model {model.name!r}: none of its convolution layers outputs a 2-D "
            "feature map (h, w, channels); gapviz measures 2-D image models"
        )
    last_at: dict[tuple, _Node] = {}  # spatial size -> deepest conv layer with that output size
    for n in convs:
        if n.shape is not None and len(n.shape) == 4 and None not in n.shape[1:3]:
            last_at[tuple(n.shape[1:3])] = n
    if not last_at:
        raise GapvizError(
            f"cannot pick default taps for model {model.name!r}: its convolution layers have no known "
            "spatial size (the input size is not fixed); pass layers=[...]"
        )
    chosen = sorted(last_at.values(), key=lambda n: n.depth)
    return [n.path for n in chosen]


def _shape_text(shape: Any) -> str:
    return "?" if shape is None else str(shape)


def _shape_to_json(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, tuple):
        return [_shape_to_json(s) if isinstance(s, tuple) else s for s in shape]
    return shape
