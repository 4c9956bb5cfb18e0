"""gapviz.models: loading model files safely, listing and resolving layers, presets, the Tapper.

Reference activations come from models built independently on the original in-memory bases
(``keras.Model(base.input, base.get_layer(name).output)``), not from gapviz.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from gapviz import GapvizError
from gapviz.models import (
    PRESETS,
    LayerInfo,
    ModelSource,
    detect_preset,
    format_layer_table,
    list_layers,
    load_model,
    model_source,
    resolve_layers,
    tap,
)

ARCHS = ["vgg16", "mobilenetv2", "resnet50", "resnet50v2"]
SIZE = 64  # input side of the application-model fixtures (conftest.MODEL_SIZE)
RESNET_TAPS = PRESETS["resnet50v2"]


def wrap_like_study(base):
    """``Sequential([base, GlobalAveragePooling2D(), Dense(1)])``: the case study's regressor."""
    import keras

    return keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)])


def reference(base, names, batch):
    """Activations of ``names`` from a model built on ``base``'s own input, outside gapviz."""
    framework = type(base).__module__.split(".")[0]
    model_cls = __import__(framework).Model
    ref = model_cls(base.input, [base.get_layer(n).output for n in names])
    outputs = ref(batch, training=False)
    if not isinstance(outputs, (list, tuple)):  # one output comes back bare
        outputs = [outputs]
    return [np.asarray(a) for a in outputs]


def assert_same(acts, names, refs):
    assert list(acts) == list(names)
    for name, ref in zip(names, refs, strict=True):
        assert acts[name].shape == ref.shape, name
        np.testing.assert_allclose(acts[name], ref, rtol=1e-4, atol=1e-4, err_msg=name)


class CallSpy:
    """Counts (traced or eager) calls of one layer by shadowing its ``call``; restores on close."""

    def __init__(self, layer):
        self.layer, self.calls, original = layer, 0, layer.call

        def call(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        object.__setattr__(layer, "call", call)

    def close(self):
        object.__delattr__(self.layer, "call")


# -- loading -------------------------------------------------------------------------------------


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", ["keras", "h5"], ids=["keras3-.keras", "keras3-.h5"])
def test_load_keras3_files(model_keras_resnet50v2_files, fmt):
    import keras

    path = model_keras_resnet50v2_files[fmt]
    model = load_model(path)
    assert isinstance(model, keras.Model)
    source = model_source(model)
    assert source == ModelSource(str(path), sha256(path), "keras", fmt, "keras", ())
    assert [layer.name for layer in model.layers] == ["resnet50v2", "gap", "wear"]


def test_tf_keras_h5_falls_back_to_tf_keras_and_says_why(model_tf_keras_resnet50v2_h5):
    import tf_keras

    _, path = model_tf_keras_resnet50v2_h5
    model = load_model(path)
    assert isinstance(model, tf_keras.Model)
    source = model_source(model)
    assert (source.loader, source.format, source.framework, source.sha256) == ("tf_keras", "h5", "tf_keras", sha256(path))
    assert len(source.notes) == 1
    assert "Keras 3 (keras) declined it first (TypeError" in source.notes[0]
    assert source.notes[0].startswith("loaded with Keras 2 (tf_keras), as files written by tf.keras are")
    assert json.loads(json.dumps(source.to_dict()))["loader"] == "tf_keras"


def test_in_memory_models_are_returned_as_is(model_vgg16, model_tf_keras_resnet50v2_h5):
    tf_keras_model, _ = model_tf_keras_resnet50v2_h5
    for model, framework in [(model_vgg16, "keras"), (tf_keras_model, "tf_keras")]:
        assert load_model(model) is model
        assert model_source(model) == ModelSource(None, None, "in-memory", "in-memory", framework)


def test_tf_keras_savedmodel_loads_with_tf_keras(model_tiny_files):
    path = model_tiny_files["savedmodel"]
    model = load_model(path)
    source = model_source(model)
    assert (source.loader, source.format, source.path) == ("tf_keras", "savedmodel", str(path))
    digest = hashlib.sha256()
    for file in [path / "saved_model.pb", *sorted(p for p in (path / "variables").rglob("*") if p.is_file())]:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file.read_bytes())
    assert source.sha256 == digest.hexdigest()
    x = np.random.default_rng(1).uniform(size=(2, 16, 16, 3)).astype("float32")
    expected = reference(model_tiny_files["tf_keras_model"], ["conv"], x)
    assert_same(tap(model, ["conv"])(x), ["conv"], expected)


