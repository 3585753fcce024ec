"""The monitoring dashboard: one self-contained HTML page (no scripts, no network)."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from riskmodels.monitoring._report import MonitoringReport

__all__ = ["render"]

_COLOURS = {
    "pass": "#1a7f37",
    "warn": "#9a6700",
    "fail": "#cf222e",
    "insufficient_evidence": "#8250df",
    "info": "#57606a",
}
_LABELS = {
    "runs": "Scoring runs",
    "runs_refused": "Runs refused",
    "runs_with_drift": "Runs with drifted features",
    "people_scored": "People scored",
    "people_flagged": "People flagged",
    "people_abstained": "People not scored (outside the data)",
    "review_coverage": "Flagged people with a recorded decision",
    "agreement_with_flag": "Reviewers agreeing with the flag",
    "support_offered": "Reviewed flagged people offered support",
    "days_to_review_median": "Days from list to decision (median)",
    "incident_rate": "Incidents in the outcome window",
    "observed_expected": "Observed / expected incidents",
    "auc": "AUC on matured outcomes",
    "mean_score": "Mean score",
    "band_share": "Share of people scored",
}
#: Indicators drawn over time: (indicator, group, y-axis label).
_PLOTS = (
    ("people_flagged", "all", "people flagged"),
    ("review_coverage", "all", "share of flagged reviewed"),
    ("agreement_with_flag", "all", "share agreeing with the flag"),
    ("observed_expected", "all", "observed / expected"),
)
_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #d0d7de;
text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{color:#fff;border-radius:10px;padding:1px 8px;font-size:13px;white-space:nowrap}
.banner{padding:12px 16px;border-radius:6px;margin:12px 0;color:#fff}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}.grid img{width:100%}
.muted{color:#57606a;font-size:13px}
@media print{body{margin:0;max-width:none}.grid{grid-template-columns:1fr 1fr}}
"""


def _status(s: str) -> str:
    colour = _COLOURS.get(s, "#57606a")
    text = "too few to judge" if s == "insufficient_evidence" else s
    return f"<span class='status' style='background:{colour}'>{html.escape(text)}</span>"


def _value(r: Any) -> str:
    v = r["value"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "&ndash;"
    rate = r["indicator"] in {
        "review_coverage",
        "agreement_with_flag",
        "support_offered",
        "incident_rate",
    }
    text = (
        f"{v:.1%}"
        if rate
        else (
            f"{v:.2f}"
            if r["indicator"] in {"observed_expected", "days_to_review_median", "auc"}
            else f"{v:,.0f}"
        )
    )
    lo, hi = r["lo"], r["hi"]
    if isinstance(lo, float) and not math.isnan(lo):
        bounds = f"{lo:.1%}&ndash;{hi:.1%}" if rate else f"{lo:.2f}&ndash;{hi:.2f}"
        text += f" <span class='muted'>({bounds})</span>"
    return text


def _table(frame: pd.DataFrame) -> str:
    rows = []
    # subgroup rows that are only described (too few reviews to judge) stay in the JSON
    shown = frame[
        (frame["group"] == "all")
        | (frame["status"] != "info")
        | ~frame["indicator"].isin(["agreement_with_flag"])
    ]
    for _, r in shown.iterrows():
        label = _LABELS.get(r["indicator"], r["indicator"])
        group = "" if r["group"] == "all" else f" &middot; {html.escape(str(r['group']))}"
        rows.append(
            f"<tr><td>{html.escape(label)}{group}</td><td class='num'>{_value(r)}</td>"
            f"<td class='num'>{int(r['n']):,}</td><td>{_status(str(r['status']))}</td>"
            f"<td class='muted'>{html.escape(str(r['detail'] or ''))}</td></tr>"
        )
    head = "<tr><th>indicator</th><th>value (95% CI)</th><th>n</th><th>status</th><th></th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _plot(t: pd.DataFrame, indicator: str, group: str, ylabel: str) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = t[(t.indicator == indicator) & (t.group == group) & (t.period != "all")]
    d = d[d["value"].notna()].sort_values("period")
    if d.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 2.6), dpi=110)
    x = range(len(d))
    ax.plot(x, d["value"], marker="o", color="#0969da")
    if d["lo"].notna().any():
        ax.fill_between(x, d["lo"], d["hi"], color="#0969da", alpha=0.15, linewidth=0)
    for i, s in zip(x, d["status"], strict=True):
        ax.plot(i, d["value"].iloc[i], "o", color=_COLOURS.get(s, "#57606a"))
    ax.set_xticks(list(x), d["period"].tolist(), rotation=30, fontsize=8)
    ax.set_title(_LABELS.get(indicator, indicator), fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='{html.escape(indicator)} over time' src='data:image/png;base64,{data}'>"


def render(report: MonitoringReport) -> str:
    """The dashboard of ``report`` as one HTML page."""
    t = report.indicators
    title = f"Monitoring: {report.model_name} {report.model_version}"
    if report.suspended:
        reasons = "".join(f"<li>{html.escape(str(s['reason']))}</li>" for s in report.suspensions)
        banner = (
            f"<div class='banner' style='background:{_COLOURS['fail']}'><strong>"
            "SUSPENDED: scoring refuses this release until enough approvers reinstate "
            f"it.</strong><ul>{reasons}</ul></div>"
        )
    else:
        banner = (
            f"<div class='banner' style='background:{_COLOURS['pass']}'>In use: not "
            "suspended.</div>"
        )
    breaches = t[t["status"].isin(["warn", "fail"]) & (t["period"] == "all")]
    latest = sorted(p for p in t["period"].unique() if p != "all")
    plots = [p for p in (_plot(t, *spec) for spec in _PLOTS) if p]
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>Release {html.escape(report.release_id[:16])}&hellip; &middot; "
        f"generated {html.escape(report.generated_at)} &middot; periods: "
        f"{html.escape(report.period)}. Decision support only: these indicators help the "
        "service check how the list is used; they judge no individual.</p>",
        banner,
        "<h2>Needs attention (whole span)</h2>",
        _table(breaches) if len(breaches) else "<p>Nothing beyond the policy's bounds.</p>",
        "<h2>Over time</h2>",
        f"<div class='grid'>{''.join(plots)}</div>" if plots else "<p>One period so far.</p>",
        "<h2>Whole span</h2>",
        _table(t[t["period"] == "all"]) if (t["period"] == "all").any() else "<p>No data.</p>",
    ]
    if len(latest) > 1:  # with one period, the whole span is that period
        sections += [
            f"<h2>Latest period ({html.escape(latest[-1])})</h2>",
            _table(t[t["period"] == latest[-1]]),
        ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )
