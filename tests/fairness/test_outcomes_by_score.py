"""rm.fairness.outcomes_by_score: the per-level outcome table for ordinal scores, equal to a
pandas reference, with exact intervals, refusing continuous scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.errors import SchemaError
from riskmodels.metrics._intervals import proportion_interval


def test_equals_a_pandas_groupby_with_exact_intervals():
    rng = np.random.default_rng(0)
    n = 5000
    decile = rng.integers(1, 11, n)
    race = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < decile / 15).astype(int)
    t = rm.fairness.outcomes_by_score(y, decile, pd.Series(race, name="race"))
    ref = (
        pd.DataFrame({"g": race, "s": decile, "y": y})
        .groupby(["g", "s"])["y"]
        .agg(["size", "sum"])
        .reset_index()
    )
    got = t[t["attribute"] == "race"].reset_index(drop=True)
    assert got["group"].tolist() == ref["g"].tolist()
    assert got["score"].tolist() == ref["s"].tolist()
    assert got["n"].tolist() == ref["size"].tolist()
    assert got["events"].tolist() == ref["sum"].tolist()
    lo, hi = proportion_interval(ref["sum"], ref["size"], 0.95)
    np.testing.assert_allclose(got["lo"], lo)
    np.testing.assert_allclose(got["hi"], hi)
    overall = t[t["attribute"] == "all"]
    assert overall["n"].sum() == n and len(overall) == 10


def test_a_continuous_score_and_bad_labels_are_refused():
    with pytest.raises(SchemaError, match="ordinal score") as info:
        rm.fairness.outcomes_by_score([0, 1] * 200, np.linspace(0, 1, 400), pd.Series(["a"] * 400))
    assert info.value.columns == ["y_score"]
    with pytest.raises(SchemaError, match="not binary"):
        rm.fairness.outcomes_by_score([0, 2], [1, 2], pd.Series(["a", "b"]))
