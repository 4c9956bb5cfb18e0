"""Which Keras a model belongs to, and the few framework internals gapviz relies on.

Two Keras implementations live side by side: Keras 3 (``keras``) and Keras 2 (``tf_keras``, what
``tf.keras`` was before TF 2.16). Their models cannot be mixed in one graph, so every helper here
first asks which one an object belongs to. Both packages are looked up in ``sys.modules`` so that
asking never imports TensorFlow.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from gapviz._errors import GapvizError

KERAS = "keras"
TF_KERAS = "tf_keras"


def framework_of(obj: Any) -> str | None:
    """``"keras"``, ``"tf_keras"`` or None for an object that is neither a Keras layer nor a model."""
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(obj, keras.layers.Layer):
        return KERAS
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None and isinstance(obj, tf_keras.layers.Layer):
        return TF_KERAS
    return None


def is_model(obj: Any) -> bool:
    """True for a Keras 3 or tf_keras ``Model`` (functional, Sequential or subclassed)."""
    framework = framework_of(obj)
    if framework is None:
        return False
    return isinstance(obj, sys.modules[framework].Model)


def model_class(framework: str) -> Any:
    """The ``Model`` class of one framework (used to build tap models in the right Keras)."""
    if framework == KERAS:
        import keras

        return keras.Model
    import tf_keras

    return tf_keras.Model


def graph_of(model: Any) -> Any | None:
    """The symbolic graph network behind ``model``, or None for a subclassed model.

    Keras 3 ``Sequential`` keeps its graph in ``_functional`` once built; tf_keras ``Sequential``
    is itself a graph network when its input shape is known.
    """
    framework = framework_of(model)
    if framework == KERAS:
        from keras.src.models.functional import Functional

        if isinstance(model, Functional):
            return model
        functional = getattr(model, "_functional", None)
        return functional if isinstance(functional, Functional) else None
    if framework == TF_KERAS:
        return model if getattr(model, "_is_graph_network", False) else None
    return None


def children(layer: Any) -> list[Any]:
    """The direct sublayers of a layer or model, in the model's own order."""
    if is_model(layer):
        return list(layer.layers)
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is None:
        return []
    return list(flatten(include_self=False, recursive=False))


def inbound_nodes(layer: Any) -> list[Any]:
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes is None:
        nodes = getattr(layer, "inbound_nodes", None) or []
    return list(nodes)


def flat_tensors(structure: Any) -> list[Any]:
    import tensorflow as tf

    return list(tf.nest.flatten(structure))


def node_inputs(node: Any) -> list[Any]:
    return flat_tensors(node.input_tensors)


def node_outputs(node: Any) -> list[Any]:
    return flat_tensors(node.output_tensors)


def graph_node_ids(graph: Any) -> set[int]:
    """ids of the nodes that make up one graph network."""
    by_depth = getattr(graph, "_nodes_by_depth", None) or {}
    return {id(node) for nodes in by_depth.values() for node in nodes}


def shape_tuple(shape: Any) -> tuple[int | None, ...] | None:
    """A Keras/TF shape as a plain tuple of ints and None (None when the rank is unknown)."""
    if shape is None:
        return None
    as_list = getattr(shape, "as_list", None)
    if as_list is not None:
        try:
            shape = as_list()
        except ValueError:  # unknown rank
            return None
    return tuple(None if d is None else int(d) for d in shape)


def unbatched(shape: tuple | None) -> tuple | None:
    """A batch-first shape with the batch size shown as None (it is never part of the contract)."""
    if not shape:
        return shape
    if isinstance(shape[0], tuple):  # several outputs
        return tuple(unbatched(s) for s in shape)  # type: ignore[misc]
    return (None, *shape[1:])


def symbolic_output_shape(layer: Any) -> tuple | None:
    """The output shape of a layer from its symbolic output (batch as None), or None where it has none.

    Layers of subclassed models are only ever called eagerly, so they have no symbolic output.
    """
    nodes = inbound_nodes(layer)
    outputs: list[Any] = []
    try:
        outputs = flat_tensors(layer.output)
    except (AttributeError, ValueError, RuntimeError):
        if nodes:
            outputs = node_outputs(nodes[0])
    if not outputs:
        return None
    shapes = [shape_tuple(getattr(t, "shape", None)) for t in outputs]
    if len(shapes) == 1:
        return unbatched(shapes[0])
    return unbatched(tuple(shapes))  # type: ignore[arg-type]


def declared_input_shape(model: Any) -> tuple | None:
    """The full input shape (batch first) a model was built or called with, or None if unknown.

    Raises GapvizError for a model with several inputs: gapviz taps single-image models.
    """
    graph = graph_of(model)
    if graph is not None:
        inputs = flat_tensors(graph.inputs)
        if len(inputs) != 1:
            names = ", ".join(getattr(t, "name", "?") for t in inputs)
            raise GapvizError(
                f"model {model.name!r} takes {len(inputs)} inputs ({names}); gapviz taps models that take "
                "one image batch. Tap the image branch on its own (build a keras.Model from its input)."
            )
        return shape_tuple(inputs[0].shape)
    # subclassed: what the model was built with or first called on
    build_shapes = getattr(model, "_build_shapes_dict", None)  # Keras 3
    if build_shapes:
        values = list(build_shapes.values())
        if len(values) == 1:
            return shape_tuple(values[0])
    build_shape = getattr(model, "_build_input_shape", None)  # tf_keras
    if build_shape is not None:
        shape = shape_tuple(build_shape)
        if shape is not None and all(isinstance(d, (int, type(None))) for d in shape):
            return shape
    spec = getattr(model, "_saved_model_inputs_spec", None)  # tf_keras, set on the first call
    if spec is not None:
        specs = flat_tensors(spec)
        if len(specs) == 1:
            return shape_tuple(specs[0].shape)
    return None


def as_float_batch(batch: Any) -> np.ndarray:
    """A batch as a float32 numpy array, or a GapvizError saying what arrived."""
    if hasattr(batch, "numpy") and not isinstance(batch, np.ndarray):
        batch = batch.numpy()
    try:
        array = np.asarray(batch)
    except Exception as exc:  # ragged lists and the like
        raise GapvizError(
            f"batch must be an array of shape (N, H, W, C), got {type(batch).__name__} ({exc})"
        ) from exc
    if array.dtype.kind not in "fiub":
        raise GapvizError(f"batch must hold numbers (an (N, H, W, C) float array), got dtype {array.dtype}")
    return array.astype(np.float32, copy=False)
