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


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"calibration": ...}`` for the model and the baseline."""
    model = _reliability(inputs.evidence.performance, sdc)
    return {
        "calibration": {
            "model": model,
            "baseline": _reliability(inputs.evidence.baseline, sdc),
            "reading": reading(model["calibration_slope"]["value"], model["oe_ratio"]["value"]),
            "method": METHOD,
        }
    }
