"""riskmodels.fairness.audit against fairlearn and scikit-learn, edge cases and invariants."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from riskmodels.errors import SchemaError
from riskmodels.fairness import (
    BY_GROUP_COLUMNS,
    DISPARITY_COLUMNS,
    DISPARITY_METRICS,
    FairnessAudit,
    Gap,
    audit,
)

FAIRLEARN_METRICS = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
    "fnr": false_negative_rate,
}


def _expected_labels(values: list) -> list[str]:
    return [
        "missing" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values
    ]


def check_against_fairlearn(y, score, labels, threshold, by_group: pd.DataFrame) -> None:
    """Our rates equal fairlearn's MetricFrame where fairlearn's are defined, and AUC
    equals roc_auc_score, to 1e-12. ``labels`` are the expected group label per row."""
    y = np.asarray(y)
    score = np.asarray(score, dtype=float)
    labels = np.asarray(labels, dtype=object)
    pred = (score >= threshold).astype(int)
    mf = MetricFrame(
        metrics=FAIRLEARN_METRICS,
        y_true=y,
        y_pred=pred,
        sensitive_features=pd.Series(labels, name="g"),
    )
    theirs = mf.by_group
    assert sorted(by_group["group"]) == sorted(str(g) for g in theirs.index)
    for row in by_group.itertuples(index=False):
        sel = labels == row.group
        n_pos, n_neg = int(y[sel].sum()), int((1 - y[sel]).sum())
        assert (row.n, row.n_pos, row.n_neg) == (sel.sum(), n_pos, n_neg)
        defined = {"selection_rate": True, "tpr": n_pos > 0, "fnr": n_pos > 0, "fpr": n_neg > 0}
        for metric, is_defined in defined.items():
            ours = getattr(row, metric)
            if is_defined:
                assert ours == pytest.approx(theirs.loc[row.group, metric], abs=1e-12)
            else:  # fairlearn says 0 here; an undefined rate is NaN for us, never 0
                assert np.isnan(ours)
        if n_pos and n_neg:
            assert row.auc == pytest.approx(roc_auc_score(y[sel], score[sel]), abs=1e-12)
        else:
            assert np.isnan(row.auc)


def _random(n, seed, p_pos=0.3):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    y = (rng.random(n) < np.clip(score + p_pos - 0.5, 0.02, 0.98)).astype(int)
    return rng, y, score


# --------------------------------------------------------------------- cross-checks
@pytest.mark.parametrize(
    "kind", ["str", "categorical", "int", "bool", "nan_str", "nan_int", "object_mixed_none"]
)
def test_label_types_match_fairlearn(kind):
    rng, y, score = _random(600, 1)
    raw = rng.choice(["a", "b", "c"], 600).astype(object)
    if kind == "str":
        s = pd.Series(raw, name="g", dtype="str")
    elif kind == "categorical":
        s = pd.Series(pd.Categorical(raw, categories=["c", "b", "a", "unused"]), name="g")
    elif kind == "int":
        raw = rng.integers(1, 4, 600)
        s = pd.Series(raw, name="g")
    elif kind == "bool":
        raw = rng.random(600) < 0.4
        s = pd.Series(raw, name="g")
    elif kind == "nan_str":
        raw[rng.random(600) < 0.1] = np.nan
        s = pd.Series(raw, name="g", dtype="str")
    elif kind == "nan_int":
        raw = rng.integers(1, 4, 600).astype(object)
        raw[rng.random(600) < 0.1] = None
        s = pd.Series(raw, name="g", dtype="Int64")
    else:
        raw[rng.random(600) < 0.1] = None
        s = pd.Series(raw, name="g", dtype=object)
    a = audit(y, score, s, threshold=0.4, n_boot=0, min_group_size=1)
    labels = _expected_labels(list(raw))
    check_against_fairlearn(y, score, labels, 0.4, a.by_group)
    if kind == "categorical":  # category order is kept; an unobserved category is not shown
        assert a.by_group["group"].tolist() == ["c", "b", "a"]
    if kind.startswith("nan") or kind == "object_mixed_none":
        assert a.by_group["group"].iloc[-1] == "missing"


@pytest.mark.parametrize(
    "case",
    ["no_positives", "group_of_one", "all_predictions_equal", "single_group", "no_negatives"],
)
def test_edge_cases_match_fairlearn(case):
    rng, y, score = _random(300, 2)
    labels = rng.choice(["a", "b", "c"], 300).astype(object)
    threshold = 0.5
    if case == "no_positives":
        y[labels == "b"] = 0
    elif case == "no_negatives":
        y[labels == "c"] = 1
    elif case == "group_of_one":
        labels[7] = "lonely"
    elif case == "all_predictions_equal":
        threshold = 2.0
    elif case == "single_group":
        labels[:] = "only"
    a = audit(y, score, pd.Series(labels, name="g"), threshold=threshold, n_boot=30, random_state=0)
    check_against_fairlearn(y, score, list(labels), threshold, a.by_group)
    bg = a.by_group.set_index("group")
    if case == "no_positives":
        assert bg.loc["b", "status"] == "undefined"
        assert np.isnan(bg.loc["b", "tpr"]) and np.isnan(bg.loc["b", "tpr_lo"])
        assert not bg.loc["b", "adequate"]
    if case == "group_of_one":
        assert bg.loc["lonely", "status"] == "sparse" and not bg.loc["lonely", "adequate"]
    if case == "all_predictions_equal":
        assert (bg["selection_rate"] == 0).all() and bg["ppv"].isna().all()
    if case == "single_group":
        d = a.disparities
        assert (d["difference"] == 0).all() and (d["group"] == "only").all()
        assert a.max_gap("fpr").status == "undefined"


def test_several_attributes_and_intersections_match_fairlearn():
    rng, y, score = _random(2000, 3)
    sex = rng.choice(["F", "M"], 2000).astype(object)
    eth = rng.choice(["Asian", "Black", "White"], 2000).astype(object)
    band = rng.integers(1, 4, 2000)
    eth[rng.random(2000) < 0.05] = None
    frame = pd.DataFrame({"sex": sex, "eth": eth, "band": band})
    a = audit(y, score, frame, threshold=0.5, n_boot=0)
    assert a.attributes == ("sex", "eth", "band")
    assert a.intersections == ("sex x eth", "sex x band", "eth x band", "sex x eth x band")
    eth_labels = _expected_labels(list(eth))
    per_attr = {
        "sex": list(sex),
        "eth": eth_labels,
        "sex x eth": [f"{s} x {e}" for s, e in zip(sex, eth_labels, strict=True)],
        "sex x eth x band": [
            f"{s} x {e} x {b}" for s, e, b in zip(sex, eth_labels, band, strict=True)
        ],
    }
    for attr, labels in per_attr.items():
        rows = a.by_group[a.by_group["attribute"] == attr]
        check_against_fairlearn(y, score, labels, 0.5, rows)
        assert rows["n"].sum() == 2000
    assert "F x missing" in set(a.by_group["group"])
    no_pairs = audit(y, score, frame, threshold=0.5, n_boot=0, intersections=False)
    assert no_pairs.intersections == () and set(no_pairs.by_group["attribute"]) == {
        "sex",
        "eth",
        "band",
    }


def test_ordinal_scores_have_no_calibration_metrics():
    rng = np.random.default_rng(4)
    decile = rng.integers(1, 11, 1000)
    y = (rng.random(1000) < decile / 12).astype(int)
    g = pd.Series(rng.choice(["a", "b"], 1000), name="g")
    a = audit(y, decile, g, threshold=7, n_boot=50, random_state=0)
    check_against_fairlearn(y, decile, list(g), 7, a.by_group)
    assert not a.scores_are_probabilities
    assert (a.by_group["calibration_status"] == "undefined").all()
    for m in ("brier", "ece", "oe_ratio", "brier_lo", "ece_hi"):
        assert a.by_group[m].isna().all()
    assert a.calibration.empty and list(a.calibration.columns)[:2] == ["attribute", "group"]
    assert a.disparities.query("metric == 'ece'")["difference"].isna().all()


def test_probability_scores_have_calibration_metrics():
    rng, y, score = _random(3000, 5)
    g = pd.Series(rng.choice(["a", "b"], 3000), name="g")
    a = audit(y, score, g, threshold=0.5, n_boot=100, random_state=0)
    assert a.scores_are_probabilities
    for grp, row in a.by_group.set_index("group").iterrows():
        sel = (g == grp).to_numpy()
        assert row["brier"] == pytest.approx(np.mean((score[sel] - y[sel]) ** 2), rel=1e-12)
        assert row["oe_ratio"] == pytest.approx(y[sel].sum() / score[sel].sum(), rel=1e-12)
        assert row["brier_lo"] <= row["brier"] <= row["brier_hi"]
    cal = a.calibration
    assert len(cal) == 2 * a.calibration_bins
    assert cal.groupby("group")["n"].sum().tolist() == a.by_group["n"].tolist()


# --------------------------------------------------------------------- hypothesis
label_values = st.one_of(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from([1, 2, 3]),
)


@st.composite
def audit_inputs(draw):
    n = draw(st.integers(1, 60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    score_kind = draw(st.sampled_from(["prob", "decile", "constant"]))
    if score_kind == "prob":
        score = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    elif score_kind == "decile":
        score = np.array(draw(st.lists(st.integers(1, 10), min_size=n, max_size=n)), float)
    else:
        score = np.full(n, 0.5)
    labels = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
    as_type = draw(st.sampled_from(["str", "category", "object"]))
    s = pd.Series(labels, name="g", dtype=as_type)
    threshold = draw(st.sampled_from([0.5, 5.0, 0.0]))
    return y, score, s, threshold


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_inputs())
def test_random_inputs_match_fairlearn_and_counts_sum_to_n(data):
    y, score, s, threshold = data
    a = audit(y, score, s, threshold=threshold, n_boot=0, min_group_size=5)
    check_against_fairlearn(
        y, score, _expected_labels(list(s.astype(object))), threshold, a.by_group
    )
    bg = a.by_group
    assert bg["n"].sum() == len(y)
    assert (bg["n_pos"] + bg["n_neg"] == bg["n"]).all()
    assert (bg["adequate"] == (bg["status"] == "ok")).all()
    assert not bg.loc[bg["n"] < 5, "adequate"].any()


@settings(max_examples=25, deadline=None)
@given(audit_inputs(), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(data, rnd):
    y, score, s, threshold = data
    perm = np.array(rnd.sample(range(len(y)), len(y)))
    kwargs = {"threshold": threshold, "n_boot": 20, "random_state": 3, "min_group_size": 5}
    a = audit(y, score, s, **kwargs)
    b = audit(y[perm], score[perm], s.iloc[perm].reset_index(drop=True), **kwargs)
    pd.testing.assert_frame_equal(a.by_group, b.by_group, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(a.disparities, b.disparities, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(a.calibration, b.calibration, check_exact=False, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(audit_inputs(), st.booleans())
def test_reference_group_disparity_is_zero_and_ratio_one(data, explicit):
    y, score, s, threshold = data
    groups = sorted(
        {"missing" if v is None or v is np.nan or pd.isna(v) else str(v) for v in s.astype(object)}
    )
    reference = {"g": groups[-1]} if explicit else "largest"
    a = audit(y, score, s, threshold=threshold, n_boot=20, random_state=0, reference=reference)
    d = a.disparities
    ref = d[d["group"] == d["reference"]]
    assert len(ref) == len(DISPARITY_METRICS)
    defined = ref["value"].notna()
    assert (ref.loc[defined, "difference"] == 0).all()
    assert (ref.loc[defined, "difference_lo"].fillna(0) == 0).all()
    nonzero = defined & (ref["value"] != 0)
    assert (ref.loc[nonzero, "ratio"] == 1).all()
    if explicit:
        assert a.reference == {"g": groups[-1]}
    assert a.by_group.loc[a.by_group["is_reference"], "group"].tolist() == [a.reference["g"]]


# --------------------------------------------------------------------- references
def test_largest_reference_ignores_missing_and_dict_overrides():
    labels = np.array([None] * 500 + ["a"] * 300 + ["b"] * 200, dtype=object)
    rng, y, score = _random(1000, 6)
    frame = pd.DataFrame({"g": labels, "h": rng.choice(["x", "y"], 1000)})
    a = audit(y, score, frame, threshold=0.5, n_boot=0)
    assert a.reference["g"] == "a"  # "missing" is audited, not used as the yardstick
    b = audit(y, score, frame, threshold=0.5, n_boot=0, reference={"g": "b", "g x h": ("b", "y")})
    assert b.reference["g"] == "b" and b.reference["g x h"] == "b x y"
    assert b.reference["h"] == a.reference["h"]
    assert set(b.disparities.query("attribute == 'g'")["reference"]) == {"b"}


def test_intersections_inherit_the_reference_cell_unless_named():
    rng, y, score = _random(3000, 7)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["M", "F"], 3000, p=[0.8, 0.2]),
            "eth": rng.choice(["A", "B", "C"], 3000, p=[0.6, 0.3, 0.1]),
            "age": rng.choice(["young", "old"], 3000),
        }
    )
    plain = audit(y, score, frame, threshold=0.5, n_boot=0)
    assert plain.reference["sex x eth"] == "M x A"  # the largest cell
    a = audit(y, score, frame, threshold=0.5, n_boot=0, reference={"eth": "C"})
    largest_age = a.reference["age"]
    assert a.reference["sex x eth"] == "M x C"  # sex's largest, eth's named
    assert a.reference["eth x age"] == f"C x {largest_age}"
    assert a.reference["sex x age"] == plain.reference["sex x age"]  # nothing named: largest
    assert a.reference["sex x eth x age"] == f"M x C x {largest_age}"
    named = audit(
        y, score, frame, threshold=0.5, n_boot=0, reference={"eth": "C", "sex x eth": ("F", "B")}
    )
    assert named.reference["sex x eth"] == "F x B"
    cell = named.disparities.query("attribute == 'eth x age' and metric == 'tpr'")
    assert set(cell["reference"]) == {f"C x {largest_age}"}


def test_errors_list_every_problem():
    with pytest.raises(SchemaError) as info:
        audit(
            [0, 1, 2],
            [0.1, np.nan, 0.3, 0.4],
            pd.Series(["a"] * 3),
            threshold=np.inf,
            n_boot=-1,
            confidence=1.5,
            min_group_size=-3,
        )
    cols = info.value.columns
    assert {"y_true", "y_score", "threshold", "n_boot", "confidence", "min_group_size"} <= set(cols)
    with pytest.raises(SchemaError, match="reference group 'zzz'"):
        audit(
            [0, 1],
            [0.1, 0.9],
            pd.Series(["a", "b"], name="g"),
            threshold=0.5,
            reference={"g": "zzz"},
        )
    with pytest.raises(SchemaError, match="unknown attribute"):
        audit(
            [0, 1],
            [0.1, 0.9],
            pd.Series(["a", "b"], name="g"),
            threshold=0.5,
            reference={"sex": "F"},
        )
    with pytest.raises(SchemaError, match="rows but y_true has"):
        audit([0, 1], [0.1, 0.9], pd.Series(["a", "b", "c"]), threshold=0.5)
    with pytest.raises(SchemaError, match="literally named 'missing'"):
        audit([0, 1], [0.1, 0.9], pd.Series(["missing", None]), threshold=0.5)
    with pytest.raises(TypeError):
        audit([0, 1], [0.1, 0.9], pd.Series(["a", "b"]), 0.5)  # threshold is keyword-only


def test_inputs_are_not_modified():
    rng, y, score = _random(500, 7)
    frame = pd.DataFrame(
        {"g": rng.choice(["a", None], 500), "h": rng.integers(0, 2, 500)}, index=np.arange(500) * 3
    )
    before = frame.copy()
    y_before, s_before = y.copy(), score.copy()
    audit(y, score, frame, threshold=0.5, n_boot=10)
    pd.testing.assert_frame_equal(frame, before)
    assert np.array_equal(y, y_before) and np.array_equal(score, s_before)


def test_return_types_do_not_depend_on_input_shape():
    one = audit([0, 1], [0.2, 0.8], pd.Series(["a", "a"]), threshold=0.5, n_boot=0)
    many = audit(
        *_random(500, 8)[1:],
        pd.DataFrame({"a": ["x"] * 250 + ["y"] * 250, "b": [1, 2] * 250}),
        threshold=0.5,
        n_boot=10,
    )
    for a in (one, many):
        assert tuple(a.by_group.columns) == BY_GROUP_COLUMNS
        assert tuple(a.disparities.columns) == DISPARITY_COLUMNS
        assert isinstance(a.max_gap("tpr"), Gap)
    assert dict(one.by_group.dtypes) == dict(many.by_group.dtypes)
    assert dict(one.disparities.dtypes) == dict(many.disparities.dtypes)


# --------------------------------------------------------------------- outputs
def _nan_rich_audit() -> FairnessAudit:
    rng, y, score = _random(400, 9)
    g = rng.choice(["a", "b", None, "tiny"], 400, p=[0.5, 0.4, 0.09, 0.01]).astype(object)
    y[g == "b"] = 0  # no events in b: NaN rates
    return audit(
        y,
        score,
        pd.DataFrame({"g": g, "h": rng.integers(0, 3, 400)}),
        threshold=0.5,
        n_boot=50,
        random_state=np.int64(1),  # numpy integers are recorded as plain ints
    )


def test_json_round_trip_is_exact():
    a = _nan_rich_audit()
    text = a.to_json()
    json.loads(text)  # strict JSON: no NaN tokens
    assert "NaN" not in text
    b = FairnessAudit.from_json(text)
    for name in ("by_group", "disparities", "calibration"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert b.by_group["tpr"].isna().sum() > 0
    for field in (
        "threshold",
        "reference",
        "attributes",
        "intersections",
        "n",
        "n_boot",
        "confidence",
        "min_group_size",
        "n_bins",
        "scores_are_probabilities",
        "random_state",
        "calibration_bins",
        "notes",
    ):
        assert getattr(a, field) == getattr(b, field)
    assert b.to_json() == text
    with pytest.raises(SchemaError):
        FairnessAudit.from_json('{"schema": "something else"}')


def test_to_frame_is_long_and_consistent():
    a = _nan_rich_audit()
    long = a.to_frame()
    assert list(long.columns) == [
        "attribute",
        "group",
        "metric",
        "value",
        "lo",
        "hi",
        "n",
        "status",
        "adequate",
    ]
    assert len(long) == len(a.by_group) * 12
    row = a.by_group.iloc[1]
    got = long[
        (long["attribute"] == row["attribute"])
        & (long["group"] == row["group"])
        & (long["metric"] == "fpr")
    ].iloc[0]
    assert got["value"] == row["fpr"] and got["lo"] == row["fpr_lo"]


def test_repr_html_flags_inadequate_groups():
    a = _nan_rich_audit()
    out = a._repr_html_()
    assert "Fairness audit" in out and "sparse" in out and "(reference)" in out
    assert out.count("<tr") == len(a.by_group) + 1
    assert "FairnessAudit(n=400" in repr(a)


def test_max_gap_and_min_ratio_use_adequate_groups_only():
    rng = np.random.default_rng(10)
    n = 6000
    g = rng.choice(["big", "mid", "tiny"], n, p=[0.6, 0.395, 0.005])
    score = rng.random(n)
    # the tiny group gets an extreme false positive rate, but it is too small to count
    score[g == "tiny"] = 0.99
    y = (rng.random(n) < 0.3).astype(int)
    a = audit(y, score, pd.Series(g, name="g"), threshold=0.5, n_boot=200, random_state=0)
    assert a.by_group.set_index("group").loc["tiny", "status"] == "sparse"
    gap = a.max_gap("fpr")
    assert gap.group == "mid" and gap.reference == "big" and gap.n_compared == 1
    assert gap.difference_lo <= gap.difference <= gap.difference_hi
    ratio = a.min_ratio("selection_rate", attribute="g")
    assert ratio.group == "mid"
    with pytest.raises(SchemaError):
        a.max_gap("accuracy")
    with pytest.raises(SchemaError):
        a.max_gap("fpr", attribute="sex")


# --------------------------------------------------------------------- planted bias
def test_planted_label_bias_is_detected():
    """Same true risk in both groups, but 40% of group B's events go unrecorded: B's
    observed base rate is lower and its false positive rate higher, CIs excluding 0."""
    rng = np.random.default_rng(11)
    n = 20_000
    group = rng.choice(["A", "B"], n, p=[0.6, 0.4])
    risk = rng.beta(2, 6, n)
    y_true = (rng.random(n) < risk).astype(int)
    recorded = np.where((group == "B") & (y_true == 1) & (rng.random(n) < 0.4), 0, y_true)
    score = np.clip(risk + rng.normal(0, 0.05, n), 0, 1)  # a model of the true risk
    a = audit(
        recorded,
        score,
        pd.Series(group, name="ethnicity"),
        threshold=0.3,
        n_boot=500,
        random_state=0,
    )
    d = a.disparities.set_index(["group", "metric"])
    assert a.reference["ethnicity"] == "A"
    base = a.by_group.set_index("group")["base_rate"]
    assert base["B"] < base["A"]
    fpr = d.loc[("B", "fpr")]
    assert fpr["difference"] > 0 and fpr["difference_lo"] > 0
    ppv = d.loc[("B", "ppv")]
    assert ppv["difference_hi"] < 0
    gap = a.max_gap("fpr")
    assert gap.group == "B" and gap.difference_lo > 0
    # a control without label bias shows no such gap
    b = audit(
        y_true, score, pd.Series(group, name="ethnicity"), threshold=0.3, n_boot=500, random_state=0
    )
    ctrl = b.disparities.set_index(["group", "metric"]).loc[("B", "fpr")]
    assert ctrl["difference_lo"] < 0 < ctrl["difference_hi"]


@pytest.mark.slow
def test_bootstrap_interval_coverage():
    """Percentile CIs of a group's TPR and of a FPR difference cover the truth ~95%."""
    rng = np.random.default_rng(12)
    hits_tpr = hits_diff = 0
    trials = 200
    for t in range(trials):
        n = 2000
        g = rng.choice(["a", "b"], n)
        score = rng.random(n)
        y = (rng.random(n) < score).astype(int)
        a = audit(y, score, pd.Series(g, name="g"), threshold=0.6, n_boot=400, random_state=t)
        row = a.by_group.set_index("group").loc["a"]
        hits_tpr += row["tpr_lo"] <= 0.64 <= row["tpr_hi"]  # TPR = (1 - 0.36)/... = 0.64
        diff = a.disparities.set_index(["group", "metric"]).loc[("b", "fpr")]
        hits_diff += diff["difference_lo"] <= 0 <= diff["difference_hi"]
    assert 0.90 <= hits_tpr / trials <= 0.99
    assert 0.90 <= hits_diff / trials <= 0.99


