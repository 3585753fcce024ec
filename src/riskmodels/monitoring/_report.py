"""Indicators of a release in use, per period, judged against its policy; suspension."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodels import _clock
from riskmodels.errors import Problem, SchemaError
from riskmodels.metrics._intervals import oe_interval, proportion_interval
from riskmodels.monitoring._record import _release
from riskmodels.scoring._store import (
    Store,
    outcome_keys,
    reinstatement_id,
    resolve_store,
    signatures_per_suspension,
)

__all__ = ["INDICATOR_COLUMNS", "PERIODS", "MonitoringReport", "reinstate", "report"]

#: Period lengths (pandas period codes).
PERIODS = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}
#: Columns of :attr:`MonitoringReport.indicators`.
INDICATOR_COLUMNS = (
    "period",
    "indicator",
    "group",
    "value",
    "lo",
    "hi",
    "n",
    "status",
    "detail",
)
#: Statuses of an indicator: ``info`` (described, not judged), ``pass``, ``warn``,
#: ``fail`` (suspends the release) and ``insufficient_evidence`` (too few to judge).
STATUSES = ("info", "pass", "warn", "fail", "insufficient_evidence")


@dataclass
class MonitoringReport:
    """What a release did while in use, period by period, judged against its policy.

    Attributes
    ----------
    release_id, model_name, model_version : str
    generated_at : str
        ISO time by the system clock.
    period : str
        ``day``, ``week``, ``month`` or ``quarter``.
    indicators : DataFrame
        Long format, columns :data:`INDICATOR_COLUMNS`; ``period`` is ``"all"`` for the
        whole span. Every rate has its n and exact interval; an undefined one is NaN.
    suspended : bool
        Whether the release is suspended now (scoring refuses it).
    suspensions : list of dict
        Each suspension's audit-log entry (seq, at, indicator, reason).
    """

    release_id: str
    model_name: str
    model_version: str
    generated_at: str
    period: str
    indicators: pd.DataFrame
    suspended: bool = False
    suspensions: list[dict[str, Any]] = field(default_factory=list)

    def status(self, indicator: str, period: str = "all", group: str = "all") -> str:
        """The status of one indicator (``"insufficient_evidence"`` when absent)."""
        t = self.indicators
        row = t[(t.indicator == indicator) & (t.period == period) & (t.group == group)]
        return str(row["status"].iloc[0]) if len(row) else "insufficient_evidence"

    @property
    def breaches(self) -> pd.DataFrame:
        """Indicators whose status is ``warn`` or ``fail``."""
        return self.indicators[self.indicators["status"].isin(["warn", "fail"])]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (NaN as null)."""
        rows = self.indicators.astype(object).where(self.indicators.notna(), None)
        return {
            "schema": "riskmodels.monitoring.MonitoringReport/1",
            "release_id": self.release_id,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "generated_at": self.generated_at,
            "period": self.period,
            "suspended": self.suspended,
            "suspensions": self.suspensions,
            "indicators": rows.to_dict(orient="records"),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False, default=str)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the report: ``.html`` (the self-contained dashboard) or ``.json``."""
        from riskmodels._io import atomic_write_text
        from riskmodels.monitoring._dashboard import render

        target = Path(path)
        if target.suffix.lower() == ".html":
            atomic_write_text(target, render(self))
        elif target.suffix.lower() == ".json":
            atomic_write_text(target, self.to_json() + "\n")
        else:
            raise SchemaError(
                Problem("path", target.name, "end it in .html or .json"),
                context="Cannot save the monitoring report",
            )


# ---------------------------------------------------------------------- helpers
def _rows(
    period: str, indicator: str, group: str, k: Any, n: Any, status: Any, detail: str = ""
) -> dict[str, Any]:
    """A rate indicator ``k / n`` with its exact interval (NaN when n is 0)."""
    k, n = int(k), int(n)
    lo, hi = proportion_interval(k, n, 0.95)
    return {
        "period": period,
        "indicator": indicator,
        "group": group,
        "value": k / n if n else math.nan,
        "lo": float(lo),
        "hi": float(hi),
        "n": n,
        "status": status if n else "insufficient_evidence",
        "detail": detail,
    }


def _count(period: str, indicator: str, value: float, detail: str = "") -> dict[str, Any]:
    return {
        "period": period,
        "indicator": indicator,
        "group": "all",
        "value": float(value),
        "lo": math.nan,
        "hi": math.nan,
        "n": int(value),
        "status": "info",
        "detail": detail,
    }


def _periods(at: pd.Series, period: str) -> pd.Series:
    return (
        pd.to_datetime(at, utc=True).dt.tz_localize(None).dt.to_period(PERIODS[period]).astype(str)
    )


# ---------------------------------------------------------------------- indicators
def _volume(runs: pd.DataFrame, refused: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    spans = [*runs.groupby("period", sort=True), ("all", runs)] if len(runs) else []
    for p, r in spans:
        out += [
            _count(p, "runs", len(r)),
            _count(p, "people_scored", r["scored"].sum()),
            _count(p, "people_flagged", r["flagged"].sum()),
            _count(p, "people_abstained", r["abstained"].sum(), "no score: outside the data"),
        ]
        drifted = [f for d in r["drifted"] for f in json.loads(d or "[]")]
        out.append(
            {
                **_count(
                    p, "runs_with_drift", sum(bool(json.loads(d or "[]")) for d in r["drifted"])
                ),
                "status": "warn" if drifted else "pass",
                "detail": ", ".join(sorted(set(drifted))) or "no feature drifted",
            }
        )
    spans = [*refused.groupby("period", sort=True), ("all", refused)] if len(refused) else []
    for p, r in spans:
        out.append(
            {
                **_count(p, "runs_refused", len(r)),
                "status": "warn",
                "detail": "; ".join(sorted(set(r["reason"].astype(str))))[:500],
            }
        )
    return out


def _reviews(issued: pd.DataFrame, policy: Any) -> list[dict[str, Any]]:
    """Coverage, agreement (and the automation-bias flag), support offered, time to review,
    overall and by band and batch value."""
    m = policy.monitoring
    out = []
    flagged = issued[issued["status"] == "flagged"]
    # a person's snapshot issued on several lists (a batch scored twice) is one person to
    # review: keep the row with a decision, if any
    flagged = flagged.sort_values("decision", na_position="last").drop_duplicates(["period", "key"])
    for p, f in [*flagged.groupby("period", sort=True), ("all", flagged)]:
        reviewed = f["decision"].notna()
        cover = "pass" if reviewed.mean() >= m.min_review_coverage else "warn"
        out.append(
            _rows(
                p,
                "review_coverage",
                "all",
                reviewed.sum(),
                len(f),
                cover,
                f"flagged people with a recorded decision (policy: at least "
                f"{m.min_review_coverage:.0%})",
            )
        )
        answered = f[f["agrees_with_flag"].isin(["yes", "no"])]
        splits = [("all", answered)]
        splits += [(f"band {b}", g) for b, g in answered.groupby("band", sort=True)]
        splits += [(f"{v}", g) for v, g in answered.groupby("batch", sort=True) if v != "None"]
        for group, g in splits:
            agree = int((g["agrees_with_flag"] == "yes").sum())
            n = len(g)
            if n < m.min_reviews:
                status = "insufficient_evidence" if group == "all" else "info"
            else:
                status = "warn" if agree / n >= m.max_agreement else "pass"
            out.append(
                _rows(
                    p,
                    "agreement_with_flag",
                    group,
                    agree,
                    n,
                    status,
                    f"automation bias: warn at {m.max_agreement:.0%} or more agreement "
                    f"over at least {m.min_reviews} reviews",
                )
            )
        support = f["decision"] == "support offered"
        out.append(
            _rows(
                p,
                "support_offered",
                "all",
                support.sum(),
                reviewed.sum(),
                "info",
                "reviewed flagged people offered support",
            )
        )
        days = (f["recorded_at"] - f["at"]).dt.total_seconds() / 86400
        if days.notna().any():
            out.append(
                {
                    **_count(p, "days_to_review_median", 0),
                    "value": float(days.median()),
                    "n": int(days.notna().sum()),
                    "detail": "from the list to the decision being recorded",
                }
            )
    return out


def _outcomes(issued: pd.DataFrame, policy: Any) -> list[dict[str, Any]]:
    """On matured outcomes: events among flagged and not flagged, O/E overall and by group
    (the calibration rule of the release's policy: a ``fail`` suspends), AUC."""
    from riskmodels.policy._calibration import oe_gate_status, oe_judgeable

    out = []
    known = issued[issued["outcome"].notna() & issued["score"].notna()]
    if known.empty:  # no outcome has matured yet: nothing to report, nothing to judge
        return out
    fair = policy.fairness
    for p, k in [*known.groupby("period", sort=True), ("all", known)]:
        out.append(_auc(p, k, policy))
        for status_value, label in (("flagged", "flagged"), ("not_flagged", "not flagged")):
            g = k[k["status"] == status_value]
            out.append(
                _rows(
                    p,
                    "incident_rate",
                    label,
                    g["outcome"].sum(),
                    len(g),
                    "info",
                    "observed incidents in the outcome window",
                )
            )
        cells = [("all", k, policy.reliability.oe_ratio, policy.reliability.min_events)]
        for attr in sorted({a for gs in k["groups"].dropna() for a in json.loads(gs)}):
            values = k["groups"].map(lambda x, a=attr: json.loads(x).get(a) if x else None)
            for v, g in k.groupby(values, sort=True):
                cells.append((f"{attr}={v}", g, fair.group_oe_ratio, fair.min_group_events))
        for group, g, band, min_events in cells:
            o, e = float(g["outcome"].sum()), float(g["score"].sum())
            lo, hi = oe_interval(np.array([o]), np.array([e]), 0.95)
            # the exact interval is valid at any count; the floor keeps a handful of
            # events from deciding (the same rule as the approval gate)
            adequate = bool(oe_judgeable(len(g), o, e, fair.min_group_size, min_events))
            status = str(oe_gate_status(np.array([o]), np.array([e]), band)[0])
            out.append(
                {
                    "period": p,
                    "indicator": "observed_expected",
                    "group": group,
                    "value": o / e if e > 0 else math.nan,
                    "lo": float(lo[0]),
                    "hi": float(hi[0]),
                    "n": len(g),
                    "status": status if adequate else "insufficient_evidence",
                    "detail": f"{int(o)} observed / {e:.1f} expected incidents; band "
                    f"[{band[0]}, {band[1]}], exact Poisson 95% interval",
                }
            )
    return out


def _auc(p: str, k: pd.DataFrame, policy: Any) -> dict[str, Any]:
    """Discrimination on matured outcomes, with its bootstrap interval; judged against the
    policy's AUC floor only with the policy's minimum events and non-events."""
    from riskmodels.metrics import roc_auc_ci

    y = k["outcome"].to_numpy(dtype=int)
    est = roc_auc_ci(y, k["score"].to_numpy(dtype=float), n_boot=500, random_state=0)
    r = policy.reliability
    enough = int(y.sum()) >= r.min_events and int((1 - y).sum()) >= r.min_nonevents
    if est.status != "ok" or not enough:
        status = "insufficient_evidence"
    else:
        status = "warn" if est.value < r.min_auc else "pass"
    return {
        "period": p,
        "indicator": "auc",
        "group": "all",
        "value": est.value,
        "lo": est.lo,
        "hi": est.hi,
        "n": est.n,
        "status": status,
        "detail": f"discrimination on matured outcomes (policy floor {r.min_auc}; needs "
        f"{r.min_events} events and {r.min_nonevents} non-events)",
    }


def _scores(issued: pd.DataFrame) -> list[dict[str, Any]]:
    """The score distribution per period: mean score and each band's share of the scored."""
    out = []
    scored = issued[issued["score"].notna()]
    for p, g in [*scored.groupby("period", sort=True), ("all", scored)]:
        out.append(
            {
                **_count(p, "mean_score", 0),
                "value": float(g["score"].mean()),
                "n": len(g),
                "detail": "mean calibrated score of the people scored",
            }
        )
        for band, b in g.groupby("band", sort=True):
            out.append(
                _rows(
                    p,
                    "band_share",
                    f"band {band}",
                    len(b),
                    len(g),
                    "info",
                    "share of the people scored in this band",
                )
            )
    return out


def _judge(indicators: pd.DataFrame, policy: Any) -> list[dict[str, Any]]:
    """The breaches that suspend: a ``fail`` of calibration on all matured outcomes."""
    if not policy.monitoring.suspend_on_calibration:
        return []
    t = indicators
    bad = t[(t.period == "all") & (t.indicator == "observed_expected") & (t.status == "fail")]
    return [
        {
            "indicator": f"observed_expected[{r.group}]",
            "reason": (
                f"matured outcomes show {'the population' if r.group == 'all' else r.group} "
                f"miscalibrated: observed/expected {r.value:.2f} (95% CI {r.lo:.2f}-{r.hi:.2f}, "
                f"n = {r.n}), outside the policy's band with the interval excluding 1."
            ),
        }
        for r in bad.itertuples()
    ]


# ---------------------------------------------------------------------- report
def report(
    release: Any,
    *,
    since: str | dt.date | None = None,
    period: str = "month",
    store: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    trust_store: str | os.PathLike[str] | None = None,
) -> MonitoringReport:
    """Monitor a release in use: volumes, drift, reviews, outcomes, with the policy's verdict.

    Reads what each scoring run issued, the decisions staff recorded
    (:func:`record_reviews`), matured outcomes (:func:`record_outcomes`) and refused runs
    (the site's audit log), and computes per period (and ``"all"``):

    * volumes: runs, people scored, flagged, abstained; runs refused; runs with drifted
      features (by the release's drift test, run at scoring);
    * reviews: coverage (flagged people with a decision; ``warn`` below the policy's
      ``monitoring.min_review_coverage``), agreement with the flag overall, by band and
      by batch value (automation bias: ``warn`` at ``max_agreement`` or more over at
      least ``min_reviews`` reviews), support offered, days from list to decision;
    * outcomes (matured): incident rates among flagged and not flagged; observed /
      expected incidents overall and per protected group, judged by the policy's
      calibration rule (``fail``: outside the band with the exact interval excluding 1,
      in a group with enough rows and events).

    A ``fail`` on all matured outcomes suspends the release (when the policy's
    ``monitoring.suspend_on_calibration`` is true): a ``suspended`` entry is appended to
    the site's audit log, and :func:`riskmodels.score` refuses the release until enough
    approvers :func:`reinstate` it.

    Parameters
    ----------
    release : Release or path
    since : date or ISO string, optional
        Only runs from this date.
    period : {"day", "week", "month", "quarter"}, default "month"
    store, audit_log, trust_store : optional
        The site's monitoring store, audit log and trust store (as for ``score``).

    Returns
    -------
    MonitoringReport

    Raises
    ------
    SchemaError
        An unknown ``period`` or a ``since`` that is not a date.
    """
    from riskmodels.scoring._audit_log import append_entry, resolve_audit_log, verify_audit_log

    if period not in PERIODS:
        raise SchemaError(
            Problem("period", repr(period), f"use one of {list(PERIODS)}"),
            context="Invalid argument to monitoring.report",
        )
    try:
        start = pd.Timestamp(since, tz="UTC") if since is not None else None
    except (TypeError, ValueError) as err:
        raise SchemaError(
            Problem("since", repr(since), "pass a date, e.g. '2026-01-01'"),
            context="Invalid argument to monitoring.report",
        ) from err
    rel = _release(release, trust_store)
    log_path = resolve_audit_log(audit_log)
    entries = verify_audit_log(log_path) if log_path.exists() else []
    url = resolve_store(store, log_path)
    with Store(url) as st:
        runs = st.runs(rel.release_id)
        if start is not None and not runs.empty:
            runs = runs[pd.to_datetime(runs["at"], utc=True) >= start]
        runs = runs.assign(
            period=_periods(runs["at"], period) if len(runs) else pd.Series(dtype=str)
        )
        issued = _issued_rows(st, runs, rel)
    refused = pd.DataFrame(
        [
            e
            for e in entries
            if e.get("event") == "refused" and e.get("release_id") == rel.release_id
        ],
        columns=["at", "reason", "message"],
    )
    refused = refused.assign(
        period=_periods(refused["at"], period) if len(refused) else pd.Series(dtype=str),
        reason=refused["message"].astype(str).str.slice(0, 120) if len(refused) else "",
    )
    rows = _volume(runs, refused)
    if len(issued):
        rows += _scores(issued) + _reviews(issued, rel.policy) + _outcomes(issued, rel.policy)
    indicators = pd.DataFrame(rows, columns=list(INDICATOR_COLUMNS))
    suspensions = [
        e
        for e in entries
        if e.get("event") == "suspended" and e.get("release_id") == rel.release_id
    ]
    for breach in _judge(indicators, rel.policy):
        if not any(s["indicator"] == breach["indicator"] for s in suspensions):
            entry = append_entry(
                log_path,
                {
                    "event": "suspended",
                    "at": _clock.now().isoformat(timespec="seconds"),
                    "release_id": rel.release_id,
                    "model_name": rel.name,
                    "model_version": rel.version,
                    **breach,
                },
            )
            suspensions.append(entry)
    suspended = _still_suspended(rel, suspensions, url, trust_store)
    return MonitoringReport(
        release_id=rel.release_id,
        model_name=rel.name,
        model_version=rel.version,
        generated_at=_clock.now().isoformat(timespec="seconds"),
        period=period,
        indicators=indicators,
        suspended=suspended,
        suspensions=[
            {k: s.get(k) for k in ("seq", "at", "indicator", "reason")} for s in suspensions
        ],
    )


def _still_suspended(
    rel: Any, suspensions: list[dict[str, Any]], url: str, trust_store: Any
) -> bool:
    signed = signatures_per_suspension(rel, suspensions, url, trust_store)
    return any(v < rel.policy.approvals.required for v in signed.values())


def _issued_rows(st: Store, runs: pd.DataFrame, rel: Any) -> pd.DataFrame:
    """Every issued row of ``runs`` with its run's time, its review and matured outcome."""
    if runs.empty:
        return pd.DataFrame()
    parts = []
    for r in runs.itertuples():
        part = st.issued(r.list_id)
        part["list_id"] = r.list_id
        at = pd.Timestamp(r.at)  # SQLite gives back naive UTC times
        part["at"] = at.tz_localize("UTC") if at.tzinfo is None else at
        part["period"] = r.period
        parts.append(part)
    issued = pd.concat(parts, ignore_index=True)
    reviews = st.frame("reviews", rel.release_id)[
        ["list_id", "id", "decision", "agrees_with_flag", "recorded_at"]
    ]
    issued = issued.merge(reviews, on=["list_id", "id"], how="left")
    issued["recorded_at"] = pd.to_datetime(issued["recorded_at"], utc=True)
    outcomes = st.frame("outcomes", rel.release_id)[["key", "outcome", "groups"]]
    issued["key"] = outcome_keys(issued["person"], issued["as_of"])
    return issued.merge(outcomes, on="key", how="left")


# ---------------------------------------------------------------------- reinstate
def reinstate(
    release: Any,
    *,
    signing_key: Any,
    reviewer: str,
    reason: str,
    role: str | None = None,
    passphrase: bytes | str | None = None,
    store: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    trust_store: str | os.PathLike[str] | None = None,
) -> int:
    """Sign the reinstatement of a suspended release (one approver at a time).

    Each active suspension gets the approver's Ed25519 signature over its own
    reinstatement statement (the release id and the suspension's audit-log entry); once
    the policy's ``approvals.required`` distinct trusted keys (never the model's author)
    have signed, :func:`riskmodels.score` accepts the release again. Each signature is
    recorded in the monitoring store and announced in the audit log.

    Returns
    -------
    int
        How many more signatures the release needs (0: reinstated).

    Raises
    ------
    SchemaError
        No reason given, or the release is not suspended.
    """
    from riskmodels.release._signing import load_private_key, sign_approval
    from riskmodels.scoring._audit_log import append_entry, resolve_audit_log, verify_audit_log

    if not isinstance(reason, str) or not reason.strip():
        raise SchemaError(
            Problem("reason", repr(reason), "say why the release may score again"),
            context="Cannot reinstate",
        )
    rel = _release(release, trust_store)
    log_path = resolve_audit_log(audit_log)
    entries = verify_audit_log(log_path) if log_path.exists() else []
    suspended = [
        e
        for e in entries
        if e.get("event") == "suspended" and e.get("release_id") == rel.release_id
    ]
    if not suspended:
        raise SchemaError(
            Problem("release", f"{rel.name} {rel.version} is not suspended", "nothing to do"),
            context="Cannot reinstate",
        )
    key = load_private_key(signing_key, passphrase)
    now = _clock.now()
    rows = []
    for e in suspended:
        signed = sign_approval(
            reinstatement_id(rel.release_id, e["seq"]),
            key,
            reviewer,
            role,
            now.isoformat(timespec="seconds"),
        )
        rows.append(
            {
                "release_id": rel.release_id,
                "suspension_seq": e["seq"],
                "key": signed["key"],
                "statement": json.dumps(signed),
                "reason": reason.strip(),
                "at": now,
            }
        )
    url = resolve_store(store, log_path)

    with Store(url) as st:
        st.replace("reinstatements", rows, ("suspension_seq", "key"))
    append_entry(
        log_path,
        {
            "event": "reinstatement_signed",
            "at": now.isoformat(timespec="seconds"),
            "release_id": rel.release_id,
            "signer": reviewer,
            "key": rows[0]["key"],
            "reason": reason.strip(),
            "suspensions": [e["seq"] for e in suspended],
        },
    )
    signed = signatures_per_suspension(rel, suspended, url, trust_store)
    return max(0, rel.policy.approvals.required - min(signed.values()))
