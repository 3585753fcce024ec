"""A small simulated self-harm dataset and pipeline, for examples, tests and benchmarks.

Not a dataset for anything else: the effects are invented (current suicidal ideation has
the largest odds ratio) so that examples have a known answer.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from riskmodels.data._spec import DatasetSpec, FeatureSpec, ProtectedAttribute

__all__ = ["build_pipeline", "example_spec", "make_example"]

ESTABLISHMENTS = ["HMP A", "HMP B", "HMP C", "HMP D"]


def example_spec() -> DatasetSpec:
    """The spec of :func:`make_example`'s frame."""
    return DatasetSpec(
        name="example_self_harm",
        target="self_harm",
        target_description="Self-harm incident within 90 days",
        id="person_id",
        features=[
            FeatureSpec(name="ideation", kind="binary", description="Current suicidal ideation"),
            FeatureSpec(
                name="prior_self_harm",
                kind="numeric",
                description="Self-harm incidents in the last 12 months",
                unit="incidents",
                min=0,
            ),
            FeatureSpec(
                name="segregation_days",
                kind="numeric",
                description="Days in segregation",
                unit="days",
                min=0,
            ),
            FeatureSpec(name="age", kind="numeric", description="Age", unit="years", min=18),
            FeatureSpec(
                name="establishment",
                kind="categorical",
                description="Establishment",
                categories=ESTABLISHMENTS,
            ),
        ],
        protected=[
            ProtectedAttribute(name="sex", description="Sex", categories=["F", "M"]),
            ProtectedAttribute(name="ethnicity", description="Ethnicity"),
        ],
    )


def build_pipeline(spec: DatasetSpec, classifier: Any) -> Pipeline:
    """The modelling layer's pipeline shape: one transformer per source feature.

    Numeric features are imputed (with a missing indicator) and scaled for linear models,
    passed through for HistGradientBoosting (it handles NaN); binary features are imputed;
    categoricals are imputed and one-hot encoded.
    """
    trees = isinstance(classifier, HistGradientBoostingClassifier)
    steps = []
    for f in spec.features:
        if f.kind == "numeric":
            t: Any = (
                "passthrough"
                if trees
                else make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                )
            )
        elif f.kind == "binary":
            t = SimpleImputer(strategy="most_frequent")
        else:
            t = make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            )
        steps.append((f.name, t, [f.name]))
    preprocess = ColumnTransformer(steps, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def make_example(
    n: int = 400,
    *,
    estimator: Literal["logistic", "hgb"] = "logistic",
    seed: int = 0,
) -> tuple[Pipeline, pd.DataFrame, DatasetSpec]:
    """A fitted pipeline, the frame it was fitted on, and its spec.

    Examples
    --------
    >>> pipeline, frame, spec = make_example(n=100)
    >>> frame.shape
    (100, 9)
    """
    rng = np.random.default_rng(seed)
    spec = example_spec()
    ideation = rng.binomial(1, 0.2, n)
    ideation[:4] = [0, 0, 0, 1]  # fixed rows give the doctests stable answers
    prior = rng.poisson(0.6, n).astype(float)
    segregation = rng.poisson(4.0, n).astype(float)
    segregation[rng.random(n) < 0.05] = np.nan
    age = rng.integers(18, 70, n).astype(float)
    establishment = rng.choice(ESTABLISHMENTS, n)
    logit = (
        -2.5
        + 2.5 * ideation
        + 0.5 * prior
        + 0.06 * np.nan_to_num(segregation, nan=4.0)
        - 0.01 * (age - 35)
        + 0.3 * (establishment == "HMP C")
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "person_id": np.arange(1, n + 1),
            "self_harm": y,
            "ideation": ideation,
            "prior_self_harm": prior,
            "segregation_days": segregation,
            "age": age,
            "establishment": pd.Series(establishment, dtype="str"),
            "sex": pd.Series(rng.choice(["F", "M"], n), dtype="str"),
            "ethnicity": pd.Series(
                rng.choice(["Asian", "Black", "Mixed", "White"], n), dtype="str"
            ),
        }
    )
    classifier: Any = (
        HistGradientBoostingClassifier(max_iter=50, random_state=seed)
        if estimator == "hgb"
        else LogisticRegression(max_iter=1000)
    )
    pipeline = build_pipeline(spec, classifier).fit(frame, y)
    return pipeline, frame, spec
