"""Rules that turn measured gaps into recommendations for the rendering team.

Each knob of the fixed vocabulary (DESIGN.md) has one *primary* statistic that says, on its own,
which way the renders must change, plus *supporting* measurements that go into the evidence.

Decision, per knob:

1. Direction and size come from the per-pair values of the primary statistic, compared on a log
   scale for positive, skewed statistics (sharpness, noise, blockiness). The magnitude ``m`` is the
   mean paired difference in units of the real set's standard deviation: "how many real-set SDs
   the renders are away", comparable across statistics, unlike the paired d_z which grows without
   bound for nearly identical pairs.
2. A gap counts only if it is *significant*: its 95 % bootstrap CI excludes 0, it exceeds the
   real-vs-real noise floor, and a paired t-test passes a Bonferroni-corrected level over all
   rules (nine knobs are tested at once, so an uncorrected 5 % level would put a false
   recommendation in about one run in three of two identical sets).
3. Severity: ``high`` for m >= 1, ``medium`` for m >= 0.4, ``low`` below. No significant gap, no
   recommendation at all.
4. Camera knobs with an operator (`CALIBRATED_KNOBS`) get a calibrated ``suggested`` amount. They
   are fitted jointly, so a gap another knob explains (lens softness also blurs the background)
   gets a negligible amount or a small share of the closed mismatch: that recommendation drops
   to ``low``.
5. Priority: severity first, then ``m`` (times a weight of 0.5 for texture and background).
6. Both directions for the camera knobs and lighting. Renders softer, noisier or blockier than
   the photos (temporal anti-aliasing, low render resolution, denoisers, few samples) give a
   ``reverse`` recommendation. Its amount is calibrated the other way round (`REVERSE_CALIBRATED`):
   the same operators applied to the *photos* until they match the renders, reported as the
   renders' excess. A gap of one direction that the other direction's fit closes (a blurred render
   background also reads as less noise; photo noise reads as softer renders) drops to ``low``
   with a note; when each fit could explain the other's gaps, the fit leaving less mismatch wins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gapviz.recommend._calibrate import CALIBRATED_KNOBS, Calibration, CalibrationSample, calibrate
from gapviz.recommend._recommendation import Recommendation
from gapviz.stats.inference import derive_seed, paired_stat, unpaired_stat, verdict
from gapviz.vocabulary import COUPLED, severity_rank
from gapviz.vocabulary import KNOBS as _VOCABULARY

__all__ = ["KNOBS", "RULES", "Rule", "knobs_to_calibrate", "recommend"]

#: The fixed recommendation vocabulary, in DESIGN.md's order (the names of `gapviz.vocabulary.KNOBS`).
KNOBS = tuple(_VOCABULARY)
ALPHA = 0.05
HIGH, MEDIUM = 1.0, 0.4
#: a coupled knob (`gapviz.vocabulary.COUPLED`: fitted together whenever one of them is) explaining less than
#: this share of the closed mismatch is reported as low: its statistic moved because of another knob
MIN_SHARE = 0.25
#: calibrated amounts below these change nothing a viewer could see
NEGLIGIBLE = {"camera_focus": 0.3, "resolution": 0.2, "sensor_noise": 0.75, "compression": 0.5,
              "exposure": 0.13, "color": 0.05}  # fmt: skip
#: knob -> unit of a suggested amount (`gapviz.vocabulary.Knob.suggested_unit`)
UNITS = {name: knob.suggested_unit for name, knob in _VOCABULARY.items() if knob.suggested_unit}
#: knobs whose opposite gap (renders softer / noisier / blockier than the photos) gets an amount from
#: the operators applied to the photos: the renders' excess
REVERSE_CALIBRATED = ("camera_focus", "resolution", "sensor_noise", "compression")
#: an edge-density gap (fewer edges in the renders) that renders softer than the photos cause by themselves
_SOFTER_EXPLAINS = {"background": "camera_focus", "texture": "resolution"}
#: a reverse gap that needs a second statistic to agree (synth - real of this sign, CI excluding 0): renders
#: softer than photos blur the whole image, whereas photos with more surface detail (texture) only raise the
#: object's detail
REVERSE_SUPPORT = {"resolution": ("blur_effect", +1)}
#: a fit that leaves less than this share of a statistic's gap explains that gap
EXPLAINED = 0.5
#: knob -> unit of a reverse recommendation's amount, the renders' excess (`gapviz.vocabulary.Knob.reverse_unit`)
REVERSE_UNITS = {name: knob.reverse_unit for name, knob in _VOCABULARY.items() if knob.reverse_unit}


@dataclass(frozen=True)
class Rule:
    """How one knob is recognised.

    Attributes
    ----------
    knob : str
    primary : str
        Image statistic key (``warmth`` is rgb_relative.r - rgb_relative.b, measured per image).
    sign : int
        +1 when ``synth > real`` on the primary means the renders need *more* of the knob's effect.
    log : bool
        Compare the primary on a log scale.
    support : tuple of (statistic, scope, sign)
        Supporting evidence: an image statistic (scope None), a layer statistic (scope "layers"),
        or an across-layer statistic (scope "decay").
    reversible : bool
        Whether the opposite gap is also acted on. The camera knobs and lighting are (renders
        can be softer or noisier than photos); texture and background are not: their opposite
        gap is what the camera knobs cause (blurred real backgrounds read as less texture and
        less background clutter), so acting on it would send the rendering team the wrong way.
    weight : float
        Priority weight; texture and background are lower because part of what they measure is
        the camera knobs' effect.

    Examples
    --------
    >>> colour = next(rule for rule in RULES if rule.knob == "color")
    >>> colour.primary, colour.sign, colour.log
    ('warmth', -1, False)
    """

    knob: str
    primary: str
    sign: int
    log: bool
    support: tuple = ()
    reversible: bool = True
    weight: float = 1.0


RULES: tuple[Rule, ...] = (
    Rule("camera_focus", "coarse_sharpness.background", +1, True,
         (("laplacian_var.background", None, +1), ("background_ratio", "layers", +1),
          ("background_ratio_slope", "decay", +1), ("canny_edge_density.background", None, +1))),
    Rule("resolution", "laplacian_rel.object", +1, True,
         (("laplacian_var.object", None, +1), ("edge_sharpness", "layers", +1), ("canny_edge_density.object", None, +1),
          ("blur_effect", None, -1), ("canny_straightness", None, +1))),
    Rule("lighting", "illumination_cv", -1, False, (("rms_contrast", None, -1),)),
    Rule("sensor_noise", "noise_sigma.background", -1, True, ()),
    Rule("compression", "jpeg_blockiness", -1, True, ()),
    Rule("exposure", "brightness", +1, False, (("rms_contrast", None, +1),)),
    Rule("color", "warmth", -1, False, (("rgb_relative.r", None, -1), ("rgb_relative.b", None, +1))),
    Rule("texture", "canny_edge_density.object", -1, False, (("laplacian_var.object", None, -1),),
         reversible=False, weight=0.5),
    Rule("background", "canny_edge_density.background", -1, False, (), reversible=False, weight=0.5),
)  # fmt: skip


def _values(pair_values: Mapping[str, tuple], key: str) -> tuple[np.ndarray, np.ndarray] | None:
    got = pair_values.get(key)
    if got is None:
        return None
    return np.asarray(got[0], np.float64), np.asarray(got[1], np.float64)


def _transform(x: np.ndarray, log: bool) -> np.ndarray:
    return np.log(np.maximum(x, 0) + 1e-6) if log else x


def _test(real: np.ndarray, synth: np.ndarray, log: bool, paired: bool) -> tuple[float, float, float]:
    """(mean difference on the rule's scale, magnitude m, p-value)."""
    from scipy import stats as sps

    r, s = _transform(real, log), _transform(synth, log)
    if paired and len(r) == len(s):
        keep = np.isfinite(r) & np.isfinite(s)
        r, s = r[keep], s[keep]
        d = s - r
        if len(d) < 2:
            return 0.0, 0.0, 1.0
        mean_d = float(d.mean())
        p = 1.0 if np.allclose(d, d[0]) and mean_d == 0 else float(sps.ttest_1samp(d, 0.0).pvalue)
    else:
        r, s = r[np.isfinite(r)], s[np.isfinite(s)]
        if len(r) < 2 or len(s) < 2:
            return 0.0, 0.0, 1.0
        mean_d = float(s.mean() - r.mean())
        p = float(sps.ttest_ind(s, r, equal_var=False).pvalue)
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    if not sd > 0:
        sd = float(np.std(np.concatenate([r, s]), ddof=1)) or 1e-12
    p = 1.0 if not math.isfinite(p) else p
    return mean_d, abs(mean_d) / sd, p


def _significant(stat: Mapping | None, p: float, n_rules: int) -> bool:
    if stat is None or p >= ALPHA / n_rules:
        return False
    return verdict(stat) == "gap"  # the CI excludes zero and |diff| exceeds the noise floor


def _evidence_item(statistic: str, stat: Mapping, layer: str | None = None) -> dict:
    item = {"statistic": statistic}
    if layer is not None:
        item["layer"] = layer
    for key in ("real", "synth", "diff", "effect_size", "ci95", "noise_floor", "n"):
        item[key] = stat.get(key)
    return item


def _evidence(rule: Rule, image_stats, layers, decay) -> list[dict]:
    items = [_evidence_item(rule.primary, image_stats[rule.primary])] if rule.primary in image_stats else []
    for statistic, scope, _sign in rule.support:
        if scope == "layers":
            for layer in layers:
                stat = layer.get("stats", {}).get(statistic)
                if stat and stat.get("diff") is not None:
                    items.append(_evidence_item(statistic, stat, layer["name"]))
        elif scope == "decay":
            stat = decay.get(statistic)
            if stat and stat.get("diff") is not None:
                items.append(_evidence_item(statistic, stat, "across layers"))
        elif statistic in image_stats and statistic != rule.primary:
            items.append(_evidence_item(statistic, image_stats[statistic]))
    return items


def _action(knob: str, direction: str, suggested, real: float | None, synth: float | None, width: int | None) -> str:
    at = f" at {width} px image width" if width else ""
    r = f"{real:.3g}" if real is not None else "?"
    s = f"{synth:.3g}" if synth is not None else "?"
    if direction == "reverse":
        return {
            "camera_focus": f"Synthetic backgrounds are blurrier than the real ones (LoG variance {s} vs {r})"
            + (f", by about {suggested:.1f} px of Gaussian blur{at}" if suggested else "")
            + ": reduce the depth-of-field blur on the background, turn off temporal anti-aliasing or "
            "denoising that smears it, and render at the output resolution instead of upscaling.",
            "resolution": f"Synthetic objects are softer than the real ones (relative Laplacian variance {s} vs {r})"
            + (f", by about {suggested:.2f} px of Gaussian softness{at}" if suggested else "")
            + ": raise the render resolution (no upscaling), turn off temporal anti-aliasing and denoiser "
            "smoothing, or remove lens softening.",
            "lighting": f"Synthetic lighting is less uniform than the real one (illumination CV {s} vs {r}): use softer, "
            "wider light coverage on the shackles.",
            "sensor_noise": f"Renders are noisier than the photos (noise sigma {s} vs {r} grey levels"
            + (f"; about {suggested:.1f} grey levels of excess noise" if suggested else "")
            + "): raise the path-tracing sample count or denoise, and lower any added grain.",
            "compression": f"Renders show more 8x8 block artefacts than the photos (blockiness {s} vs {r}"
            + (f"; as much as the photos re-saved at JPEG quality {int(suggested)}" if suggested else "")
            + "): save them losslessly or at a higher JPEG quality.",
            "exposure": f"Renders are darker than the photos (mean brightness {s} vs {r}): raise exposure"
            + (f" by about {abs(suggested):.2f} EV." if suggested else "."),
            "color": "Renders are warmer than the photos: shift the white balance towards blue"
            + (f" by about {abs(suggested):.2f} on the cast scale." if suggested else "."),
        }[knob]
    if knob == "camera_focus":
        amount = f"; target a background blur of about {suggested:.1f} px (Gaussian sigma){at}" if suggested else ""
        return (f"Turn on depth of field focused on the shackles so the background is out of focus{amount}. "
                f"Background sharpness (LoG variance, sigma 2 px): real {r}, synthetic {s}.")  # fmt: skip
    if knob == "resolution":
        amount = f" of about {suggested:.2f} px (Gaussian sigma){at}" if suggested else ""
        return (f"Soften the renders: lower the render resolution or add lens softness{amount} over the whole image. "
                f"Object detail (Laplacian variance / squared mean grey): real {r}, synthetic {s}.")  # fmt: skip
    if knob == "lighting":
        return (f"Replace uniform ambient light with a directional key light that leaves part of the shackles in "
                f"shadow; illumination CV over the object: real {r}, synthetic {s}.")  # fmt: skip
    if knob == "sensor_noise":
        amount = f" with a sigma of about {suggested:.1f} grey levels (8-bit)" if suggested else ""
        return (f"Add Gaussian sensor noise{amount} after rendering. Background noise sigma: real {r}, "
                f"synthetic {s} grey levels.")  # fmt: skip
    if knob == "compression":
        amount = f" at a quality of about {int(suggested)}" if suggested else ""
        return (f"Save the renders through the camera's codec: JPEG{amount}. Block-edge ratio: real {r}, "
                f"synthetic {s}.")  # fmt: skip
    if knob == "exposure":
        amount = f" by about {abs(suggested):.2f} EV" if suggested else ""
        return f"Lower the exposure{amount}: renders are brighter than the photos (mean brightness {s} vs {r})."
    if knob == "color":
        amount = f" by about {abs(suggested):.2f} on the cast scale" if suggested else ""
        tone = "warm (orange)" if (suggested or 0) >= 0 else "cool (blue)"
        return f"Grade the renders towards a {tone} white balance{amount}; relative red minus blue: real {r}, synthetic {s}."
    if knob == "texture":
        return (f"Add surface detail to the metal (scratches, rust, wear marks): the real objects carry more edges "
                f"(Canny density on the object {r} vs {s}).")  # fmt: skip
    return (f"Use more varied, cluttered backgrounds (vegetation, structures, sky gradients): real backgrounds carry more "
            f"edges than the renders even though they are defocused (Canny density {r} vs {s}).")  # fmt: skip


def recommend(
    *,
    image_stats: Mapping[str, Mapping],
    pair_values: Mapping[str, tuple],
    layers: Sequence[Mapping] = (),
    decay: Mapping[str, Mapping] | None = None,
    paired: bool = True,
    sample: CalibrationSample | None = None,
    measure: Callable | None = None,
    prepare: Callable | None = None,
    width: int | None = None,
    seed: int = 0,
    calibrator: Callable[[Sequence[str]], Calibration] | None = None,
    reverse_calibrator: Callable[[Sequence[str]], Calibration] | None = None,
) -> tuple[list[Recommendation], Calibration | None]:
    """Recommendations, highest priority first, and the calibration behind their amounts.

    Parameters
    ----------
    image_stats : dict
        Image statistic name -> ``Stat`` (the JSON ``image_stats``).
    pair_values : dict
        Image statistic name -> ``(real_values, synth_values)`` per pair (or per image when the
        sets are not paired).
    layers : sequence of dict
        The JSON ``layers`` (for supporting evidence).
    decay : dict, optional
        The JSON ``decay`` (for supporting evidence).
    paired : bool
        Whether ``pair_values`` are aligned pairs.
    sample : CalibrationSample, optional
        Synthetic images for calibrating amounts; without it, no ``suggested`` values.
    measure, prepare : callable, optional
        See `calibrate`; required with ``sample``.
    width : int, optional
        Analysed image width, quoted in the actions.
    seed : int
        Seeds the calibration's simulated noise.
    calibrator : callable, optional
        ``calibrator(knobs) -> Calibration`` in place of ``sample``, ``measure`` and ``prepare``
        (`BackgroundCalibration.result`, whose fit may have run during the pass).
    reverse_calibrator : callable, optional
        ``reverse_calibrator(knobs) -> Calibration`` fitted the other way round: the operators
        applied to the *real* images until they match their synthetic partners. It gives the
        amounts of ``reverse`` recommendations of `REVERSE_CALIBRATED` knobs (the renders'
        excess blur, noise, blockiness); without it they carry no amount.

    Returns
    -------
    (list of Recommendation, Calibration or None)
        Each `Recommendation` is also a read-only mapping of its JSON fields (``rec["knob"]``).

    Examples
    --------
    Renders brighter than their photos by two real-set standard deviations:

    >>> import numpy as np
    >>> from gapviz.stats import paired_stat
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(0.5, 0.05, 30)
    >>> synth = real + rng.normal(0.1, 0.01, 30)
    >>> recs, calibration = recommend(image_stats={"brightness": paired_stat(real, synth)},
    ...                               pair_values={"brightness": (real, synth)})
    >>> [(r.knob, r.severity, r.direction) for r in recs], calibration
    ([('exposure', 'high', 'add')], None)
    >>> recs[0]["action"].startswith("Lower the exposure")
    True
    >>> recommend(image_stats={}, pair_values={})
    ([], None)
    """
    found = _gaps(pair_values, paired, image_stats)
    calibration = None
    to_fit = _to_fit(found)
    if to_fit and calibrator is not None:
        calibration = calibrator(sorted(to_fit))
    elif to_fit and sample is not None and len(sample) > 0 and measure is not None and prepare is not None:
        calibration = calibrate(sample, sorted(to_fit), measure=measure, prepare=prepare, seed=seed)
    if calibration is not None:
        found += _revealed(found, calibration, image_stats, pair_values, paired)
    rev = {rule.knob for rule, _, _, d in found if d == "reverse" and rule.knob in REVERSE_CALIBRATED}
    reverse = None
    if rev and reverse_calibrator is not None:
        reverse = reverse_calibrator(sorted(rev | (set(COUPLED) if rev & set(COUPLED) else set())))
    fits = _Fits(calibration, reverse, _winner(calibration, reverse), rev)
    recs = []
    for rule, stat, m, direction in found:
        if direction == "revealed" and fits.winner == "reverse" and _closed_by(reverse, rule):
            continue  # "revealed" by the forward fit, but the renders' excess explains the statistics better
        severity, direction, suggested, notes = _judge(rule, m, direction, fits, image_stats)
        real, synth = stat.get("real"), stat.get("synth")
        recs.append(
            Recommendation(
                knob=rule.knob,
                action=_action(rule.knob, direction, suggested, real, synth, width),
                severity=severity,
                effect_size=stat.get("effect_size"),
                ci95=list(stat.get("ci95") or [None, None]),
                evidence=_evidence(rule, image_stats, layers, decay or {}),
                suggested=suggested,
                parameter=rule.knob if suggested is not None else None,
                unit=((REVERSE_UNITS if direction == "reverse" else UNITS).get(rule.knob)
                      if suggested is not None else None),
                magnitude=round(m, 4),
                direction=direction,
                priority=round(m * rule.weight, 4),
                notes=notes,
            )
        )
    recs.sort(key=lambda r: (severity_rank(r.severity), -r.priority, KNOBS.index(r.knob)))
    return recs, calibration


def _revealed(found: Sequence[tuple], calibration: Calibration, image_stats: Mapping[str, Mapping],
              pair_values: Mapping[str, tuple], paired: bool) -> list[tuple]:  # fmt: skip
    """``(rule, stat, m, "revealed")`` for the calibrated knobs without a raw gap that the joint fit needs."""
    found_knobs = {rule.knob for rule, _, _, _ in found}
    out = []
    for rule in RULES:
        value = calibration.settings.get(rule.knob)
        if rule.knob in found_knobs or value is None or abs(value) < NEGLIGIBLE[rule.knob]:
            continue
        # revealed only if, with the other knobs at their fitted amounts, this knob's own statistic
        # still differs from the real partners beyond chance (same corrected level as raw gaps)
        if calibration.hidden_p.get(rule.knob, 1.0) >= ALPHA / len(RULES):
            continue
        stat = image_stats.get(rule.primary)
        vals = _values(pair_values, rule.primary)
        if stat is None or vals is None:
            continue
        _, m, _ = _test(vals[0], vals[1], rule.log, paired)
        out.append((rule, stat, m, "revealed"))
    return out


def _winner(calibration: Calibration | None, reverse: Calibration | None) -> str | None:
    """Where each direction's fit could explain the other's gaps away, the one that leaves less mismatch."""
    if reverse is None or calibration is None:
        return None
    common = set(reverse.residual) & set(calibration.residual)
    left = {name: sum(fit.residual[k] ** 2 for k in common) for name, fit in (("reverse", reverse),
                                                                              ("add", calibration))}  # fmt: skip
    return "reverse" if left["reverse"] < left["add"] else "add"


@dataclass(frozen=True)
class _Fits:
    """The fits behind the amounts: forward, the other way round, which of them wins, the reverse gaps' knobs."""

    forward: Calibration | None
    reverse: Calibration | None
    winner: str | None
    rev: set


def _judge(rule: Rule, m: float, direction: str, fits: _Fits, image_stats: Mapping[str, Mapping]):
    """``(severity, direction, suggested, notes)`` of one gap, given the fits of both directions."""
    calibration, reverse, winner, rev = fits.forward, fits.reverse, fits.winner, fits.rev
    severity = "high" if m >= HIGH else "medium" if m >= MEDIUM else "low"
    notes, suggested, share = [], None, 1.0
    revealed = direction == "revealed"
    if direction == "reverse" and rule.knob in REVERSE_CALIBRATED:
        severity, suggested, notes = _reverse_amount(rule, severity, reverse,
                                                     None if winner == "reverse" else calibration)
        if not _supported(rule.knob, image_stats):
            statistic, _ = REVERSE_SUPPORT[rule.knob]
            notes.append(f"{statistic} does not show the renders blurrier as a whole: the object-detail gap is "
                         "more likely surface texture on the photos than softer renders")
            severity, suggested = "low", None
    elif direction == "add" and rule.knob in _SOFTER_EXPLAINS and _SOFTER_EXPLAINS[rule.knob] in rev:
        notes.append(f"the renders are softer than the photos ({_SOFTER_EXPLAINS[rule.knob]}, reverse): that alone "
                     "removes edges, so act on it first and measure this again")
        severity = "low"
    elif direction == "add" and rule.knob in COUPLED and winner != "add" and _closed_by(reverse, rule):
        notes.append("the renders' excess in " + ", ".join(_fitted(reverse, rule.knob))
                     + " (see the reverse recommendation) closes this gap when applied to the photos: "
                     "it is most likely that, not a missing " + rule.knob.replace("_", " "))
        severity = "low"
    if revealed:
        # no significant raw gap, but the joint fit needs this knob once the others are applied
        severity, direction = "medium", "add"
        notes.append("revealed by calibration: the raw statistic shows no significant gap because another "
                     "knob's gap masks it; with the other adjustments applied, its own statistic differs "
                     f"significantly (p = {calibration.hidden_p[rule.knob]:.2g}) and this amount closes it")
    if direction == "reverse" and rule.knob in REVERSE_CALIBRATED:
        pass
    elif calibration is not None and rule.knob in calibration.settings and not (severity == "low" and notes):
        suggested = calibration.settings[rule.knob]
        share = calibration.share.get(rule.knob, 1.0)
        if abs(suggested) < NEGLIGIBLE[rule.knob]:
            notes.append("calibration finds no amount of this knob that closes the gap; other knobs explain it")
            severity, suggested = "low", None
        elif share < MIN_SHARE and rule.knob in COUPLED and not revealed:
            others = ", ".join(k for k, v in calibration.share.items() if k != rule.knob and v >= MIN_SHARE)
            notes.append(f"only {100 * share:.0f} % of the calibrated mismatch is this knob's"
                         + (f"; mostly explained by {others}" if others else ""))
            severity = "low"
    return severity, direction, suggested, notes


def _supported(knob: str, image_stats: Mapping[str, Mapping]) -> bool:
    """Whether `REVERSE_SUPPORT`'s statistic agrees with a reverse gap of ``knob`` (True when none is needed)."""
    if knob not in REVERSE_SUPPORT:
        return True
    statistic, sign = REVERSE_SUPPORT[knob]
    lo, hi = ((image_stats.get(statistic) or {}).get("ci95") or [None, None])[:2]
    if lo is None or hi is None:
        return True  # not measured: nothing to contradict the primary statistic
    return (lo > 0) if sign > 0 else (hi < 0)


def _closed_by(fit: Calibration | None, rule: Rule) -> bool:
    """Whether ``fit`` (of the other direction) closes most of ``rule``'s statistic's gap with other knobs."""
    if fit is None or rule.primary not in fit.residual_before:
        return False
    before = fit.residual_before[rule.primary]
    after = fit.residual.get(rule.primary, before)
    own = abs(fit.settings.get(rule.knob) or 0)
    return (before != 0 and abs(after) < EXPLAINED * abs(before) and own < NEGLIGIBLE.get(rule.knob, 0)
            and bool(_fitted(fit, rule.knob)))


def _fitted(fit: Calibration, skip: str) -> list[str]:
    """The knobs of ``fit`` (other than ``skip``) with a non-negligible amount."""
    return [k for k, v in fit.settings.items() if k != skip and abs(v or 0) >= NEGLIGIBLE.get(k, 0)]


def _reverse_amount(rule: Rule, severity: str, reverse: Calibration | None, forward: Calibration | None):
    """(severity, suggested, notes) of a ``reverse`` gap of a `REVERSE_CALIBRATED` knob."""
    notes: list[str] = []
    if _closed_by(forward, rule):
        notes.append("the adjustment of " + ", ".join(_fitted(forward, rule.knob)) + " recommended for the renders "
                     "closes this gap too: it is most likely that, not renders with too much "
                     + rule.knob.replace("_", " "))
        return "low", None, notes
    if reverse is None or rule.knob not in reverse.settings:
        return severity, None, notes
    amount = reverse.settings[rule.knob]
    if abs(amount) < NEGLIGIBLE[rule.knob]:
        notes.append("no amount of this knob applied to the photos matches the renders; other knobs explain the gap")
        return "low", None, notes
    notes.append("amount calibrated the other way round: the photos need this much to match the renders, "
                 "so the renders carry this much in excess")
    share = reverse.share.get(rule.knob, 1.0)
    if share < MIN_SHARE and rule.knob in COUPLED:
        notes.append(f"only {100 * share:.0f} % of the calibrated mismatch is this knob's")
        severity = "low"
    return severity, amount, notes


def _gaps(pair_values: Mapping[str, tuple], paired: bool, image_stats: Mapping[str, Mapping]) -> list[tuple]:
    """``(rule, stat, m, direction)`` for each rule whose primary statistic shows a significant gap."""
    found = []
    for rule in RULES:
        vals = _values(pair_values, rule.primary)
        if vals is None:
            continue
        stat = image_stats.get(rule.primary)
        mean_d, m, p = _test(vals[0], vals[1], rule.log, paired)
        if not _significant(stat, p, len(RULES)):
            continue
        direction = "add" if mean_d * rule.sign > 0 else "reverse"
        if direction == "reverse" and not rule.reversible:
            continue
        found.append((rule, stat, m, direction))
    return found


def _to_fit(found: Sequence[tuple]) -> set[str]:
    to_fit = {rule.knob for rule, _, _, _ in found if rule.knob in CALIBRATED_KNOBS}
    if to_fit & set(COUPLED):
        # blur also lowers the noise estimate of textured synthetic backgrounds, so a noise gap can
        # hide behind a focus gap: fit the noise with them and let the calibration reveal it
        to_fit |= set(COUPLED)
    return to_fit


def knobs_to_calibrate(
    pair_values: Mapping[str, tuple],
    *,
    paired: bool = True,
    image_stats: Mapping[str, Mapping] | None = None,
    seed: int = 0,
    n_boot: int = 1000,
) -> list[str]:
    """The knobs `recommend` calibrates for these statistics, in `CALIBRATED_KNOBS` order.

    Parameters
    ----------
    pair_values : dict
        As for `recommend`.
    paired : bool
    image_stats : dict, optional
        The finished Stats. Without them, the rules' primary statistics are summarised here
        (`gapviz.stats.paired_stat`, as `PairAccumulator.finalize` does): `compare` asks this of
        the pairs seen so far to start the calibration before the pass ends.
    seed, n_boot : int
        Seed and resamples of those summaries' bootstraps (as ``finalize(seed=..., n_boot=...)``).

    Examples
    --------
    Renders' backgrounds far sharper than the photos': focus, with the knobs coupled to it.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> real = rng.lognormal(3.0, 0.3, 24)
    >>> knobs_to_calibrate({"coarse_sharpness.background": (real, real * rng.lognormal(0.6, 0.05, 24))})
    ['camera_focus', 'resolution', 'sensor_noise']
    >>> knobs_to_calibrate({})
    []
    """
    if image_stats is None:
        summarise = paired_stat if paired else unpaired_stat
        keys = {rule.primary for rule in RULES}
        image_stats = {
            key: summarise(*pair_values[key], seed=derive_seed(seed, "image_stats." + key), n_boot=n_boot)
            for key in keys
            if key in pair_values
        }
    to_fit = _to_fit(_gaps(pair_values, paired, image_stats))
    return [k for k in CALIBRATED_KNOBS if k in to_fit]

