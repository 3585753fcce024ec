"""Policy.check: every gate's status, value, bound, CI and reason; the report's forms."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
import riskmodels.fairness
from riskmodels.cards import CardContext
from riskmodels.errors import PolicyError, SchemaError
from riskmodels.policy import (
    GATE_STATUSES,
    NON_WAIVABLE,
    GateReport,
    Policy,
    needs_protected_at_scoring,
)

RELIABILITY = [
    "reliability.auc",
    "reliability.auc_lower",
    "reliability.auc_gain",
    "reliability.brier_skill",
    "reliability.calibration_slope",
    "reliability.calibration_intercept",
    "reliability.oe_ratio",
    "reliability.ece",
    "reliability.net_benefit",
]


def _with_criterion(policy: Policy, criterion: str) -> Policy:
    d = policy.to_dict()
    d["fairness"]["criterion"] = criterion
    return Policy.from_dict(d)


def test_report_on_real_evidence(fitted, policy, card_factory):
    model, evidence, _, _ = fitted
    report = policy.check(evidence, model=model, context=card_factory().context)
    assert {g.status for g in report} <= set(GATE_STATUSES)
    assert report.names[0] == "evidence.model_match"
    for name in [
        "reliability.events",
        "reliability.nonevents",
        *RELIABILITY,
        "fairness.group_adequacy",
        "fairness.fpr_gap",
        "fairness.fnr_gap",
        "fairness.group_oe_ratio",
        "fairness.group_ece",
        "fairness.mitigation",
        "features.protected",
        "features.proxies",
        "documentation.card",
    ]:
        gate = report[name]
        assert gate.reason.endswith(".") and gate.bound
    auc = evidence.metric("auc")
    assert report["reliability.auc"].value == auc.value
    assert (report["reliability.auc"].lo, report["reliability.auc"].hi) == (auc.lo, auc.hi)
    assert report["reliability.auc"].status == ("pass" if auc.value >= 0.70 else "fail")
    assert report["evidence.model_match"].status == "pass"
    assert report["fairness.mitigation"].status == "pass"
    assert report["documentation.card"].status == "pass"
    assert report.passed == all(g.status == "pass" for g in report)
    assert set(report.failures) | set(report.warnings) == {g for g in report if g.status != "pass"}


def test_report_serialises_and_renders(fitted, policy):
    model, evidence, _, _ = fitted
    report = policy.check(evidence, model=model)
    again = GateReport.from_json(report.to_json())
    assert again == report
    assert again.to_frame().equals(report.to_frame())
    md = report.to_markdown(waivers={"documentation.card": "card follows"})
    assert "| documentation.card | insufficient_evidence (waived) |" in md
    assert "calibration within groups" in md and policy.fairness.criterion_rationale in md
    assert md.count("\n| ") == len(report) + 1  # header + one row per gate
    html = report._repr_html_()
    assert "<table>" in html and "reliability.auc" in html
    assert json.loads(report.to_json())["policy_sha256"] == policy.sha256


def test_too_few_events_is_insufficient_evidence_never_pass(fitted, policy):
    model, _, _, test = fitted
    small = test[test["incident"] == 0].head(400)
    small = pd.concat([small, test[test["incident"] == 1].head(30)])
    evidence = model.assess(small, n_boot=50, fairness=False, explain=False)
    report = policy.check(evidence, model=model)
    assert report["reliability.events"].status == "insufficient_evidence"
    assert report["reliability.events"].value == 30
    for name in RELIABILITY:
        assert report[name].status == "insufficient_evidence", name
    assert "not trustworthy" in report["reliability.auc"].reason
    assert report["fairness.fpr_gap"].status == "insufficient_evidence"  # no audit
    assert not report.passed


def test_no_bootstrap_means_no_lower_bound(fitted, policy):
    model, _, _, test = fitted
    evidence = model.assess(test, n_boot=0, fairness=False, explain=False)
    report = policy.check(evidence, model=model)
    assert report["reliability.auc_lower"].status == "insufficient_evidence"
    assert "no confidence interval" in report["reliability.auc_lower"].reason


def test_bounds_decide_reliability_status(fitted, policy_dict):
    model, evidence, _, _ = fitted
    auc = evidence.metric("auc").value
    strict = copy.deepcopy(policy_dict)
    strict["reliability"].update(min_auc=min(auc + 0.01, 1.0), min_auc_lower=0.5, max_ece=0.0001)
    report = Policy.from_dict(strict).check(evidence, model=model)
    assert report["reliability.auc"].status == "fail"
    assert report["reliability.ece"].status == "fail"
    loose = copy.deepcopy(policy_dict)
    loose["reliability"].update(
        min_auc=0.5,
        min_auc_lower=0.5,
        max_ece=1.0,
        calibration_slope=[-10, 10],
        calibration_intercept=[-5, 5],
        oe_ratio=[0.01, 100],
    )
    report = Policy.from_dict(loose).check(evidence, model=model)
    for name in [
        "reliability.auc",
        "reliability.auc_lower",
        "reliability.ece",
        "reliability.calibration_slope",
        "reliability.calibration_intercept",
        "reliability.oe_ratio",
    ]:
        assert report[name].status == "pass", name


# ---------------------------------------------------------------------- fairness rule
def _audit_evidence(evidence, groups: dict[str, tuple[int, int, int, int]]):
    """Evidence whose audit has, per group, (events, non-events, false positives,
    false negatives) at threshold 0.5 with scores 0.2 / 0.7 (probabilities)."""
    y, s, g = [], [], []
    for name, (events, nonevents, fp, fn) in groups.items():
        y += [1] * events + [0] * nonevents
        s += [0.2] * fn + [0.7] * (events - fn) + [0.7] * fp + [0.2] * (nonevents - fp)
        g += [name] * (events + nonevents)
    audit = rm.fairness.audit(
        np.array(y),
        np.array(s),
        pd.Series(g, name="group"),
        threshold=0.5,
        n_boot=300,
        random_state=0,
    )
    return dataclasses.replace(evidence, fairness=audit)


def test_gap_whose_ci_is_beyond_the_bound_fails_under_error_rate_balance(fitted, policy):
    model, evidence, _, _ = fitted
    ev = _audit_evidence(evidence, {"a": (400, 2000, 800, 40), "b": (400, 2000, 200, 40)})
    report = _with_criterion(policy, "error_rate_balance").check(ev, model=model)
    gate = report["fairness.fpr_gap"]
    assert gate.status == "fail"
    assert abs(gate.value) == pytest.approx(0.30)
    assert min(abs(gate.lo), abs(gate.hi)) > 0.10
    assert report["fairness.fnr_gap"].status == "pass"
    # the same evidence when calibration within groups is prioritised: at most a warn
    report = _with_criterion(policy, "calibration_within_groups").check(ev, model=model)
    assert report["fairness.fpr_gap"].status == "warn"
    assert "trade-off" in report["fairness.fpr_gap"].reason


def test_gap_whose_ci_reaches_inside_the_bound_warns(fitted, policy):
    model, evidence, _, _ = fitted
    ev = _audit_evidence(evidence, {"a": (40, 100, 25, 0), "b": (40, 100, 12, 0)})
    gate = _with_criterion(policy, "error_rate_balance").check(ev, model=model)["fairness.fpr_gap"]
    assert gate.status == "warn"
    assert abs(gate.value) == pytest.approx(0.13)
    assert gate.lo < 0.10 < gate.hi or gate.lo < -0.10 < gate.hi


def test_an_inadequate_group_blocks_through_its_own_gate_and_the_others_are_judged(fitted, policy):
    model, evidence, _, _ = fitted
    ev = _audit_evidence(
        evidence, {"a": (100, 400, 40, 10), "b": (100, 400, 40, 10), "c": (5, 40, 4, 1)}
    )
    report = policy.check(ev, model=model)
    # the tiny group blocks approval through the adequacy gate (it needs a waiver) ...
    assert report["fairness.group_adequacy"].status == "insufficient_evidence"
    assert "group=c" in report["fairness.group_adequacy"].reason
    # ... but does not hide what the adequate groups show: they are judged, and the gate
    # names the group it could not judge
    for name in ["fairness.fpr_gap", "fairness.fnr_gap"]:
        assert report[name].status == "pass", name
        assert "Not judged, too small: group=c" in report[name].reason
    assert not report.passed
    # without the small group, the same comparisons pass
    ev = _audit_evidence(evidence, {"a": (100, 400, 40, 10), "b": (100, 400, 40, 10)})
    report = policy.check(ev, model=model)
    assert report["fairness.group_adequacy"].status == "pass"
    assert report["fairness.fpr_gap"].status == "pass"


def test_no_fairness_audit_is_insufficient(fitted, policy):
    model, evidence, _, _ = fitted
    report = policy.check(dataclasses.replace(evidence, fairness=None, proxies=None), model=model)
    for name in [
        "fairness.group_adequacy",
        "fairness.fpr_gap",
        "fairness.group_ece",
        "features.proxies",
    ]:
        assert report[name].status == "insufficient_evidence"


# ---------------------------------------------------------------------- model gates
def test_evidence_for_another_model_fails_and_cannot_be_waived(fitted, policy):
    model, evidence, _, _ = fitted
    report = policy.check(dataclasses.replace(evidence, model_version="0" * 12), model=model)
    gate = report["evidence.model_match"]
    assert gate.status == "fail" and not gate.waivable
    with pytest.raises(PolicyError, match="cannot be waived") as info:
        report.check_waivers({"evidence.model_match": "trust me"})
    assert info.value.key == "waivers.evidence.model_match"


def test_without_a_model_the_model_gates_are_insufficient(fitted, policy):
    _, evidence, _, _ = fitted
    report = policy.check(evidence)
    for name in ["evidence.model_match", "fairness.mitigation", "features.protected"]:
        assert report[name].status == "insufficient_evidence"


def test_mitigation_needing_protected_attributes_at_scoring_fails(fitted, policy):
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression

    model, evidence, _, _ = fitted
    mitigated = copy.copy(model)
    mitigated.estimator_ = ThresholdOptimizer(estimator=LogisticRegression())
    assert needs_protected_at_scoring(mitigated) == ["ThresholdOptimizer"]
    gate = policy.check(evidence, model=mitigated)["fairness.mitigation"]
    assert gate.status == "fail" and not gate.waivable
    assert "Equality Act" in gate.reason
    assert "fairness.mitigation" in NON_WAIVABLE

    class NeedsGroups:
        def predict_proba(self, X, sensitive_features):
            return X

    assert needs_protected_at_scoring(NeedsGroups()) == ["NeedsGroups"]
    assert needs_protected_at_scoring(model.estimator_) == []


def test_protected_attribute_as_feature_warns_or_fails(fitted, policy, policy_dict):
    model, evidence, _, _ = fitted
    d = model.spec.model_dump()
    d["features"].append(
        {
            "name": "sex",
            "kind": "categorical",
            "description": "Sex",
            "justification": "needed to model the women's estate",
        }
    )
    using = copy.copy(model)
    using.spec = rm.DatasetSpec.from_dict(d)
    using.features_ = [*model.features_, "sex"]
    gate = policy.check(evidence, model=using)["features.protected"]
    assert gate.status == "warn" and "women's estate" in gate.reason
    strict = copy.deepcopy(policy_dict)
    strict["features"]["protected_as_feature"] = "fail"
    assert (
        Policy.from_dict(strict).check(evidence, model=using)["features.protected"].status == "fail"
    )


def test_proxies_warn(fitted, policy):
    model, evidence, _, test = fitted
    frame = test.head(600).copy()
    frame["looks_like_sex"] = frame["sex"]
    scan = rm.fairness.proxy_scan(frame, ["age", "looks_like_sex"], "sex")
    gate = policy.check(dataclasses.replace(evidence, proxies=scan), model=model)[
        "features.proxies"
    ]
    assert gate.status == "warn" and "looks_like_sex" in gate.reason


def test_documentation_gate(fitted, policy, card_factory):
    model, evidence, _, _ = fitted
    statuses = [
        policy.check(evidence, model=model, context=c)["documentation.card"].status
        for c in (None, CardContext(), card_factory(complete=True).context)
    ]
    assert statuses == ["insufficient_evidence", "fail", "pass"]
    gate = policy.check(evidence, model=model, context=CardContext(owner_team="T"))
    assert "senior_responsible_owner" in gate["documentation.card"].reason


def test_a_built_card_is_refused_with_a_hint(fitted, policy, card_factory):
    # the old two-way flow (check reads a built card, card rebuilt with the report)
    model, evidence, _, _ = fitted
    with pytest.raises(SchemaError, match=r"context=card\.context") as info:
        policy.check(evidence, model=model, card=card_factory())
    assert info.value.problems[0].column == "card"


# ---------------------------------------------------------------------- waivers
def test_waivers_are_checked(fitted, policy):
    model, evidence, _, _ = fitted
    report = policy.check(evidence, model=model)  # no card: documentation is insufficient
    with pytest.raises(PolicyError) as info:
        report.check_waivers({"documentation.card": "  "})
    assert info.value.key == "waivers.documentation.card"
    with pytest.raises(PolicyError, match="unknown gate"):
        report.check_waivers({"reliability.auk": "typo"})
    passing = next(g.name for g in report if g.status == "pass")
    with pytest.raises(PolicyError, match="needs no waiver"):
        report.check_waivers({passing: "just in case"})
    assert "documentation.card" in [g.name for g in report.blocking()]
    assert "documentation.card" not in [
        g.name for g in report.blocking({"documentation.card": "card is being written"})
    ]


def test_evidence_read_against_another_reference_than_the_policys_cannot_pass_the_gaps(fitted):
    model, evidence, _, _ = fitted
    d = Policy.default().to_dict()
    d["fairness"]["reference_groups"] = {"sex": "F"}
    policy = Policy.from_dict(d)
    assert evidence.fairness.reference["sex"] != "F"
    report = policy.check(evidence, model=model)
    for name in ("fairness.fpr_gap", "fairness.fnr_gap"):
        assert report[name].status == "insufficient_evidence"
        assert "policy names 'F'" in report[name].reason


def test_a_group_with_far_fewer_incidents_than_predicted_is_judged_for_calibration(fitted, policy):
    # group c: 40 incidents predicted, 8 happened. Too few events for the gap gates, but
    # observed/expected is judged where max(observed, expected) reaches the event floor
    # (the monitoring rule too): this is the over-prediction the gate exists for
    model, evidence, _, _ = fitted
    rng = np.random.default_rng(3)
    p_a = rng.beta(1.5, 8.5, 3000)
    y_a = (rng.random(3000) < p_a).astype(int)
    p_c = np.full(400, 0.1)
    y_c = np.zeros(400, dtype=int)
    y_c[:8] = 1
    audit = rm.fairness.audit(
        np.concatenate([y_a, y_c]),
        np.concatenate([p_a, p_c]),
        pd.Series(["a"] * 3000 + ["c"] * 400, name="group"),
        threshold=0.2,
        n_boot=200,
        random_state=0,
    )
    report = policy.check(dataclasses.replace(evidence, fairness=audit), model=model)
    gate = report["fairness.group_oe_ratio"]
    assert gate.status == "fail"
    assert "group=c" in gate.reason and "8 observed, 40.0 expected" in gate.reason
    assert gate.value == pytest.approx(0.2)
    # the gap gates still call c too small
    assert "group=c (n=400, 8 events) too small" in report["fairness.fpr_gap"].reason
    assert report["fairness.group_adequacy"].status == "insufficient_evidence"
