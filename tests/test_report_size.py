"""The report stays light: a bounded size for the pairs it shows, no growth with the pairs it measured.

Sizes are from `fake_result.make_fake_result`, whose images and feature maps have the sizes and
photo-like texture of a ResNet50 at 512x512 (so they compress like real ones, not like flat test
images). On the demo (24 pairs, 6 layers of the MobileNetV2 demo model) the report went from
7.4 MB to 1.8 MB with this layout (docs/reading-the-report.md, "Size and speed").
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import numpy as np
import pytest

from fake_result import RESNET50_LAYERS, make_fake_result
from gapviz.pairs import PairTable
from gapviz.report import render_report

#: 5 example pairs x 5 ResNet50 layers at 512x512 with 8 channels: measured 3.2 MB; the old
#: matplotlib-figure report of the same fake result was 8.41 MB
BOUND_5X5 = 4_000_000


def _with_pairs(result, n: int, seed: int = 0):
    """``result`` with an n-pair table and thumbnails for the pairs its report lists."""
    rng = np.random.default_rng(seed)
    cols: dict = {"pair": [f"pair_{i:06d}" for i in range(n)],
                  "real": [f"/data/real/pair_{i:06d}.png" for i in range(n)],
                  "synth": [f"/data/synth/pair_{i:06d}.png" for i in range(n)]}
    for key in result.image_stats:
        stat = result.image_stats[key]
        real = rng.normal(stat["real"], 0.1 + abs(stat["diff"]), n)
        cols[f"{key}.real"], cols[f"{key}.synth"] = real, real + rng.normal(stat["diff"], abs(stat["diff"]) + 0.01, n)
    table = PairTable(cols).with_diffs()
    from gapviz.pairs import furthest_pairs

    listed = {row["pair"] for item in furthest_pairs(table, result.recommendations) for row in item["rows"]}
    images = result.examples[0]
    thumbs = {pair: (images.real_image[::4, ::4].copy(), images.synth_image[::4, ::4].copy()) for pair in listed}
    return replace(result, pairs=table, thumbnails=thumbs)


@pytest.fixture(scope="module")
def base():
    return make_fake_result(5, layers=RESNET50_LAYERS, n_channels=8)


def test_report_size_is_bounded_for_five_pairs_and_five_layers(base):
    start = time.perf_counter()
    html = render_report(_with_pairs(base, 24))
    seconds = time.perf_counter() - start
    size = len(html.encode("utf-8"))
    print(f"\nreport, 5 example pairs x 5 layers at 512x512: {size / 1e6:.2f} MB in {seconds:.2f} s")
    assert size < BOUND_5X5


def test_report_size_does_not_grow_with_pairs(base):
    sizes = {n: len(render_report(_with_pairs(base, n)).encode("utf-8")) for n in (24, 30_000)}
    print(f"\nreport size: 24 pairs {sizes[24] / 1e6:.3f} MB, 30,000 pairs {sizes[30_000] / 1e6:.3f} MB")
    # the listed pairs and their thumbnails differ, their number does not: same size within 1 %
    assert abs(sizes[30_000] - sizes[24]) < 0.01 * sizes[24]


def test_each_listed_pair_is_embedded_once(base):
    result = _with_pairs(base, 500)
    html = render_report(result)
    classes = re.findall(r"\.(gv-th-\d+-(?:real|synth)) \{ background-image", html)
    assert len(classes) == len(set(classes)) == 2 * len(result.thumbnails)
    section = html[html.index('<section id="furthest-pairs">'):]
    section = section[: section.index("</section>")]
    for pair in result.thumbnails:
        assert pair in section
    # three pairs per recommendation with a per-pair main statistic, not 500
    assert section.count("<figure>") <= 3 * len(result.recommendations)


def test_input_images_are_embedded_once_per_pair(base):
    html = render_report(base)
    # 5 pairs x 2 sides, each shown in the Canny grid, the pair header and 5 energy overlays
    assert len(re.findall(r'background-image: url\("data:image/jpeg', html)) == 10
    assert html.count('class="ph gv-in-0-real"') == 1 + 1
    assert html.count('class="ph ovl gv-in-0-real"') == len(RESNET50_LAYERS)