def test_savedmodel_without_layers_says_why_and_how_to_resave(model_tiny_files):
    path = model_tiny_files["export"]
    with pytest.raises(GapvizError, match=r"cannot be tapped: it has no keras_metadata\.pb.*model\.save\('model\.keras'\)"):
        load_model(path)


@pytest.mark.parametrize("kind", ["keras", "keras-h5", "tf_keras-h5"])
def test_lambda_is_refused_by_default(model_lambda_files, kind):
    path = model_lambda_files[kind]
    with pytest.raises(GapvizError, match=r"Lambda layer\(s\) 'double'.*arbitrary code.*safe_mode=False.*--unsafe-load"):
        load_model(path)


@pytest.mark.parametrize("kind", ["keras", "keras-h5", "tf_keras-h5"])
def test_lambda_loads_with_safe_mode_off(model_lambda_files, kind):
    model = load_model(model_lambda_files[kind], safe_mode=False)
    x = np.ones((1, 16, 16, 3), "float32")
    doubled = tap(model, ["double"])(x)["double"]
    np.testing.assert_allclose(doubled, 2 * x)
    assert model_source(model).path == str(model_lambda_files[kind])


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(GapvizError, match=rf"model not found: '{missing}' does not exist"):
        load_model(missing)


def test_folder_without_model(tmp_path, model_tiny_files):
    with pytest.raises(GapvizError, match=r"holds no model: tried it as a SavedModel folder but there is no saved_model\.pb$"):
        load_model(tmp_path)
    (tmp_path / "mine.keras").write_bytes(model_tiny_files["keras"].read_bytes())
    with pytest.raises(GapvizError, match=r"it contains mine\.keras: pass one of those files"):
        load_model(tmp_path)


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_truncated_files(tmp_path, model_keras_resnet50v2_files, kind):
    data = model_keras_resnet50v2_files[kind].read_bytes()
    path = tmp_path / f"truncated.{kind}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GapvizError, match=rf"'{path}'.*truncated or corrupt"):
        load_model(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", r"is empty \(0 bytes\)"), (b"not a model at all", r"neither a \.keras archive \(zip\) nor an HDF5")],
    ids=["empty", "garbage"],
)
def test_corrupt_files(tmp_path, content, match):
    path = tmp_path / "model.h5"
    path.write_bytes(content)
    with pytest.raises(GapvizError, match=match):
        load_model(path)


@pytest.mark.parametrize("kind", ["weights-tf_keras", "weights-keras"])
def test_weights_only_h5(model_tiny_files, kind):
    with pytest.raises(GapvizError, match=r"holds only weights .*model\.load_weights\(path\)"):
        load_model(model_tiny_files[kind])


def test_h5_without_model(tmp_path):
    import h5py

    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as h5:
        h5["images"] = np.zeros((2, 2))
    with pytest.raises(GapvizError, match=r"holds no Keras model \(its top level holds images\)"):
        load_model(path)


def test_not_a_path_or_model():
    with pytest.raises(GapvizError, match="model must be a path .* got int"):
        load_model(42)


# -- listing -------------------------------------------------------------------------------------


