"""Net benefit and the decision curve against independent computations: a row-by-row
formula on fixed data, and the ``dcurves`` package (Vickers' group's Python port of the
R/Stata ``dca``), which is a test-only dependency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodels.metrics import decision_curve


def _data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = np.round(rng.beta(1, 6, n), 3)  # rounded: ties at the thresholds are included
    y = (rng.uniform(size=n) < s).astype(int)
    base = np.round(np.clip(s + rng.normal(0, 0.05, n), 0, 1), 3)
    return y, s, base


THRESHOLDS = [0.01, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5]


def test_net_benefit_equals_the_row_by_row_formula_on_fixed_data():
    y, s, base = _data()
    dc = decision_curve(y, s, thresholds=THRESHOLDS, others={"baseline": base}, n_boot=0)
    for t in THRESHOLDS:
        at = dc[dc.threshold == t].set_index("strategy")["net_benefit"]
        for name, score in (("model", s), ("baseline", base)):
            act = score >= t
            want = (np.sum(act & (y == 1)) - np.sum(act & (y == 0)) * t / (1 - t)) / y.size
            assert at[name] == pytest.approx(want, abs=1e-12), (name, t)
        prevalence = y.mean()
        assert at["act on all"] == pytest.approx(prevalence - (1 - prevalence) * t / (1 - t))
        assert at["act on none"] == 0.0


def test_the_decision_curve_equals_dcurves():
    dcurves = pytest.importorskip("dcurves")
    y, s, base = _data(seed=1)
    ours = decision_curve(y, s, thresholds=THRESHOLDS, others={"baseline": base}, n_boot=0)
    theirs = dcurves.dca(
        data=pd.DataFrame({"y": y, "model": s, "baseline": base}),
        outcome="y",
        modelnames=["model", "baseline"],
        thresholds=THRESHOLDS,
    )
    names = {"model": "model", "baseline": "baseline", "all": "act on all", "none": "act on none"}
    for _, row in theirs.iterrows():
        mine = ours[
            (ours.strategy == names[row["model"]]) & np.isclose(ours.threshold, row["threshold"])
        ]
        assert len(mine) == 1, (row["model"], row["threshold"])
        assert mine["net_benefit"].iloc[0] == pytest.approx(row["net_benefit"], abs=1e-12)
