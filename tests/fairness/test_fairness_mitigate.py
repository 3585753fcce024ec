"""riskmodels.fairness.mitigate on a stand-in model (a real Pipeline and a spec-like namespace)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from riskmodels.errors import SchemaError
from riskmodels.fairness import MitigatedModel, audit, mitigate


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Many tiny logistic-regression fits: BLAS threads only add contention here."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _model(protected=("sex",)) -> SimpleNamespace:
    spec = SimpleNamespace(
        target="incident",
        feature_names=["age", "priors", "wing"],
        protected_names=list(protected),
    )

    def make_estimator() -> Pipeline:
        pre = ColumnTransformer(
            [
                ("num", StandardScaler(), ["age", "priors"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["wing"]),
            ]
        )
        return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])

    return SimpleNamespace(spec=spec, make_estimator=make_estimator)


def _frame(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    # priors differ by sex, so an unconstrained model selects the groups at different rates
    priors = rng.poisson(np.where(sex == "M", 3.0, 1.0))
    age = rng.normal(35, 10, n)
    logit = -2.0 + 0.5 * priors - 0.03 * (age - 35)
    frame = pd.DataFrame(
        {
            "age": age,
            "priors": priors,
            "wing": rng.choice(list("ABC"), n),
            "sex": sex,
            "ethnicity": rng.choice(["W", "B", None], n, p=[0.7, 0.25, 0.05]),
            "incident": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        },
        index=np.arange(n) + 1000,
    )
    return frame


def _selection_gap(model: MitigatedModel, frame: pd.DataFrame) -> float:
    score = model.predict_score(frame)
    by_sex = pd.Series(score).groupby(frame["sex"].to_numpy()).mean()
    return float(abs(by_sex["F"] - by_sex["M"]))


def _unmitigated_gap(frame: pd.DataFrame) -> float:
    est = _model().make_estimator().fit(frame[["age", "priors", "wing"]], frame["incident"])
    pred = (
        est.predict_proba(frame[["age", "priors", "wing"]])[:, 1] >= frame["incident"].mean()
    ).astype(float)
    by_sex = pd.Series(pred).groupby(frame["sex"].to_numpy()).mean()
    return float(abs(by_sex["F"] - by_sex["M"]))


@pytest.mark.parametrize("method", ["exponentiated_gradient", "threshold_optimizer"])
def test_demographic_parity_shrinks_the_selection_gap(method):
    frame = _frame()
    before = frame.copy()
    m = mitigate(_model(), frame, method=method, constraint="demographic_parity")
    pd.testing.assert_frame_equal(frame, before)
    proba = m.predict_proba(frame)
    assert proba.shape == (len(frame), 2)
    assert np.allclose(proba.sum(axis=1), 1) and ((proba >= 0) & (proba <= 1)).all()
    assert _unmitigated_gap(frame) > 0.2
    assert _selection_gap(m, frame) < 0.05
    decisions = m.predict(frame, random_state=0)
    assert set(np.unique(decisions)) <= {0, 1}
    assert np.array_equal(decisions, m.predict(frame, random_state=0))
    md = m.metadata
    assert md["method"] == method and md["constraint"] == "demographic_parity"
    assert md["randomized"] is True and md["sensitive"] == ["sex"]
    assert md["needs_protected_at_scoring"] is (method == "threshold_optimizer")
    assert ("legal_note" in md) is (method == "threshold_optimizer")


@pytest.mark.parametrize("constraint", ["equalized_odds", "false_positive_rate_parity"])
def test_error_rate_constraints_fit_and_score(constraint):
    frame = _frame(800, 1)
    m = mitigate(_model(), frame, method="exponentiated_gradient", constraint=constraint)
    score = m.predict_score(frame)
    assert score.shape == (800,)
    a = audit(frame["incident"], score, frame["sex"], threshold=0.5, n_boot=0)
    assert a.by_group["fpr"].notna().all()


def test_threshold_optimizer_needs_the_protected_attribute_to_score():
    frame = _frame(800, 2)
    m = mitigate(_model(), frame, method="threshold_optimizer", constraint="equalized_odds")
    assert m.needs_protected_at_scoring
    assert "Equality Act 2010" in m.metadata["legal_note"]
    assert "Equality Act 2010" in mitigate.__doc__
    with pytest.raises(SchemaError, match="needs them at scoring time"):
        m.predict_proba(frame.drop(columns=["sex"]))
    unseen = frame.head(5).assign(sex="X")
    with pytest.raises(SchemaError, match="not seen in training"):
        m.predict_proba(unseen)
    # the expgrad model scores without any protected column
    e = mitigate(_model(), frame, method="exponentiated_gradient", constraint="demographic_parity")
    assert e.predict_proba(frame.drop(columns=["sex", "ethnicity"])).shape == (800, 2)


def test_several_sensitive_attributes_with_missing_values():
    frame = _frame(800, 3)
    m = mitigate(
        _model(("sex", "ethnicity")),
        frame,
        method="threshold_optimizer",
        constraint="demographic_parity",
    )
    assert m.sensitive == ["sex", "ethnicity"]
    assert ("F", "missing") in m.train_groups
    assert m.predict_proba(frame).shape == (800, 2)
    one = mitigate(
        _model(("sex", "ethnicity")),
        frame,
        method="threshold_optimizer",
        constraint="demographic_parity",
        sensitive="ethnicity",
    )
    assert one.sensitive == ["ethnicity"]


def test_errors_list_every_problem():
    frame = _frame(200, 4)
    with pytest.raises(SchemaError) as info:
        mitigate(SimpleNamespace(), frame, method="magic", constraint="nice")
    assert info.value.columns.count("model") == 2
    assert {"method", "constraint"} <= set(info.value.columns)
    with pytest.raises(SchemaError, match="missing column"):
        mitigate(_model(), frame.drop(columns=["wing"]))
    with pytest.raises(SchemaError, match="no protected attribute"):
        mitigate(_model(()), frame)
    bad = frame.assign(incident=frame["incident"].astype(float))
    bad.iloc[0, bad.columns.get_loc("incident")] = np.nan
    with pytest.raises(SchemaError, match="must be binary"):
        mitigate(_model(), bad)
