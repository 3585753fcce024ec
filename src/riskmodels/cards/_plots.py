"""The card's figures, drawn from the card's own (disclosure-controlled) numbers.

Every figure is rendered off-screen with a fixed style and saved without metadata that
changes between runs, so the same numbers give the same PNG bytes (published cards are
checked for freshness byte for byte).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CardFigure",
    "calibration_figure",
    "fairness_figure",
    "importance_figure",
    "roc_figure",
]

_MODEL_COLOUR = "#1f4e79"
_BASELINE_COLOUR = "#b35900"
_STYLE = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "svg.hashsalt": "riskmodels-card",
    "path.simplify": False,
}
_DPI = 110


@dataclass(frozen=True)
class CardFigure:
    """One figure of a card: PNG bytes, a file name, alt text and a caption."""

    name: str
    png: bytes
    alt: str
    caption: str

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI, for self-contained HTML."""
        import base64

        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A fixed style, whatever the user's matplotlibrc says, so figures are reproducible.
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(_STYLE)
        fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
        FigureCanvasAgg(fig)
        yield fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # No "Software" (matplotlib version) and no dates: identical numbers, identical bytes.
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _render(
    name: str, alt: str, caption: str, width: float, height: float, draw: Callable[[Any], None]
) -> CardFigure:
    with _figure(width, height) as fig:
        draw(fig)
        return CardFigure(name=name, png=_png(fig), alt=alt, caption=caption)


def _wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def calibration_figure(calibration: dict[str, Any], model_name: str) -> CardFigure | None:
    """Reliability diagram of the model and the baseline (bins below the disclosure
    threshold are not drawn)."""
    series = []
    for key, label, colour in (
        ("model", model_name, _MODEL_COLOUR),
        ("baseline", "simple baseline", _BASELINE_COLOUR),
    ):
        bins = [b for b in calibration[key]["bins"] if b["observed_rate"] is not None]
        if bins:
            series.append((label, colour, bins))
    if not series:
        return None
    top = max(max(b["mean_predicted"], b["observed_rate"]) for _, _, bs in series for b in bs)
    top = min(1.0, max(0.1, math.ceil(top * 10 + 0.5) / 10))

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ax.plot([0, top], [0, top], ls="--", color="#888888", lw=1, label="perfect calibration")
        for i, (label, colour, bins) in enumerate(series):
            x = np.array([b["mean_predicted"] for b in bins])
            y = np.array([b["observed_rate"] for b in bins])
            ci = np.array([_wilson(b["observed_rate"] * b["count"], b["count"]) for b in bins])
            err = np.vstack([y - ci[:, 0], ci[:, 1] - y]).clip(min=0)
            ax.errorbar(
                x + (i - 0.5) * top * 0.006,
                y,
                yerr=err,
                fmt="o-",
                ms=4,
                lw=1.2,
                capsize=2,
                color=colour,
                label=label,
            )
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("Predicted risk (mean in each band of 0.1)")
        ax.set_ylabel("Observed share with a recorded incident")
        ax.set_title("Calibration on held-out data")
        ax.legend(loc="upper left")

    return _render(
        "calibration.png",
        alt="Reliability diagram: observed incident rate against predicted risk, for the "
        "model and the simple baseline, with the diagonal of perfect calibration.",
        caption="Calibration: each point is a band of predicted risk (width 0.1); a point on "
        "the dashed diagonal means that the predicted risk matched the observed share. "
        "Bars are 95% Wilson intervals of the observed share. Bands with fewer rows than "
        "the disclosure threshold are not drawn.",
        width=5.2,
        height=4.2,
        draw=draw,
    )


