"""Decision curves and thresholds chosen the way services work: net benefit equals an
independent row-by-row computation; the top-k tie rule never flags more than k; capacity
and sensitivity choices carry their read-out into the evidence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskmodels as rm
from riskmodels.errors import SchemaError
from riskmodels.metrics import decision_curve, net_benefit
from riskmodels.thresholds import from_capacity, from_sensitivity, top_k_threshold


def _reference_net_benefit(y, p, t):
    """Vickers & Elkin (2006), row by row: (TP - FP * t / (1 - t)) / n."""
    act = [pi >= t for pi in p]
    tp = sum(1 for a, yi in zip(act, y, strict=True) if a and yi == 1)
    fp = sum(1 for a, yi in zip(act, y, strict=True) if a and yi == 0)
    return (tp - fp * t / (1 - t)) / len(y)


def test_net_benefit_equals_the_row_by_row_definition():
    rng = np.random.default_rng(4)
    p = np.round(rng.beta(1, 6, 3000), 3)  # ties at thresholds included
    y = (rng.random(3000) < p).astype(int)
    base = np.round(rng.beta(1, 6, 3000), 2)
    grid = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3]
    dc = decision_curve(
        y, p, thresholds=grid, others={"baseline": base}, n_boot=200, random_state=0
    )
    assert set(dc["strategy"]) == {"model", "baseline", "act on all", "act on none"}
    for t in grid:
        at = dc[dc.threshold == t].set_index("strategy")
        assert at.loc["model", "net_benefit"] == pytest.approx(_reference_net_benefit(y, p, t))
        assert at.loc["baseline", "net_benefit"] == pytest.approx(
            _reference_net_benefit(y, base, t)
        )
        assert at.loc["act on all", "net_benefit"] == pytest.approx(
            _reference_net_benefit(y, np.ones(3000), t)
        )
        assert at.loc["act on none", "net_benefit"] == 0.0
        model = at.loc["model"]
        assert model["lo"] <= model["net_benefit"] <= model["hi"]
    assert float(net_benefit(30, 70, 1000, np.float64(0.1))) == pytest.approx(0.03 - 0.07 / 9)


def test_the_decision_curve_interval_covers_by_simulation():
    """Percentile intervals of the cell bootstrap cover the true net benefit at about the
    nominal 95% (measured over 400 samples each: 94.5% / 94.25% at n = 200, t = 0.1 / 0.3;
    94.75% / 94.25% at n = 1,000). Here 300 samples of 1,000 at t = 0.1."""
    rng = np.random.default_rng(1)
    big_p = rng.beta(1, 6, 2_000_000)
    big_y = rng.random(big_p.size) < big_p
    truth = _fast_nb(big_y, big_p, 0.1)
    hits = 0
    for i in range(300):
        idx = rng.integers(0, big_p.size, 1000)
        dc = decision_curve(
            big_y[idx].astype(int), big_p[idx], thresholds=[0.1], n_boot=300, random_state=i
        )
        m = dc[dc.strategy == "model"].iloc[0]
        hits += m["lo"] <= truth <= m["hi"]
    assert 0.90 <= hits / 300 <= 0.98


def _fast_nb(y, p, t):
    act = p >= t
    return (np.sum(act & y) - np.sum(act & ~y) * t / (1 - t)) / y.size


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.8, 0.9]), min_size=1, max_size=40),
    st.integers(1, 45),
)
def test_top_k_never_flags_more_than_k_and_flags_as_many_as_the_ties_allow(scores, k):
    t, flagged = top_k_threshold(scores, k)
    s = np.array(scores)
    assert flagged == int((s >= t).sum()) <= k
    lower = s[s < t]
    if lower.size:  # the next lower distinct score would flag more than k
        assert (s >= lower.max()).sum() > k


def test_top_k_flags_exactly_k_without_ties():
    s = np.random.default_rng(0).random(1000)
    assert top_k_threshold(s, 37)[1] == 37
    with pytest.raises(SchemaError) as info:
        top_k_threshold([0.2, np.nan], 0)
    assert set(info.value.columns) == {"k", "scores"}


@pytest.fixture(scope="module")
def model_and_test():
    frame, spec = rm.datasets.make_prison_incidents(n_people=2_000, months=4, seed=2)
    train, test = rm.split(frame, spec)
    return rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train), test


def test_capacity_and_sensitivity_choices_reach_the_evidence(model_and_test):
    model, test = model_and_test
    choice = from_capacity(model, test, per_period=40, population=1_200)
    k = len(test) * 40 // 1_200
    assert choice.flagged == k  # continuous scores: no ties at the cut
    assert choice.method == "capacity" and "40 reviews per period" in choice.description
    groups = choice.readout[choice.readout.attribute == "sex"]
    assert set(groups["metric"]) >= {"fpr", "fnr", "tpr", "ppv", "selection_rate"}
    assert (groups["lo"] <= groups["value"]).all()
    assert "net_benefit" in set(choice.readout["metric"])
    sens = from_sensitivity(model, test, target=0.8)
    tpr = sens.readout.query("metric == 'tpr' and attribute == 'all'")["value"].iloc[0]
    assert tpr >= 0.8
    ev = model.assess(test, threshold=choice, n_boot=50, explain=False, fairness=False)
    assert ev.threshold == choice.threshold
    assert ev.threshold_choice["method"] == "capacity"
    curve = ev.decision_curve
    assert set(curve["strategy"]) == {"model", "baseline", "act on all", "act on none"}
    assert np.isclose(curve["threshold"], choice.threshold).any()
    again = rm.Evidence.from_dict(json.loads(json.dumps(ev.to_dict())))
    assert again.threshold_choice == ev.threshold_choice
    pd.testing.assert_frame_equal(again.decision_curve, curve, check_dtype=False)
    default = model.assess(test, n_boot=0, explain=False, fairness=False)
    assert default.threshold_choice["method"] == "training_top_decile"
    with pytest.raises(SchemaError, match="per_period"):
        from_capacity(model, test, per_period=2_000, population=1_200)
    with pytest.raises(SchemaError, match="target"):
        from_sensitivity(model, test, target=1.5)
