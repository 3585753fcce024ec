"""riskmodels.fairness.proxy_scan: planted proxies are flagged, noise is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association
from threadpoolctl import threadpool_limits

from riskmodels.errors import SchemaError
from riskmodels.fairness import ProxyScan, cramers_v, proxy_scan


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Many tiny logistic-regression fits: BLAS threads only add contention here."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _prison_like(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ethnicity = rng.choice(["White", "Black", "Asian", "Other"], n, p=[0.72, 0.12, 0.08, 0.08])
    # a postcode-like area that follows ethnicity 85% of the time: a strong proxy
    areas = {"White": "north", "Black": "east", "Asian": "west", "Other": "south"}
    area = np.where(
        rng.random(n) < 0.85, [areas[e] for e in ethnicity], rng.choice(list(areas.values()), n)
    )
    # a numeric feature shifted by ethnicity: a proxy after binning into deciles
    shift = pd.Series(ethnicity).map({"White": 0.0, "Black": 2.0, "Asian": -2.0, "Other": 1.0})
    gang_score = rng.normal(0, 1, n) + shift.to_numpy()
    frame = pd.DataFrame(
        {
            "ethnicity": ethnicity,
            "sex": rng.choice(["M", "F"], n, p=[0.96, 0.04]),
            "area": area,
            "gang_score": gang_score,
            "age": rng.normal(35, 10, n),
            "prior_incidents": rng.poisson(1.5, n),
            "wing": rng.choice(list("ABCDEFGH"), n),
        }
    )
    frame.loc[rng.random(n) < 0.03, "ethnicity"] = None
    frame.loc[rng.random(n) < 0.05, "age"] = np.nan
    return frame


FEATURES = ["area", "gang_score", "age", "prior_incidents", "wing"]


def test_planted_proxies_are_flagged():
    frame = _prison_like()
    before = frame.copy()
    scan = proxy_scan(frame, FEATURES, ["ethnicity", "sex"])
    pd.testing.assert_frame_equal(frame, before)  # never modifies the caller's frame
    assert isinstance(scan, ProxyScan)
    assert scan.flagged_features_for("ethnicity") == ("area", "gang_score")
    assert scan.flagged_features_for("sex") == ()
    assert scan.flagged_features == ("area", "gang_score")
    joint = scan.joint.set_index("attribute")
    assert joint.loc["ethnicity", "auc"] > 0.8 and joint.loc["ethnicity", "flagged"]
    assert joint.loc["sex", "auc"] < 0.6 and not joint.loc["sex", "flagged"]
    assert joint.loc["ethnicity", "n_classes"] == 5  # four groups + "missing"
    v = scan.associations.set_index(["attribute", "feature"])["cramers_v"]
    assert v[("ethnicity", "wing")] < 0.05 and v[("ethnicity", "age")] < 0.05
    assert (
        scan.associations.set_index(["attribute", "feature"]).loc[
            ("ethnicity", "gang_score"), "kind"
        ]
        == "numeric"
    )
    assert len(scan) == 2 * len(FEATURES)
    wide = scan.to_frame()
    assert {"joint_auc", "joint_flagged"} <= set(wide.columns)
    assert "Proxy scan" in scan._repr_html_()


def test_json_round_trip_is_exact():
    frame = _prison_like(1500, 1)
    frame["constant"] = 1.0
    scan = proxy_scan(frame, [*FEATURES, "constant"], "ethnicity", cv=3, random_state=1)
    assert np.isnan(scan.associations.set_index("feature").loc["constant", "cramers_v"])
    back = ProxyScan.from_json(scan.to_json())
    pd.testing.assert_frame_equal(scan.joint, back.joint, check_exact=True)
    pd.testing.assert_frame_equal(scan.associations, back.associations, check_exact=True)
    assert back.to_json() == scan.to_json()
    assert (back.features, back.sensitive, back.cv) == (scan.features, scan.sensitive, 3)


def test_sensitive_values_can_be_passed_as_a_frame():
    frame = _prison_like(1500, 5)
    by_name = proxy_scan(frame, FEATURES, ["ethnicity", "sex"])
    protected = frame[["ethnicity", "sex"]].set_index(frame.index + 7)  # matched by position
    by_value = proxy_scan(frame.drop(columns=["ethnicity", "sex"]), FEATURES, protected)
    pd.testing.assert_frame_equal(by_name.associations, by_value.associations)
    pd.testing.assert_frame_equal(by_name.joint, by_value.joint)
    with pytest.raises(SchemaError, match="rows but the frame has"):
        proxy_scan(frame, FEATURES, protected.head(10))


def test_rare_classes_are_left_out_of_the_joint_model_only():
    frame = _prison_like(1000, 2)
    frame.loc[:2, "ethnicity"] = "Traveller"  # 3 rows: fewer than cv=5
    scan = proxy_scan(frame, FEATURES, "ethnicity")
    row = scan.joint.iloc[0]
    assert row["excluded_classes"] == "Traveller" and row["n"] == 997


def test_cramers_v_agrees_with_scipy_on_large_samples():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 50_000)
    b = np.where(rng.random(50_000) < 0.5, a, rng.integers(0, 4, 50_000))
    table = np.bincount(a * 4 + b, minlength=16).reshape(4, 4)
    # bias correction matters little at this n; it matters for sparse tables
    assert cramers_v(a, b) == pytest.approx(association(table, method="cramer"), abs=2e-3)
    noise = rng.integers(0, 200, 2000)
    group = rng.integers(0, 2, 2000)
    sparse = np.bincount(group * 200 + noise, minlength=400).reshape(2, 200)
    sparse = sparse[:, sparse.sum(axis=0) > 0]
    assert association(sparse, method="cramer") > 0.25  # uncorrected V: spurious
    assert cramers_v(group, noise) < 0.1


def test_errors_list_every_problem():
    frame = _prison_like(200, 4)
    with pytest.raises(SchemaError) as info:
        proxy_scan(frame, ["area", "nope"], "religion", cv=1, auc_flag=0.2, assoc_flag=0)
    assert {"frame", "cv", "auc_flag", "assoc_flag"} <= set(info.value.columns)
    assert "'nope', 'religion'" in str(info.value)
    with pytest.raises(SchemaError, match="religion"):
        proxy_scan(frame, ["area"], "religion")
