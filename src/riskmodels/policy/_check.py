"""The gate computations: evidence (+ model, card context) against a policy -> GateReport.

Every gate follows principle 3: an estimate that is undefined, or computed on too few
events, is ``insufficient_evidence`` — never a pass.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmodels.errors import PolicyError
from riskmodels.policy._calibration import (
    debiased_ece,
    oe_gate_status,
    oe_interval,
    oe_judgeable,
)
from riskmodels.policy._gates import NON_WAIVABLE, Gate, GateReport, fmt_number

if TYPE_CHECKING:
    from riskmodels.cards._context import CardContext
    from riskmodels.fairness import FairnessAudit
    from riskmodels.modeling import Evidence, RiskModel
    from riskmodels.policy._policy import Policy, ReliabilityPolicy

__all__ = ["check_policy", "needs_protected_at_scoring"]

NAN = math.nan


def _gate(
    name: str,
    status: str,
    value: float,
    bound: str,
    reason: str,
    lo: float = NAN,
    hi: float = NAN,
    counts: tuple[tuple[str, int], ...] = (),
) -> Gate:
    return Gate(
        name=name,
        status=status,
        value=float(value),
        bound=bound,
        lo=float(lo),
        hi=float(hi),
        reason=reason,
        waivable=name not in NON_WAIVABLE,
        counts=counts,
    )


def _n(n: int, unit: str) -> tuple[str, tuple[str, int]]:
    """A count as gate text, and the record of it a published card redacts by."""
    text = f"{n:,} {unit}" if unit else f"n={n:,}"
    return text, (text, int(n))


def _ci(lo: float, hi: float, confidence: float) -> str:
    """An interval at the evidence's own confidence level, e.g. ``"90% CI 0.702 to 0.761"``."""
    if math.isnan(lo) or math.isnan(hi):
        return "no CI"
    return f"{confidence:.0%} CI {fmt_number(lo)} to {fmt_number(hi)}"


def _limit(v: float) -> str:
    """A policy's own number as its author wrote it (``0.8``, ``1.25``, ``-0.2``)."""
    return f"{v:,g}"


def _band(lo: float, hi: float) -> str:
    return f"{_limit(lo)} to {_limit(hi)}"


# ---------------------------------------------------------------------- reliability
@dataclass(frozen=True)
class Bound:
    """A gate's bound: its words (``Gate.bound``) and the test a value must pass."""

    text: str
    holds: Callable[[float], bool]

    @classmethod
    def at_least(cls, v: float) -> Bound:
        return cls(f">= {_limit(v)}", lambda x: x >= v)

    @classmethod
    def above(cls, v: float) -> Bound:
        return cls(f"> {_limit(v)}", lambda x: x > v)

    @classmethod
    def at_most(cls, v: float) -> Bound:
        return cls(f"<= {_limit(v)}", lambda x: x <= v)

    @classmethod
    def between(cls, band: tuple[float, float]) -> Bound:
        lo, hi = band
        return cls(_band(lo, hi), lambda x: lo <= x <= hi)


@dataclass(frozen=True)
class MetricGateSpec:
    """One reliability gate on one metric of the evidence.

    ``use="lo"`` judges the CI's lower bound instead of the point estimate.
    """

    name: str
    metric: str
    label: str
    bound: Callable[[ReliabilityPolicy], Bound]
    use: str = "value"


#: The reliability gates on single metrics, in report order (``reliability.auc_gain``,
#: which compares two models on the same rows, is computed by :func:`_auc_gain_gate`).
RELIABILITY_GATES: tuple[MetricGateSpec, ...] = (
    MetricGateSpec("reliability.auc", "auc", "AUC", lambda r: Bound.at_least(r.min_auc)),
    MetricGateSpec(
        "reliability.auc_lower",
        "auc",
        "The AUC's CI lower bound",
        lambda r: Bound.at_least(r.min_auc_lower),
        use="lo",
    ),
    MetricGateSpec(
        "reliability.brier_skill",
        "brier_skill",
        "Brier skill",
        lambda r: Bound.above(r.min_brier_skill),
    ),
    MetricGateSpec(
        "reliability.calibration_slope",
        "calibration_slope",
        "Calibration slope",
        lambda r: Bound.between(r.calibration_slope),
    ),
    MetricGateSpec(
        "reliability.calibration_intercept",
        "calibration_intercept",
        "Calibration intercept",
        lambda r: Bound.between(r.calibration_intercept),
    ),
    MetricGateSpec(
        "reliability.oe_ratio",
        "oe_ratio",
        "Observed/expected events",
        lambda r: Bound.between(r.oe_ratio),
    ),
    MetricGateSpec(
        "reliability.ece",
        "ece_uniform",
        "Expected calibration error",
        lambda r: Bound.at_most(r.max_ece),
    ),
)