def test_list_layers_nested_paths(model_tf_keras_resnet50v2_h5):
    model = load_model(model_tf_keras_resnet50v2_h5[1])
    layers = list_layers(model)
    by_path = {info.path: info for info in layers}
    assert layers[0] == LayerInfo("resnet50v2", "resnet50v2", "Functional", (None, 2, 2, 2048), 0, False)
    conv1 = by_path["resnet50v2/conv1_conv"]
    assert (conv1.name, conv1.class_name, conv1.output_shape, conv1.preset) == (
        "conv1_conv", "Conv2D", (None, SIZE // 2, SIZE // 2, 64), True
    )
    assert [info.depth for info in layers] == list(range(len(layers)))
    assert [info.path for info in layers if info.preset] == [f"resnet50v2/{n}" for n in RESNET_TAPS]
    assert layers[-1].path == "dense"
    assert json.loads(json.dumps(conv1.to_dict()))["output_shape"] == [None, 32, 32, 64]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
def test_presets_detected(request, arch, wrapped):
    base = request.getfixturevalue(f"model_{arch}")
    model = wrap_like_study(base) if wrapped else base
    assert detect_preset(model) == arch
    prefix = f"{base.name}/" if wrapped else ""
    expected = [prefix + name for name in PRESETS[arch]]
    assert resolve_layers(model) == expected
    assert [info.path for info in list_layers(model) if info.preset] == expected


def test_format_layer_table(model_vgg16):
    table = format_layer_table(list_layers(model_vgg16))
    lines = table.splitlines()
    assert lines[0].split() == ["depth", "tap", "path", "class", "output", "shape"]
    row = next(line for line in lines if " block1_conv1 " in line)
    assert row.split()[:4] == ["1", "*", "block1_conv1", "Conv2D"]
    assert row.endswith("(None, 64, 64, 64)")
    assert lines[-1] == f"{len(model_vgg16.layers)} layers; * = tapped by default (when no layers are given)"


def test_subclassed_layers_get_shapes_from_one_probe(model_subclassed):
    by_path = {info.path: info for info in list_layers(model_subclassed)}
    assert by_path["stage1/b1"].output_shape == (None, 16, 16, 8)
    assert by_path["stage2/b3/conv"].output_shape == (None, 8, 8, 16)
    assert by_path["stage2/b3/conv"].class_name == "Conv2D"
    # the probe restores every layer's own call method
    assert all("call" not in vars(layer) for layer in model_subclassed._flatten_layers())
    assert detect_preset(model_subclassed) is None
    # no preset: the deepest conv at each spatial resolution
    assert [p for p, info in by_path.items() if info.preset] == ["stage1/b2/shortcut", "stage2/b3/shortcut"]


# -- resolution ----------------------------------------------------------------------------------


def test_resolve_exact_nested_and_bare(model_resnet50):
    model = wrap_like_study(model_resnet50)
    head = model.layers[-1].name
    assert resolve_layers(model, ["resnet50/conv1_conv", "conv2_block3_3_conv", head]) == [
        "resnet50/conv1_conv",
        "resnet50/conv2_block3_3_conv",
        head,
    ]
    assert resolve_layers(model, "conv1_conv") == ["resnet50/conv1_conv"]


def test_unknown_name_lists_closest_real_names(model_resnet50):
    # the case study named conv5_block5_3_conv, which does not exist in ResNet50
    with pytest.raises(GapvizError, match=r"unknown layer 'conv5_block5_3_conv': closest real names: conv5_block3_3_conv, "):
        resolve_layers(wrap_like_study(model_resnet50), ["conv1_conv", "conv5_block5_3_conv"])


def test_ambiguous_bare_name_lists_paths():
    import keras

    def block(name):
        inp = keras.Input((8, 8, 3))
        return keras.Model(inp, keras.layers.Conv2D(3, 3, padding="same", name="conv")(inp), name=name)

    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, block("left")(block("right")(inp)))
    with pytest.raises(GapvizError, match=r"'conv' is ambiguous: it occurs at right/conv, left/conv; give the full path"):
        resolve_layers(model, ["conv"])
    assert resolve_layers(model, ["left/conv"]) == ["left/conv"]