def test_calibration_metrics_agree_with_riskmodels_metrics():
    """One definition of ECE and O/E across the package (10 uniform bins, sum(y)/sum(p))."""
    import riskmodels.metrics as rm_metrics

    if not all(hasattr(rm_metrics, f) for f in ("ece", "oe_ratio")):
        pytest.skip("riskmodels.metrics has no ece / oe_ratio yet")
    rng = np.random.default_rng(13)
    # scores on the bin edges (0.3, 0.7 ...) check that both use the same edge rule
    score = np.r_[rng.random(3000), np.repeat([0.1, 0.3, 0.7, 1.0], 50)]
    y = (rng.random(score.size) < score).astype(int)
    g = rng.choice(["a", "b"], score.size)
    a = audit(y, score, pd.Series(g, name="g"), threshold=0.5, n_boot=0)
    for row in a.by_group.itertuples(index=False):
        sel = g == row.group
        assert row.ece == pytest.approx(rm_metrics.ece(y[sel], score[sel]), abs=1e-12)
        assert row.oe_ratio == pytest.approx(rm_metrics.oe_ratio(y[sel], score[sel]), rel=1e-12)


def test_all_missing_categorical_is_one_missing_group():
    s = pd.Series(pd.Categorical([None, None, None], categories=[]), name="g")
    a = audit([0, 1, 1], [0.2, 0.6, 0.9], s, threshold=0.5, n_boot=10, random_state=0)
    assert a.by_group["group"].tolist() == ["missing"]
    assert a.reference == {"g": "missing"}  # the only group is its own reference
    assert a.by_group["tpr"].tolist() == [1.0]


