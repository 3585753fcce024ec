"""Rates at several thresholds: equal to a pandas reference and to scikit-learn's
confusion matrix, exact intervals, and every bad input named at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

import riskmodels as rm
from riskmodels.errors import SchemaError
from riskmodels.metrics import proportion_interval


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    y = (rng.random(n) < score * 0.3).astype(int)
    groups = pd.DataFrame(
        {"sex": rng.choice(["F", "M"], n, p=[0.2, 0.8]), "eth": rng.choice(list("ABC"), n)}
    )
    return y, score, groups


def test_equals_a_pandas_reference_and_sklearn():
    y, score, groups = _data()
    cuts = [0.2, 0.5, 0.9]
    t = rm.fairness.rates_at_thresholds(y, score, groups, thresholds=cuts, intersections=True)
    assert set(t["attribute"]) == {"all", "sex", "eth", "sex x eth"}
    frame = groups.assign(y=y, score=score)
    for cut in cuts:
        everyone = t[(t.threshold == cut) & (t.attribute == "all")].set_index("metric")
        tn, fp, fn, tp = confusion_matrix(y, score >= cut).ravel()
        assert everyone.loc["tpr", "value"] == pytest.approx(tp / (tp + fn))
        assert everyone.loc["fpr", "value"] == pytest.approx(fp / (fp + tn))
        assert everyone.loc["ppv", "numerator"] == tp
        for (sex, eth), part in frame.groupby(["sex", "eth"]):
            here = (t.threshold == cut) & (t.group == f"{sex} x {eth}")
            row = t[here & (t.metric == "selection_rate")].iloc[0]
            assert row["n"] == len(part)
            assert row["value"] == pytest.approx((part["score"] >= cut).mean())
    lo, hi = proportion_interval(t["numerator"], t["denominator"], 0.95)
    np.testing.assert_allclose(t["lo"], lo)
    np.testing.assert_allclose(t["hi"], hi)


def test_a_zero_denominator_is_nan_never_zero():
    t = rm.fairness.rates_at_thresholds([0, 0, 1], [0.1, 0.2, 0.3], thresholds=[0.5])
    ppv = t.set_index("metric").loc["ppv"]
    assert ppv["denominator"] == 0 and np.isnan(ppv["value"]) and np.isnan(ppv["lo"])
    assert t.set_index("metric").loc["tpr", "value"] == 0.0  # a defined 0 stays 0


def test_every_bad_input_is_named():
    with pytest.raises(SchemaError) as info:
        rm.fairness.rates_at_thresholds(
            [0, 2, 1], [0.1, np.nan], thresholds=[0.5, np.inf], confidence=1.5
        )
    assert set(info.value.columns) >= {"y_true", "y_score", "thresholds", "confidence", None}