def _size_note(r: ReliabilityPolicy, n_ev: int, n_non: int) -> str | None:
    """Why the evaluation set is too small to trust, or None when it is large enough.
    (The counts it quotes are the evaluation set's, which the card publishes anyway.)"""
    if n_ev >= r.min_events and n_non >= r.min_nonevents:
        return None
    return (
        f"only {n_ev:,} events and {n_non:,} non-events (need >= {r.min_events:,} and "
        f">= {r.min_nonevents:,}; Collins 2016, Van Calster 2016)"
    )


def _count_gate(name: str, what: str, n: int, need: int) -> Gate:
    enough = n >= need
    said, count = _n(n, what)
    return _gate(
        name,
        "pass" if enough else "insufficient_evidence",
        n,
        f">= {need:,}",
        f"{said} in the evaluation set"
        + (f" (at least {need:,})." if enough else f", fewer than the {need:,} needed."),
        counts=(count,),
    )


def _metric_gate(
    spec: MetricGateSpec, r: ReliabilityPolicy, evidence: Evidence, small: str | None
) -> Gate:
    est = evidence.metric(spec.metric)
    bound = spec.bound(r)
    value = est.lo if spec.use == "lo" else est.value
    ci = _ci(est.lo, est.hi, evidence.confidence)

    def gate(status: str, reason: str) -> Gate:
        return _gate(spec.name, status, value, bound.text, reason, est.lo, est.hi)

    if est.status != "ok" or math.isnan(value):
        why = f"it is undefined ({est.reason})" if est.reason else "it is undefined"
        if spec.use == "lo" and est.status == "ok":
            why = "it has no confidence interval (n_boot=0?)"
        return gate("insufficient_evidence", f"{spec.label} cannot be checked: {why}.")
    if small is not None:
        return gate(
            "insufficient_evidence",
            f"{spec.label} {fmt_number(value)} is not trustworthy: {small}.",
        )
    passed = bool(bound.holds(value))
    shown = fmt_number(value) if spec.use == "lo" else f"{fmt_number(value)} ({ci})"
    verb = "meets" if passed else "breaks"
    return gate(
        "pass" if passed else "fail", f"{spec.label} {shown} {verb} the bound ({bound.text})."
    )


def _reliability_gates(policy: Policy, evidence: Evidence) -> list[Gate]:
    r = policy.reliability
    n_ev, n_non = int(evidence.n_events), int(evidence.n_nonevents)
    small = _size_note(r, n_ev, n_non)
    gates = [
        _count_gate("reliability.events", "events", n_ev, r.min_events),
        _count_gate("reliability.nonevents", "non-events", n_non, r.min_nonevents),
    ]
    specs = {s.name: s for s in RELIABILITY_GATES}
    for spec in RELIABILITY_GATES:
        gates.append(_metric_gate(spec, r, evidence, small))
        if spec is specs["reliability.auc_lower"]:
            gates.append(_auc_gain_gate(policy, evidence, small))
    if r.require_net_benefit:
        gates.append(_net_benefit_gate(evidence, small))
    # the evaluation set's events and non-events, which the count gates and the size
    # note quote
    return _quoting(gates, (_n(n_ev, "events")[1], _n(n_non, "non-events")[1]))


def net_benefit_at(evidence: Evidence) -> dict[str, tuple[float, float, float]] | None:
    """Each strategy's ``(net benefit, lo, hi)`` at the evidence's operational threshold,
    from ``Evidence.decision_curve`` (None when the curve or the threshold is missing)."""
    curve = getattr(evidence, "decision_curve", None)
    thr = float(evidence.threshold)
    if curve is None or len(curve) == 0 or not 0 < thr < 1:
        return None
    at = curve[np.isclose(curve["threshold"].to_numpy(float), thr, rtol=0, atol=1e-12)]
    if at.empty:
        return None
    return {
        str(row.strategy): (float(row.net_benefit), float(row.lo), float(row.hi))
        for row in at.itertuples()
    }