# --------------------------------------------------------------------- scale
def _pandas_reference(y, score, g, threshold):
    """Counts and rates per group by a plain pandas groupby: the independent reference."""
    pred = score >= threshold
    df = pd.DataFrame(
        {
            "g": g,
            "y": y,
            "tp": (y == 1) & pred,
            "fp": (y == 0) & pred,
            "tn": (y == 0) & ~pred,
            "fn": (y == 1) & ~pred,
        }
    )
    ref = df.groupby("g").agg(
        n=("y", "size"),
        n_pos=("y", "sum"),
        tp=("tp", "sum"),
        fp=("fp", "sum"),
        tn=("tn", "sum"),
        fn=("fn", "sum"),
    )
    ref.index = ref.index.astype(str)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = {
            "base_rate": (ref.n_pos, ref.n),
            "selection_rate": (ref.tp + ref.fp, ref.n),
            "tpr": (ref.tp, ref.tp + ref.fn),
            "fpr": (ref.fp, ref.fp + ref.tn),
            "fnr": (ref.fn, ref.tp + ref.fn),
            "tnr": (ref.tn, ref.fp + ref.tn),
            "ppv": (ref.tp, ref.tp + ref.fp),
            "npv": (ref.tn, ref.tn + ref.fn),
        }
    return ref, rates


