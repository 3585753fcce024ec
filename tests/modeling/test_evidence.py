"""Evidence from RiskModel.assess: performance vs baseline, fairness, JSON, plots."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

import riskmodels as rm

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def assessed(sim):
    frame, spec, _ = sim(2000, months=4, seed=5)
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    evidence = model.assess(test, n_boot=200, explain=False)
    return model, test, evidence


def test_performance_matches_sklearn_on_the_model_scores(assessed):
    model, test, ev = assessed
    y = test.incident.to_numpy()
    p = model._predict_proba(test)
    assert ev.metric("auc").value == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert ev.metric("brier").value == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    pb = model._baseline_proba(test)
    assert ev.metric("auc", baseline=True).value == pytest.approx(roc_auc_score(y, pb), abs=1e-12)
    assert ev.n == len(test) and ev.n_events == int(y.sum())
    assert ev.n_events + ev.n_nonevents == ev.n


def test_every_estimate_has_n_and_ci(assessed):
    _, _, ev = assessed
    for name, est in ev.performance.metrics.items():
        assert est.n > 0, name
        if est.status == "ok" and not np.isnan(est.lo):
            assert est.lo <= est.hi, name


def test_split_and_window_recorded(assessed):
    _, test, ev = assessed
    assert ev.split["method"] == "temporal"
    assert ev.evaluation_window == [
        str(test.snapshot_date.min().date()),
        str(test.snapshot_date.max().date()),
    ]


def test_fairness_and_proxies_included(assessed):
    _, test, ev = assessed
    bg = ev.fairness.by_group
    sex = bg[bg.attribute == "sex"].set_index("group")
    assert sex.n.sum() == len(test)
    assert set(ev.proxies.joint.attribute) == {"sex"}


def test_json_round_trip_is_exact(assessed, tmp_path):
    _, _, ev = assessed
    text = ev.to_json()
    back = rm.Evidence.from_json(text)
    assert back == ev
    assert json.loads(back.to_json()) == json.loads(text)
    ev.save(tmp_path / "evidence.json")
    assert rm.Evidence.load(tmp_path / "evidence.json") == ev
    # text and paths are never guessed: a path given as text is refused with the fix
    with pytest.raises(rm.errors.SchemaError, match=r"Evidence\.load"):
        rm.Evidence.from_json(str(tmp_path / "evidence.json"))


def test_html_and_plots(assessed):
    _, _, ev = assessed
    html = ev._repr_html_()
    assert "auc" in html and "baseline" in html
    roc = ev.plot_roc()
    assert len(roc.ax_.get_lines()) >= 2
    cal = ev.plot_calibration(strategy="quantile")
    assert cal.ax_.get_xlabel() == "Mean predicted risk"


def test_too_few_events_gives_nan_with_status(assessed):
    model, test, _ = assessed
    few = test[test.incident == 0].iloc[:300]
    few = pd.concat([few, test[test.incident == 1].iloc[:1]])
    ev = model.assess(few, n_boot=50, explain=False, fairness=False)
    auc = ev.metric("auc")
    assert np.isnan(auc.value) and auc.status == "undefined"
    assert ev.performance.status == "undefined"


def test_assess_with_a_reference_group_equals_the_audit_with_it(assessed):
    model, test, _ = assessed
    ev = model.assess(test, n_boot=50, explain=False, reference={"sex": "F"}, random_state=1)
    direct = rm.fairness.audit(
        test[model.spec.target].astype(int).to_numpy(),
        model._predict_proba(test),
        test[model.spec.protected_names],
        threshold=model.threshold_,
        reference={"sex": "F"},
        n_boot=50,
        random_state=1,
    )
    assert ev.fairness.reference["sex"] == "F"
    pd.testing.assert_frame_equal(ev.fairness.by_group, direct.by_group)
    pd.testing.assert_frame_equal(ev.fairness.disparities, direct.disparities)


def test_assess_with_extra_thresholds_reuses_the_scores(assessed):
    model, test, _ = assessed
    ev = model.assess(test, n_boot=0, explain=False, thresholds=[0.05, 0.2], random_state=1)
    t = ev.threshold_rates
    assert sorted(set(t["threshold"])) == sorted({model.threshold_, 0.05, 0.2})
    direct = rm.fairness.rates_at_thresholds(
        test[model.spec.target].astype(int).to_numpy(),
        model._predict_proba(test),
        test[model.spec.protected_names],
        thresholds=[model.threshold_, 0.05, 0.2],
    )
    pd.testing.assert_frame_equal(t, direct)
    # the main threshold's overall TPR is the performance report's
    at = t[(t.threshold == model.threshold_) & (t.attribute == "all") & (t.metric == "tpr")]
    assert at["value"].iloc[0] == pytest.approx(ev.metric("tpr").value)
    again = rm.Evidence.from_dict(json.loads(json.dumps(ev.to_dict())))
    pd.testing.assert_frame_equal(again.threshold_rates, t, check_dtype=False)
    with pytest.raises(rm.errors.SchemaError, match="thresholds"):
        model.assess(test, n_boot=0, explain=False, thresholds=["high"])
