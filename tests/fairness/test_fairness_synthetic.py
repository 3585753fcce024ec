"""The audit and proxy scan find what the synthetic generator plants."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import riskmodels as rm


@pytest.fixture(scope="module")
def biased():
    frame, spec = rm.datasets.make_prison_incidents(
        n_people=8000,
        outcome="violence",
        months=3,
        seed=11,
        label_bias={"ethnicity": {"Black": 0.6}},
        proxy_strength=0.0,
        return_true_outcome=True,
    )
    with threadpool_limits(1):
        model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(frame)
    return frame, spec, model._predict_proba(frame)


def test_label_bias_shows_as_disparity(biased):
    frame, spec, scores = biased
    sens = frame[["ethnicity"]]
    kw = dict(threshold=float(np.quantile(scores, 0.9)), n_boot=300, random_state=0)
    recorded = rm.fairness.audit(frame[spec.target], scores, sens, **kw)
    truth = rm.fairness.audit(frame[f"{spec.target}_true"], scores, sens, **kw)
    rec = recorded.by_group.set_index("group").loc["Black"]
    tru = truth.by_group.set_index("group").loc["Black"]
    # 40% of the group's incidents go unrecorded: its recorded base rate is ~0.6 x the truth
    assert rec.base_rate / tru.base_rate == pytest.approx(0.6, abs=0.1)
    # the model, trained on the recorded labels, then looks over-predicting for the group:
    # observed/expected is well below 1, with a CI that excludes 1
    assert rec.oe_ratio_hi < 1.0
    # flagged people whose incidents went unrecorded count as false positives
    assert rec.fpr > tru.fpr


def test_proxy_strength_makes_establishment_a_proxy_for_ethnicity():
    flagged = {}
    for strength in (0.0, 1.0):
        frame, spec = rm.datasets.make_prison_incidents(
            n_people=3000, outcome="violence", months=1, seed=4, proxy_strength=strength
        )
        scan = rm.fairness.proxy_scan(frame, spec.feature_names, frame[["ethnicity"]])
        flagged[strength] = scan.flagged_features_for("ethnicity")
    assert "establishment" in flagged[1.0]
    assert "establishment" not in flagged[0.0]
