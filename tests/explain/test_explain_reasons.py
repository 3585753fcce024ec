"""Reason codes: phrases from the spec, only features raising risk, never protected ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from threadpoolctl import threadpool_limits

from riskmodels.data import DatasetSpec, FeatureSpec, ProtectedAttribute
from riskmodels.explain import Explanations, explain
from riskmodels.explain._example import make_example


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread():
    # HistGradientBoosting's OpenMP barriers stall when other processes share the cores;
    # one thread keeps these small fits quick on a busy machine. No test measures time.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


SPEC = DatasetSpec(
    name="reasons",
    target="incident",
    target_description="Self-harm within 90 days",
    id="person_id",
    features=[
        FeatureSpec(name="ideation", kind="binary", description="Current suicidal ideation"),
        FeatureSpec(
            name="seg_days", kind="numeric", description="Days in segregation", unit="days"
        ),
        FeatureSpec(name="establishment", kind="categorical", description="Establishment"),
        FeatureSpec(name="score", kind="numeric", description="Screening score"),
        FeatureSpec(
            name="age_band",
            kind="categorical",
            description="Age band",
            justification="Age is a documented risk factor; approved by the ethics board.",
        ),
    ],
    protected=[
        ProtectedAttribute(name="age_band", description="Age band"),
        ProtectedAttribute(name="sex", description="Sex"),
    ],
)
NAMES = SPEC.feature_names


def _explanations(contributions, values, proxies=()) -> Explanations:
    index = pd.Index(np.arange(len(contributions)) + 100, name="person_id")
    return Explanations(
        contributions=pd.DataFrame(contributions, columns=NAMES, index=index),
        base_values=np.zeros(len(contributions)),
        margin=np.asarray(contributions).sum(axis=1),
        values=pd.DataFrame(values, columns=NAMES).set_axis(index),
        spec=SPEC,
        proxies=frozenset(proxies),
    )


VALUES = {
    "ideation": [1, 0, 1],
    "seg_days": [14.0, 1.0, np.nan],
    "establishment": pd.Series(["HMP X", "HMP Y", "HMP X"], dtype="str"),
    "score": [2.346, 1234.5, 0.01234],
    "age_band": pd.Series(["18-20", "21-29", "50+"], dtype="str"),
}


def test_phrases_read_like_the_spec_and_the_persons_values():
    contributions = [
        [2.0, 1.0, 0.5, -0.3, 0.0],
        [-1.0, 0.2, -0.1, 0.4, 0.0],
        [0.1, 0.3, -2.0, 0.2, 0.0],
    ]
    table = _explanations(contributions, VALUES, proxies={"establishment"}).reasons(k=3)
    assert list(table.columns) == ["person_id", "reason_1", "reason_2", "reason_3"]
    assert table["person_id"].tolist() == [100, 101, 102]
    assert table.iloc[0, 1:].tolist() == [
        "Current suicidal ideation: yes (raises risk)",
        "Days in segregation: 14 days (raises risk)",
        "Establishment: HMP X (raises risk; may act as a proxy for a protected characteristic)",
    ]
    # Only positive contributions are reasons; the rest of the row is missing.
    assert table.iloc[1, 1:3].tolist() == [
        "Screening score: 1,234 (raises risk)",
        "Days in segregation: 1 day (raises risk)",
    ]
    assert pd.isna(table.loc[1, "reason_3"])
    assert table.iloc[2, 1:].tolist() == [
        "Days in segregation: not recorded (raises risk)",
        "Screening score: 0.0123 (raises risk)",
        "Current suicidal ideation: yes (raises risk)",
    ]


def test_binary_no_and_decimals():
    contributions = [[0.5, 0.0, 0.0, 0.1, 0.0]] * 3
    table = _explanations(contributions, VALUES).reasons(k=2)
    # the person without ideation is not told that its absence raises their risk
    assert table["reason_1"].tolist()[1].startswith("Screening score")
    assert "ideation: no" not in " ".join(table.iloc[:, 1:].stack().dropna())
    assert table["reason_2"].tolist()[0] == "Screening score: 2.35 (raises risk)"


def test_a_protected_attribute_is_never_a_reason_even_when_it_is_a_justified_feature():
    contributions = [[0.1, 0.0, 0.0, 0.0, 5.0]] * 3
    table = _explanations(contributions, VALUES).reasons(k=3)
    assert table["reason_1"].str.startswith("Current suicidal ideation").all()
    text = " ".join(table.iloc[:, 1:].stack().dropna().tolist())
    assert "Age band" not in text
    assert table["reason_2"].isna().all()


def test_k_larger_than_the_features_pads_with_missing():
    table = _explanations([[1.0, 2.0, 3.0, 4.0, 0.0]], {k: v[:1] for k, v in VALUES.items()})
    out = table.reasons(k=7)
    assert list(out.columns)[-1] == "reason_7"
    assert out.iloc[0, 1:5].notna().all() and out.iloc[0, 5:].isna().all()
    with pytest.raises(ValueError, match="positive integer"):
        table.reasons(k=0)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.just(len(NAMES))),
        elements=st.floats(-5, 5, allow_nan=False),
    ),
    st.integers(1, 5),
    st.randoms(use_true_random=False),
)
def test_reasons_are_the_largest_positive_contributions_in_order(contributions, k, rnd):
    n = len(contributions)
    values = {
        "ideation": [rnd.randint(0, 1) for _ in range(n)],
        "seg_days": [float(rnd.randint(0, 30)) for _ in range(n)],
        "establishment": pd.Series([rnd.choice(["A", "B"]) for _ in range(n)], dtype="str"),
        "score": [rnd.random() for _ in range(n)],
        "age_band": pd.Series(["18-20"] * n, dtype="str"),
    }
    ex = _explanations(contributions, values)
    table = ex.reasons(k=k)
    description = {f.name: f.description for f in SPEC.features}
    for i in range(n):
        row = contributions[i, :4]  # the protected age_band is excluded
        # a binary factor the person does not have is never a reason
        eligible = [row[j] > 0 and not (NAMES[j] == "ideation" and values["ideation"][i] == 0)
                    for j in range(4)]  # fmt: skip
        order = [NAMES[j] for j in np.argsort(-row, kind="stable") if eligible[j]][:k]
        got = table.iloc[i, 1:].dropna().tolist()
        assert [g.split(":")[0] for g in got] == [description[f] for f in order]

    # Permuting rows permutes the reasons and nothing else.
    perm = np.array(rnd.sample(range(n), n))
    shuffled = _explanations(
        contributions[perm], {k2: pd.Series(v).iloc[perm].tolist() for k2, v in values.items()}
    ).reasons(k=k)
    pd.testing.assert_frame_equal(
        shuffled.drop(columns="person_id"),
        table.drop(columns="person_id").iloc[perm].reset_index(drop=True),
    )


def test_real_model_reasons_use_descriptions_and_never_protected_attributes():
    pipeline, frame, spec = make_example(n=800, estimator="hgb", seed=7)
    ex = explain(pipeline, frame, spec, proxies=["establishment"], n_jobs=1)
    table = ex.reasons(k=3)
    phrases = table.iloc[:, 1:].stack().dropna().tolist()
    descriptions = tuple(spec.feature(f).description + ": " for f in spec.feature_names)
    assert phrases and all(p.startswith(descriptions) for p in phrases)
    assert all(p.endswith("(raises risk)") or "may act as a proxy" in p for p in phrases)
    assert not any(p.startswith(("Sex", "Ethnicity")) for p in phrases)
    assert any(p.startswith("Establishment:") and "proxy" in p for p in phrases)
    # Each row's first reason is its largest contribution, and it is positive.
    top = ex.contributions.idxmax(axis=1)
    has = table["reason_1"].notna().to_numpy()
    expected = [spec.feature(f).description for f in top[has]]
    assert table.loc[has, "reason_1"].str.split(":").str[0].tolist() == expected
    assert (ex.contributions.max(axis=1)[~has] <= 0).all()


def test_the_absence_of_a_factor_is_never_a_reason():
    import numpy as np
    import pandas as pd

    from riskmodels.data import DatasetSpec, FeatureSpec
    from riskmodels.explain._reasons import top_reasons

    spec = DatasetSpec(
        name="d",
        target="y",
        target_description="event",
        id="i",
        features=[
            FeatureSpec(name="violence", kind="binary", description="Previous violence in prison"),
            FeatureSpec(
                name="days", kind="numeric", description="Days in segregation", unit="days"
            ),
        ],
    )
    values = pd.DataFrame({"violence": [0, 1], "days": [14, 3]})
    # the model scores "no violence" above average for both people (a negative coefficient)
    contributions = np.array([[0.9, 0.2], [0.9, 0.2]])
    first, second = top_reasons(contributions, values, spec, frozenset(), k=2)
    assert first[0] == "Days in segregation: 14 days (raises risk)"
    assert second[0] is None  # "Previous violence in prison: no (raises risk)" is not given
    assert first[1] == "Previous violence in prison: yes (raises risk)"
