"""explain(): SHAP values per source feature, checked against independent computations."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from riskmodels.data import DatasetSpec, FeatureSpec, ProtectedAttribute
from riskmodels.errors import NotFittedError, SchemaError
from riskmodels.explain import ExplainerFallbackWarning, explain
from riskmodels.explain import _explain as explain_module
from riskmodels.explain._example import build_pipeline, example_spec, make_example


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread():
    # HistGradientBoosting's OpenMP barriers stall when other processes share the cores;
    # one thread keeps these small fits quick on a busy machine. No test measures time.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def logistic():
    return make_example(n=600, estimator="logistic", seed=1)


@pytest.fixture(scope="module")
def hgb():
    return make_example(n=1500, estimator="hgb", seed=2)


def _slices(pipeline, features):
    out = pipeline.named_steps["preprocess"].output_indices_
    return [out[f] for f in features]


def _logit(p):
    return np.log(p) - np.log1p(-p)


# --------------------------------------------------------------------------- correctness
def test_logistic_contributions_are_coef_times_centred_x(logistic):
    pipeline, frame, spec = logistic
    background = frame.iloc[:300]
    rows = np.arange(300, 340)
    ex = explain(pipeline, frame, spec, background=background, rows=rows)

    pre, clf = pipeline.named_steps["preprocess"], pipeline.named_steps["classifier"]
    X = pre.transform(frame.iloc[rows])
    mean = pre.transform(background).mean(axis=0)
    per_column = clf.coef_[0] * (X - mean)
    expected = np.column_stack(
        [per_column[:, s].sum(axis=1) for s in _slices(pipeline, ex.features)]
    )

    assert ex.method == "linear"
    np.testing.assert_allclose(ex.contributions.to_numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ex.base_values, clf.coef_[0] @ mean + clf.intercept_[0])
    assert list(ex.ids) == frame["person_id"].iloc[rows].tolist()


@pytest.mark.parametrize("name", ["logistic", "hgb"])
def test_contributions_add_up_to_the_models_log_odds(name, request):
    pipeline, frame, spec = request.getfixturevalue(name)
    ex = explain(pipeline, frame, spec, background=frame)
    total = ex.base_values + ex.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, pipeline.decision_function(frame), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        total, _logit(pipeline.predict_proba(frame)[:, 1]), rtol=1e-7, atol=1e-7
    )
    np.testing.assert_array_equal(ex.margin, pipeline.decision_function(frame))


@pytest.mark.parametrize("model", ["hgb", "gradient_boosting", "hgb_stumps"])
def test_trees_match_shap_tree_explainer_on_the_transformed_matrix(model, hgb):
    pipeline, frame, spec = hgb
    assert frame["segregation_days"].isna().any()  # NaN goes down the trees' default branch
    if model == "gradient_boosting":  # float32 inputs in shap and scikit-learn
        clf = GradientBoostingClassifier(n_estimators=30, random_state=0)
        pipeline = build_pipeline(spec, clf).fit(frame, frame["self_harm"])
    elif model == "hgb_stumps":  # trees that are a single leaf
        clf = HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=1000)
        pipeline = build_pipeline(spec, clf).fit(frame, frame["self_harm"])
    ex = explain(pipeline, frame, spec, n_jobs=1)

    pre, clf = pipeline.named_steps["preprocess"], pipeline.named_steps["classifier"]
    reference = shap.TreeExplainer(clf)
    phi = reference.shap_values(pre.transform(frame))
    expected = np.column_stack([phi[:, s].sum(axis=1) for s in _slices(pipeline, ex.features)])

    assert ex.method == "tree"
    np.testing.assert_allclose(ex.contributions.to_numpy(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ex.base_values, np.ravel(reference.expected_value)[0])
    total = ex.base_values + ex.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, pipeline.decision_function(frame), atol=1e-9)


def test_pattern_sharing_gives_the_same_values_as_plain_tree_shap(hgb, monkeypatch):
    """Models shap evaluates natively (XGBoost, LightGBM) take the plain path; both agree."""
    pipeline, frame, spec = hgb
    shared = explain(pipeline, frame, spec, n_jobs=1)
    monkeypatch.setattr(explain_module, "_can_share_patterns", lambda explainer: False)
    plain = explain(pipeline, frame, spec, n_jobs=1, chunk_size=700)
    assert plain.method == "tree"
    np.testing.assert_allclose(plain.contributions, shared.contributions, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(plain.base_values, shared.base_values, rtol=1e-12)


def test_parallel_chunks_give_the_same_values_as_one_process(hgb, monkeypatch, tmp_path):
    pipeline, frame, spec = hgb
    one = explain(pipeline, frame, spec, n_jobs=1, chunk_size=400)
    # Force the worker path, and memory-mapped chunks, even though this job is small.
    monkeypatch.setattr(explain_module, "_PARALLEL_MIN_SECONDS", 0.0)
    monkeypatch.setattr(explain_module, "_SHARE_MIN_BYTES", 0)
    monkeypatch.setattr(explain_module, "_SHARED_ROOT", str(tmp_path))
    released = []
    release = explain_module._SharedArrays.release

    def spy(self, key):
        released.append((key, os.path.exists(self.paths[key])))
        release(self, key)

    monkeypatch.setattr(explain_module._SharedArrays, "release", spy)
    many = explain(pipeline, frame, spec, n_jobs=2, chunk_size=400, progress=False)
    assert [exists for _, exists in released] == [True, True]  # two chunks after the probes
    assert list(tmp_path.iterdir()) == []  # and nothing is left behind
    np.testing.assert_allclose(many.contributions, one.contributions, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(many.margin, one.margin)
    np.testing.assert_allclose(many.base_values, one.base_values, rtol=1e-12)


def _dominant_factor_data(n: int, seed: int) -> tuple[pd.DataFrame, DatasetSpec]:
    """Simulated data where current suicidal ideation has by far the largest odds ratio."""
    rng = np.random.default_rng(seed)
    spec = DatasetSpec(
        name="dominance",
        target="incident",
        target_description="Self-harm within 90 days",
        id="pid",
        features=[
            FeatureSpec(name="unit_moves", kind="numeric", description="Cell moves", unit="moves"),
            FeatureSpec(name="ideation", kind="binary", description="Current suicidal ideation"),
            FeatureSpec(name="visits", kind="numeric", description="Social visits", unit="visits"),
            FeatureSpec(
                name="wing", kind="categorical", description="Wing", categories=["A", "B", "C"]
            ),
            FeatureSpec(name="employed", kind="binary", description="In prison work"),
        ],
        protected=[ProtectedAttribute(name="sex", description="Sex")],
    )
    frame = pd.DataFrame(
        {
            "pid": np.arange(n),
            "unit_moves": rng.poisson(2, n).astype(float),
            "ideation": rng.binomial(1, 0.3, n),
            "visits": rng.poisson(3, n).astype(float),
            "wing": pd.Series(rng.choice(["A", "B", "C"], n), dtype="str"),
            "employed": rng.binomial(1, 0.5, n),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
        }
    )
    # Odds ratios: ideation e^3 = 20; the others between 0.8 and 1.35.
    logit = (
        -2.0
        + 3.0 * frame["ideation"]
        + 0.15 * frame["unit_moves"]
        - 0.08 * frame["visits"]
        + 0.3 * (frame["wing"] == "C")
        - 0.2 * frame["employed"]
    )
    frame["incident"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, spec


@pytest.mark.parametrize(
    "classifier",
    [
        LogisticRegression(max_iter=1000),
        HistGradientBoostingClassifier(max_iter=60, random_state=0),
    ],
    ids=["logistic", "hgb"],
)
def test_the_dominant_documented_factor_ranks_first(classifier):
    frame, spec = _dominant_factor_data(3000, seed=5)
    pipeline = build_pipeline(spec, classifier).fit(frame, frame["incident"])
    importance = explain(pipeline, frame, spec, background=frame).global_importance()
    assert importance.loc[0, "feature"] == "ideation"
    assert importance.loc[0, "description"] == "Current suicidal ideation"
    # Not a photo finish: its interval clears the runner-up's.
    assert importance.loc[0, "lo"] > importance.loc[1, "hi"]


# --------------------------------------------------------------------------- rows and ids
def test_rows_by_position_or_mask_match_the_full_explanation(logistic):
    pipeline, frame, spec = logistic
    full = explain(pipeline, frame, spec)
    positions = np.array([5, 0, 17])
    by_position = explain(pipeline, frame, spec, rows=positions)
    mask = np.zeros(len(frame), dtype=bool)
    mask[[0, 5, 17]] = True
    by_mask = explain(pipeline, frame, spec, rows=mask)

    pd.testing.assert_frame_equal(by_position.contributions, full.contributions.iloc[positions])
    pd.testing.assert_frame_equal(by_mask.contributions, full.contributions.iloc[[0, 5, 17]])
    np.testing.assert_array_equal(by_position.rows, positions)
    assert list(by_position.ids) == frame["person_id"].iloc[positions].tolist()
    assert by_position.values["age"].tolist() == frame["age"].iloc[positions].tolist()


def test_ids_can_be_given_and_the_callers_frame_is_not_modified(logistic):
    pipeline, frame, spec = logistic
    before = frame.copy()
    ids = [f"P{i:04d}" for i in range(len(frame))]
    ex = explain(pipeline, frame, spec, rows=[2, 3], ids=ids)
    assert list(ex.ids) == ["P0002", "P0003"]
    assert ex.ids.name == "person_id"
    pd.testing.assert_frame_equal(frame, before)


def test_no_rows_gives_an_empty_explanation(hgb):
    pipeline, frame, spec = hgb
    ex = explain(pipeline, frame, spec, rows=np.zeros(len(frame), dtype=bool))
    assert len(ex) == 0 and ex.method == "tree"
    assert ex.reasons().shape == (0, 4)
    assert ex.global_importance()["n"].eq(0).all()


def test_a_model_using_some_of_the_features_is_explained_on_those(logistic):
    _, frame, spec = logistic
    used = ["ideation", "age"]
    small = spec.model_copy(update={"features": [spec.feature(f) for f in used]})
    pipeline = build_pipeline(small, LogisticRegression()).fit(frame, frame["self_harm"])
    ex = explain(pipeline, frame, spec, rows=[0, 1])
    assert ex.features == used
    assert list(ex.values.columns) == used


def test_bad_rows_are_refused(logistic):
    pipeline, frame, spec = logistic
    # library errors naming the argument, with a hint: never a bare IndexError/TypeError
    with pytest.raises(SchemaError, match="must lie in") as info:
        explain(pipeline, frame, spec, rows=[len(frame)])
    assert info.value.columns == ["rows"]
    with pytest.raises(SchemaError, match="boolean mask"):
        explain(pipeline, frame, spec, rows=np.ones(3, dtype=bool))
    with pytest.raises(SchemaError, match="positions"):
        explain(pipeline, frame, spec, rows=[0.5])
    with pytest.raises(SchemaError) as info:
        explain(pipeline, frame, spec, chunk_size=0, n_jobs="x", progress="maybe")
    assert info.value.columns == ["chunk_size", "n_jobs", "progress"]


# --------------------------------------------------------------------------- errors
def test_unfitted_pipeline_raises_not_fitted():
    spec = example_spec()
    pipeline = build_pipeline(spec, HistGradientBoostingClassifier())
    _, frame, _ = make_example(n=50)
    with pytest.raises(NotFittedError, match="not fitted"):
        explain(pipeline, frame, spec)


def test_frame_failing_the_spec_raises_schema_error(logistic):
    pipeline, frame, spec = logistic
    broken = frame.drop(columns=["age"]).assign(establishment="HMP Z")
    with pytest.raises(SchemaError) as err:
        explain(pipeline, broken, spec)
    assert {"age", "establishment"} <= set(err.value.columns)


def test_target_and_protected_columns_are_not_needed(logistic):
    pipeline, frame, spec = logistic
    ex = explain(pipeline, frame.drop(columns=["self_harm", "sex", "ethnicity"]), spec, rows=[0])
    assert len(ex) == 1


def test_unknown_proxy_raises_schema_error(logistic):
    pipeline, frame, spec = logistic
    with pytest.raises(SchemaError, match="prison_wing"):
        explain(pipeline, frame, spec, proxies=["prison_wing"])


def test_pipeline_not_matching_the_spec_raises_schema_error(logistic):
    _, frame, spec = logistic
    other = spec.model_copy(
        update={
            "features": [*spec.features, FeatureSpec(name="x", kind="numeric", description="X")]
        }
    )
    pipeline = build_pipeline(other, LogisticRegression()).fit(
        frame.assign(x=1.0), frame["self_harm"]
    )
    with pytest.raises(SchemaError, match="not named after a spec feature"):
        explain(pipeline, frame, spec)


def test_calibrated_or_bare_estimators_are_refused(logistic):
    pipeline, frame, spec = logistic
    with pytest.raises(SchemaError, match="uncalibrated pipeline"):
        explain(pipeline.named_steps["classifier"], frame, spec)


def test_unsupported_model_falls_back_to_the_model_agnostic_explainer_with_a_warning():
    _, frame, spec = make_example(n=200, seed=3)
    knn = build_pipeline(spec, KNeighborsClassifier(n_neighbors=15)).fit(frame, frame["self_harm"])
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (shap seeds the legacy generator)
    with pytest.warns(ExplainerFallbackWarning, match="KNeighborsClassifier"):
        ex = explain(knn, frame, spec, background=frame, rows=[0, 3])
    assert ex.method == "permutation"
    margin = _logit(np.clip(knn.predict_proba(frame.iloc[[0, 3]])[:, 1], 1e-6, 1 - 1e-6))
    total = ex.base_values + ex.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, margin, atol=1e-9)
    np.testing.assert_allclose(ex.margin, margin)
    # The caller's global numpy random state is left as it was.
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_model_agnostic_explainer_agrees_with_exact_linear_shap():
    """For a logistic model the permutation explainer's Shapley values of whole features
    are exact (additive model), so they must equal the linear explainer's."""
    pipeline, frame, spec = make_example(n=300, seed=4)
    background = frame.iloc[:100]
    linear = explain(pipeline, frame, spec, background=background, rows=[150, 151])
    pre = pipeline.named_steps["preprocess"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExplainerFallbackWarning)
        engine = explain_module._choose_engine(
            pre,
            pipeline.named_steps["classifier"],
            explain_module._source_slices(pre, spec)[1],
            spec,
            background,
            0,
            reason="forced for the test",
        )
        contributions, _, margin = explain_module._compute(
            engine,
            pre,
            frame.iloc[[150, 151]],
            chunk_size=None,
            n_jobs=1,
            progress=False,
        )
    # Probabilities are clipped only far from these rows' values, so margins agree.
    np.testing.assert_allclose(margin, linear.margin, atol=1e-9)
    np.testing.assert_allclose(contributions, linear.contributions.to_numpy(), atol=1e-9)