def _net_benefit_gate(evidence: Evidence, small: str | None) -> Gate:
    name, thr = "reliability.net_benefit", float(evidence.threshold)
    at = net_benefit_at(evidence)
    if at is None or "model" not in at:
        return _gate(
            name,
            "insufficient_evidence",
            NAN,
            "> act on all, > act on none",
            f"No decision curve at the operational threshold {fmt_number(thr)} in this "
            "evidence: re-run model.assess(...) to compute it.",
        )
    value, lo, hi = at["model"]
    everyone = at.get("act on all", (NAN, NAN, NAN))[0]
    # act on none is 0 by definition; act on all is judged at its point estimate
    ref = max(0.0, everyone) if math.isfinite(everyone) else 0.0
    which = "acting on everyone" if ref > 0 else "acting on no one"
    bound = f"> {fmt_number(ref)} ({which})"
    said = (
        f"At the threshold {fmt_number(thr)} the model's net benefit is {fmt_number(value)} "
        f"({_ci(lo, hi, evidence.confidence)}); acting on everyone "
        f"{fmt_number(everyone)}, on no one 0"
    )
    if small is not None:
        return _gate(
            name,
            "insufficient_evidence",
            value,
            bound,
            f"{said}: not trustworthy, {small}.",
            lo,
            hi,
        )
    if not math.isfinite(value):
        return _gate(name, "insufficient_evidence", value, bound, f"{said}: undefined.", lo, hi)
    if math.isfinite(hi) and hi <= ref:
        status, tail = "fail", f"the whole interval is at or below {which}"
    elif value <= ref:
        status, tail = "warn", f"the point is at or below {which} but the interval reaches across"
    elif not math.isfinite(lo):
        status, tail = "pass", f"above {which} (no CI in this evidence: n_boot=0?)"
    else:
        status, tail = "pass", f"above {which}"
    return _gate(name, status, value, bound, f"{said}: {tail}.", lo, hi)


def _auc_gain_gate(policy: Policy, evidence: Evidence, small: str | None) -> Gate:
    bound_v = policy.reliability.min_auc_gain_over_baseline
    name, bound = "reliability.auc_gain", f"> {_limit(bound_v)}"
    a, b = evidence.metric("auc"), evidence.metric("auc", baseline=True)
    gain = a.value - b.value
    vs = (
        f"AUC {fmt_number(a.value)} vs the simple baseline "
        f"({', '.join(evidence.baseline_features) or 'baseline'}: {fmt_number(b.value)})"
    )
    if a.status != "ok" or b.status != "ok" or math.isnan(gain):
        return _gate(
            name,
            "insufficient_evidence",
            gain,
            bound,
            "The gain over the simple baseline cannot be computed (an AUC is undefined).",
        )
    if small is not None:
        return _gate(
            name,
            "insufficient_evidence",
            gain,
            bound,
            f"The AUC gain {gain:+.3f} over the baseline is not trustworthy: {small}.",
        )
    est = evidence.auc_gain
    if est is None or est.status != "ok" or math.isnan(est.lo):
        # evidence from before the paired interval existed: judge the point, say so
        passed = gain > bound_v
        return _gate(
            name,
            "pass" if passed else "warn",
            gain,
            bound,
            f"{vs}: gain {gain:+.3f} (no paired interval in this evidence)"
            + ("." if passed else "; a waiver must justify the extra complexity."),
        )
    ci = f"paired {evidence.confidence:.0%} CI {est.lo:+.3f} to {est.hi:+.3f}, DeLong"
    if est.lo > bound_v:
        return _gate(
            name,
            "pass",
            est.value,
            bound,
            f"{vs}: gain {est.value:+.3f} ({ci}); the whole interval is above {_limit(bound_v)}.",
            est.lo,
            est.hi,
        )
    # a warn, not a fail: a reviewer may justify a model no better than the baseline
    return _gate(
        name,
        "warn",
        est.value,
        bound,
        f"{vs}: gain {est.value:+.3f} ({ci}); the interval does not exclude a gain of "
        f"{_limit(bound_v)} or less, so a waiver must justify the extra complexity.",
        est.lo,
        est.hi,
    )


# ---------------------------------------------------------------------- fairness
def _gated_attributes(policy: Policy, audit: FairnessAudit) -> list[str]:
    names = list(audit.attributes)
    if policy.fairness.gate_intersections:
        names += list(audit.intersections)
    return names


def _adequacy(policy: Policy, audit: FairnessAudit) -> pd.DataFrame:
    """by_group rows of gated attributes, with the policy's adequacy in ``ok``."""
    f = policy.fairness
    bg = audit.by_group
    bg = bg[bg["attribute"].isin(_gated_attributes(policy, audit))].copy()
    bg["ok"] = f.adequate(bg)
    return bg


