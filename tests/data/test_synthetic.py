"""The synthetic prison-incidents generator: determinism, spec, documented model, knobs.

The documented numbers (odds ratios, base rates, the 90-day conversion) are written out
here again from docs/data.md rather than imported, so that the code is checked against
its documentation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import association
from sklearn.linear_model import LogisticRegression

import riskmodels as rm
from riskmodels.errors import SchemaError

make = rm.datasets.make_prison_incidents

# Documented in docs/data.md and the generator's docstring: term -> log odds ratio
# (Favril's published ORs enter at half their log, i.e. OR ** 0.5; see FAVRIL_SHRINK).
SELF_HARM_LOG_OR = {
    "current_suicidal_ideation": 0.5 * math.log(13.8),
    "psychiatric_treatment": 0.5 * math.log(10.5),
    "previous_self_harm": 0.5 * math.log(6.6),
    "any_segregation": 0.5 * math.log(5.6),
    "any_adjudication": 0.5 * math.log(3.5),
    "victimisation": 0.5 * math.log(3.2),
    "no_social_visits": 0.5 * math.log(2.3),
    "substance_misuse": 0.5 * math.log(2.3),
    "not_in_work": 0.5 * math.log(1.9),
    "remand": math.log(1.5),
    "first_30_days": math.log(2.0),
    "age": -0.02,
}
VIOLENCE_LOG_OR = {
    "age": -0.05,
    "previous_prison_violence": math.log(3.0),
    "gang_affiliation": math.log(2.5),
    "previous_prison_term": math.log(1.5),
    "short_sentence": math.log(1.5),
}
PUBLISHED_ETHNICITY_ORDER = ["White", "Mixed", "Other", "Asian", "Black"]


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    # DataFrame.equals: pandas 3.1's assert_frame_equal takes seconds per categorical column.
    assert a.columns.equals(b.columns)
    assert a.dtypes.equals(b.dtypes)
    assert a.equals(b)


def to_annual(p90: float) -> float:
    """The documented conversion, inverted: annual share from a 90-day rate."""
    return 1 - (1 - p90) ** (365.25 / 90)


def terms(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The documented outcome terms, rebuilt from the frame's columns."""
    f = frame
    if outcome == "self_harm":
        t = {
            "current_suicidal_ideation": f.current_suicidal_ideation,
            "psychiatric_treatment": f.psychiatric_treatment,
            "previous_self_harm": f.previous_self_harm,
            "any_segregation": f.segregation_days > 0,
            "any_adjudication": f.adjudications > 0,
            "victimisation": f.victimisation,
            "no_social_visits": f.no_social_visits,
            "substance_misuse": f.substance_misuse,
            "not_in_work": f.not_in_work,
            "remand": f.legal_status == "remand",
            "first_30_days": f.days_in_custody < 30,
            "age": f.age - 40,
        }
    else:
        t = {
            "age": f.age - 40,
            "previous_prison_violence": f.previous_prison_violence,
            "gang_affiliation": f.gang_affiliation,
            "previous_prison_term": f.previous_prison_term,
            "short_sentence": (f.legal_status == "sentenced") & (f.sentence_months < 24),
        }
    return pd.DataFrame(t).astype(float)


def fit_documented_model(frame: pd.DataFrame, spec: rm.DatasetSpec, outcome: str):
    """Unpenalised logistic regression on the documented terms plus one intercept per
    intercept cell (sex x ethnicity for self-harm, sex for violence); returns the
    coefficients of the terms and their standard errors (inverse Fisher information)."""
    x = terms(frame, outcome)
    cell = frame.sex.astype(str)
    if outcome == "self_harm":
        cell = cell + "/" + frame.ethnicity.astype(str)
    z = np.hstack([x.to_numpy(), pd.get_dummies(cell).to_numpy(dtype=float)])
    y = frame[spec.target].to_numpy()
    model = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky")
    model.fit(z, y)
    p = model.predict_proba(z)[:, 1]
    cov = np.linalg.inv(z.T @ (z * (p * (1 - p))[:, None]))
    k = x.shape[1]
    return (
        pd.Series(model.coef_[0][:k], index=x.columns),
        pd.Series(np.sqrt(np.diag(cov))[:k], index=x.columns),
    )


@pytest.fixture(scope="module")
def self_harm():
    # ~600k person-months: enough events for tight base-rate and odds-ratio checks.
    return make(n_people=50_000, outcome="self_harm", seed=11)