def roc_figure(roc: dict[str, Any], model_name: str) -> CardFigure | None:
    """ROC curves of the model and the baseline."""
    if not roc["model"]["fpr"]:
        return None

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], ls="--", color="#888888", lw=1, label="chance (AUC 0.5)")
        for key, label, colour in (
            ("model", model_name, _MODEL_COLOUR),
            ("baseline", "simple baseline", _BASELINE_COLOUR),
        ):
            curve = roc[key]
            if curve["fpr"]:
                auc = curve["auc"]
                text = f"{label} (AUC {auc:.3f})" if auc is not None else label
                ax.plot(curve["fpr"], curve["tpr"], color=colour, lw=1.5, label=text)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("False positive rate (share of people without an incident flagged)")
        ax.set_ylabel("True positive rate (share of incidents flagged)")
        ax.set_title("Discrimination on held-out data (ROC)")
        ax.legend(loc="lower right")

    return _render(
        "roc.png",
        alt="ROC curves of the model and the simple baseline on held-out data.",
        caption="ROC curve: how many incidents are flagged (vertical) for a given share of "
        "people without an incident flagged (horizontal), at every possible threshold. "
        "The higher the curve, the better the ranking; the dashed line is chance.",
        width=5.2,
        height=4.2,
        draw=draw,
    )


def decision_curve_figure(decision: dict[str, Any] | None, model_name: str) -> CardFigure | None:
    """Decision curve: net benefit of the model, the baseline, acting on everyone and on no
    one across thresholds, with the model's interval and the operational threshold marked."""
    if not decision or "model" not in decision["curve"]:
        return None
    curve, thr = decision["curve"], decision["threshold"]

    def xy(key: str, field: str = "net_benefit") -> tuple[np.ndarray, np.ndarray]:
        part = curve[key]
        x = np.array(part["threshold"], dtype=float)
        y = np.array([np.nan if v is None else v for v in part[field]], dtype=float)
        return x, y

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        x, y = xy("model")
        tops = np.concatenate([y, xy("act on all")[1] if "act on all" in curve else y])
        top = float(np.nanmax(tops)) if np.isfinite(tops).any() else 0.1
        _, lo = xy("model", "lo")
        _, hi = xy("model", "hi")
        ax.fill_between(x, lo, hi, color=_MODEL_COLOUR, alpha=0.15, lw=0)
        ax.plot(x, y, color=_MODEL_COLOUR, lw=1.6, label=model_name)
        if "baseline" in curve:
            ax.plot(*xy("baseline"), color=_BASELINE_COLOUR, lw=1.2, label="simple baseline")
        if "act on all" in curve:
            ax.plot(*xy("act on all"), color="#555555", lw=1, ls="--", label="act on everyone")
        ax.axhline(0, color="#888888", lw=1, ls=":", label="act on no one")
        if thr is not None and 0 < thr < 1:
            ax.axvline(thr, color="#2e7d32", lw=1, label=f"operational threshold ({thr:.3g})")
        span = max(top, 0.01)
        ax.set_ylim(-0.25 * span, 1.1 * span)
        ax.set_xlim(float(x.min()), float(x.max()))
        ax.set_xlabel("Threshold probability (act on people at or above it)")
        ax.set_ylabel("Net benefit (incidents flagged per person, net)")
        ax.set_title("Decision curve on held-out data")
        ax.legend(loc="upper right")

    return _render(
        "decision_curve.png",
        alt="Decision curve: net benefit against threshold probability for the model, the "
        "simple baseline, acting on everyone and acting on no one, with the operational "
        "threshold marked.",
        caption="Decision curve (Vickers & Elkin 2006): at each threshold, the incidents "
        "flagged per person less the people flagged without one, weighted by the threshold "
        "odds. Acting on the model is worth it where its curve is above both acting on "
        "everyone (dashed) and on no one (dotted, 0). The shaded band is the model's 95% "
        "bootstrap interval; the vertical line is the operational threshold.",
        width=5.2,
        height=4.2,
        draw=draw,
    )


_FAIRNESS_METRICS = (
    ("selection_rate", "Share flagged"),
    ("tpr", "True positive rate"),
    ("fpr", "False positive rate"),
)


