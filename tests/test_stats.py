"""gapviz.stats: known answers for the layer reductions, image statistics, CKA/KID, CIs and accumulators.

All data is generated here (small random arrays and drawn images); reference values are either
closed-form (a shifted sample, a linear ramp, a known noise sigma) or a direct O(n²) loop of the
published formula.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gapviz import GapvizError, stats
from gapviz.stats import similarity
from gapviz.stats._registry import Registry

CANNY = (20.0, 50.0, 1.0)


# ----------------------------------------------------------------------------- helpers


def smooth_texture(rng, size, *, blur=4.0, amplitude=30.0, mean=128.0):
    """A smooth random texture plus a gentle ramp: textured, but with no fine detail."""
    t = cv2.GaussianBlur(rng.normal(size=(size, size)).astype(np.float32), (0, 0), blur)
    t = t / t.std() * amplitude
    ramp = np.linspace(-10, 10, size, dtype=np.float32)[None, :]
    return mean + t + ramp


def to_rgb(grey):
    return np.repeat(np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def disk_mask(size, radius_frac=0.3):
    yy, xx = np.mgrid[:size, :size]
    c = (size - 1) / 2
    return (yy - c) ** 2 + (xx - c) ** 2 < (radius_frac * size) ** 2


def scene(rng, size=128, *, noise=0.0, bg_blur=0.0, lit=1.0):
    """A textured object (disk) on a smooth background; optional background blur, noise, half-lighting."""
    mask = disk_mask(size)
    bg = smooth_texture(rng, size, blur=2.0, amplitude=25.0, mean=100.0)
    if bg_blur:
        bg = cv2.GaussianBlur(bg, (0, 0), bg_blur)
    obj = smooth_texture(rng, size, blur=1.0, amplitude=20.0, mean=170.0)
    if lit < 1.0:
        obj[:, : size // 2] *= lit
    g = np.where(mask, obj, bg) + rng.normal(0.0, noise, (size, size)) if noise else np.where(mask, obj, bg)
    return to_rgb(g), mask


# ----------------------------------------------------------------------------- registry


def test_registry_refuses_duplicates_and_lists_names_on_a_miss():
    reg = Registry()
    reg.register("alpha", kind="image")(lambda ctx: {"alpha": 1.0})
    with pytest.raises(GapvizError, match="'alpha' is already registered"):
        reg.register("alpha", kind="set")(lambda x, y: 0.0)
    with pytest.raises(GapvizError, match="valid names: alpha"):
        reg.get("beta")
    with pytest.raises(GapvizError, match="unknown set statistic 'alpha'"):
        reg.get("alpha", kind="set")
    with pytest.raises(GapvizError, match="'kind' must be one of"):
        reg.register("gamma", kind="pixel")


def test_registry_holds_the_design_names():
    outputs = set(stats.REGISTRY.outputs())
    design = {
        "canny_edge_density.object", "canny_edge_density.background", "canny_edge_density.whole",
        "canny_straightness", "canny_edge_agreement", "laplacian_var.object", "laplacian_var.background",
        "coarse_sharpness.object", "coarse_sharpness.background",
        "blur_effect", "noise_sigma.background", "brightness", "rms_contrast", "rgb_relative.r",
        "rgb_relative.g", "rgb_relative.b", "illumination_cv", "jpeg_blockiness",
        "background_ratio", "edge_sharpness", "gap", "pooled", "channel_max", "cka", "kid",
    }  # fmt: skip
    assert design <= outputs


def test_stats_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, gapviz.stats; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- CKA


def test_cka_identical_is_one_and_independent_is_near_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 30))
    assert stats.cka(x, x) == pytest.approx(1.0, abs=1e-12)
    y = rng.normal(size=(200, 50))
    assert abs(stats.cka(x, y)) < 0.1
    # the biased estimator is far from 0 for unrelated wide features: why the debiased one is the default
    assert stats.cka(x, y, debiased=False) > 0.15


@pytest.mark.parametrize("debiased", [True, False], ids=["debiased", "biased"])
def test_cka_is_invariant_to_rotation_isotropic_scale_and_shift(debiased):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 12))
    y = x @ rng.normal(size=(12, 12)) + 0.5 * rng.normal(size=(80, 12))
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    ref = stats.cka(x, y, debiased=debiased)
    assert stats.cka(x @ q * 7.5 + 3.0, y, debiased=debiased) == pytest.approx(ref, rel=1e-9)
    assert stats.cka(x, 0.01 * y @ q.T, debiased=debiased) == pytest.approx(ref, rel=1e-9)


def _hsic_unbiased_loop(gk, gl):
    """Song et al. (2012) eq. 5, written out with explicit diagonal-free matrices."""
    n = len(gk)
    gk, gl = gk.copy(), gl.copy()
    np.fill_diagonal(gk, 0)
    np.fill_diagonal(gl, 0)
    one = np.ones(n)
    return (
        np.trace(gk @ gl)
        + (one @ gk @ one) * (one @ gl @ one) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * one @ gk @ gl @ one
    ) / (n * (n - 3))


def test_debiased_cka_matches_the_published_estimator():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 7))
    y[:, :3] += x[:, :3]
    gk, gl = x @ x.T, y @ y.T
    ref = _hsic_unbiased_loop(gk, gl) / np.sqrt(_hsic_unbiased_loop(gk, gk) * _hsic_unbiased_loop(gl, gl))
    assert stats.cka(x, y) == pytest.approx(ref, rel=1e-10)


def test_cka_stat_bootstrap_weights_equal_resampling_without_self_pairs():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    idx = rng.integers(0, 20, 20)
    counts = np.bincount(idx, minlength=20).astype(float)[None]
    gx, gy = similarity._linear_gram(x), similarity._linear_gram(y)
    weighted = similarity._cka_from_grams(gx, gy, counts, debiased=True)[0]
    # explicit: the resampled Gram matrices with every same-row entry dropped
    same = idx[:, None] == idx[None, :]
    kb, lb = np.where(same, 0, gx[np.ix_(idx, idx)]), np.where(same, 0, gy[np.ix_(idx, idx)])
    explicit = _hsic_unbiased_loop(kb, lb) / np.sqrt(
        _hsic_unbiased_loop(kb, kb) * _hsic_unbiased_loop(lb, lb)
    )
    assert weighted == pytest.approx(explicit, rel=1e-10)


def test_cka_stat_shape_and_ci():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(120, 10))
    s = stats.cka_stat(x, x + 0.3 * rng.normal(size=x.shape), seed=0, n_boot=200)
    assert set(s) == {"value", "ci95", "noise_floor", "n"}
    assert s["n"] == 120 and s["noise_floor"] is None
    assert s["ci95"][0] <= s["value"] <= s["ci95"][1] <= 1.0


# ----------------------------------------------------------------------------- KID


def _kid_loop(x, y):
    """Bińkowski et al. (2018): unbiased MMD² with k(a, b) = (a·b/d + 1)^3, as an O(n²) loop."""
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_direct_loop():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(25, 6)), rng.normal(0.3, 1.2, size=(18, 6))
    assert stats.kid(x, y) == pytest.approx(_kid_loop(x, y), rel=1e-10)


def test_kid_subsets_average_subset_estimates():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + 0.5
    sub = stats.kid(x, y, n_subsets=5, subset_size=30, seed=1)
    assert sub == pytest.approx(stats.kid(x, y), rel=0.5)
    with pytest.raises(GapvizError, match="subset_size"):
        stats.kid(x, y, n_subsets=2, subset_size=100)


def test_kid_of_one_distribution_is_near_zero_and_of_shifted_ones_is_not():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
    same = stats.kid_stat(x, y, seed=0, n_boot=300)
    assert same["ci95"][0] <= 0.0 <= same["ci95"][1]
    assert same["noise_floor"] is not None and same["noise_floor"] < 0.05
    shifted = stats.kid_stat(x, y + 0.7, seed=0, n_boot=300)
    assert shifted["ci95"][0] > 0.0
    assert shifted["value"] > 10 * same["noise_floor"]
    unpaired = stats.kid_stat(x, y[:150] + 0.7, seed=0, n_boot=300, paired=False)
    assert unpaired["ci95"][0] > 0.0 and unpaired["n"] == 150


def test_kid_bootstrap_weights_equal_resampling_without_self_pairs():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(15, 3)), rng.normal(size=(15, 3))
    idx = rng.integers(0, 15, 15)
    counts = np.bincount(idx, minlength=15).astype(float)[None]
    kxx, kyy, kxy = similarity._kid_grams(x, y)
    weighted = similarity._mmd2_weighted(kxx, kyy, kxy, counts, counts)[0]
    xs, ys = x[idx], y[idx]
    d = x.shape[1]
    same = idx[:, None] != idx[None, :]
    within = lambda a: ((a @ a.T / d + 1) ** 3)[same].mean()  # noqa: E731
    explicit = within(xs) + within(ys) - 2 * ((xs @ ys.T / d + 1) ** 3).mean()
    assert weighted == pytest.approx(explicit, rel=1e-10)


# ----------------------------------------------------------------------------- paired / unpaired Stat


def test_paired_stat_on_a_known_shift():
    rng = np.random.default_rng(9)
    real = rng.normal(10.0, 2.0, 400)
    synth = real + 0.5 + rng.normal(0.0, 0.2, 400)
    s = stats.paired_stat(real, synth, seed=1, n_boot=2000)
    assert set(s) == {"real", "synth", "diff", "effect_size", "ci95", "noise_floor", "n", "paired", "dropped"}
    d = synth - real
    assert s["diff"] == pytest.approx(d.mean())
    assert s["real"] == pytest.approx(real.mean()) and s["synth"] == pytest.approx(synth.mean())
    assert s["effect_size"] == pytest.approx(d.mean() / d.std(ddof=1))
    se = d.std(ddof=1) / np.sqrt(400)
    lo, hi = s["ci95"]
    assert lo < 0.5 < hi and lo > 0
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)
    # two random halves of N(10, 2) with 200 each differ by about 2 * 2/sqrt(400) * 0.67 (median |normal|)
    assert 0.02 < s["noise_floor"] < 0.25
    assert s["n"] == 400 and s["paired"] is True and s["dropped"] == 0


def test_identical_sets_give_zero_diffs():
    real = np.random.default_rng(10).normal(size=50)
    s = stats.paired_stat(real, real.copy())
    assert s["diff"] == 0.0 and s["effect_size"] == 0.0 and s["ci95"] == [0.0, 0.0]


def test_nonfinite_pairs_are_dropped_and_counted():
    real = np.array([1.0, 2.0, np.nan, 4.0, 5.0, np.inf])
    synth = np.array([2.0, 3.0, 4.0, np.nan, 6.0, 7.0])
    s = stats.paired_stat(real, synth)
    assert s["n"] == 3 and s["dropped"] == 3 and s["diff"] == 1.0
    assert s["noise_floor"] is None  # n < 4
    empty = stats.paired_stat([np.nan], [1.0])
    assert empty["n"] == 0 and empty["diff"] is None and empty["ci95"] == [None, None]


def test_effect_size_of_a_constant_shift_is_capped_and_json_safe():
    s = stats.paired_stat(np.arange(5.0), np.arange(5.0) - 1.0)
    assert s["effect_size"] == -stats.inference.EFFECT_SIZE_CAP


def test_same_seed_same_output_and_seed_matters():
    rng = np.random.default_rng(11)
    real, synth = rng.normal(size=60), rng.normal(size=60)
    assert stats.paired_stat(real, synth, seed=3) == stats.paired_stat(real, synth, seed=3)
    assert stats.paired_stat(real, synth, seed=3)["ci95"] != stats.paired_stat(real, synth, seed=4)["ci95"]


def test_unpaired_stat_uses_cohens_d():
    rng = np.random.default_rng(12)
    real, synth = rng.normal(0, 1, 300), rng.normal(1, 1, 200)
    s = stats.unpaired_stat(real, np.append(synth, np.nan), seed=0, n_boot=500)
    pooled = np.sqrt((299 * real.var(ddof=1) + 199 * synth.var(ddof=1)) / 498)
    assert s["effect_size"] == pytest.approx((synth.mean() - real.mean()) / pooled)
    assert s["paired"] is False and s["n_real"] == 300 and s["n_synth"] == 200 and s["dropped"] == 1
    assert s["ci95"][0] < synth.mean() - real.mean() < s["ci95"][1]


def test_bootstrap_paired_with_a_custom_statistic():
    rng = np.random.default_rng(13)
    real = rng.normal(size=(100, 3))
    synth = real + rng.normal(size=(100, 3))
    lo, hi = stats.bootstrap_paired(real, synth, lambda r, s: np.corrcoef(r[:, 0], s[:, 0])[0, 1], n_boot=200)
    assert 0.4 < lo < hi < 0.9  # corr of x and x + noise of equal variance is 1/sqrt(2)
    with pytest.raises(GapvizError, match="same number of rows"):
        stats.bootstrap_paired(real, synth[:5])


# ----------------------------------------------------------------------------- layer reductions


def _layer_inputs(rng, b=3, h=20, w=24, c=6, big=(64, 77)):
    act = np.abs(rng.normal(size=(b, h, w, c))).astype(np.float32)
    mask = np.zeros((b, *big, 1), np.float32)
    mask[:, 16:50, 20:60] = 1.0
    return act, mask


def test_tf_reducer_equals_numpy_twin_inside_tf_function():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(14)
    act, mask = _layer_inputs(rng)
    act[1, 3, 4, 2] = np.nan  # a NaN image: excluded, never propagated
    reducer = stats.make_layer_reducer(pooled_size=3)
    out = tf.function(reducer)("conv", tf.constant(act), {"mask": tf.constant(mask)})
    ref = stats.layer_summaries_np(act, mask, pooled_size=3)
    assert set(out) == set(ref)
    for key, value in ref.items():
        assert out[key].shape == value.shape, key
        np.testing.assert_allclose(out[key].numpy(), value, rtol=2e-5, atol=1e-6, equal_nan=True, err_msg=key)
    assert ref["finite"].tolist() == [True, False, True]
    assert np.isnan(ref["background_ratio"][1]) and np.isnan(ref["gap"][1]).all()
    assert (ref["channel_max"][1] == 0).all()
    assert ref["pooled"].shape == (3, 3 * 3 * 6)


def test_reducer_needs_a_mask_and_checks_options():
    with pytest.raises(GapvizError, match="aux\\['mask'\\]"):
        stats.make_layer_reducer()("conv", None, {})
    with pytest.raises(GapvizError, match="pooled_size"):
        stats.make_layer_reducer(pooled_size=0)
    with pytest.raises(GapvizError, match="valid names"):
        stats.make_layer_reducer(stats=["nope"])


def test_background_ratio_falls_when_the_background_is_attenuated():
    rng = np.random.default_rng(15)
    act, mask = _layer_inputs(rng, big=(80, 96))  # integer factor 4
    base = stats.layer_summaries_np(act, mask)
    coverage = cv2.resize(mask[0, ..., 0], (24, 20), interpolation=cv2.INTER_AREA)
    damped = act * np.where(coverage < 0.1, 0.25, 1.0)[None, ..., None].astype(np.float32)
    out = stats.layer_summaries_np(damped, mask)
    assert np.all(out["background_ratio"] < base["background_ratio"])
    np.testing.assert_allclose(out["background_ratio"], 0.25 * base["background_ratio"], rtol=1e-5)
    np.testing.assert_allclose(out["energy_object"], base["energy_object"], rtol=1e-6)


def _step_activation(size, blur):
    """Energy 1 on a central square object, 0.2 outside; optionally blurred (a wider edge)."""
    e = np.full((size, size), 0.2, np.float32)
    e[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
    if blur:
        e = cv2.GaussianBlur(e, (0, 0), blur)
    mask = np.zeros((2 * size, 2 * size), np.float32)
    mask[size // 2 : 3 * size // 2, size // 2 : 3 * size // 2] = 1.0
    return np.repeat(e[None, ..., None], 4, axis=3), mask[None]


def test_edge_sharpness_is_higher_for_a_sharp_step_and_is_an_inverse_width():
    sharp = stats.layer_summaries_np(*_step_activation(32, 0))["edge_sharpness"][0]
    soft = stats.layer_summaries_np(*_step_activation(32, 2.0))["edge_sharpness"][0]
    assert sharp > 1.5 * soft
    # a linear ramp of width w between object and background gives ~ 1/w (exactly 0.1172 for w = 8:
    # the central differences at the ramp's two ends are half-steps)
    e = np.full((1, 40, 40, 1), 0.0, np.float32)
    ramp = np.clip((np.arange(40) - 16) / 8.0, 0, 1).astype(np.float32)  # width 8 px
    e[0, :, :, 0] = ramp[None, :]
    mask = np.zeros((1, 40, 40), np.float32)
    mask[:, :, 20:] = 1.0
    assert stats.layer_summaries_np(e, mask, band_px=6)["edge_sharpness"][0] == pytest.approx(1 / 8, rel=0.1)


def test_pooled_and_gap_are_averages():
    rng = np.random.default_rng(16)
    act, mask = _layer_inputs(rng, h=8, w=8, c=2)
    out = stats.layer_summaries_np(act, mask, pooled_size=2)
    np.testing.assert_allclose(out["gap"], act.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(out["pooled"][:, :2], act[:, :4, :4].mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(out["channel_max"], act.max(axis=(1, 2)), rtol=1e-6)


# ----------------------------------------------------------------------------- image statistics


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0], ids=["sigma2", "sigma5", "sigma10"])
def test_noise_sigma_recovers_a_known_gaussian_sigma(sigma):
    rng = np.random.default_rng(int(sigma))
    size = 256
    grey = smooth_texture(rng, size, blur=4.0, amplitude=30.0) + rng.normal(0.0, sigma, (size, size))
    mask = disk_mask(size, 0.2)
    est = stats.image_stats(to_rgb(grey), mask, canny=CANNY, stats=["noise_sigma"])["noise_sigma.background"]
    assert est == pytest.approx(sigma, rel=0.2)


def test_illumination_cv_is_higher_for_a_half_lit_object():
    rng = np.random.default_rng(17)
    even = stats.image_stats(*scene(rng, lit=1.0), canny=CANNY)["illumination_cv"]
    rng = np.random.default_rng(17)
    half = stats.image_stats(*scene(rng, lit=0.4), canny=CANNY)["illumination_cv"]
    assert half > 3 * even


def test_laplacian_var_background_falls_after_blurring_the_background_only():
    rng = np.random.default_rng(18)
    sharp = stats.image_stats(*scene(rng), canny=CANNY)
    rng = np.random.default_rng(18)
    blurred = stats.image_stats(*scene(rng, bg_blur=2.0), canny=CANNY)
    assert blurred["laplacian_var.background"] < 0.5 * sharp["laplacian_var.background"]
    # the object region is eroded away from the outline, so the blur does not reach it
    assert blurred["laplacian_var.object"] == pytest.approx(sharp["laplacian_var.object"], rel=1e-6)


def test_coarse_sharpness_sees_defocus_but_not_sensor_noise():
    rng = np.random.default_rng(18)
    sharp = stats.image_stats(*scene(rng), canny=CANNY)
    rng = np.random.default_rng(18)
    blurred = stats.image_stats(*scene(rng, bg_blur=2.0), canny=CANNY)
    rng = np.random.default_rng(18)
    img, mask = scene(rng)
    noisy = np.clip(img + np.random.default_rng(1).normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    noisy_stats = stats.image_stats(noisy, mask, canny=CANNY)
    assert blurred["coarse_sharpness.background"] < 0.5 * sharp["coarse_sharpness.background"]
    # noise of sigma 6 multiplies the fine Laplacian variance but barely moves the coarse one
    assert noisy_stats["laplacian_var.background"] > 1.5 * sharp["laplacian_var.background"]
    assert noisy_stats["coarse_sharpness.background"] == pytest.approx(sharp["coarse_sharpness.background"], rel=0.15)


def test_jpeg_blockiness_is_higher_for_low_quality_jpeg():
    rng = np.random.default_rng(19)
    img, mask = scene(rng, size=128, noise=3.0)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 30])
    jpeg = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    ok, buf = cv2.imencode(".png", img)
    png = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    b_png = stats.image_stats(png, mask, canny=CANNY)["jpeg_blockiness"]
    b_jpeg = stats.image_stats(jpeg, mask, canny=CANNY)["jpeg_blockiness"]
    assert b_png == pytest.approx(1.0, abs=0.1)
    assert b_jpeg > 1.2 * b_png


def test_canny_density_falls_after_softening_with_fixed_thresholds():
    rng = np.random.default_rng(20)
    img, mask = scene(rng, noise=2.0)
    low, high = stats.canny_thresholds([img])
    assert 0 < low < high
    soft = cv2.GaussianBlur(img, (0, 0), 2.0)
    both = stats.image_stats_batch(np.stack([img, soft]), np.stack([mask, mask]), canny=(low, high, 1.0))
    for region in ("object", "background", "whole"):
        d = both[f"canny_edge_density.{region}"]
        assert d[1] < d[0], region
    edges = stats.canny_edges(img, low, high)
    assert edges.mean() == pytest.approx(both["canny_edge_density.whole"][0])


def test_canny_straightness_prefers_straight_edges():
    size = 128
    square = np.zeros((size, size), np.float32)
    square[32:96, 32:96] = 200.0
    rng = np.random.default_rng(21)
    blob = (cv2.GaussianBlur(rng.normal(size=(size, size)).astype(np.float32), (0, 0), 3.0) > 0) * 200.0
    s_square = stats.image_stats(to_rgb(square), square > 0, canny=CANNY)["canny_straightness"]
    s_blob = stats.image_stats(to_rgb(blob), blob > 0, canny=CANNY)["canny_straightness"]
    assert s_square > 0.9 and s_blob < s_square - 0.1


def test_blur_effect_matches_scikit_image():
    from skimage.measure import blur_effect

    rng = np.random.default_rng(22)
    img, mask = scene(rng, size=96, noise=2.0)
    ctx = stats.ImageContext(img, mask, canny=CANNY)
    ours = stats.image_stats(img, mask, canny=CANNY)["blur_effect"]
    assert ours == pytest.approx(blur_effect(ctx.grey.astype(np.float64) / 255.0), abs=1e-5)


def test_rgb_relative_equals_the_float64_channel_means_to_the_last_bit():
    # sums of up to 4000 x 3000 bright pixels pass 2**31: the channel sums must stay exact
    rng = np.random.default_rng(5)
    for shape in ((333, 517, 3), (7, 5, 3), (3000, 4000, 3)):
        img = rng.integers(0, 256, size=shape, dtype=np.uint8)
        if shape[0] > 1000:
            img[...] = 255 - img // 16
        means = img.reshape(-1, 3).mean(axis=0, dtype=np.float64)
        out = stats.image_stats(img, np.zeros(shape[:2], bool), canny=CANNY, stats=["rgb_relative"])
        assert [out[f"rgb_relative.{c}"] for c in "rgb"] == [float(v) for v in means / means.mean()]


def test_exposure_and_colour_statistics():
    img = np.zeros((32, 32, 3), np.uint8)
    img[...] = (200, 100, 100)
    out = stats.image_stats(img, np.zeros((32, 32), bool), canny=CANNY)
    assert out["rgb_relative.r"] == pytest.approx(1.5) and out["rgb_relative.g"] == pytest.approx(0.75)
    assert out["rms_contrast"] == pytest.approx(0.0, abs=1e-6)
    assert out["brightness"] == pytest.approx((0.299 * 200 + 0.701 * 100) / 255, rel=1e-5)
    # an empty object is not measurable: NaN, never an exception
    assert np.isnan(out["illumination_cv"]) and np.isnan(out["canny_edge_density.object"])


def test_edge_agreement():
    a = np.zeros((40, 40), bool)
    a[:, 20] = True
    assert stats.edge_agreement(a, a) == 1.0
    assert stats.edge_agreement(a, np.roll(a, 2, axis=1), tol_px=2) == 1.0
    assert stats.edge_agreement(a, np.roll(a, 3, axis=1), tol_px=2) == 0.0
    half = a.copy()
    half[20:] = False
    precision = 22 / 40  # a's rows 0-21 lie within 2 px of half's rows 0-19
    assert stats.edge_agreement(a, half) == pytest.approx(2 * precision * 1.0 / (precision + 1.0))
    assert stats.edge_agreement(np.zeros_like(a), np.zeros_like(a)) == 1.0
    assert stats.edge_agreement(a, np.zeros_like(a)) == 0.0


def test_image_stats_pairs_and_argument_errors():
    rng = np.random.default_rng(23)
    img, mask = scene(rng, size=64, noise=2.0)
    out = stats.image_stats_pairs([img, img], [mask, mask], [img, img[::-1]], [mask, mask], canny=CANNY)
    assert set(out["real"]) == set(stats.REGISTRY.outputs(kind="image"))
    assert out["pair"]["canny_edge_agreement"][0] == 1.0 > out["pair"]["canny_edge_agreement"][1]
    with pytest.raises(GapvizError, match="uint8 RGB"):
        stats.image_stats(img.astype(np.float32), mask, canny=CANNY)
    with pytest.raises(GapvizError, match="'mask'"):
        stats.image_stats(img, mask[:10], canny=CANNY)
    with pytest.raises(GapvizError, match="'canny'"):
        stats.image_stats(img, mask, canny=(50.0, 20.0, 1.0))


# ----------------------------------------------------------------------------- decay


def test_decay_slope_known_values():
    depth = np.arange(5)
    real = np.exp(-0.8 * depth)[None].repeat(6, 0) * np.linspace(0.5, 1.5, 6)[:, None]
    synth = np.exp(-0.3 * depth)[None].repeat(6, 0)
    np.testing.assert_allclose(stats.decay_slope(real), -0.8)
    s = stats.decay_slope_stat(real, synth, n_boot=100)
    assert s["diff"] == pytest.approx(0.5) and s["ci95"][0] == pytest.approx(0.5)
    real[2, 3] = np.nan
    assert np.isnan(stats.decay_slope(real)[2])


# ----------------------------------------------------------------------------- accumulator


def _fake_layer_outputs(rng, b, c, *, nan_rows=()):
    out = stats.layer_summaries_np(
        np.abs(rng.normal(size=(b, 16, 16, c))).astype(np.float32), np.tile(disk_mask(32)[None], (b, 1, 1))
    )
    for i in nan_rows:
        out["finite"][i] = False
        for k in ("background_ratio", "edge_sharpness", "energy_object", "energy_background"):
            out[k][i] = np.nan
        out["gap"][i] = np.nan
        out["pooled"][i] = np.nan
    return out


def _batches(n_pairs, batch, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_pairs, batch):
        ids = np.arange(start, min(start + batch, n_pairs))
        b = len(ids)
        r = {"brightness": rng.random(b), "noise_sigma.background": rng.random(b)}
        s = {
            "brightness": r["brightness"] + 0.1 + 0.01 * rng.random(b),
            "noise_sigma.background": rng.random(b),
        }
        pair = {"canny_edge_agreement": rng.random(b)}
        layers = {
            name: (
                _fake_layer_outputs(rng, b, c),
                _fake_layer_outputs(rng, b, c, nan_rows=[0] if start == 0 else []),
            )
            for name, c in (("a", 3), ("b", 5))
        }
        out.append((ids, {"real": r, "synth": s, "pair": pair}, layers))
    return out


def _fill(acc, batches):
    for ids, images, layers in batches:
        acc.add_images(ids, images)
        for name, (real, synth) in layers.items():
            acc.add_layer(name, ids, real=real, synth=synth)
    return acc


@pytest.mark.parametrize("cap", [64, 10], ids=["under-cap", "over-cap"])
def test_merge_of_two_halves_equals_one_pass(cap):
    batches = _batches(40, 7)
    one = _fill(stats.PairAccumulator(layers=["a", "b"], cap=cap, seed=5), batches).finalize(n_boot=200)
    first = _fill(stats.PairAccumulator(layers=["a", "b"], cap=cap, seed=5), batches[:3])
    second = _fill(stats.PairAccumulator(layers=["a", "b"], cap=cap, seed=5), batches[3:])
    assert second.merge(first).finalize(n_boot=200) == one  # exact, whichever order
    assert one["n_pairs"] == 40
    kept = np.argsort(stats.accumulate._priority(np.arange(40), 5))[: min(cap, 40)]
    # pair 0's synthetic activation is non-finite: that pair leaves the sample if it was drawn
    assert one["layers"]["a"]["stats"]["cka_gap"]["n"] == len(kept) - int(0 in kept)


def test_accumulator_output_shapes_nan_handling_and_determinism():
    batches = _batches(30, 8)
    acc = _fill(stats.PairAccumulator(layers=["a", "b"], cap=50, seed=1), batches)
    out = acc.finalize(n_boot=200)
    assert out == _fill(stats.PairAccumulator(layers=["a", "b"], cap=50, seed=1), batches).finalize(
        n_boot=200
    )
    assert out != acc.finalize(seed=2, n_boot=200)
    img = out["image_stats"]
    assert img["brightness"]["diff"] == pytest.approx(0.105, abs=0.01) and img["brightness"]["ci95"][0] > 0.09
    agreement = img["canny_edge_agreement"]
    assert agreement["real"] == 1.0 and agreement["noise_floor"] is None
    layer = out["layers"]["a"]
    assert set(layer["stats"]) >= {
        "background_ratio",
        "edge_sharpness",
        "dead_fraction",
        "cka_gap",
        "cka_pooled",
        "kid",
    }
    assert layer["nonfinite"] == {"real": 0, "synth": 1} and layer["images"] == {"real": 30, "synth": 30}
    assert (
        layer["stats"]["background_ratio"]["n"] == 29 and layer["stats"]["background_ratio"]["dropped"] == 1
    )
    assert layer["stats"]["cka_gap"]["n"] == 29 and layer["stats"]["dead_fraction"]["real"] == 0.0
    assert layer["channels"] == 3
    assert out["decay"]["background_ratio_slope"]["n"] == 29


def test_accumulator_memory_is_capped():
    acc = stats.PairAccumulator(layers=["a"], cap=8, seed=0)
    rng = np.random.default_rng(0)
    for start in range(0, 200, 10):
        ids = np.arange(start, start + 10)
        acc.add_layer("a", ids, real=_fake_layer_outputs(rng, 10, 4), synth=_fake_layer_outputs(rng, 10, 4))
    for sample in acc._samples.values():
        assert len(sample.ids) <= 2 * 8
    out = acc.finalize(n_boot=50)
    assert out["layers"]["a"]["stats"]["kid"]["n"] == 8


def test_dead_fraction_counts_channels_zero_everywhere():
    acc = stats.PairAccumulator(layers=["a"], cap=8)
    for ids in (np.arange(4), np.arange(4, 8)):
        real = {"channel_max": np.array([[1.0, 0.0, 0.0, 2.0]] * 4), "finite": np.ones(4, bool)}
        synth = {"channel_max": np.array([[1.0, 0.0, 3.0, 2.0]] * 4), "finite": np.ones(4, bool)}
        acc.add_layer("a", ids, real=real, synth=synth)
    dead = acc.finalize(n_boot=10)["layers"]["a"]["stats"]["dead_fraction"]
    assert (dead["real"], dead["synth"], dead["diff"]) == (0.5, 0.25, -0.25)


def test_accumulator_refuses_repeated_pairs_and_unknown_layers():
    batches = _batches(10, 5)
    a = _fill(stats.PairAccumulator(layers=["a", "b"], cap=8), batches)
    b = _fill(stats.PairAccumulator(layers=["a", "b"], cap=8), batches[:1])
    with pytest.raises(GapvizError, match="added to both"):
        a.merge(b)
    with pytest.raises(GapvizError, match="same layers"):
        a.merge(stats.PairAccumulator(layers=["a"], cap=8))
    with pytest.raises(GapvizError, match="unknown layer 'c'"):
        a.add_layer("c", [0], real={})
    _fill(a, batches[:1])
    with pytest.raises(GapvizError, match="more than once"):
        a.finalize(n_boot=10)


def test_string_ids_and_unpaired_mode():
    rng = np.random.default_rng(24)
    acc = stats.PairAccumulator(layers=["a"], cap=16, paired=False)
    acc.add_layer("a", [f"r{i}" for i in range(12)], real=_fake_layer_outputs(rng, 12, 3))
    acc.add_layer("a", [f"s{i}" for i in range(9)], synth=_fake_layer_outputs(rng, 9, 3))
    acc.add_images([f"r{i}" for i in range(12)], {"real": {"brightness": rng.random(12)}})
    acc.add_images([f"s{i}" for i in range(9)], {"synth": {"brightness": rng.random(9) + 1.0}})
    out = acc.finalize(n_boot=50)
    assert out["image_stats"]["brightness"]["paired"] is False
    assert out["image_stats"]["brightness"]["n_real"] == 12
    assert out["layers"]["a"]["stats"]["cka_gap"]["value"] is None
    assert out["layers"]["a"]["stats"]["kid"]["n"] == 9


def test_priority_sample_is_independent_of_batching():
    ids = np.arange(100)
    p = stats.accumulate._priority(ids, 3)
    assert np.array_equal(p[37:], stats.accumulate._priority(ids[37:], 3))
    assert len(set(p.tolist())) == 100
    assert not np.array_equal(p, stats.accumulate._priority(ids, 4))
    s = stats.accumulate._priority(np.array(["a", "b"]), 3)
    assert s.dtype == np.uint64 and s[0] != s[1]


def test_sides_may_arrive_in_separate_calls():
    # a batch with only one side of a layer is legal (e.g. real and synth reduced in separate calls)
    rng = np.random.default_rng(25)
    acc = stats.PairAccumulator(layers=["a"], cap=8)
    for side in ("real", "synth"):
        acc.add_layer("a", np.arange(6), **{side: _fake_layer_outputs(rng, 6, 2)})
    assert acc.finalize(n_boot=20)["layers"]["a"]["stats"]["cka_gap"]["n"] == 6


def test_registry_producers_maps_output_keys_to_statistics():
    assert stats.REGISTRY.producers(["laplacian_rel.object", "noise_sigma.background"], kind="image") == [
        "laplacian_var",
        "noise_sigma",
    ]
    with pytest.raises(GapvizError, match="no registered statistic computes"):
        stats.REGISTRY.producers(["nope.object"], kind="image")
