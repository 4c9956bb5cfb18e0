"""The Tapper: one forward pass that returns (or reduces in-graph) the activations of chosen layers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.models._capture import capturing
from gapviz.models._check import check_image_input, check_spatial
from gapviz.models._frameworks import (
    as_float_batch,
    declared_input_shape,
    flat_tensors,
    framework_of,
    graph_node_ids,
    graph_of,
    inbound_nodes,
    model_class,
    node_inputs,
    node_outputs,
    shape_tuple,
    unbatched,
)
from gapviz.models._layers import _default_paths, _detect, _Node, _resolve_many, walk
from gapviz.models._load import load_model

Reducer = Callable[[str, Any, dict[str, Any]], Mapping[str, Any]]


def tap(model: Any, layers: str | Iterable[str] | None = None) -> Tapper:
    """Prepare one forward pass that returns the activations of the given layers.

    For graph models (functional, ``Sequential``, and a base nested in such wrappers where the
    base consumes the model's input) the tapped graph is cut at the deepest tap, so the rest of
    the network (the regression head) is never computed. For subclassed models the target layers'
    ``call`` is wrapped during a traced forward pass (the whole model runs).

    Parameters
    ----------
    model : keras.Model, tf_keras.Model, str or os.PathLike
        A model, or a path given to :func:`load_model` (with ``safe_mode=True``).
    layers : str or iterable of str, optional
        Layer paths or names, see :func:`resolve_layers`. None: the detected preset, else one
        convolution layer per spatial-resolution stage.

    Returns
    -------
    Tapper

    Raises
    ------
    GapvizError
        Unknown or ambiguous layer names, a model that does not take images (input rank not 4),
        several inputs, or a subclassed model that was never built.

    Examples
    --------
    >>> import keras, numpy as np
    >>> from gapviz.models import tap
    >>> base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3))
    >>> tapper = tap(base, ["block1_conv1", "block3_conv1"])
    >>> acts = tapper(np.zeros((2, 64, 64, 3), "float32"))
    >>> {name: a.shape for name, a in acts.items()}
    {'block1_conv1': (2, 64, 64, 64), 'block3_conv1': (2, 16, 16, 256)}
    >>> tapper.forward_calls
    1
    """
    model = load_model(model)
    images = check_image_input(model)
    nodes = walk(model)
    preset = None
    if layers is None:
        paths = _default_paths(model, nodes)
        preset = _detect(nodes)
    else:
        paths = _resolve_many(nodes, layers)
    if images:
        check_spatial(nodes, paths)
    return Tapper(model, paths, nodes, preset=preset)


class Tapper:
    """Activations of chosen layers from one forward pass; see :func:`tap` to make one.

    Attributes
    ----------
    layers : tuple of str
        Canonical layer paths, in the requested order (the keys of every result).
    input_shape : tuple
        ``(H, W, C)`` of the tapped graph's input; None for sizes the model leaves open (for a
        subclassed model only the channels are known).
    layer_shapes : dict of str to tuple
        Batch-first output shape of each tapped layer (None where unknown).
    mode : str
        ``"graph"`` (a pruned multi-output model) or ``"capture"`` (wrapped layer calls).
    preset : str or None
        The preset used when no layers were given, e.g. ``"resnet50v2"``.
    forward_calls : int
        Forward passes run so far (one per ``__call__`` or ``reduce``).

    Examples
    --------
    >>> import gapviz, numpy as np
    >>> from gapviz.models import tap
    >>> tapper = tap(gapviz.demo_model())  # the MobileNetV2 preset's six layers
    >>> tapper
    Tapper(6 layers, mode='graph', input_shape=(96, 96, 3))
    >>> tapper.preset, tapper.layers[:2], tapper.layer_shapes["block_3_project"]
    ('mobilenetv2', ('Conv1', 'block_1_project'), (None, 12, 12, 16))
    >>> acts = tapper(np.zeros((2, 96, 96, 3), "float32"))
    >>> acts["Conv1"].shape, tapper.forward_calls
    ((2, 48, 48, 16), 1)
    """

    def __init__(self, model: Any, paths: list[str], nodes: list[_Node], *, preset: str | None = None) -> None:
        self.model = model
        self.layers: tuple[str, ...] = tuple(paths)
        self.preset = preset
        self.forward_calls = 0
        self._framework = framework_of(model)
        by_path = {n.path: n for n in nodes}
        targets = [by_path[p] for p in paths]
        self._targets = [n.layer for n in targets]
        plan = _graph_plan(model, targets)
        if plan is not None:
            graph, tensors = plan
            inputs = flat_tensors(graph.inputs)[0]
            self.mode = "graph"
            self._tap_model = model_class(self._framework)(inputs=inputs, outputs=list(tensors))
            full_input = shape_tuple(inputs.shape)
            self.layer_shapes = {p: unbatched(shape_tuple(t.shape)) for p, t in zip(paths, tensors, strict=True)}
        else:
            self.mode = "capture"
            self._tap_model = None
            full_input = declared_input_shape(model)
            if not getattr(model, "built", False) or full_input is None:
                raise GapvizError(
                    f"model {model.name!r} has never been built, so it has no weights and no known input; "
                    "call it once on a batch (model(batch)) before tapping"
                )
            if len(full_input) == 4 and graph_of(model) is None:
                # a subclassed model records the size it was first called with, but takes any size
                full_input = (None, None, None, full_input[3])
            self.layer_shapes = {n.path: n.shape for n in targets}
        if full_input is None or len(full_input) != 4:
            raise GapvizError(
                f"model {model.name!r} does not take images: its input shape is {full_input}, but gapviz "
                "needs a batch of images (N, H, W, C)"
            )
        self.input_shape: tuple[int | None, ...] = tuple(full_input[1:])
        self._call_fn: Any = None
        self._reduce_fns: dict[Any, Any] = {}
        # A tapped graph network and the reducers are plain ops with static Python control flow, so
        # they trace without AutoGraph (faster); a subclassed model's call() may branch on tensors.
        self._autograph = self.mode == "capture"

    def __repr__(self) -> str:
        return f"Tapper({len(self.layers)} layers, mode={self.mode!r}, input_shape={self.input_shape})"

    # -- forward passes ---------------------------------------------------------------------------

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        """Full activations of every tapped layer for one batch, from one forward pass.

        Parameters
        ----------
        batch : array_like, shape (N, H, W, C)
            Preprocessed images (cast to float32).

        Returns
        -------
        dict of str to numpy.ndarray
            Keyed by layer path, in the order of :attr:`layers`.

        Examples
        --------
        >>> import keras, numpy as np
        >>> from gapviz.models import tap
        >>> tapper = tap(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="c")]), "c")
        >>> tapper(np.ones((1, 8, 8, 3), "float32"))["c"].shape
        (1, 6, 6, 2)
        """
        x = self._check_batch(batch)
        if self._call_fn is None:
            import tensorflow as tf

            self._call_fn = tf.function(self._forward, reduce_retracing=True, autograph=self._autograph)
        outputs = self._call_fn(x)
        self.forward_calls += 1
        return {name: np.asarray(out) for name, out in zip(self.layers, outputs, strict=True)}

    def reduce(
        self, batch: Any, reducer: Reducer, aux: Mapping[str, Any] | None = None
    ) -> dict[str, dict[str, np.ndarray]]:
        """Reduce every tapped activation inside the graph; only the reductions leave it.

        The forward pass and ``reducer(name, activation, aux)`` for each layer are traced together
        into one ``tf.function``, cached per reducer object, so the full feature maps never reach
        numpy.

        Parameters
        ----------
        batch : array_like, shape (N, H, W, C)
        reducer : callable
            ``reducer(name: str, activation: tf.Tensor, aux: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]``,
            written with TensorFlow ops.
        aux : mapping of str to array_like, optional
            Extra per-batch arrays (e.g. object masks at input resolution) passed into the graph.

        Returns
        -------
        dict of str to dict of str to numpy.ndarray
            ``{layer path: {reduction name: array}}``, layers in the order of :attr:`layers`.

        Examples
        --------
        >>> import keras, numpy as np, tensorflow as tf
        >>> from gapviz.models import tap
        >>> tapper = tap(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="c")]), "c")
        >>> def gap(name, act, aux):
        ...     return {"gap": tf.reduce_mean(act, axis=[1, 2])}
        >>> tapper.reduce(np.ones((4, 8, 8, 3), "float32"), gap)["c"]["gap"].shape
        (4, 2)
        """
        if not callable(reducer):
            raise GapvizError(f"reducer must be callable as reducer(name, activation, aux), got {type(reducer).__name__}")
        x = self._check_batch(batch)
        aux_tensors = self._check_aux(aux)
        key = _cache_key(reducer)
        fn = self._reduce_fns.get(key)
        if fn is None:
            fn = self._make_reduce_fn(reducer)
            self._reduce_fns[key] = fn
        out = fn(x, aux_tensors)
        self.forward_calls += 1
        return {name: {k: np.asarray(v) for k, v in out[name].items()} for name in self.layers}

    def _make_reduce_fn(self, reducer: Reducer) -> Any:
        import tensorflow as tf

        label = getattr(reducer, "__name__", type(reducer).__name__)

        def reduce_fn(x: Any, aux: dict[str, Any]) -> dict[str, dict[str, Any]]:
            result = {}
            for name, activation in zip(self.layers, self._forward(x), strict=True):
                reduced = reducer(name, activation, aux)
                if not isinstance(reduced, Mapping) or not all(isinstance(k, str) for k in reduced):
                    raise GapvizError(
                        f"reducer {label!r} must return a dict of str to tensors, got {type(reduced).__name__} "
                        f"for layer {name!r}"
                    )
                result[name] = dict(reduced)
            return result

        return tf.function(reduce_fn, reduce_retracing=True, autograph=self._autograph)

    def _forward(self, x: Any) -> list[Any]:
        """The tapped activations, in layer order (runs while tracing)."""
        if self._tap_model is not None:
            return flat_tensors(self._tap_model(x, training=False))
        with capturing(self._targets) as store:
            self.model(x, training=False)
            captured = dict(store)
        missing = [p for p, layer in zip(self.layers, self._targets, strict=True) if id(layer) not in captured]
        if missing:
            raise GapvizError(
                f"layer(s) {', '.join(missing)} of model {self.model.name!r} were not called during the "
                "forward pass, so they cannot be tapped; pick layers the model's call() uses"
            )
        outputs = []
        for path, layer in zip(self.layers, self._targets, strict=True):
            value = flat_tensors(captured[id(layer)])
            if len(value) != 1:
                raise GapvizError(f"layer {path!r} returns {len(value)} tensors; tap a layer with one output")
            outputs.append(value[0])
        return outputs

    # -- checks -----------------------------------------------------------------------------------

    def _check_batch(self, batch: Any) -> np.ndarray:
        x = as_float_batch(batch)
        expected = "(N, " + ", ".join("?" if d is None else str(d) for d in self.input_shape) + ")"
        if x.ndim != 4:
            hint = "; add a batch axis with image[None]" if x.ndim == 3 else ""
            raise GapvizError(
                f"batch must be 4-D (N, H, W, C); got shape {x.shape}, model expects {expected}{hint}"
            )
        if x.shape[0] == 0:
            raise GapvizError(f"batch is empty (shape {x.shape}); model expects {expected}")
        if any(want is not None and got != want for got, want in zip(x.shape[1:], self.input_shape, strict=True)):
            raise GapvizError(
                f"batch shape {x.shape} does not match the model input {expected}: resize the images "
                "to the model's input size (gapviz.compare does this, and feeds 1-channel models luminance)"
            )
        return x

    @staticmethod
    def _check_aux(aux: Mapping[str, Any] | None) -> dict[str, Any]:
        if aux is None:
            return {}
        if not isinstance(aux, Mapping) or not all(isinstance(k, str) for k in aux):
            raise GapvizError(f"aux must be a dict of str to arrays, got {type(aux).__name__}")
        import tensorflow as tf

        return {k: tf.convert_to_tensor(np.asarray(v)) for k, v in aux.items()}


def _cache_key(reducer: Any) -> Any:
    try:
        hash(reducer)
    except TypeError:
        return ("id", id(reducer))
    return reducer


def _graph_plan(model: Any, targets: list[_Node]) -> tuple[Any, list[Any]] | None:
    """The graph network and the tap tensors in it, or None when only capturing can tap these layers.

    All taps must be direct children of one container reachable from the model input through
    graph networks, each nested one consuming its parent's input (``Sequential([base, GAP, Dense])``
    and functional wrappers around a base). The tap model is then built on that container's own
    input: the inner layers' tensors belong to the inner graph, and wiring them to the outer input
    fails ("Graph disconnected").
    """
    chains = [t.parents for t in targets]
    common: list[Any] = []
    for level in zip(*chains, strict=False):
        if any(c is not level[0] for c in level):
            break
        common.append(level[0])
    if not common or any(len(chain) != len(common) for chain in chains):
        return None
    for parent, child in zip(common, common[1:], strict=False):
        parent_graph, child_graph = graph_of(parent), graph_of(child)
        if parent_graph is None or child_graph is None or not _consumes_input(child, parent_graph):
            return None
    graph = graph_of(common[-1])
    if graph is None:
        return None
    ids = graph_node_ids(graph)
    tensors = []
    for target in targets:
        nodes = [nd for nd in inbound_nodes(target.layer) if id(nd) in ids]
        if len(nodes) != 1:  # not in this graph, or shared within it
            return None
        outputs = node_outputs(nodes[0])
        if len(outputs) != 1:
            raise GapvizError(f"layer {target.path!r} has {len(outputs)} outputs; tap a layer with one output")
        tensors.append(outputs[0])
    return graph, tensors


def _consumes_input(child: Any, parent_graph: Any) -> bool:
    """Whether ``child`` is called on exactly the input of ``parent_graph``."""
    inputs = flat_tensors(parent_graph.inputs)
    ids = graph_node_ids(parent_graph)
    for node in inbound_nodes(child):
        if id(node) not in ids:
            continue
        given = node_inputs(node)
        if len(given) == len(inputs) and all(a is b for a, b in zip(given, inputs, strict=True)):
            return True
    return False
