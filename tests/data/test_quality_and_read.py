"""Data-quality pass and read_frame errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.errors import DataQualityError, SchemaError


@pytest.fixture
def spec():
    return rm.DatasetSpec(
        name="q",
        target="y",
        target_description="event",
        id="i",
        features=[
            rm.FeatureSpec(name="x", kind="numeric", description="x"),
            rm.FeatureSpec(name="c", kind="categorical", description="c"),
            rm.FeatureSpec(name="k", kind="numeric", description="constant"),
        ],
    )


def frame(n=400, seed=0, leak=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=n) + (5 * y if leak else 0.3 * y)
    return pd.DataFrame({"i": range(n), "y": y, "x": x, "c": rng.choice(["a", "b"], n), "k": 1.0})


def test_report_contents(spec):
    df = frame()
    df.loc[:9, "x"] = np.nan
    rep = rm.check_quality(df, spec)
    assert rep.constant == ["k"]
    assert rep.missingness["x"] == pytest.approx(10 / 400)
    assert rep.leakage == []
    assert 0.5 <= rep.univariate_auc["x"] < 0.95
    assert rm.DataQualityReport.from_dict(rep.to_dict()) == rep


def test_univariate_auc_matches_sklearn(spec):
    from sklearn.metrics import roc_auc_score

    df = frame()
    rep = rm.check_quality(df, spec)
    auc = roc_auc_score(df.y, df.x)
    assert rep.univariate_auc["x"] == pytest.approx(max(auc, 1 - auc), abs=1e-12)


def test_leakage_raises_naming_column_unless_allowed(spec):
    df = frame(leak=True)
    with pytest.raises(DataQualityError) as exc:
        rm.check_quality(df, spec)
    assert exc.value.column == "x"
    assert "leakage" in str(exc.value)
    rep = rm.check_quality(df, spec, allow=["leakage"])
    assert rep.leakage == ["x"]


def test_single_class_target(spec):
    df = frame().assign(y=0)
    with pytest.raises(DataQualityError) as exc:
        rm.check_quality(df, spec)
    assert exc.value.column == "y"


def test_unknown_allow_kind(spec):
    with pytest.raises(DataQualityError, match="unknown issue kind"):
        rm.check_quality(frame(), spec, allow=["typo"])


def test_read_frame_round_trips_and_errors(tmp_path):
    df = frame(20)
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet")
    assert rm.datasets.read_frame(tmp_path / "a.csv").shape == df.shape
    pd.testing.assert_frame_equal(rm.datasets.read_frame(tmp_path / "a.parquet"), df)
    with pytest.raises(SchemaError, match="does not exist"):
        rm.datasets.read_frame(tmp_path / "missing.csv")
    with pytest.raises(SchemaError, match="unsupported file type"):
        rm.datasets.read_frame(tmp_path / "a.xls")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(SchemaError, match="could not be parsed"):
        rm.datasets.read_frame(tmp_path / "bad.parquet")
