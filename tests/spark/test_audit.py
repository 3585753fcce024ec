"""rm.spark.audit equals rm.fairness.audit on the same rows: the cells are counted in
Spark, the audit by the one engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.errors import SchemaError


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    n = 6000
    score = rng.beta(1.5, 6, n)
    return pd.DataFrame(
        {
            "incident": (rng.random(n) < score).astype(int),
            "score": score,
            "sex": rng.choice(["F", "M"], n, p=[0.3, 0.7]),
            # a small group, and missing values audited as their own group
            "ethnicity": rng.choice(["A", "B", "C", None], n, p=[0.6, 0.3, 0.095, 0.005]),
        }
    )


def test_spark_audit_equals_the_pandas_audit(spark, scored):
    kw = dict(threshold=0.25, n_boot=200, random_state=7)
    want = rm.fairness.audit(
        scored["incident"], scored["score"], scored[["sex", "ethnicity"]], **kw
    )
    frame = spark.createDataFrame(scored).repartition(3)
    got = rm.spark.audit(
        frame, y_true="incident", y_score="score", sensitive=["sex", "ethnicity"], **kw
    )
    assert got.reference == want.reference and got.n == want.n
    # point estimates exactly; intervals too, from the same seed
    pd.testing.assert_frame_equal(got.by_group, want.by_group, check_exact=True)
    pd.testing.assert_frame_equal(got.disparities, want.disparities, check_exact=True)
    pd.testing.assert_frame_equal(got.calibration, want.calibration, check_exact=True)
    assert "missing" in set(got.by_group["group"])


def test_rounded_scores_audit_the_rounded_scores(spark, scored):
    frame = spark.createDataFrame(scored)
    got = rm.spark.audit(
        frame,
        y_true="incident",
        y_score="score",
        sensitive=["sex"],
        threshold=0.25,
        n_boot=0,
        score_decimals=2,
    )
    want = rm.fairness.audit(
        scored["incident"], scored["score"].round(2), scored["sex"], threshold=0.25, n_boot=0
    )
    pd.testing.assert_frame_equal(got.by_group, want.by_group)


def test_missing_columns_are_named(spark, scored):
    frame = spark.createDataFrame(scored)
    with pytest.raises(SchemaError) as info:
        rm.spark.audit(frame, y_true="y", y_score="score", sensitive=["sex", "age"], threshold=0.5)
    assert info.value.columns == ["y", "age"]