def test_ten_thousand_groups_equal_a_pandas_groupby():
    """With probability scores, about 150 groups used to overflow the int16 cell index
    ("'list' argument must have no negative elements"). 10,000 groups: every count, rate
    and exact interval equals a pandas groupby reference; a sample of AUCs equals
    scikit-learn's."""
    from riskmodels.metrics._intervals import proportion_interval

    rng = np.random.default_rng(20)
    n, n_groups = 300_000, 10_000
    g = rng.integers(0, n_groups, n)
    score = rng.random(n)
    y = (rng.random(n) < score).astype(int)
    a = audit(y, score, pd.Series(g, name="g"), threshold=0.5, n_boot=0)
    bg = a.by_group.set_index("group")
    assert len(bg) == n_groups
    ref, rates = _pandas_reference(y, score, g, 0.5)
    bg = bg.loc[ref.index]
    assert (bg["n"] == ref["n"]).all() and (bg["n_pos"] == ref["n_pos"]).all()
    assert (bg["n_neg"] == ref["n"] - ref["n_pos"]).all()
    for metric, (k, d) in rates.items():
        expected = (k / d).to_numpy(dtype=float)
        np.testing.assert_allclose(bg[metric].to_numpy(), expected, rtol=1e-12, equal_nan=True)
        lo, hi = proportion_interval(k.to_numpy(), d.to_numpy(), 0.95)
        np.testing.assert_allclose(bg[f"{metric}_lo"].to_numpy(), lo, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(bg[f"{metric}_hi"].to_numpy(), hi, rtol=1e-12, equal_nan=True)
    for label in rng.choice(ref.index.to_numpy(), 20, replace=False):
        sel = g == int(label)
        assert bg.loc[label, "auc"] == pytest.approx(roc_auc_score(y[sel], score[sel]), abs=1e-12)
    cal = a.calibration
    assert cal.groupby("group")["n"].sum().loc[ref.index].tolist() == ref["n"].tolist()


def test_hundreds_of_groups_bootstrap():
    """The bootstrap path of many groups with probability scores (the crash of the issue
    came from ~152 groups): counts match pandas and every interval is ordered."""
    rng = np.random.default_rng(21)
    n, n_groups = 60_000, 400
    g = rng.integers(0, n_groups, n)
    score = rng.random(n)
    y = (rng.random(n) < score).astype(int)
    a = audit(y, score, pd.Series(g, name="g"), threshold=0.5, n_boot=30, random_state=0)
    ref, _ = _pandas_reference(y, score, g, 0.5)
    bg = a.by_group.set_index("group").loc[ref.index]
    assert (bg["n"] == ref["n"]).all() and (bg["n_pos"] == ref["n_pos"]).all()
    for m in ("auc", "brier", "ece", "oe_ratio", "tpr"):
        assert (bg[f"{m}_lo"] <= bg[f"{m}_hi"]).all(), m


# --------------------------------------------------------------------- intervals
def test_rate_intervals_are_exact_and_never_claim_certainty():
    """The two cases of the issue through the audit: a group of 88 with no false positives
    (FPR 0, interval up to 0.041, not [0, 0]) and a calibration bin of 7 all-positive
    cases (observed 1, interval from 0.59, not [1, 1]); both cross-checked with scipy."""
    from scipy.stats import binomtest

    y = np.r_[np.zeros(88, dtype=int), np.ones(12, dtype=int), np.ones(7, dtype=int)]
    score = np.r_[np.linspace(0.05, 0.45, 88), np.full(12, 0.75), np.full(7, 0.95)]
    a = audit(y, score, pd.Series(["g"] * y.size), threshold=0.5, n_boot=200, random_state=0)
    row = a.by_group.iloc[0]
    assert row["fpr"] == 0 and row["fpr_lo"] == 0
    assert row["fpr_hi"] == pytest.approx(binomtest(0, 88).proportion_ci(0.95, "exact").high)
    assert row["fpr_hi"] == pytest.approx(0.0411, abs=1e-4)
    top = a.calibration.query("bin == 9").iloc[0]
    assert (top["n"], top["observed_rate"], top["observed_hi"]) == (7, 1.0, 1.0)
    assert top["observed_lo"] == pytest.approx(
        binomtest(7, 7).proportion_ci(0.95, "exact").low, abs=1e-12
    )
    assert top["observed_lo"] == pytest.approx(0.5904, abs=1e-4)


def test_collapsed_rate_disparity_is_not_certain():
    """Both groups without a false positive: every bootstrap replicate of the FPR gap is 0,
    so the percentile interval is [0, 0]; the gap's interval comes from both groups'
    exact intervals instead, and holds 0."""
    rng = np.random.default_rng(22)
    g = np.repeat(["a", "b"], [500, 300])
    y = rng.integers(0, 2, 800)
    score = np.where(y == 1, rng.uniform(0.0, 1.0, 800), rng.uniform(0.0, 0.4, 800))
    a = audit(y, score, pd.Series(g, name="g"), threshold=0.5, n_boot=200, random_state=0)
    d = a.disparities.set_index(["group", "metric"])
    fpr = d.loc[("b", "fpr")]
    assert fpr["difference"] == 0
    assert fpr["difference_lo"] < 0 < fpr["difference_hi"]
    assert np.isnan(fpr["ratio"])  # 0 / 0: no ratio, and no interval for it
    assert np.isnan(fpr["ratio_lo"]) and np.isnan(fpr["ratio_hi"])
    own = d.loc[("a", "fpr")]  # the reference against itself is certain
    assert own["difference_lo"] == own["difference_hi"] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audit_inputs())
