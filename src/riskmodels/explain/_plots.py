"""Matplotlib figures of explanations: global importance bars and a per-person beeswarm."""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_bar", "plot_beeswarm", "to_png"]

_SCALE = "log-odds of the uncalibrated model"
_MAX_POINTS = 5_000  # rows drawn in a beeswarm; more only blurs the picture and slows it


def _new_axes(n_features: int) -> Axes:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * max(n_features, 1)))
    return ax


def _label(description: str, proxy: bool) -> str:
    text = textwrap.shorten(description, width=48, placeholder="…")
    return f"{text} †" if proxy else text


def plot_bar(importance: pd.DataFrame, proxies: frozenset[str], *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of mean |contribution| with their bootstrap intervals."""
    data = importance.iloc[::-1]  # largest at the top
    if ax is None:
        ax = _new_axes(len(data))
    y = np.arange(len(data))
    mean = data["mean_abs"].to_numpy(dtype=float)
    err = np.vstack([mean - data["lo"].to_numpy(float), data["hi"].to_numpy(float) - mean])
    ax.barh(y, mean, xerr=np.clip(np.nan_to_num(err), 0, None), color="#4c72b0", capsize=3)
    labels = [
        _label(d, f in proxies) for f, d in zip(data["feature"], data["description"], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set_xlabel(f"Mean |contribution| ({_SCALE})")
    n = int(importance["n"].iloc[0]) if len(importance) else 0
    ax.set_title(f"What drives the model's scores (n = {n:,}; bars: 95% bootstrap CI)")
    if any(f in proxies for f in importance["feature"]):
        ax.annotate(
            "† may act as a proxy for a protected characteristic",
            xy=(0, 0),
            xycoords="figure fraction",
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=8,
        )
    return ax


def _colour_values(values: pd.Series, kind: str) -> np.ndarray:
    """Each row's value as a 0-1 rank within its feature (NaN for categories / missing)."""
    if kind == "categorical":
        return np.full(len(values), np.nan)
    x = pd.to_numeric(values, errors="coerce").astype(float)
    return x.rank(pct=True).to_numpy()


def plot_beeswarm(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    order: list[str],
    labels: dict[str, str],
    kinds: dict[str, str],
    *,
    ax: Axes | None = None,
    random_state: int = 0,
) -> Axes:
    """One row of dots per feature: each dot a person's contribution, coloured by value."""
    import matplotlib as mpl

    if ax is None:
        ax = _new_axes(len(order))
    rng = np.random.default_rng(random_state)
    n = len(contributions)
    keep = np.sort(rng.choice(n, size=_MAX_POINTS, replace=False)) if n > _MAX_POINTS else None
    cmap = mpl.colormaps["coolwarm"]
    for y, name in enumerate(reversed(order)):
        x = contributions[name].to_numpy(dtype=float)
        c = _colour_values(values[name], kinds[name])
        if keep is not None:
            x, c = x[keep], c[keep]
        jitter = rng.uniform(-0.3, 0.3, size=len(x))
        grey = np.isnan(c)
        ax.scatter(x[grey], y + jitter[grey], s=6, color="0.6", alpha=0.6, linewidths=0)
        ax.scatter(
            x[~grey], y + jitter[~grey], s=6, c=c[~grey], cmap=cmap, vmin=0, vmax=1,
            alpha=0.8, linewidths=0,
        )  # fmt: skip
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(np.arange(len(order)), [labels[name] for name in reversed(order)])
    ax.set_xlabel(f"Contribution to the score ({_SCALE}); right of 0 raises risk")
    shown = f"{len(keep):,} of {n:,}" if keep is not None else f"{n:,}"
    ax.set_title(f"Contributions per person ({shown} people)")
    sm = mpl.cm.ScalarMappable(cmap=cmap, norm=mpl.colors.Normalize(0, 1))
    bar = ax.figure.colorbar(sm, ax=ax, pad=0.01, fraction=0.03)
    bar.set_ticks([0, 1], labels=["low", "high"])
    bar.set_label("Feature value (grey: category or not recorded)")
    return ax


def to_png(draw: Any, n_features: int, *, dpi: int = 120) -> bytes:
    """Render ``draw(ax)`` on a fresh figure (no pyplot state) and return PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 1.2 + 0.45 * max(n_features, 1)), layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
