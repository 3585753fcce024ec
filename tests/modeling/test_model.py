"""RiskModel fitting: validation, calibration without leakage, profile, guardrails."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import riskmodels as rm
from riskmodels.errors import DataQualityError, NotFittedError, SchemaError


@pytest.fixture(scope="module")
def data(sim):
    frame, spec, _ = sim(1500, months=4, seed=3)
    train, test = rm.split(frame, spec)
    return frame, spec, train, test


@pytest.fixture(scope="module")
def fitted(data):
    _, spec, train, _ = data
    return rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)


def test_fit_records_state(fitted, data):
    _, spec, train, test = data
    m = fitted
    assert isinstance(m.estimator_, CalibratedClassifierCV)
    # ensemble=False: one base model fit on all the training data, not k fold models
    assert len(m.estimator_.calibrated_classifiers_) == 1
    assert m.base_estimator_ is m.estimator_.calibrated_classifiers_[0].estimator
    assert m.features_ == spec.feature_names and "sex" not in m.features_
    assert m.n_train_ == len(train)
    assert len(m.training_sha256_) == 64
    assert set(m.profile_.features) == set(spec.feature_names)
    assert m.training_window_[1] < str(test.snapshot_date.min().date())
    assert 0 < m.threshold_ < 1
    # default baseline: the two features with the highest univariate AUC
    assert set(m.baseline_features_) == {"ideation", "prior"}
    fit_record = m.fit_times_
    assert all(v > 0 for v in fit_record.values())


def test_training_sha_changes_with_data(data, fitted):
    _, spec, train, _ = data
    other = train.copy()
    other.loc[other.index[0], "age"] += 1
    cols = spec.columns(protected=False)
    assert rm.modeling.frame_sha256(train, cols) == fitted.training_sha256_
    assert rm.modeling.frame_sha256(other, cols) != fitted.training_sha256_


def test_no_public_scoring_method(fitted):
    public = {n for n in dir(fitted) if not n.startswith("_")}
    assert not public & {"predict", "predict_proba", "score", "decision_function", "transform"}


def test_fit_rejects_bad_frame(data):
    _, spec, train, _ = data
    with pytest.raises(SchemaError) as exc:
        rm.RiskModel(spec).fit(train.drop(columns="wing"))
    assert exc.value.columns == ["wing"]


def test_one_class_target_is_named(data):
    _, spec, train, _ = data
    with pytest.raises(DataQualityError) as exc:
        rm.RiskModel(spec).fit(train.assign(incident=0))
    assert exc.value.column == "incident"


def test_assess_before_fit(data):
    _, spec, _, test = data
    with pytest.raises(NotFittedError, match="fit"):
        rm.RiskModel(spec).assess(test)


def test_bad_parameters(data):
    _, spec, train, _ = data
    with pytest.raises(SchemaError, match="calibration"):
        rm.RiskModel(spec, calibration="platt").fit(train)
    with pytest.raises(SchemaError, match="unknown preset"):
        rm.RiskModel(spec, estimator="xgboost").fit(train)
    with pytest.raises(SchemaError, match="not a scikit-learn classifier"):
        rm.RiskModel(spec, estimator=OneHotEncoder()).fit(train)


@pytest.mark.parametrize("calibration", ["sigmoid", None])
def test_other_estimators_and_calibrations(data, calibration):
    _, spec, train, _ = data
    m = rm.RiskModel(
        spec,
        estimator=RandomForestClassifier(n_estimators=10, random_state=0),
        calibration=calibration,
        random_state=0,
    ).fit(train)
    p = m._predict_proba(train)
    assert p.shape == (len(train),) and np.all((p >= 0) & (p <= 1))


def test_user_pipeline_is_used_as_is(data):
    _, spec, train, _ = data
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["wing"]), remainder="passthrough"),
        LogisticRegression(max_iter=1000),
    )
    m = rm.RiskModel(spec, estimator=pipe, calibration=None).fit(train)
    assert m.estimator_ is not pipe  # cloned: the caller's object is untouched
    assert not hasattr(pipe, "classes_")


def test_protected_feature_with_justification_is_used(sim):
    frame, spec, _ = sim(300, months=2)
    feats = [
        *spec.features,
        rm.FeatureSpec(
            name="sex",
            kind="categorical",
            description="Sex",
            justification="Separate estates; reviewed",
        ),
    ]
    spec2 = spec.model_copy(update={"features": feats})
    m = rm.RiskModel(spec2, estimator="logistic").fit(frame)
    assert "sex" in m.features_


def test_caller_frame_not_mutated(data):
    _, spec, train, _ = data
    before = train.copy()
    rm.RiskModel(spec, estimator="logistic").fit(train)
    assert train.equals(before)


def test_repr_and_make_estimator(fitted):
    assert "fitted" in repr(fitted)
    assert "unfitted" in repr(rm.RiskModel(fitted.spec))
    assert not hasattr(fitted.make_estimator(), "classes_")


def test_large_training_sets_calibrate_on_a_held_out_share(data, monkeypatch):
    from sklearn.frozen import FrozenEstimator

    from riskmodels.modeling import _model

    _, spec, train, _ = data
    monkeypatch.setattr(_model, "HOLDOUT_FROM", 1000)
    m = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    assert "held-out" in m.calibration_scheme_
    inner = m.estimator_.calibrated_classifiers_[0].estimator
    assert isinstance(inner, FrozenEstimator) and inner.estimator is m.base_estimator_
    fit_idx, cal_idx = m._holdout(train, train.incident.to_numpy())
    people = train.person_id.to_numpy()
    assert not set(people[fit_idx]) & set(people[cal_idx])


def test_default_threshold_flags_at_most_ten_percent_despite_ties(fitted, data):
    _, _, train, _ = data
    scores = fitted._predict_proba(train)
    share = float(np.mean(scores >= fitted.threshold_))
    assert share == pytest.approx(fitted.flag_share_)
    assert share <= 0.10
    # the next lower distinct score would flag more than 10%
    lower = np.unique(scores)[np.unique(scores) < fitted.threshold_]
    assert lower.size == 0 or np.mean(scores >= lower[-1]) > 0.10


def test_version_depends_on_hyperparameters(data):
    _, spec, train, _ = data
    a = rm.RiskModel(spec, estimator=LogisticRegression(C=100.0), calibration=None).fit(train)
    b = rm.RiskModel(spec, estimator=LogisticRegression(C=1e-4), calibration=None).fit(train)
    assert a.version_ != b.version_