@pytest.fixture(scope="module")
def violence():
    return make(n_people=20_000, outcome="violence", seed=12)


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_data_other_seed_other_data():
    a, spec_a = make(n_people=2_000, months=6, seed=3)
    b, spec_b = make(n_people=2_000, months=6, seed=3)
    assert_same(a, b)
    assert spec_a == spec_b
    c, _ = make(n_people=2_000, months=6, seed=4)
    assert not a.equals(c)
    assert (a.loc[:1_999, "age"].to_numpy() != c.loc[:1_999, "age"].to_numpy()).any()


# --------------------------------------------------------------------------- frame and spec
@pytest.mark.parametrize("outcome", ["self_harm", "violence"])
def test_frame_matches_its_spec(outcome):
    frame, spec = make(n_people=3_000, outcome=outcome, seed=0)
    spec.validate(frame)
    assert spec.target == f"{outcome}_90d"
    assert (spec.id, spec.time, spec.person) == ("record_id", "snapshot_date", "person_id")
    assert frame[spec.id].is_unique
    assert not frame.duplicated([spec.person, spec.time]).any()
    assert pd.api.types.is_datetime64_any_dtype(frame[spec.time])
    assert set(frame[spec.target].unique()) == {0, 1}
    assert spec.protected_names == ["sex", "ethnicity", "age_band"]
    assert not {"sex", "ethnicity", "age_band"} & set(spec.feature_names)
    age = spec.feature("age")
    assert "Equality Act 2010" in age.justification and "age_band" in age.justification
    expected_baseline = {
        "self_harm": ["previous_self_harm", "age"],
        "violence": ["age", "previous_prison_violence"],
    }
    assert spec.baseline_features == expected_baseline[outcome]
    # scoring batches are judged for drift within establishments
    assert spec.batch == "establishment" and "establishment" in spec.feature_names
    for f in spec.features:
        assert f.description and f.description[0].isupper()
        if f.kind == "categorical":
            assert set(frame[f.name].astype(str).unique()) <= set(f.categories)
    assert spec.feature("current_suicidal_ideation").description == "Current suicidal ideation"
    # Every column is described by the spec (nothing undocumented leaks into the frame).
    assert set(frame.columns) == set(spec.columns())
    # Round trip through YAML keeps the spec.
    assert rm.DatasetSpec.from_dict(yaml.safe_load(spec.to_yaml())) == spec


def test_frame_is_fit_for_the_quality_pass():
    frame, spec = make(n_people=5_000, seed=2)
    report = rm.check_quality(frame, spec)
    assert report.serious == []
    assert report.leakage == []


def test_establishment_is_a_proxy_for_sex():
    frame, _ = make(n_people=5_000, months=1, seed=2)
    women = frame.groupby("establishment", observed=True)["sex"].agg(lambda s: set(s.astype(str)))
    assert all(len(s) == 1 for s in women)  # every establishment holds one sex only
    assert {"Female", "Male"} == set().union(*women)


def test_small_population_and_one_month():
    frame, spec = make(n_people=1, months=1, seed=0)
    spec.validate(frame)
    assert len(frame) == 1
    assert frame.snapshot_date.iloc[0] == pd.Timestamp("2024-04-01")


@settings(max_examples=15, deadline=None)
@given(
    n_people=st.integers(1, 300),
    months=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    outcome=st.sampled_from(["self_harm", "violence"]),
)
def test_invariants_for_any_arguments(n_people, months, seed, outcome):
    frame, spec = make(n_people=n_people, months=months, seed=seed, outcome=outcome)
    spec.validate(frame)
    first = frame.snapshot_date.min()
    assert (frame.snapshot_date == first).sum() == n_people  # the population at the start
    assert frame.snapshot_date.nunique() <= months
    assert (frame.record_id.to_numpy() == np.arange(len(frame))).all()
    assert frame.age.min() >= 18


# --------------------------------------------------------------------------- population
def test_population_mix_matches_published_figures(self_harm):
    frame, _ = self_harm
    at_start = frame[frame.snapshot_date == frame.snapshot_date.min()]
    assert len(at_start) == 50_000
    assert at_start.sex.eq("Female").mean() == pytest.approx(0.04, abs=0.005)
    assert at_start.legal_status.eq("remand").mean() == pytest.approx(0.20, abs=0.01)
    eth = at_start.ethnicity.value_counts(normalize=True)
    expected = {"White": 0.72, "Black": 0.12, "Asian": 0.08, "Mixed": 0.05, "Other": 0.03}
    for group, share in expected.items():
        assert eth[group] == pytest.approx(share, abs=0.01)
    bands = at_start.age_band.value_counts(normalize=True)
    assert bands["18-20"] == pytest.approx(0.04, abs=0.01)
    assert bands["21-29"] == pytest.approx(0.24, abs=0.01)
    assert bands["30-39"] == pytest.approx(0.33, abs=0.01)
    assert bands["40-49"] + bands["50+"] == pytest.approx(0.38, abs=0.015)
    # Turnover keeps the population and its remand share about stable.
    by_month = frame.groupby("snapshot_date")
    assert by_month.size().between(0.95 * 50_000, 1.05 * 50_000).all()
    assert by_month.legal_status.apply(lambda s: (s == "remand").mean()).between(0.18, 0.22).all()
    assert frame.person_id.nunique() > 50_000  # people are received during the window


