"""reliability.net_benefit: net benefit at the operational threshold against acting on
everyone and on no one (Vickers & Elkin 2006), judged with the bootstrap CI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from riskmodels.metrics import decision_curve
from riskmodels.policy import Policy


def _policy(policy: Policy, on: bool) -> Policy:
    d = policy.to_dict()
    d["reliability"]["require_net_benefit"] = on
    return Policy.from_dict(d)


def _with_model_nb(evidence, value: float, lo: float, hi: float):
    curve = evidence.decision_curve.copy()
    at = np.isclose(curve["threshold"], evidence.threshold) & (curve["strategy"] == "model")
    curve.loc[at, ["net_benefit", "lo", "hi"]] = [value, lo, hi]
    return dataclasses.replace(evidence, decision_curve=curve)


def test_optional_and_passes_on_a_useful_model(fitted, policy):
    model, evidence, _, _ = fitted
    off = _policy(policy, False).check(evidence, model=model)
    assert "reliability.net_benefit" not in [g.name for g in off.gates]
    gate = _policy(policy, True).check(evidence, model=model)["reliability.net_benefit"]
    assert gate.status == "pass"
    assert gate.lo < gate.value < gate.hi
    assert "acting on everyone" in gate.reason and "CI" in gate.reason


@pytest.mark.parametrize(
    ("nb", "status"),
    [
        ((-0.02, -0.03, -0.01), "fail"),
        ((-0.005, -0.02, 0.01), "warn"),
        ((0.01, -0.01, 0.03), "pass"),
    ],
)
def test_ci_rule(fitted, policy, nb, status):
    model, evidence, _, _ = fitted
    ev = _with_model_nb(evidence, *nb)
    gate = _policy(policy, True).check(ev, model=model)["reliability.net_benefit"]
    assert gate.status == status, gate.reason


def test_no_curve_is_insufficient_evidence(fitted, policy):
    model, evidence, _, _ = fitted
    ev = dataclasses.replace(evidence, decision_curve=None)
    gate = _policy(policy, True).check(ev, model=model)["reliability.net_benefit"]
    assert gate.status == "insufficient_evidence"


@pytest.mark.slow
def test_false_alarm_rate_at_the_boundary():
    """A model exactly as good as acting on no one fails about 2.5% of the time.

    30% of people are flagged and exactly a share ``t = 0.2`` of them have an incident
    (5% of the others), so the model's true net benefit at 0.2 is 0 and acting on everyone
    is clearly worse. 1,000 data sets of 1,000 rows, 200 bootstrap replicates each: the
    gate failed 2.8% of the time (nominal 2.5%, the upper tail of a 95% interval). In the
    degenerate case where acting on everyone is also worth exactly 0 (random scores,
    prevalence = threshold) it failed 3.0% (t = 0.1) to 4.25% (t = 0.2) of 400 runs: the
    act-on-all reference is taken at its point estimate, and its noise adds a little.
    """
    rng = np.random.default_rng(17)
    t, n, reps, fails = 0.2, 1000, 1000, 0
    for i in range(reps):
        flag = rng.random(n) < 0.3
        y = (rng.random(n) < np.where(flag, t, 0.05)).astype(int)
        s = np.where(flag, 0.5, 0.1)
        dc = decision_curve(y, s, thresholds=[t], n_boot=200, random_state=i).set_index("strategy")
        ref = max(0.0, dc.loc["act on all", "net_benefit"])
        fails += bool(dc.loc["model", "hi"] <= ref)
    assert 0.01 < fails / reps < 0.045
