"""The HTML report, the Jupyter summary and the plot helpers, drawn from a fake `GapResult`.

No TensorFlow: `fake_result.make_fake_result` builds the result from synthetic numbers in the
documented JSON shapes (docs/architecture.md), with images and feature maps at the sizes a
ResNet50 at 512x512 produces.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from PIL import Image

from fake_result import RESNET50_LAYERS, make_fake_result
from gapviz import GapvizError
from gapviz.report import format_ci, format_number, render_report, render_summary

EVIL_NAME = "<script>alert(1)</script>"
NORDIC_NAME = 'bilde_ø_"q"'
EVIL_LAYERS = ("base/conv1_conv", f"base/{EVIL_NAME}", 'base/lag_æ_"x"')
SECTIONS = ("summary", "recommendations", "curves", "canny", "features", "image-stats", "layer-stats",
            "inputs", "methods")
SIZE_LIMIT = 15_000_000
N_CHANNELS = 8  # top channels per layer, as compare() keeps


# -- fixtures: render once per module, the 5x5 report is the slow one ------------------------------
@pytest.fixture(scope="module")
def result():
    return make_fake_result(2, layers=EVIL_LAYERS, names=[EVIL_NAME, NORDIC_NAME], size=256,
                            n_channels=N_CHANNELS)


@pytest.fixture(scope="module")
def html(result):
    return render_report(result, title=f"run {EVIL_NAME}")


@pytest.fixture(scope="module")
def big_html():
    return render_report(make_fake_result(5, layers=RESNET50_LAYERS, n_channels=N_CHANNELS))


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str, name: str) -> list[dict]:
    parser = _Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    return html[start: html.index("</section>", start)]


def _check_png_images(html: str) -> int:
    """Every ``img`` is an embedded PNG or JPEG no larger than it is shown (feature maps at their
    native size may be smaller: the browser enlarges them); every input image embedded once as a
    CSS class decodes as JPEG. Returns the number of ``img`` tags."""
    imgs = _tags(html, "img")
    assert html.count("<img") == len(imgs)
    for attrs in imgs:
        src = attrs.get("src", "")
        assert src.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")), src[:60]
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            assert image.width <= int(attrs["width"]) and image.height <= int(attrs["height"])
            assert image.width * int(attrs["height"]) == pytest.approx(image.height * int(attrs["width"]), rel=0.05)
    for uri in re.findall(r'url\("(data:[^"]+)"\)', html):
        assert uri.startswith("data:image/jpeg;base64,")
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True))) as image:
            image.verify()
    return len(imgs)


def _panel_count(n_pairs: int, n_layers: int, n_channels: int = N_CHANNELS) -> int:
    """``img`` tags of the example pairs: two Canny edge maps per pair, and per layer and side the
    energy overlay and the top channels (the inputs are CSS backgrounds, embedded once)."""
    return n_pairs * (2 + n_layers * 2 * (1 + n_channels))


# -- the report ------------------------------------------------------------------------------------
def test_report_has_every_section(html):
    assert html.startswith("<!DOCTYPE html>")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
        assert f'href="#{section}"' in html
    assert 'id="before-after"' not in html  # only with before=


def test_report_shows_recommendations_with_evidence(result, html):
    recs = _section(html, "recommendations")
    for rec in result.recommendations:
        assert rec["knob"] in recs
        assert rec["action"] in recs
        for item in rec["evidence"]:
            assert item["statistic"] in recs
    assert "camera_focus = 3.5 px (Gaussian sigma)" in recs  # suggested value with parameter and unit
    cards = _section(html, "summary")
    assert cards.count('class="card high"') == 1 and cards.count('class="card medium"') == 1


def test_report_makes_no_network_request(html, big_html):
    for text in (html, big_html):
        assert "http://" not in text and "https://" not in text
        assert "<script" not in text.lower()
        assert "<link" not in text.lower()


def test_every_image_is_an_embedded_png(html):
    # 2 pairs x 3 layers of panels, plus the two charts (curves and image statistics)
    assert _check_png_images(html) == _panel_count(2, 3) + 2
    # each of the 4 input images is embedded once and shown by the Canny grid, the pair header and
    # each layer's energy overlay
    assert len(re.findall(r'url\("data:image/jpeg', html)) == 4


def test_user_strings_are_escaped(html):
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "bilde_ø_&#34;q&#34;" in html  # non-ASCII kept, quotes escaped
    assert "lag_æ_&#34;x&#34;" in html
    assert "<title>run &lt;script&gt;" in html
    assert 'bilde_ø_"q"' not in html


def test_image_properties_sorted_by_effect_and_noise_marked(result, html):
    table = _section(html, "image-stats")
    shown = [name for name in re.findall(r'<td class="name mono">([^<]+)</td>', table)]
    expected = sorted(result.image_stats, key=lambda k: -abs(result.image_stats[k]["effect_size"]))
    assert shown == expected
    for name, stat in result.image_stats.items():
        row = re.search(rf'<tr class="(\w+)"><td class="name mono">{re.escape(name)}</td>.*?</tr>', table)
        lo, hi = stat["ci95"]
        assert (row.group(1) == "noise") == (lo <= 0 <= hi or abs(stat["diff"]) <= stat["noise_floor"]), name
        if lo <= 0 <= hi:
            assert "within noise" in row.group(0)


def test_report_prints_stored_numbers_not_recomputed_ones():
    fake = make_fake_result(1, layers=("base/conv1_conv",), size=64)
    fake.image_stats["brightness"].update(effect_size=4.242424, diff=0.0123456)
    fake.layers[0].stats["cka_gap"].update(value=0.7654321)
    html = render_report(fake)
    assert "4.24" in _section(html, "image-stats") and "0.0123" in _section(html, "image-stats")
    assert "0.765" in _section(html, "layer-stats")


def test_report_methods_and_inputs(result, html):
    methods = _section(html, "methods")
    assert "gapviz report --model resnet50_shackle.h5" in methods
    assert result.model["sha256"] in methods
    assert "0.041" in methods and "0.112" in methods  # Canny thresholds
    for key in result.environment:
        assert key in methods
    inputs = _section(html, "inputs")
    assert "cannot decode image: truncated JPEG" in inputs
    assert "render_9999.png" in inputs
    summary = _section(html, "summary")
    assert result.model["sha256"][:12] in summary and result.model["sha256"] not in summary
    assert "estimated: 40" in summary
    assert "42 real (folder), 41 synthetic (folder)" in summary
    assert result.data["notes"][0] in summary


def test_before_after_compares_main_statistic_of_each_knob():
    before = make_fake_result(1, layers=RESNET50_LAYERS[:2], size=128)
    after = make_fake_result(1, layers=RESNET50_LAYERS[:2], gap_scale=0.3, seed=1, size=128)
    html = render_report(after, before=before)
    section = _section(html, "before-after")
    for rec in before.recommendations:
        assert rec["knob"] in section and rec["evidence"][0]["statistic"] in section
    # every gap scaled by 0.3 with the same SDs: |effect| after / before = 0.3
    assert section.count('<td class="num">0.3</td>') == len(before.recommendations)
    assert 'href="#before-after"' in html


def test_report_without_examples_or_recommendations():
    fake = make_fake_result(0, layers=("only/conv",), recommendations=False)
    html = render_report(fake)
    assert "No recommendation: no gap beyond the noise floor was measured." in html
    assert "No example pairs were kept." in html
    assert _check_png_images(html) == 2


def test_report_with_missing_values():
    # what compare() stores when a statistic could not be measured: NaN values, None CIs, n = 0
    fake = make_fake_result(1, layers=RESNET50_LAYERS[:3], size=64)
    nan = float("nan")
    fake.layers[2].stats["background_ratio"].update(real=nan, synth=nan, diff=nan, effect_size=nan, ci95=[nan, nan])
    fake.layers[2].stats["nonfinite"] = {"real": 0, "synth": 0}
    fake.decay["background_ratio_slope"].update(real=None, synth=None, diff=None, effect_size=None, ci95=[None, None],
                                                noise_floor=None, n=0)
    fake.image_stats["brightness"]["effect_size"] = nan
    html = render_report(fake)
    assert _check_png_images(html) == _panel_count(1, 3) + 2
    rows = _section(html, "image-stats").split("<tr")
    assert "brightness" in rows[-1]  # no effect size: sorted last
    assert "no CI" in _section(html, "curves") and "nonfinite" in _section(html, "layer-stats")
    text = re.sub(r'src="data:[^"]*"', "", html)
    assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE)


def test_canny_caption_uses_stored_agreement(result):
    from gapviz.report._fig_maps import canny_caption as _canny_caption

    assert _canny_caption(result).startswith("edge-map agreement over all pairs: real 0.42, synthetic 0.37")


def test_report_size_for_five_pairs_and_five_layers(big_html):
    size = len(big_html.encode("utf-8"))
    print(f"\nreport size, 5 pairs x 5 layers at 512x512: {size / 1e6:.2f} MB")
    assert size < SIZE_LIMIT
    assert _check_png_images(big_html) == _panel_count(5, 5) + 2


def test_save_report_writes_atomically(tmp_path):
    result = make_fake_result(1, layers=("base/conv1_conv",), size=64)
    out = tmp_path / "out" / "report.html"
    assert result.save_report(out, title="t") == str(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# -- the Jupyter summary -----------------------------------------------------------------------------
def test_repr_html_is_a_compact_summary(result):
    fragment = result._repr_html_()
    assert fragment == render_summary(result)
    assert "<img" not in fragment and "<script" not in fragment
    assert len(fragment) < 20_000
    for rec in result.recommendations:
        assert rec["knob"] in fragment and rec["action"] in fragment
    assert "40 pairs" in fragment and "ResNet50" in fragment
    assert fragment.lstrip().startswith('<div class="gapviz-summary">')


# -- formatting --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [(0.123456, "0.123"), (-2.5, "-2.5"), (12345.6, "12,346"), (0, "0"), (3.2e-6, "3.2e-06"),
     (None, "–"), (float("nan"), "–"), (True, "yes"), (40, "40")],
    ids=["fraction", "negative", "large", "zero", "tiny", "none", "nan", "bool", "int"],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_ci():
    assert format_ci([0.01234, 0.5]) == "[0.0123, 0.5]"
    assert format_ci(None) == "–" and format_ci([None, 1]) == "–"


# -- plots -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "kwargs", "n_axes"),
    [
        ("plot_feature_maps", {"example": 1, "layer": 0}, 2 * (2 + N_CHANNELS)),
        ("plot_feature_maps", {"example": 0, "layer": "conv1_conv", "max_channels": 2}, 2 * (2 + 2)),
        ("plot_layer_curves", {}, 5),
        ("plot_canny", {"example": 1}, 4),
        ("plot_image_stats", {}, 1),
    ],
    ids=["feature_maps", "feature_maps_by_name", "layer_curves", "canny", "image_stats"],
)
def test_plot_methods_return_figures(result, method, kwargs, n_axes):
    fig = getattr(result, method)(**kwargs)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n_axes
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)  # draws, including user strings with $ and <
    assert buf.getvalue()[:4] == b"\x89PNG"
    if "matplotlib.pyplot" in sys.modules:  # nothing registered with pyplot's figure manager
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_plots_do_not_import_pyplot_or_tensorflow():
    code = ("import sys; sys.path.insert(0, 'tests'); from fake_result import make_fake_result; "
            "r = make_fake_result(1, size=64); r.plot_feature_maps(); r.plot_layer_curves(); "
            "r.plot_canny(); r.plot_image_stats(); "
            "print(*(m in sys.modules for m in ('matplotlib.pyplot', 'tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"example": 7}, r"'example' must be an index into the 2 example pairs"),
     ({"layer": "nope"}, r"layer 'nope' has no feature maps"),
     ({"layer": 9}, r"'layer' must be an index into the 3 layers")],
    ids=["example", "layer_name", "layer_index"],
)
def test_plot_feature_maps_errors(result, kwargs, match):
    with pytest.raises(GapvizError, match=match):
        result.plot_feature_maps(**kwargs)


# -- packaging ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_templates_ship_in_the_built_wheel(tmp_path):
    # build the wheel from a copy of the project (no network: the installed setuptools) and look inside
    root = Path(__file__).parent.parent
    project = tmp_path / "project"
    shutil.copytree(root / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, project / name)
    build = "import setuptools.build_meta as b, sys; print(b.build_wheel(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=project, check=True, capture_output=True)
    with zipfile.ZipFile(next(tmp_path.glob("gapviz-*.whl"))) as wheel:
        shipped = {n.removeprefix("gapviz/report/templates/") for n in wheel.namelist()
                   if n.startswith("gapviz/report/templates/")}
    source = resources.files("gapviz.report") / "templates"
    assert shipped == {entry.name for entry in source.iterdir() if entry.is_file()}
    assert {"report.html", "summary.html", "_macros.html", "report.css"} <= shipped


# -- in a real browser -------------------------------------------------------------------------------
def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (CI installs Debian's chromium)")
def test_report_in_headless_chromium(tmp_path, result, html):
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "shot.png"
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars"]

    def run(*args: str, profile: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, f"--user-data-dir={tmp_path / profile}", *args, page.as_uri()],
                              capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})

    dom = run("--dump-dom", profile="dom").stdout
    assert '<section id="recommendations">' in dom
    for rec in result.recommendations:
        assert rec["knob"] in dom and rec["action"] in dom
    assert "<script" not in dom

    run(f"--screenshot={shot}", "--window-size=1280,2000", profile="shot")
    assert shot.is_file(), "Chromium wrote no screenshot"
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        # the page drew something: not one flat colour
        assert len(image.convert("L").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 16


def test_embedded_figure_is_an_rgb_png_of_its_stated_size(result):
    # the report's own encoder (every chart goes through it): lossless RGB PNG, no metadata, true size
    from gapviz.report._fig_common import figure_png

    data = figure_png(result.plot_canny(), dpi=40, alt="canny")
    assert data["src"].startswith("data:image/png;base64,") and data["alt"] == "canny"
    raw = base64.b64decode(data["src"].split(",", 1)[1], validate=True)
    with Image.open(io.BytesIO(raw)) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.size == (data["width"], data["height"]) == (round(2 * 2.6 * 40 + 0.4 * 40), image.height)
        assert not image.info.keys() - {"dpi"}, image.info
    assert _check_png_images(f'<img src="{data["src"]}" width="{data["width"]}" height="{data["height"]}">') == 1
