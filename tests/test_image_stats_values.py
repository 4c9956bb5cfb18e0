"""Pinned values of every per-image and per-pair image statistic on generated scenes.

The expected numbers in ``tests/data/image_stats_values.json`` were computed by the image statistics
as they stood before their speed work (issue 16, item 5) and are not to be regenerated: any change to
how a statistic is computed must reproduce them to 1e-9 relative (integers exactly). To see what a
change moves, run this file as a script with ``--check``; ``--write`` regenerates the fixture and is
for a deliberate, documented change of a statistic's definition only.

The scenes are ``gapviz.scenes.render_pair`` pairs (``field`` against ``dataset1``): seeds 0-2 at
64 px, 3-4 at 128 px, one 97x131 crop of a 160 px pair (odd sizes, SIMD tails), one 512 px pair (the
benchmark size), and mask edge cases on a 64 px pair (all False, all True, one pixel). The Canny
thresholds come from each group's real images (``canny_thresholds``), so they are pinned too.

``cv2.Canny`` splits the image into one stripe per OpenCV thread, and hysteresis does not cross a
stripe's border in the same way, so an edge map can differ by a pixel between thread counts (it did
on the 512 px synthetic image: 17,298 edge pixels on one thread, 17,299 on two). The values are
therefore pinned for one thread and for two threads separately (``compare`` runs OpenCV on its
default thread count, the number of cores); each is deterministic for its thread count.
"""

from __future__ import annotations

import json
import math
import os
import sys

import cv2
import numpy as np
import pytest

from gapviz import stats
from gapviz.scenes import render_pair

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "image_stats_values.json")
RTOL = 1e-9
THREADS = (1, 2)


def _pairs(seeds, size, crop=None):
    real, real_m, synth, synth_m = [], [], [], []
    for seed in seeds:
        r, s = render_pair(seed, "field", "dataset1", size=size)
        ys, xs = (
            (slice(None), slice(None)) if crop is None else (slice(7, 7 + crop[0]), slice(11, 11 + crop[1]))
        )
        real.append(np.ascontiguousarray(r.image[ys, xs]))
        real_m.append(np.ascontiguousarray(r.mask[ys, xs]))
        synth.append(np.ascontiguousarray(s.image[ys, xs]))
        synth_m.append(np.ascontiguousarray(s.mask[ys, xs]))
    return real, real_m, synth, synth_m


def _mask_edge_cases():
    real, _, synth, _ = _pairs([6], 64)
    shape = real[0].shape[:2]
    one = np.zeros(shape, bool)
    one[30, 40] = True
    masks = [np.zeros(shape, bool), np.ones(shape, bool), one]
    return real * 3, masks, synth * 3, masks[::-1]


def groups():
    """name -> (real, real_masks, synth, synth_masks): the pinned inputs."""
    return {
        "64px_seeds0-2": _pairs([0, 1, 2], 64),
        "128px_seeds3-4": _pairs([3, 4], 128),
        "97x131_crop_seed7": _pairs([7], 160, crop=(97, 131)),
        "512px_seed8": _pairs([8], 512),
        "64px_mask_edge_cases_seed6": _mask_edge_cases(),
    }


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, np.float64).ravel()]


def compute_group(real, real_m, synth, synth_m) -> dict:
    """Every pinned number of one group (plain floats and ints; NaN where not measurable)."""
    low, high = stats.canny_thresholds(real)
    canny = (low, high, stats.CANNY_SIGMA)
    out = stats.image_stats_pairs(real, real_m, synth, synth_m, canny=canny)
    single = [stats.image_stats(img, m, canny=canny) for img, m in zip(real, real_m, strict=True)]
    return {
        "canny": [float(low), float(high), float(stats.CANNY_SIGMA)],
        "edge_pixels": [int(np.count_nonzero(stats.canny_edges(img, low, high))) for img in real + synth],
        "pairs": {side: {k: _floats(v) for k, v in sorted(d.items())} for side, d in out.items()},
        "image_stats_real": {k: [row[k] for row in single] for k in sorted(single[0])},
    }


def compute_all() -> dict:
    """``{"cv2_threads_1": {group: values}, "cv2_threads_2": ...}``."""
    before, out = cv2.getNumThreads(), {}
    try:
        for threads in THREADS:
            cv2.setNumThreads(threads)
            out[f"cv2_threads_{threads}"] = {name: compute_group(*g) for name, g in groups().items()}
    finally:
        cv2.setNumThreads(before)
    return out


def _close(got, want) -> bool:
    if isinstance(want, int) and not isinstance(want, bool):
        return got == want
    if math.isnan(want):
        return math.isnan(got)
    return got == want or abs(got - want) <= RTOL * abs(want)


def differences(got, want, path="") -> list[str]:
    """Human-readable list of the values that differ beyond the tolerance."""
    if isinstance(want, dict):
        if set(got) != set(want):
            return [f"{path}: keys {sorted(set(got) ^ set(want))} differ"]
        return [d for k in want for d in differences(got[k], want[k], f"{path}/{k}")]
    if isinstance(want, list):
        if len(got) != len(want):
            return [f"{path}: length {len(got)} != {len(want)}"]
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in differences(g, w, f"{path}[{i}]")
        ]
    if not _close(got, want):
        rel = abs(got - want) / abs(want) if want else float("inf")
        return [f"{path}: {got!r} != {want!r} (rel {rel:.2e})"]
    return []


@pytest.fixture(scope="module")
def expected():
    with open(FIXTURE) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def inputs():
    return groups()


@pytest.fixture(params=THREADS, ids=["cv2-1-thread", "cv2-2-threads"])
def cv2_threads(request):
    if request.param > cv2.getNumberOfCPUs():
        pytest.skip("OpenCV caps its threads at the number of CPUs")
    before = cv2.getNumThreads()
    cv2.setNumThreads(request.param)
    yield request.param
    cv2.setNumThreads(before)