def _describe(groups: pd.DataFrame, limit: int = 4) -> str:
    parts = [
        f"{r.attribute}={r.group} ({_n(int(r.n), '')[0]}, {_n(int(r.n_pos), 'events')[0]})"
        for r in groups.head(limit).itertuples()
    ]
    more = len(groups) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _adequacy_gate(policy: Policy, bg: pd.DataFrame) -> Gate:
    f = policy.fairness
    bad = bg[~bg["ok"]]
    bound = (
        f"0 inadequate groups (each >= {f.min_group_size} rows, {f.min_group_events} "
        f"events, {f.min_group_nonevents} non-events)"
    )
    if bg.empty:
        return _gate(
            "fairness.group_adequacy",
            "insufficient_evidence",
            NAN,
            bound,
            "The fairness audit has no groups to check.",
        )
    if bad.empty:
        return _gate(
            "fairness.group_adequacy",
            "pass",
            0,
            bound,
            f"All {len(bg)} audited groups are large enough to assess.",
        )
    return _gate(
        "fairness.group_adequacy",
        "insufficient_evidence",
        len(bad),
        bound,
        f"{len(bad)} of {len(bg)} groups are too small to assess: {_describe(bad)}; "
        "their fairness gates cannot pass.",
    )


def _not_judged(inadequate: pd.DataFrame) -> str:
    """The sentence naming groups a fairness gate did not judge. They are too small to
    assess; ``fairness.group_adequacy`` lists them and needs its own waiver, so one tiny
    group never hides what the others show."""
    if inadequate.empty:
        return ""
    return f" Not judged, too small: {_describe(inadequate, 2)} (see fairness.group_adequacy)."


def _secondary(policy: Policy, criterion: str) -> bool:
    return policy.fairness.criterion != criterion


def _ci_rule(
    name: str,
    policy: Policy,
    criterion: str,
    value: float,
    lo: float,
    hi: float,
    beyond_point: bool,
    beyond_ci: bool,
    bound: str,
    what: str,
    inadequate: pd.DataFrame,
    confidence: float,
) -> Gate:
    """The one fairness rule: fail if the CI lies beyond the bound, warn if the point does,
    insufficient_evidence if a gated group is inadequate, else pass. Gates of the criterion
    the policy does not prioritise are capped at warn."""
    secondary = _secondary(policy, criterion)
    ci = _ci(lo, hi, confidence)
    if beyond_ci:
        if secondary:
            return _gate(
                name,
                "warn",
                value,
                bound,
                f"{what} ({ci}): the whole CI breaks the bound ({bound}), but the policy "
                f"prioritises {policy.fairness.criterion.replace('_', ' ')}; a "
                "waiver must acknowledge the trade-off.",
                lo,
                hi,
            )
        return _gate(
            name,
            "fail",
            value,
            bound,
            f"{what} ({ci}): the whole CI breaks the bound ({bound}).",
            lo,
            hi,
        )
    also = _not_judged(inadequate)
    if beyond_point:
        return _gate(
            name,
            "warn",
            value,
            bound,
            f"{what} breaks the bound ({bound}), but its interval ({ci}) reaches inside it: the "
            "evidence can neither confirm nor rule out a breach." + also,
            lo,
            hi,
        )
    return _gate(
        name, "pass", value, bound, f"{what} ({ci}) meets the bound ({bound}).{also}", lo, hi
    )


def _gap_gate(policy: Policy, audit: FairnessAudit, bg: pd.DataFrame, metric: str) -> Gate:
    name = f"fairness.{metric}_gap"
    bound_v = policy.fairness.max_fpr_gap if metric == "fpr" else policy.fairness.max_fnr_gap
    bound = f"|gap| <= {_limit(bound_v)}"
    label = {"fpr": "false positive rate", "fnr": "false negative rate"}[metric]
    ok = {(r.attribute, r.group): bool(r.ok) for r in bg.itertuples()}
    d = audit.disparities
    d = d[
        (d["metric"] == metric)
        & d["attribute"].isin(_gated_attributes(policy, audit))
        & (d["group"] != d["reference"])
    ]
    usable = np.array(
        [
            ok.get((a, g), False) and ok.get((a, ref), False) and math.isfinite(diff)
            for a, g, ref, diff in zip(
                d["attribute"], d["group"], d["reference"], d["difference"], strict=True
            )
        ],
        dtype=bool,
    )
    inadequate = bg[~bg["ok"]]
    d = d[usable] if len(d) else d
    if d.empty:
        return _gate(
            name,
            "insufficient_evidence",
            NAN,
            bound,
            f"No adequate pair of groups to compare the {label}"
            + (f" ({_describe(inadequate, 2)} too small)." if len(inadequate) else "."),
        )
    diff = d["difference"].to_numpy(dtype=float)
    lo = d["difference_lo"].to_numpy(dtype=float)
    hi = d["difference_hi"].to_numpy(dtype=float)
    if np.isnan(lo).any() or np.isnan(hi).any():
        return _gate(
            name,
            "insufficient_evidence",
            NAN,
            bound,
            f"The {label} gaps have no confidence intervals (no bootstrap, n_boot=0, or too "
            "many replicates in which a gap is undefined).",
        )
    beyond_ci = (lo > bound_v) | (hi < -bound_v)
    # report the comparison that decides the status: a CI breach first, else the largest gap
    i = int(np.argmax(np.where(beyond_ci, np.inf, np.abs(diff))))
    row = d.iloc[i]
    what = (
        f"Largest {label} gap ({row['attribute']}={row['group']} vs "
        f"{row['reference']}) {diff[i]:+.3f}"
    )
    return _ci_rule(
        name,
        policy,
        "error_rate_balance",
        diff[i],
        lo[i],
        hi[i],
        bool((np.abs(diff) > bound_v).any()),
        bool(beyond_ci.any()),
        bound,
        what,
        inadequate,
        audit.confidence,
    )


