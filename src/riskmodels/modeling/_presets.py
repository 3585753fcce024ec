"""Estimator presets and spec-driven preprocessing."""

from __future__ import annotations

from typing import Any

from sklearn.base import clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from riskmodels.data._spec import DatasetSpec
from riskmodels.errors import Problem, SchemaError

__all__ = [
    "PRESETS",
    "build_pipeline",
    "build_preprocessor",
    "describe_preprocessing",
    "resolve_estimator",
]

PRESETS = ("logistic", "hgb")
_MISSING = "missing"


def build_preprocessor(spec: DatasetSpec, features: list[str], *, scale: bool) -> ColumnTransformer:
    """One transformer per source feature, named after it.

    One transformer per feature (rather than one per kind) makes
    ``output_indices_[feature]`` the exact block of transformed columns that came from
    that feature, which is how explanations are summed back to source columns.
    Categoricals are one-hot encoded even for gradient boosting: shap ignores native
    categorical splits of HistGradientBoosting (shap issue #3436).
    """
    steps = []
    for name in features:
        f = spec.feature(name)
        if f.kind == "categorical":
            cats = "auto" if f.categories is None else [[*f.categories, _MISSING]]
            tr: Any = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="constant", fill_value=_MISSING)),
                    (
                        "onehot",
                        OneHotEncoder(
                            categories=cats, handle_unknown="ignore", sparse_output=False
                        ),
                    ),
                ]
            )
        elif f.kind == "binary":
            tr = SimpleImputer(strategy="most_frequent") if scale else "passthrough"
        elif scale:
            tr = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                    ("scale", StandardScaler()),
                ]
            )
        else:
            tr = "passthrough"  # HistGradientBoosting handles NaN natively
        steps.append((name, tr, [name]))
    return ColumnTransformer(
        steps, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True
    )


def describe_preprocessing(estimator: Any) -> list[str]:
    """What :func:`build_preprocessor` does for ``estimator``, in sentences for the card.

    Kept beside the code it describes so that the two change together.

    Examples
    --------
    >>> describe_preprocessing("hgb")[-1]
    'Numeric features are used as recorded; the trees handle missing values natively.'
    """
    if not isinstance(estimator, str) and isinstance(estimator, Pipeline):
        return ["The estimator is a user-supplied pipeline: it receives the raw feature columns."]
    scale = estimator == "logistic" or not isinstance(estimator, str)
    out = ["Categorical features are one-hot encoded, with missing values as their own category."]
    if scale:
        out.append(
            "Binary features: missing values imputed by the most frequent value. Numeric "
            "features: missing values imputed by the median with a missing-value indicator, "
            "then standardised."
        )
    else:
        out.append(
            "Numeric features are used as recorded; the trees handle missing values natively."
        )
    return out


def resolve_estimator(estimator: Any, random_state: int | None) -> tuple[Any, bool, bool]:
    """Return ``(classifier, needs_scaling, is_user_pipeline)`` for an estimator argument."""
    if isinstance(estimator, str):
        if estimator == "logistic":
            return LogisticRegression(max_iter=5000), True, False
        if estimator == "hgb":
            return HistGradientBoostingClassifier(random_state=random_state), False, False
        raise SchemaError(
            Problem(
                "estimator",
                f"unknown preset {estimator!r}",
                f"use one of {list(PRESETS)} or a scikit-learn classifier",
            ),
            context="Invalid RiskModel",
        )
    if not (is_classifier(estimator) and hasattr(estimator, "predict_proba")):
        raise SchemaError(
            Problem(
                "estimator",
                f"{type(estimator).__name__} is not a scikit-learn classifier with predict_proba",
                "pass 'logistic', 'hgb' or a classifier such as RandomForestClassifier()",
            ),
            context="Invalid RiskModel",
        )
    if isinstance(estimator, Pipeline):
        return clone(estimator), False, True
    return clone(estimator), True, False


def build_pipeline(
    spec: DatasetSpec, features: list[str], estimator: Any, random_state: int | None = None
) -> Pipeline:
    """An unfitted ``Pipeline([("preprocess", ...), ("classifier", ...)])`` for ``features``.

    A user-supplied Pipeline is taken as complete (it receives the raw feature columns).
    """
    clf, scale, is_pipeline = resolve_estimator(estimator, random_state)
    if is_pipeline:
        return clf
    return Pipeline(
        [("preprocess", build_preprocessor(spec, features, scale=scale)), ("classifier", clf)]
    )