def test_the_fixture_covers_every_registered_image_and_pair_statistic(expected):
    for group in expected["cv2_threads_1"].values():
        for side, kind in (("real", "image"), ("synth", "image"), ("pair", "pair")):
            assert sorted(group["pairs"][side]) == sorted(stats.REGISTRY.outputs(kind=kind))


@pytest.mark.parametrize(
    "name",
    ["64px_seeds0-2", "128px_seeds3-4", "97x131_crop_seed7", "512px_seed8", "64px_mask_edge_cases_seed6"],
)
def test_image_statistics_reproduce_the_pinned_values(name, expected, inputs, cv2_threads):
    got = compute_group(*inputs[name])
    assert differences(got, expected[f"cv2_threads_{cv2_threads}"][name]) == []


def test_the_mask_edge_cases_give_nan_where_a_region_is_empty(expected):
    pairs = expected["cv2_threads_1"]["64px_mask_edge_cases_seed6"]["pairs"]["real"]
    # masks: all False, all True, one pixel
    assert math.isnan(pairs["canny_edge_density.object"][0]) and math.isnan(pairs["illumination_cv"][0])
    assert math.isnan(pairs["canny_edge_density.background"][1]) and math.isnan(
        pairs["noise_sigma.background"][1]
    )
    assert math.isnan(pairs["laplacian_var.object"][2]) and not math.isnan(
        pairs["laplacian_var.background"][2]
    )


if __name__ == "__main__":
    values = compute_all()
    if "--write" in sys.argv:
        os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
        with open(FIXTURE, "w") as f:
            json.dump(values, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {FIXTURE}")
    else:
        with open(FIXTURE) as f:
            diffs = differences(values, json.load(f))
        print("\n".join(diffs) or "all pinned values reproduced")


# ----------------------------------------------------------------------------- the faster paths equal the slow ones


def _random_images():
    rng = np.random.default_rng(3)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (131, 97, 3), dtype=np.uint8), (0, 0), 2.0)
    return [rng.integers(0, 256, (97, 131, 3), dtype=np.uint8), smooth, np.full((33, 17, 3), 77, np.uint8)]


def test_grey_equals_the_weighted_channel_sum_bit_for_bit():
    from gapviz.stats._pixels import grey

    for img in _random_images():
        r, g, b = cv2.split(img)
        old = cv2.scaleAdd(
            b.astype(np.float32), 0.114, cv2.addWeighted(r, 0.299, g, 0.587, 0.0, dtype=cv2.CV_32F)
        )
        np.testing.assert_array_equal(grey(img), old)


def test_int16_sobel_equals_the_rounded_float_sobel():
    from gapviz.stats._pixels import grey
    from gapviz.stats.canny import smoothed_gradients

    for img in _random_images():
        g = grey(img)
        smooth = cv2.GaussianBlur(g, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
        for (dx, dy), got in zip(((1, 0), (0, 1)), smoothed_gradients(g, 1.0), strict=True):
            want = np.rint(cv2.Sobel(smooth, cv2.CV_32F, dx, dy, ksize=3, borderType=cv2.BORDER_REFLECT))
            np.testing.assert_array_equal(got, want.astype(np.int16))


def test_integer_noise_sigmas_equal_the_float_path():
    from gapviz.stats.noise import _noise_sigma, channel_noise_sigmas

    rng = np.random.default_rng(4)
    for img in _random_images()[:2]:
        region = rng.random(img.shape[:2]) < 0.8
        want = [_noise_sigma(np.ascontiguousarray(img[..., c], np.float32), region) for c in range(3)]
        assert channel_noise_sigmas(img, region) == want


def test_canny_dataclass_unpacks_like_the_tuple_and_gives_the_same_statistics(inputs):
    import dataclasses

    from gapviz import GapvizError

    real, real_m, synth, synth_m = inputs["64px_seeds0-2"]
    canny = stats.Canny.from_images(real)
    low, high, sigma = canny
    assert (
        (low, high, sigma)
        == (*stats.canny_thresholds(real), stats.CANNY_SIGMA)
        == (canny[0], canny[1], canny[2])
    )
    assert canny.to_dict() == {"low": low, "high": high, "sigma": sigma}
    with pytest.raises(dataclasses.FrozenInstanceError):
        canny.low = 0.0  # type: ignore[misc]
    a = stats.image_stats_pairs(real, real_m, synth, synth_m, canny=canny)
    b = stats.image_stats_pairs(real, real_m, synth, synth_m, canny=tuple(canny))
    for side in a:
        assert a[side].keys() == b[side].keys()
        for k in a[side]:
            np.testing.assert_array_equal(a[side][k], b[side][k])
    with pytest.raises(GapvizError, match="'canny'"):
        stats.Canny(50.0, 20.0)
    with pytest.raises(GapvizError, match="'canny'"):
        stats.Canny.coerce("20, 50")


def test_values_do_not_depend_on_where_the_arrays_lie_in_memory(inputs):
    # OpenCV's float sums vary in the last bits with the rows' alignment; the statistics must not
    real, real_m, synth, synth_m = inputs["97x131_crop_seed7"]
    canny = stats.Canny.from_images(real)
    runs, keep = [], []
    for k in range(6):
        keep.append(np.empty(1000 * k + 13 * k, np.uint8))  # move the allocator's next addresses
        runs.append(stats.image_stats_pairs(real, real_m, synth, synth_m, canny=canny))
    for run in runs[1:]:
        for side in run:
            for key in run[side]:
                np.testing.assert_array_equal(run[side][key], runs[0][side][key], err_msg=f"{side}/{key}")