def _group_expected(audit: FairnessAudit, good: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Expected events (sum of scores) and debiased ECE of each adequate group, from the
    audit's per-group calibration table (bins: n, mean score, observed rate)."""
    cal = audit.calibration
    keys = list(zip(good["attribute"], good["group"], strict=True))
    if cal is None or len(cal) == 0:
        return np.full(len(keys), NAN), np.full(len(keys), NAN)
    cal = cal.sort_values(["attribute", "group", "bin"])
    expected, ece = [], []
    grouped = {k: g for k, g in cal.groupby(["attribute", "group"], sort=False, observed=True)}
    for key in keys:
        g = grouped.get(key)
        if g is None:
            expected.append(NAN)
            ece.append(NAN)
            continue
        n = g["n"].to_numpy(dtype=float)
        s = g["mean_score"].to_numpy(dtype=float)
        expected.append(float(np.nansum(n * s)))
        ece.append(
            float(debiased_ece(n[None], g["observed_rate"].to_numpy(float)[None], s[None])[0])
        )
    return np.asarray(expected), np.asarray(ece)


def _oe_gate(
    policy: Policy,
    observed: np.ndarray,
    expected: np.ndarray,
    where: list[str],
    also: str,
    confidence: float,
) -> Gate:
    """``fairness.group_oe_ratio``: the worst group's observed/expected events with an
    exact Poisson interval; fails only when the interval excludes 1 and the ratio is
    outside the band."""
    f, name = policy.fairness, "fairness.group_oe_ratio"
    band = _band(*f.group_oe_ratio)
    if not np.isfinite(expected).all():
        return _gate(
            name,
            "insufficient_evidence",
            NAN,
            band,
            "Expected events are unknown for some groups (no calibration table).",
        )
    ratio = observed / expected
    lo, hi = oe_interval(observed, expected, confidence)
    status = oe_gate_status(observed, expected, f.group_oe_ratio, confidence)
    rank = np.where(status == "fail", 2, np.where(status == "warn", 1, 0))
    i = int(np.lexsort((np.abs(np.log(np.maximum(ratio, 1e-12))), rank))[-1])
    what = (
        f"Worst group observed/expected events ({where[i]}) {fmt_number(ratio[i])}: "
        f"{_n(int(observed[i]), 'observed')[0]}, {expected[i]:,.1f} expected (exact Poisson "
        f"{confidence:.0%} CI {fmt_number(lo[i])} to {fmt_number(hi[i])})"
    )
    worst = str(status[i])
    if worst == "fail" and _secondary(policy, "calibration_within_groups"):
        worst, why = (
            "warn",
            f"{what}: calibration is excluded, but the policy prioritises "
            f"{f.criterion.replace('_', ' ')}; a waiver must acknowledge it.",
        )
    elif worst == "fail":
        why = (
            f"{what}: the interval excludes calibration (O/E = 1) and the ratio is outside "
            f"the band ({band})."
        )
    elif worst == "warn":
        why = (
            f"{what} is outside the band ({band}), but the interval includes 1: the evidence "
            "cannot tell this from chance."
        )
    else:
        why = f"{what}; every adequate group is inside the band ({band}) or consistent with 1."
    return _gate(name, worst, ratio[i], band, why + also, lo[i], hi[i])


def _ece_gate(policy: Policy, ece: np.ndarray, where: list[str], also: str) -> Gate:
    """``fairness.group_ece``: the debiased ECE describes and can at most warn."""
    f, name = policy.fairness, "fairness.group_ece"
    bound = f"<= {_limit(f.max_group_ece)}"
    if not np.isfinite(ece).all():
        return _gate(
            name, "insufficient_evidence", NAN, bound, "Per-group ECE is undefined for some groups."
        )
    i = int(np.argmax(ece))
    what = f"Largest debiased ECE ({where[i]}) {fmt_number(ece[i])}"
    if ece[i] > f.max_group_ece:
        return _gate(
            name,
            "warn",
            ece[i],
            bound,
            f"{what} is above {_limit(f.max_group_ece)}. ECE describes; it never fails a "
            "release by itself (its sampling distribution depends on the group's size and "
            "scores): read it with fairness.group_oe_ratio." + also,
        )
    return _gate(
        name,
        "pass",
        ece[i],
        bound,
        f"{what} (small-sample bias removed) is at most {_limit(f.max_group_ece)}.{also}",
    )


def _group_calibration_gates(policy: Policy, audit: FairnessAudit, bg: pd.DataFrame) -> list[Gate]:
    """Observed/expected events per group and the debiased ECE (policy/_calibration.py)."""
    f = policy.fairness
    bounds = {
        "fairness.group_oe_ratio": _band(*f.group_oe_ratio),
        "fairness.group_ece": f"<= {_limit(f.max_group_ece)}",
    }
    inadequate, good = bg[~bg["ok"]], bg[bg["ok"]]
    if not audit.scores_are_probabilities:
        why = "The scores are not probabilities: calibration cannot be assessed."
        return [_gate(n, "insufficient_evidence", NAN, b, why) for n, b in bounds.items()]
    expected, ece = _group_expected(audit, bg)
    observed = bg["n_pos"].to_numpy(dtype=float)
    where = np.array([f"{a}={g}" for a, g in zip(bg["attribute"], bg["group"], strict=True)])
    ok = bg["ok"].to_numpy(dtype=bool)
    # O/E is judged where max(observed, expected) reaches the event floor (the monitoring
    # rule too): a group with few incidents because far fewer happened than predicted is
    # the miscalibration this gate exists for, not a group too small to judge
    judged = oe_judgeable(bg["n"], observed, expected, f.min_group_size, f.min_group_events)
    gates = []
    if np.isfinite(expected[ok]).all() and judged.any():
        gates.append(
            _oe_gate(
                policy,
                observed[judged],
                expected[judged],
                list(where[judged]),
                _not_judged(bg[~judged]),
                float(audit.confidence),
            )
        )
    elif not np.isfinite(expected[ok]).all():
        gates.append(
            _gate(
                "fairness.group_oe_ratio",
                "insufficient_evidence",
                NAN,
                bounds["fairness.group_oe_ratio"],
                "Expected events are unknown for some groups (no calibration table).",
            )
        )
    else:
        gates.append(_too_small("fairness.group_oe_ratio", bounds, inadequate))
    if good.empty:
        gates.append(_too_small("fairness.group_ece", bounds, inadequate))
    else:
        gates.append(_ece_gate(policy, ece[ok], list(where[ok]), _not_judged(inadequate)))
    return gates


def _too_small(name: str, bounds: dict[str, str], inadequate: pd.DataFrame) -> Gate:
    why = "No group is large enough to assess calibration within groups" + (
        f" ({_describe(inadequate, 2)})." if len(inadequate) else "."
    )
    return _gate(name, "insufficient_evidence", NAN, bounds[name], why)


def _fairness_gates(policy: Policy, evidence: Evidence) -> list[Gate]:
    audit = evidence.fairness
    names = (
        "fairness.group_adequacy",
        "fairness.fpr_gap",
        "fairness.fnr_gap",
        "fairness.group_oe_ratio",
        "fairness.group_ece",
    )
    if audit is None:
        return [
            _gate(
                n,
                "insufficient_evidence",
                NAN,
                "-",
                "The evidence has no fairness audit (assess with fairness=True and "
                "protected attributes in the spec).",
            )
            for n in names
        ]
    bg = _adequacy(policy, audit)
    wrong = {
        a: (audit.reference.get(a), g)
        for a, g in policy.fairness.reference_groups.items()
        if a in audit.reference and str(audit.reference.get(a)) != str(g)
    }
    if wrong:
        # disparities read against another group answer a different question
        what = "; ".join(
            f"{a}: evidence uses {got!r}, policy names {want!r}" for a, (got, want) in wrong.items()
        )
        gaps = [
            _gate(
                f"fairness.{m}_gap",
                "insufficient_evidence",
                NAN,
                "-",
                f"The evidence's reference groups are not the policy's ({what}). Assess with "
                "model.assess(test, reference=policy.fairness.reference_groups).",
            )
            for m in ("fpr", "fnr")
        ]
    else:
        gaps = [_gap_gate(policy, audit, bg, "fpr"), _gap_gate(policy, audit, bg, "fnr")]
    gates = [_adequacy_gate(policy, bg), *gaps, *_group_calibration_gates(policy, audit, bg)]
    return _quoting(gates, _group_counts(bg))


def _group_counts(bg: pd.DataFrame) -> tuple[tuple[str, int], ...]:
    """Every count a fairness gate's reason can quote about a group (``_describe`` and
    the observed events of the O/E gate), as the words it uses and the value."""
    counts = []
    for r in bg.itertuples():
        n, events = int(r.n), int(r.n_pos)
        counts += [_n(n, "")[1], _n(events, "events")[1], _n(events, "observed")[1]]
    return tuple(dict.fromkeys(counts))


def _quoting(gates: list[Gate], counts: tuple[tuple[str, int], ...]) -> list[Gate]:
    """The gates with ``counts`` recorded, each gate keeping those its reason states."""
    return [
        replace(
            g, counts=tuple(dict.fromkeys((*g.counts, *(c for c in counts if c[0] in g.reason))))
        )
        for g in gates
    ]


def needs_protected_at_scoring(estimator: Any, _depth: int = 0) -> list[str]:
    """Names of the parts of ``estimator`` whose predictions need a sensitive feature.

    Such a part (fairlearn's ``ThresholdOptimizer``, or anything whose ``predict`` /
    ``predict_proba`` takes ``sensitive_features``) sets group-specific decisions at
    scoring time.
    """
    if estimator is None or _depth > 6:
        return []
    found = []
    for method in ("predict_proba", "predict"):
        fn = getattr(estimator, method, None)
        if fn is None:
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if "sensitive_features" in params:
            found.append(type(estimator).__name__)
            break
    if type(estimator).__module__.startswith("fairlearn.postprocessing"):
        found.append(type(estimator).__name__)
    if getattr(estimator, "needs_protected_at_scoring", None) is True:  # MitigatedModel
        found.append(type(estimator).__name__)
    children: list[Any] = []
    for attr in ("estimator_", "estimator", "best_estimator_", "final_estimator_"):
        children.append(getattr(estimator, attr, None))
    children += [s[1] for s in getattr(estimator, "steps", []) or []]
    children += [
        getattr(c, "estimator", None)
        for c in getattr(estimator, "calibrated_classifiers_", []) or []
    ]
    children += list(getattr(estimator, "estimators_", []) or [])[:1]
    for child in children:
        if child is not None and not isinstance(child, str) and child is not estimator:
            found += needs_protected_at_scoring(child, _depth + 1)
    return sorted(set(found))


def _model_gates(policy: Policy, evidence: Evidence, model: RiskModel | None) -> list[Gate]:
    names = ("evidence.model_match", "fairness.mitigation", "features.protected")
    if model is None:
        return [
            _gate(n, "insufficient_evidence", NAN, "-", "Not checked: pass model= to Policy.check.")
            for n in names
        ]
    version, name = model.version_, model.display_name
    same = version == evidence.model_version and name == evidence.model_name
    gates = [
        _gate(
            "evidence.model_match",
            "pass" if same else "fail",
            NAN,
            "same model and version",
            f"The evidence is for {evidence.model_name} version {evidence.model_version}"
            + ("." if same else f", not for {name} version {version}; assess this model."),
        )
    ]

    parts = needs_protected_at_scoring(model)
    gates.append(
        _gate(
            "fairness.mitigation",
            "fail" if parts else "pass",
            len(parts),
            "no protected attribute at scoring time",
            (
                f"{', '.join(parts)} needs protected attributes at scoring time, setting different "
                "decisions per group (possible direct discrimination, Equality Act 2010); "
                "use a mitigation that does not."
            )
            if parts
            else "The model needs no protected attribute at scoring time.",
        )
    )

    spec = model.spec
    used = [f for f in model.features_ if f in spec.protected_names]
    mode = policy.features.protected_as_feature
    if used:
        just = "; ".join(f"{f}: {spec.feature(f).justification}" for f in used)
        gates.append(
            _gate(
                "features.protected",
                mode,
                len(used),
                "no protected attribute as a feature",
                f"Protected attribute(s) {', '.join(used)} are model features (justification "
                f"given: {just}).",
            )
        )
    else:
        gates.append(
            _gate(
                "features.protected",
                "pass",
                0,
                "no protected attribute as a feature",
                "No protected attribute is used as a feature.",
            )
        )
    return gates


def _proxy_gate(policy: Policy, evidence: Evidence) -> Gate:
    scan = evidence.proxies
    bound = "no feature is a proxy for a protected attribute"
    if scan is None:
        return _gate(
            "features.proxies",
            "insufficient_evidence",
            NAN,
            bound,
            "The evidence has no proxy scan (assess with fairness=True).",
        )
    flagged = list(scan.flagged_features)
    joint = scan.joint
    jointly = [str(a) for a in joint.loc[joint["flagged"].astype(bool), "attribute"]]
    if not flagged and not jointly:
        return _gate(
            "features.proxies",
            "pass",
            0,
            bound,
            "No feature, alone or jointly, was flagged as a proxy for a protected attribute.",
        )
    parts = []
    if flagged:
        parts.append(
            f"feature(s) {', '.join(map(str, flagged))} are associated with a protected attribute"
        )
    if jointly:
        parts.append(f"the features jointly predict {', '.join(map(str, jointly))}")
    return _gate(
        "features.proxies",
        policy.features.proxies,
        len(flagged) + len(jointly),
        bound,
        f"Proxies: {'; '.join(parts)}. They are reported on the card and must "
        "be accepted in a waiver.",
    )


def _documentation_gate(policy: Policy, context: CardContext | None) -> Gate:
    bound = "complete card" if policy.documentation.card_complete else "a card"
    if context is None:
        return _gate(
            "documentation.card",
            "insufficient_evidence",
            NAN,
            bound,
            "No card context was given (pass context= to Policy.check).",
        )
    # The same rule as ModelCard.complete: every required owner field filled in.
    missing = context.missing_fields()
    if policy.documentation.card_complete and missing:
        return _gate(
            "documentation.card",
            "fail",
            len(missing),
            bound,
            f"The model card is incomplete: {len(missing)} field(s) for the owner to "
            f"complete ({', '.join(missing)}).",
        )
    return _gate(
        "documentation.card",
        "pass",
        len(missing),
        bound,
        "The model card is complete."
        if not missing
        else f"A model card is given ({len(missing)} field(s) still to complete).",
    )


def _cuts(cuts: list[float]) -> str:
    # scores are probabilities: cut points read as percentages, like the flag itself
    return ", ".join(f"{c:.1%}" for c in cuts)


def _bands_gate(policy: Policy, evidence: Evidence) -> Gate:
    """The flag threshold must be a band edge: no flagged person in the lowest band."""
    bands, thr = policy.bands, float(evidence.threshold)
    bound = "the flag threshold is a band edge"
    try:
        cuts = bands.resolve(thr)
    except PolicyError as err:
        return _gate("policy.bands", "fail", thr, bound, str(err))
    if not any(math.isclose(c, thr, rel_tol=0, abs_tol=1e-12) for c in cuts):
        lowest = f"'{bands.labels[0]}'"
        where = (
            f"people flagged at {thr:.1%} to {cuts[0]:.1%} would be listed as {lowest}"
            if thr < cuts[0]
            else f"the flag ({thr:.1%}) falls inside a band"
        )
        return _gate(
            "policy.bands",
            "fail",
            thr,
            bound,
            f"The bands' cut points ({_cuts(cuts)}) do not include the flag threshold "
            f"{thr:.1%}: "
            f"{where}. Put `threshold` among the policy's band cuts.",
        )
    return _gate(
        "policy.bands",
        "pass",
        thr,
        bound,
        f"Bands {', '.join(bands.labels)} with cuts at {_cuts(cuts)}: the flag "
        f"({thr:.1%}) is a band edge, so no flagged person is in the lowest band.",
    )


def check_policy(
    policy: Policy,
    evidence: Evidence,
    *,
    model: RiskModel | None = None,
    context: CardContext | None = None,
) -> GateReport:
    """Every gate of ``policy`` on ``evidence`` (see :meth:`Policy.check`)."""
    gates = [
        *_reliability_gates(policy, evidence),
        *_fairness_gates(policy, evidence),
        *_model_gates(policy, evidence, model),
        _proxy_gate(policy, evidence),
        _documentation_gate(policy, context),
        _bands_gate(policy, evidence),
    ]
    order = {
        g.split(".")[0]: i
        for i, g in enumerate(
            ("evidence", "reliability", "fairness", "features", "documentation", "policy")
        )
    }
    gates.sort(key=lambda g: order[g.section])  # stable: keeps order within a section
    return GateReport(
        gates=tuple(gates),
        policy_name=policy.name,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        model_name=evidence.model_name,
        model_version=evidence.model_version,
        criterion=policy.fairness.criterion,
        criterion_rationale=policy.fairness.criterion_rationale,
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        notes=tuple(evidence.notes),
    )
