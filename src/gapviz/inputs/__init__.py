"""The input side of ``gapviz.compare``: pairing, decoding, masks, preprocessing, streaming.

Nothing here imports TensorFlow or other gapviz modules (only ``gapviz._errors`` and ``gapviz._checks``).

How ``compare()`` uses it
-------------------------
::

    ps = build_pairs(real, synth, pairing="auto", masks=None)        # -> PairSet
    data = ps.to_dict()                                              # "data" section: pairing, paired,
                                                                     # unpaired_reason, unmatched, skipped, masks
    with iter_batches(ps, model_size=(h, w), analysis_size=None,     # -> BatchStream
                      batch_size=16, prefetch=2, workers=2) as stream:
        for batch in stream:                                         # -> Batch, never empty
            x_real = preprocess(batch.real, "unit")                  # float32 model input
            ...  batch.real_analysis, batch.real_mask_analysis       # image statistics
            ...  batch.real_mask                                     # masks at the model input size
    stream.skipped, stream.notes, stream.mask_counts, stream.analysis_size   # records for the result

Pairing (:func:`build_pairs` -> :class:`PairSet`)
    ``real``/``synth``: a folder (non-recursive; ``IMAGE_EXTENSIONS`` in any case; hidden files
    ignored; other entries in ``skipped`` with reason ``"not an image extension"``; sorted by
    name), a list of paths, or an ``(N, H, W, 3)`` uint8/float-0..255 array. ``pairing``:
    ``"auto"`` (stem if both are files with a common stem; else order if both are lists/arrays of
    equal length; else unpaired with a reason), ``"stem"``, ``"order"``, ``"unpaired"``, or a CSV
    manifest (``real,synth[,mask_real,mask_synth]``, paths relative to the CSV). Unpaired sets
    still list ``real_items``/``synth_items`` so distribution statistics can run.
Decoding (:func:`decode_image`, :func:`decode_image_info`, :func:`decode_mask`)
    One decoder for both sides. Grey, grey+alpha, RGBA, palette, CMYK and 16-bit become RGB uint8;
    **alpha is dropped** (as Keras ``load_img``/``tf.image.decode_image(channels=3)`` do, so the
    model sees what it saw in training; a non-opaque alpha is noted as ``alpha_dropped``);
    16-bit is scaled by ``round(v / 257)``; EXIF orientation is applied. Corrupt or truncated
    files raise :class:`DecodeError` (path + reason); the stream turns that into a skipped pair.
Resizing (:func:`resize_image`, :func:`resize_mask`)
    ``INTER_AREA`` when shrinking, ``INTER_CUBIC`` when growing; masks by area/linear + 0.5 threshold.
    The stream first centre-crops each image and mask to the analysis aspect (never stretches),
    decodes large files at reduced size, and skips images under 8 px a side; the default analysis
    size comes by rule from the real set (:func:`resolve_analysis_size`, docs/bad-inputs.md).
Masks (:func:`estimate_mask`)
    Given per side (``masks=dict(real=folder, synth=folder)`` by stem, manifest columns, or an
    ``(N, H, W)`` array for an array side); otherwise estimated without a model, and every row's
    source (``"given"``/``"estimated"``) is recorded. Accuracy: ``docs/masks.md``. Bounding
    boxes (``stem,x0,y0,x1,y1`` CSVs, ``gapviz.inputs._boxes``) seed the estimator instead;
    ``gapviz.inputs._provenance`` chooses masks of one provenance for both sides
    (``iter_batches(mask_policy=...)``) and measures the estimator against given masks.
Preprocessing (:func:`preprocess`, :func:`preprocess_name`, ``PREPROCESS_MODES``)
    ``"unit"`` (x/255, the study), ``"caffe"``, ``"tf"``, ``"torch"``, ``"raw"`` or a callable.
Testing helpers
    :mod:`gapviz.inputs.testing`: ``ring_scene(seed, size=, background=)`` -> (image, true mask);
    ``write_images(folder, stems)`` writes a folder of small images named by stem.

Examples
--------
>>> import numpy as np
>>> from gapviz.inputs import build_pairs, iter_batches
>>> rng = np.random.default_rng(0)
>>> ps = build_pairs(rng.integers(0, 255, (3, 16, 16, 3), dtype=np.uint8),
...                  rng.integers(0, 255, (3, 16, 16, 3), dtype=np.uint8))
>>> ps
PairSet(mode='order', pairs=3, real=3, synth=3, unmatched=real:0/synth:0, skipped=0)
>>> batch = next(iter(iter_batches(ps, model_size=(8, 8), with_masks=False)))
>>> batch.real.shape, batch.real_analysis.shape
((3, 8, 8, 3), (3, 16, 16, 3))
"""

from __future__ import annotations

from gapviz.inputs._decode import (
    IMAGE_EXTENSIONS,
    DecodeError,
    decode_image,
    decode_image_info,
    decode_mask,
    is_image_path,
    mask_from_array,
    probe_size,
    resize_image,
    resize_mask,
)
from gapviz.inputs._masks import estimate_mask
from gapviz.inputs._pairing import PAIRING_MODES, build_pairs
from gapviz.inputs._pairset import Item, Pair, PairSet
from gapviz.inputs._preprocess import PREPROCESS_MODES, preprocess, preprocess_name
from gapviz.inputs._stream import Batch, BatchStream, SideView, iter_batches, resolve_analysis_size

__all__ = [
    "IMAGE_EXTENSIONS",
    "PAIRING_MODES",
    "PREPROCESS_MODES",
    "Batch",
    "BatchStream",
    "DecodeError",
    "Item",
    "Pair",
    "PairSet",
    "SideView",
    "build_pairs",
    "decode_image",
    "decode_image_info",
    "decode_mask",
    "estimate_mask",
    "is_image_path",
    "iter_batches",
    "mask_from_array",
    "preprocess",
    "preprocess_name",
    "probe_size",
    "resize_image",
    "resize_mask",
    "resolve_analysis_size",
]