def test_features_evolve_sensibly_month_to_month(self_harm):
    frame, _ = self_harm
    f = frame.sort_values(["person_id", "snapshot_date"])
    same = (f.person_id.diff() == 0).to_numpy()
    gap_days = f.snapshot_date.diff().dt.days.to_numpy()
    # Days in custody grow exactly with the calendar; age never falls.
    assert (f.days_in_custody.diff().to_numpy()[same] == gap_days[same]).all()
    assert (f.age.diff().to_numpy()[same] >= 0).all()
    # Histories never switch off; remand can turn into sentenced but not back.
    for col in ("previous_self_harm", "previous_prison_violence"):
        assert (f[col].diff().to_numpy()[same] >= 0).all()
    status = (f.legal_status == "sentenced").astype(int).diff().to_numpy()[same]
    assert (status >= 0).all() and (status > 0).any()
    # Current flags persist with churn: mostly kept, sometimes changed.
    for col in ("current_suicidal_ideation", "psychiatric_treatment", "gang_affiliation"):
        prev = f[col].shift().to_numpy()[same]
        now = f[col].to_numpy()[same]
        kept = now[prev == 1].mean()
        assert 0.4 < kept < 1.0, col
        assert now[prev == 1].mean() > 5 * now[prev == 0].mean(), col
    # Sentence length is 0 exactly while on remand.
    assert (f.sentence_months.eq(0) == f.legal_status.eq("remand")).all()


# --------------------------------------------------------------------------- outcome model
@pytest.mark.parametrize(
    ("fixture", "outcome", "documented"),
    [("self_harm", "self_harm", SELF_HARM_LOG_OR), ("violence", "violence", VIOLENCE_LOG_OR)],
)
def test_logistic_regression_recovers_documented_log_odds(request, fixture, outcome, documented):
    frame, spec = request.getfixturevalue(fixture)
    coef, se = fit_documented_model(frame, spec, outcome)
    z = (coef - pd.Series(documented)) / se
    # Within 4 standard errors for every term (a 1-in-16,000 event per term by chance).
    assert (z.abs() < 4).all(), z.round(2).to_dict()
    # The check has power: a log OR off by 0.25 would be well outside 4 SEs.
    assert (se < 0.25 / 4).all(), se.round(3).to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["self_harm", "violence"])
def test_recovered_log_odds_are_unbiased_across_seeds(outcome):
    documented = SELF_HARM_LOG_OR if outcome == "self_harm" else VIOLENCE_LOG_OR
    zs = []
    for seed in range(4):
        frame, spec = make(n_people=60_000, outcome=outcome, seed=100 + seed)
        coef, se = fit_documented_model(frame, spec, outcome)
        zs.append((coef - pd.Series(documented)) / se)
    z = pd.DataFrame(zs)
    # Mean z per term over 4 seeds is N(0, 1/4) if unbiased: |mean| < 2 is 4 SE.
    assert (z.mean().abs() < 2).all(), z.mean().round(2).to_dict()
    assert float(np.sqrt((z.to_numpy() ** 2).mean())) < 1.5


def test_self_harm_base_rates_by_sex_match_published_range(self_harm):
    frame, spec = self_harm
    rate = frame.groupby("sex", observed=True)[spec.target].mean()
    # Hawton et al. 2014: 5-6% of men and 20-24% of women self-harm in a year.
    assert 0.05 <= to_annual(rate["Male"]) <= 0.06
    assert 0.20 <= to_annual(rate["Female"]) <= 0.24


def test_self_harm_rates_by_ethnicity_in_published_order(self_harm):
    frame, spec = self_harm
    rate = frame.groupby("ethnicity", observed=True)[spec.target].mean()
    assert rate.sort_values(ascending=False).index.tolist() == PUBLISHED_ETHNICITY_ORDER
    # White vs Black: published incident ratio 450 / 81 = 5.6.
    assert rate["White"] / rate["Black"] == pytest.approx(450 / 81, rel=0.3)