def test_resolve_rejects_duplicates_and_empty(model_vgg16):
    with pytest.raises(GapvizError, match=r"'block1_conv1' is requested twice"):
        resolve_layers(model_vgg16, ["block1_conv1", "block1_conv1"])
    with pytest.raises(GapvizError, match="layers is empty"):
        resolve_layers(model_vgg16, [])


def test_conv_spread_for_unknown_architectures():
    import keras

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="a1")(inp)
    x = keras.layers.Conv2D(4, 3, padding="same", name="a2")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="b1")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", name="c1")(x)
    model = keras.Model(inp, keras.layers.Dense(1, name="head")(x))
    assert detect_preset(model) is None
    assert resolve_layers(model) == ["a2", "b1", "c1"]


# -- tapping -------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
def test_preset_taps_equal_reference(request, model_batch, arch, wrapped):
    base = request.getfixturevalue(f"model_{arch}")
    model = wrap_like_study(base) if wrapped else base
    tapper = tap(model)
    assert (tapper.mode, tapper.preset, tapper.input_shape) == ("graph", arch, (SIZE, SIZE, 3))
    acts = tapper(model_batch)
    assert tapper.forward_calls == 1
    prefix = f"{base.name}/" if wrapped else ""
    names = [prefix + n for n in PRESETS[arch]]
    assert_same(acts, names, reference(base, PRESETS[arch], model_batch))
    assert tapper.layer_shapes == {n: (None, *acts[n].shape[1:]) for n in names}


def test_tf_keras_h5_resnet_taps_equal_reference(model_tf_keras_resnet50v2_h5, model_batch):
    original, path = model_tf_keras_resnet50v2_h5
    tapper = tap(load_model(path))
    acts = tapper(model_batch)
    assert tapper.forward_calls == 1
    assert_same(acts, [f"resnet50v2/{n}" for n in RESNET_TAPS], reference(original.layers[0], RESNET_TAPS, model_batch))


def test_head_is_not_computed(model_vgg16, model_batch):
    model = wrap_like_study(model_vgg16)
    spies = {name: CallSpy(layer) for name, layer in [
        ("before", model_vgg16.get_layer("block1_conv1")),
        ("after", model_vgg16.get_layer("block5_conv3")),
        ("head", model.layers[-1]),
    ]}
    try:
        tapper = tap(model, ["block1_conv1", "block2_conv2"])
        tapper(model_batch)
        tapper(model_batch)
    finally:
        for spy in spies.values():
            spy.close()
    assert spies["before"].calls >= 1
    assert spies["after"].calls == 0
    assert spies["head"].calls == 0
    assert tapper.forward_calls == 2


def test_base_nested_two_levels_in_functional_wrapper(model_mobilenetv2, model_batch):
    import keras

    inner = keras.Sequential([model_mobilenetv2], name="backbone")
    inp = keras.Input((SIZE, SIZE, 3))
    out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(inner(inp)))
    model = keras.Model(inp, out)
    tapper = tap(model, ["block_1_project", "Conv1"])
    assert tapper.mode == "graph"
    assert tapper.layers == ("backbone/mobilenetv2_1.00_64/block_1_project", "backbone/mobilenetv2_1.00_64/Conv1")
    assert_same(tapper(model_batch), list(tapper.layers), reference(model_mobilenetv2, ["block_1_project", "Conv1"], model_batch))


def test_base_after_preprocessing_is_captured(model_vgg16, model_batch):
    import keras

    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Rescaling(2.0), model_vgg16])
    tapper = tap(model, ["block1_conv1", "block2_conv1"])
    # the base does not consume the model input: no graph to cut, so the layers are captured
    assert (tapper.mode, tapper.input_shape) == ("capture", (SIZE, SIZE, 3))
    names = ["vgg16/block1_conv1", "vgg16/block2_conv1"]
    assert_same(tapper(model_batch), names, reference(model_vgg16, ["block1_conv1", "block2_conv1"], 2 * model_batch))