def test_no_zero_width_interval_for_an_uncertain_rate(data):
    """Any counts: a defined rate (denominator > 0), a calibration bin with rows, and a
    rate disparity with a bootstrap interval all have lo < hi (the reference's comparison
    with itself is the one certain quantity)."""
    y, score, s, threshold = data
    a = audit(y, score, s, threshold=threshold, n_boot=30, random_state=0, min_group_size=1)
    bg = a.by_group
    rates = ("base_rate", "selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv")
    for m in rates:
        defined = bg[m].notna()
        assert (bg.loc[defined, f"{m}_lo"] < bg.loc[defined, f"{m}_hi"]).all(), m
        assert (bg.loc[defined, f"{m}_lo"] <= bg.loc[defined, m]).all(), m
        assert (bg.loc[defined, m] <= bg.loc[defined, f"{m}_hi"]).all(), m
        assert bg.loc[~defined, [f"{m}_lo", f"{m}_hi"]].isna().all().all(), m
    cal = a.calibration
    if not cal.empty:
        filled = cal["n"] > 0
        assert (cal.loc[filled, "observed_lo"] < cal.loc[filled, "observed_hi"]).all()
    d = a.disparities
    check = d["metric"].isin(rates) & (d["group"] != d["reference"]) & d["difference_lo"].notna()
    assert (d.loc[check, "difference_lo"] < d.loc[check, "difference_hi"]).all()
    ratio = d["metric"].isin(rates) & (d["group"] != d["reference"]) & d["ratio_lo"].notna()
    assert (d.loc[ratio, "ratio_lo"] < d.loc[ratio, "ratio_hi"]).all()


