"""Plots return Displays with Axes and draw what the audit says."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from riskmodels.errors import DataQualityError, SchemaError
from riskmodels.fairness import ErrorRateDisplay, GroupCalibrationDisplay, audit


@pytest.fixture(scope="module")
def prob_audit():
    rng = np.random.default_rng(0)
    n = 3000
    g = rng.choice(["a", "b", "tiny"], n, p=[0.6, 0.39, 0.01])
    score = rng.random(n)
    y = (rng.random(n) < score).astype(int)
    frame = pd.DataFrame({"g": g, "h": rng.choice(["x", "y"], n)})
    return audit(y, score, frame, threshold=0.5, n_boot=100, random_state=0)


def test_error_rate_display(prob_audit):
    fig, ax = plt.subplots()
    disp = ErrorRateDisplay.from_audit(prob_audit, attribute="g", metrics=("fpr", "fnr"), ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["a (reference)", "b", "tiny [sparse]"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fpr", "fnr"]
    got = prob_audit.plot_error_rates(attribute="g x h")
    assert got.get_title() == "Rates by g x h"
    plt.close("all")
    with pytest.raises(SchemaError):
        prob_audit.plot_error_rates(metrics=("auc",))
    with pytest.raises(SchemaError):
        prob_audit.plot_error_rates(attribute="nope")


def test_calibration_display(prob_audit):
    disp = GroupCalibrationDisplay.from_audit(prob_audit, attribute="g")
    texts = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert texts == ["perfectly calibrated", "a (reference)", "b", "tiny [sparse]"]
    ax = prob_audit.plot_calibration()
    assert ax.get_xlabel() == "mean predicted probability"
    plt.close("all")


def test_no_calibration_curve_for_ordinal_scores():
    rng = np.random.default_rng(1)
    decile = rng.integers(1, 11, 500)
    a = audit(
        (rng.random(500) < 0.3).astype(int), decile, pd.Series(["a"] * 500), threshold=8, n_boot=0
    )
    with pytest.raises(DataQualityError, match="not probabilities"):
        a.plot_calibration()
    a.plot_error_rates()
    plt.close("all")