def test_violence_base_rate(violence):
    frame, spec = violence
    assert to_annual(frame[spec.target].mean()) == pytest.approx(0.12, abs=0.01)
    rate = frame.groupby("sex", observed=True)[spec.target].mean().map(to_annual)
    assert rate.between(0.09, 0.15).all()


# --------------------------------------------------------------------------- knobs
def test_label_bias_under_records_only_the_named_group():
    kwargs = {"n_people": 20_000, "outcome": "violence", "seed": 5, "return_true_outcome": True}
    fair, _ = make(**kwargs)
    biased, spec = make(label_bias={"ethnicity": {"Black": 0.6}}, **kwargs)
    spec.validate(biased)
    y, y_true = biased[spec.target], biased[f"{spec.target}_true"]
    assert f"{spec.target}_true" not in spec.feature_names
    # Features and true outcomes do not depend on the knob.
    assert_same(biased.drop(columns=spec.target), fair.drop(columns=spec.target))
    assert (fair[spec.target] == fair[f"{spec.target}_true"]).all()
    black = biased.ethnicity == "Black"
    assert (y <= y_true).all()
    assert (y[~black] == y_true[~black]).all()
    kept = y[black].sum() / y_true[black].sum()
    n_true = int(y_true[black].sum())
    assert n_true > 500
    assert kept == pytest.approx(0.6, abs=4 * math.sqrt(0.6 * 0.4 / n_true))


def test_label_bias_rates_multiply_across_attributes():
    biased, spec = make(
        n_people=20_000,
        outcome="violence",
        seed=6,
        return_true_outcome=True,
        label_bias={"sex": {"Male": 0.5}, "age_band": {"21-29": 0.5}},
    )
    y, y_true = biased[spec.target], biased[f"{spec.target}_true"]
    both = (biased.sex == "Male") & (biased.age_band == "21-29")
    kept = y[both].sum() / y_true[both].sum()
    assert kept == pytest.approx(0.25, abs=4 * math.sqrt(0.25 * 0.75 / y_true[both].sum()))


def test_proxy_strength_concentrates_ethnic_groups_in_establishments():
    def cramers_v(strength: float) -> float:
        frame, _ = make(n_people=20_000, months=1, seed=8, proxy_strength=strength)
        men = frame[frame.sex == "Male"]
        return association(pd.crosstab(men.establishment, men.ethnicity), method="cramer")

    v = {s: cramers_v(s) for s in (0.0, 0.3, 1.0)}
    assert v[0.0] < 0.05  # independent: only sampling noise
    assert v[0.0] < v[0.3] < v[1.0]
    assert v[1.0] > 0.3


def test_proxy_strength_changes_only_the_establishment():
    a, _ = make(n_people=3_000, months=3, seed=9, proxy_strength=0.0)
    b, _ = make(n_people=3_000, months=3, seed=9, proxy_strength=1.0)
    assert not a.establishment.equals(b.establishment)
    assert_same(a.drop(columns="establishment"), b.drop(columns="establishment"))


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"outcome": "suicide"}, "outcome"),
        ({"n_people": 0}, "n_people"),
        ({"n_people": 2.5}, "n_people"),
        ({"n_people": True}, "n_people"),
        ({"proxy_strength": 1.5}, "proxy_strength"),
        ({"proxy_strength": -0.1}, "proxy_strength"),
        ({"proxy_strength": "high"}, "proxy_strength"),
        ({"label_bias": {"religion": {"None": 0.5}}}, "label_bias"),
        ({"label_bias": {"ethnicity": {"Purple": 0.5}}}, "label_bias"),
        ({"label_bias": {"ethnicity": {"Black": 1.2}}}, "label_bias"),
        ({"label_bias": {"ethnicity": 0.6}}, "label_bias"),
        ({"label_bias": "Black"}, "label_bias"),
        ({"months": 0}, "months"),
        ({"seed": -1}, "seed"),
        ({"start": "not a date"}, "start"),
        ({"return_true_outcome": "yes"}, "return_true_outcome"),
    ],
)
def test_bad_arguments_raise_schema_error_naming_the_parameter(kwargs, parameter):
    with pytest.raises(SchemaError) as info:
        make(**kwargs)
    assert info.value.columns == [parameter]
    assert info.value.problems[0].hint
    assert parameter in str(info.value)


def test_every_bad_argument_is_reported_at_once():
    with pytest.raises(SchemaError) as info:
        make(n_people=-5, outcome="x", proxy_strength=2)
    assert info.value.columns == ["n_people", "outcome", "proxy_strength"]