def test_one_group_audit_and_performance_report_agree_on_every_rate():
    """One rule for one question: the same rates get the same intervals from the audit
    (one group) and from riskmodels.metrics.performance_report."""
    from riskmodels.metrics import performance_report

    _, y, score = _random(700, 23, p_pos=0.1)
    a = audit(y, score, pd.Series(["all"] * 700), threshold=0.6, n_boot=0)
    r = performance_report(y, score, threshold=0.6, n_boot=0)
    row = a.by_group.iloc[0]
    for m in ("selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv"):
        e = r.metrics[m]
        assert (row[m], row[f"{m}_lo"], row[f"{m}_hi"]) == pytest.approx(
            (e.value, e.lo, e.hi), abs=1e-12
        ), m


def test_a_stricter_adequacy_rule_makes_groups_sparse_everywhere():
    from riskmodels.policy import Policy

    rng, y, score = _random(3000, 11)
    g = pd.Series(rng.choice(["big", "mid", "few"], 3000, p=[0.7, 0.27, 0.03]), name="g")
    a = audit(y, score, g, threshold=0.5, n_boot=50, random_state=0)
    rule = Policy.default().fairness
    strict = a.judged_by(rule.adequate(a.by_group))
    expected = rule.adequate(a.by_group)
    assert strict.by_group["adequate"].tolist() == expected.tolist()
    gone = a.by_group["adequate"] & ~expected
    assert gone.any()  # the policy rejects a group the audit alone would judge
    assert (strict.by_group.loc[gone, "status"] == "sparse").all()
    judged = set(strict.by_group.loc[strict.by_group["adequate"], "group"])
    compared = strict.disparities[strict.disparities["adequate"]]
    assert set(compared["group"]) <= judged
    gap = strict.max_gap("tpr")
    assert gap.status == "undefined" or gap.group in judged
    assert a.judged_by(np.ones(len(a.by_group), bool)).by_group.equals(a.by_group)
    with pytest.raises(SchemaError, match="one per group"):
        a.judged_by([True])