def fairness_figure(
    attribute: str, rows: list[dict[str, Any]], slug: str, confidence: float
) -> CardFigure | None:
    """Share flagged, TPR and FPR by group with CIs (suppressed values are not drawn)."""
    if not rows:
        return None
    groups = [str(r["group"]) for r in rows]
    level = round(confidence * 100)

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(_FAIRNESS_METRICS), sharey=True)
        y = np.arange(len(groups))[::-1]
        for ax, (metric, title) in zip(axes, _FAIRNESS_METRICS, strict=True):
            for yi, r in zip(y, rows, strict=True):
                est = r["metrics"].get(metric)
                if est is None or est["value"] is None:
                    ax.text(
                        0.01,
                        yi,
                        "n/a" if est is not None else "suppressed",
                        va="center",
                        fontsize=7,
                        color="#777777",
                    )
                    continue
                lo = est["lo"] if est["lo"] is not None else est["value"]
                hi = est["hi"] if est["hi"] is not None else est["value"]
                colour = _MODEL_COLOUR if r["adequate"] else "#999999"
                ax.errorbar(
                    [est["value"]],
                    [yi],
                    xerr=[[est["value"] - lo], [hi - est["value"]]],
                    fmt="s" if r["reference"] else "o",
                    ms=5,
                    capsize=2,
                    color=colour,
                )
            ax.set_title(title)
            ax.set_xlim(0, 1)
            ax.set_ylim(-0.6, len(groups) - 0.4)
            ax.set_xlabel("rate")
        axes[0].set_yticks(y)
        axes[0].set_yticklabels(
            [g + (" (ref.)" if r["reference"] else "") for g, r in zip(groups, rows, strict=True)]
        )
        fig.suptitle(f"By {attribute}: rates at the decision threshold, {level}% CIs")

    height = 1.3 + 0.32 * len(groups)
    return _render(
        f"fairness_{slug}.png",
        alt=f"Share flagged, true positive rate and false positive rate for each group of "
        f"{attribute}, with {level}% confidence intervals.",
        caption=f"By {attribute}: share of people flagged, share of incidents flagged (true "
        f"positive rate) and share of people without an incident flagged (false positive "
        f"rate), with {level}% exact intervals. Squares mark the reference group; grey "
        f"marks groups too small to judge; withheld values are not drawn.",
        width=7.5,
        height=height,
        draw=draw,
    )


def importance_figure(
    rows: list[dict[str, Any]], confidence: float, top: int = 15
) -> CardFigure | None:
    """Global importance (mean absolute SHAP value) with CIs, largest first."""
    rows = [r for r in rows if r["mean_abs"] is not None][:top]
    if not rows:
        return None
    level = round(confidence * 100)

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        y = np.arange(len(rows))[::-1]
        vals = np.array([r["mean_abs"] for r in rows])
        lo = np.array([r["lo"] if r["lo"] is not None else r["mean_abs"] for r in rows])
        hi = np.array([r["hi"] if r["hi"] is not None else r["mean_abs"] for r in rows])
        ax.barh(y, vals, color=_MODEL_COLOUR, height=0.6)
        ax.errorbar(
            vals,
            y,
            xerr=np.vstack([vals - lo, hi - vals]).clip(min=0),
            fmt="none",
            ecolor="#222222",
            capsize=2,
            lw=1,
        )
        ax.set_yticks(y)
        ax.set_yticklabels([_shorten(r["description"]) for r in rows])
        ax.set_xlabel("Mean absolute contribution to the score (log-odds)")
        ax.set_title("What drives the model's scores overall")
        ax.grid(axis="y", visible=False)

    return _render(
        "importance.png",
        alt="Bar chart of the features' average absolute contribution to the model's scores.",
        caption=f"Global importance: the average size of each feature's contribution to a "
        f"person's score (mean absolute SHAP value, log-odds scale, uncalibrated model), "
        f"with {level}% bootstrap intervals. Importance is not causation.",
        width=6.5,
        height=1.2 + 0.3 * len(rows),
        draw=draw,
    )


def _shorten(text: str, width: int = 45) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
