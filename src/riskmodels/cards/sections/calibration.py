"""Section 6, calibration: slope, intercept, O/E and ECE with CIs, the reliability table."""

from __future__ import annotations

from typing import Any

from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import estimate, num
from riskmodels.metrics import PerformanceReport

__all__ = ["build", "reading"]

METHOD = (
    "Ten equal-width bands of predicted risk (0-0.1, 0.1-0.2, ...); slope and intercept "
    "from a logistic recalibration fit (Van Calster et al. 2019)."
)


def _reliability(report: PerformanceReport, sdc: int) -> dict[str, Any]:
    bins = report.reliability.get("uniform") or {}
    out = []
    for lo, hi, pred, obs, count in zip(
        bins.get("bin_lower", []),
        bins.get("bin_upper", []),
        bins.get("mean_predicted", []),
        bins.get("observed_rate", []),
        bins.get("count", []),
        strict=True,
    ):
        small = sdc > 0 and count < sdc
        out.append(
            {
                "lower": num(lo),
                "upper": num(hi),
                "mean_predicted": num(pred),
                "observed_rate": None if small else num(obs),
                "count": None if small else int(count),
                "suppressed": "below_threshold" if small else None,
            }
        )
    m = report.metrics
    return {
        "calibration_slope": estimate(m["calibration_slope"]),
        "calibration_intercept": estimate(m["calibration_intercept"]),
        "oe_ratio": estimate(m["oe_ratio"]),
        "ece": estimate(m["ece_uniform"]),
        "bins": out,
    }


def reading(slope: float | None, oe: float | None) -> list[str]:
    """The calibration read out in plain words.

    Examples
    --------
    >>> reading(0.7, 1.0)[0][:40]
    'The slope is below 0.8: the predicted ri'
    """
    out = []
    if slope is not None:
        if slope < 0.8:
            out.append(
                "The slope is below 0.8: the predicted risks are too extreme "
                "(too high for the highest-risk people, too low for the lowest)."
            )
        elif slope > 1.2:
            out.append(
                "The slope is above 1.2: the predicted risks are too timid "
                "(they do not spread people out as much as their risks differ)."
            )
        else:
            out.append(
                "The slope is within 0.8-1.2: predicted risks spread people "
                "out about as much as their observed risks differ."
            )
    if oe is not None:
        if oe < 0.8:
            out.append("Fewer incidents were recorded than predicted (O/E below 0.8).")
        elif oe > 1.25:
            out.append("More incidents were recorded than predicted (O/E above 1.25).")
        else:
            out.append("About as many incidents were recorded as predicted (O/E 0.8-1.25).")
    return out


RANGES = (
    "Each person's range on a risk list (score_low to score_high) joins three things: the "
    "score; the inductive Venn-Abers pair (Vovk & Petej 2014) from these assessment rows; "
    "and a {level} percentile bootstrap interval ({n_boot:,} replicates) of the isotonic "
    "calibration curve at that score. In simulation such ranges held the true event rate "
    "at the person's score for 92-97% of people (500 to 10,000 assessment rows). A list "
    "gives a person a band only when the whole range lies inside it."
)


def _ranges(inputs: CardInputs, sdc: int) -> dict[str, Any] | None:
    """How wide people's ranges are across the score range (None for evidence from
    before ranges were recorded)."""
    ev = inputs.evidence
    widths, va = getattr(ev, "interval_widths", None), getattr(ev, "venn_abers", None)
    if widths is None or va is None:
        return None
    rows = [
        {
            "score_from": num(r.score_from),
            "score_to": num(r.score_to),
            "rows": int(r.n) if not (sdc > 0 and r.n < sdc) else None,
            "mean_low": num(r.mean_low),
            "mean_high": num(r.mean_high),
            "median_width": num(r.median_width),
        }
        for r in widths.itertuples(index=False)
    ]
    level = f"{va.confidence:.0%}"
    return {"rows": rows, "method": RANGES.format(level=level, n_boot=va.n_boot)}


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"calibration": ...}`` for the model and the baseline, and the per-person
    ranges' widths."""
    model = _reliability(inputs.evidence.performance, sdc)
    return {
        "calibration": {
            "model": model,
            "baseline": _reliability(inputs.evidence.baseline, sdc),
            "reading": reading(model["calibration_slope"]["value"], model["oe_ratio"]["value"]),
            "method": METHOD,
            "ranges": _ranges(inputs, sdc),
        }
    }