def test_subclassed_model_is_tapped_by_capture(model_subclassed):
    import keras

    x = np.random.default_rng(2).uniform(size=(3, 32, 32, 3)).astype("float32")
    tapper = tap(model_subclassed, ["stem", "stage1/b1", "stage2/b3/conv"])
    assert (tapper.mode, tapper.input_shape) == ("capture", (None, None, 3))
    acts = tapper(x)
    net = model_subclassed
    stem = net.stem(x)
    b1 = net.stage1.layers[0](stem)
    b3 = net.stage2.layers[0]
    conv = b3.conv(keras.ops.relu(b3.reduce(net.stage1.layers[1](b1))))
    assert_same(acts, list(tapper.layers), [np.asarray(t) for t in (stem, b1, conv)])
    assert tapper.forward_calls == 1
    assert all("call" not in vars(layer) for layer in net._flatten_layers())
    assert tapper(x[:1])["stem"].shape == (1, 16, 16, 8)  # another batch size, traced again
    assert tapper.forward_calls == 2


def test_tf_keras_subclassed_model(model_tf_keras_subclassed):
    import tf_keras

    x = np.random.default_rng(3).uniform(size=(2, 32, 32, 3)).astype("float32")
    tapper = tap(model_tf_keras_subclassed, ["c2", "c1"])
    assert tapper.mode == "capture"
    net = model_tf_keras_subclassed
    c1 = net.c1(x)
    c2 = net.c2(tf_keras.activations.relu(c1))
    assert_same(tapper(x), ["c2", "c1"], [np.asarray(c2), np.asarray(c1)])
    assert tapper.layer_shapes == {"c2": (None, 16, 16, 8), "c1": (None, 32, 32, 4)}


def test_reduce_runs_in_graph_with_aux_and_caches_per_reducer(model_vgg16, model_batch):
    import tensorflow as tf

    traces = []

    def masked_energy(name, act, aux):
        traces.append(name)
        mask = tf.image.resize(aux["mask"][..., None], tf.shape(act)[1:3], method="nearest")
        energy = tf.reduce_mean(tf.abs(act), axis=-1, keepdims=True)
        return {"gap": tf.reduce_mean(act, axis=[1, 2]), "object": tf.reduce_sum(energy * mask, axis=[1, 2, 3])}

    mask = np.zeros((2, SIZE, SIZE), "float32")
    mask[:, 16:48, 16:48] = 1
    tapper = tap(model_vgg16, ["block2_conv1", "block1_conv1"])
    out = tapper.reduce(model_batch, masked_energy, aux={"mask": mask})
    again = tapper.reduce(model_batch, masked_energy, aux={"mask": mask})
    assert tapper.forward_calls == 2
    assert traces == ["block2_conv1", "block1_conv1"]  # traced once, reused on the second batch
    assert list(out) == ["block2_conv1", "block1_conv1"]
    full = tapper(model_batch)
    for name, act in full.items():
        np.testing.assert_allclose(out[name]["gap"], act.mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)
        step = SIZE // act.shape[1]
        small = mask[:, ::step, ::step][..., None]
        expected = (np.abs(act).mean(axis=-1, keepdims=True) * small).sum(axis=(1, 2, 3))
        np.testing.assert_allclose(out[name]["object"], expected, rtol=1e-4)
        np.testing.assert_allclose(again[name]["object"], expected, rtol=1e-4)


def test_reduce_on_captured_subclassed_model(model_subclassed):
    import tensorflow as tf

    x = np.ones((2, 32, 32, 3), "float32")
    tapper = tap(model_subclassed, ["stage1/b2"])
    out = tapper.reduce(x, lambda name, act, aux: {"max": tf.reduce_max(act, axis=[1, 2, 3])})
    np.testing.assert_allclose(out["stage1/b2"]["max"], tapper(x)["stage1/b2"].max(axis=(1, 2, 3)), rtol=1e-5)


def test_reducer_must_return_a_dict(model_vgg16, model_batch):
    def bad(name, act, aux):
        return act

    tapper = tap(model_vgg16, ["block1_conv1"])
    with pytest.raises(GapvizError, match=r"reducer 'bad' must return a dict of str to tensors, got .*Tensor"):
        tapper.reduce(model_batch, bad)
    with pytest.raises(GapvizError, match="reducer must be callable"):
        tapper.reduce(model_batch, "gap")


def test_batch_checks(model_vgg16, model_batch):
    tapper = tap(model_vgg16, ["block1_conv1"])
    with pytest.raises(GapvizError, match=r"batch shape \(2, 32, 32, 3\) does not match the model input \(N, 64, 64, 3\)"):
        tapper(np.zeros((2, 32, 32, 3), "float32"))
    with pytest.raises(GapvizError, match=r"must be 4-D \(N, H, W, C\); got shape \(64, 64, 3\).*image\[None\]"):
        tapper(model_batch[0])
    with pytest.raises(GapvizError, match="dtype <U1"):
        tapper(np.array(["a"]))
    assert tapper.forward_calls == 0
    as_uint8 = tapper((model_batch * 255).astype("uint8"))["block1_conv1"]
    assert as_uint8.dtype == np.float32


def test_model_without_image_input():
    import keras

    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(4, name="d")])
    with pytest.raises(GapvizError, match=r"does not take images: its input shape is \(None, 10\)"):
        tap(model, ["d"])
    with pytest.raises(GapvizError, match="no convolution layers .* pass layers="):
        tap(model)


def test_tap_accepts_a_path(model_keras_resnet50v2_files, model_resnet50v2, model_batch):
    tapper = tap(model_keras_resnet50v2_files["keras"], ["conv1_conv"])
    assert tapper.layers == ("resnet50v2/conv1_conv",)
    assert_same(tapper(model_batch), list(tapper.layers), reference(model_resnet50v2, ["conv1_conv"], model_batch))


#: op types that run only on the host (Python callbacks, strings): one in the hot loop would pin
#: the traced function to the CPU or copy every batch back and forth on a GPU machine
_HOST_ONLY_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc", "StringFormat", "PrintV2", "AsString"}


@pytest.mark.parametrize("fixture", ["model_resnet50", "model_tf_keras_resnet50v2_h5"])
def test_hot_loop_graph_has_no_host_only_ops(request, fixture):
    """The traced forward pass + reductions that `compare` runs per batch can be placed on a GPU:
    no Python callbacks, no string ops, no node pinned to a CPU device."""
    import tensorflow as tf

    from gapviz import stats
    from gapviz.stats.examples import MAPS, WithMaps

    model = request.getfixturevalue(fixture)
    if isinstance(model, tuple):  # the tf.keras fixture: (model, .h5 path), loaded as a user would
        model = load_model(model[1])
    tapper = tap(model)
    reducer = WithMaps(stats.make_layer_reducer())
    h, w, c = (64 if d is None else d for d in tapper.input_shape)
    x = np.zeros((2, h, w, c), np.float32)
    aux = {"mask": np.zeros((2, h, w, 1), np.float32), MAPS: np.array([True, False])}
    tapper.reduce(x, reducer, aux)
    (fn,) = tapper._reduce_fns.values()
    graph = fn.get_concrete_function(tf.constant(x), {k: tf.constant(v) for k, v in aux.items()}).graph
    ops = graph.get_operations()
    assert len(ops) > 100  # the whole forward pass is in this graph, not just the reductions
    assert {op.type for op in ops} & _HOST_ONLY_OPS == set()
    assert not [op.name for op in ops if "CPU" in op.device.upper()]
    assert not [op.name for op in ops for t in op.outputs if t.dtype == tf.string]
