"""Bias mitigation with fairlearn, on any model that exposes a spec and an estimator factory.

``mitigate`` does not import ``RiskModel``: it takes any object with ``spec`` (``target``,
``feature_names``, ``protected_names``) and ``make_estimator()`` returning an unfitted
scikit-learn Pipeline, so the fairness engine stays below the modelling layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from riskmodels.errors import Problem, SchemaError

if TYPE_CHECKING:
    # fairlearn is imported by mitigate() itself: it costs most of a second at import
    # time, and most sessions never mitigate.
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.reductions import ExponentiatedGradient

__all__ = ["CONSTRAINTS", "METHODS", "MitigatedModel", "mitigate"]

METHODS = ("exponentiated_gradient", "threshold_optimizer")
CONSTRAINTS = ("equalized_odds", "demographic_parity", "false_positive_rate_parity")
#: The fairlearn moment (a class in ``fairlearn.reductions``) behind each constraint; names,
#: so that fairlearn is imported only when a model is mitigated.
_MOMENTS = {
    "equalized_odds": "EqualizedOdds",
    "demographic_parity": "DemographicParity",
    "false_positive_rate_parity": "FalsePositiveRateParity",
}
_LEGAL_NOTE = (
    "ThresholdOptimizer applies a different threshold per protected group and needs the "
    "protected characteristic of each person at decision time. Under the Equality Act 2010 "
    "this may be direct discrimination; take legal advice before any operational use."
)
_MISSING = "missing"


def _labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Protected values as strings with an explicit "missing" level (a new frame), the same
    way at fit and at scoring time."""
    out = {}
    for c in columns:
        s = frame[c].reset_index(drop=True)
        out[c] = s.astype(object).where(s.notna(), _MISSING).map(str).astype(object)
    return pd.DataFrame(out)


class MitigatedModel:
    """A model refit or post-processed by fairlearn to reduce a disparity.

    Its outputs are *randomised decisions*: :meth:`predict_proba` gives, per person, the
    probability that the mitigated classifier selects them (a mixture of classifiers for
    exponentiated gradient, group-specific interpolated thresholds for the threshold
    optimizer). It is not a calibrated risk.

    Attributes
    ----------
    estimator_ : ExponentiatedGradient or ThresholdOptimizer
        The fitted fairlearn object (for experts; using it directly bypasses the checks).
    metadata : dict
        ``method``, ``constraint``, ``objective``, ``sensitive``, ``features``,
        ``needs_protected_at_scoring``, ``randomized``, ``output``, ``fairlearn_version``
        and, where it applies, ``legal_note``.
    """

    def __init__(
        self,
        estimator: ExponentiatedGradient | ThresholdOptimizer,
        *,
        feature_names: Sequence[str],
        sensitive: Sequence[str],
        train_groups: set[tuple[str, ...]],
        metadata: dict[str, Any],
    ) -> None:
        self.estimator_ = estimator
        self.feature_names = list(feature_names)
        self.sensitive = list(sensitive)
        self.train_groups = set(train_groups)
        self.metadata = dict(metadata)

    @property
    def needs_protected_at_scoring(self) -> bool:
        """True when scoring needs each person's protected characteristic."""
        return bool(self.metadata["needs_protected_at_scoring"])

    def _inputs(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        needed = self.feature_names + (self.sensitive if self.needs_protected_at_scoring else [])
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            hint = "pass a frame with the model's features"
            if self.needs_protected_at_scoring:
                hint += (
                    " and the protected attribute(s): this threshold-optimizer model needs "
                    "them at scoring time (see metadata['legal_note'])"
                )
            raise SchemaError(
                Problem("frame", f"missing column(s) {missing}", hint),
                context="Cannot score with the mitigated model",
            )
        X = frame[self.feature_names].reset_index(drop=True)
        if not self.needs_protected_at_scoring:
            return X, None
        A = _labels(frame, self.sensitive)
        unseen = sorted(set(A.itertuples(index=False, name=None)) - self.train_groups)
        if unseen:
            raise SchemaError(
                Problem(
                    ",".join(self.sensitive),
                    f"group(s) not seen in training: {unseen[:5]}",
                    "a group-specific threshold exists only for groups seen in training",
                ),
                context="Cannot score with the mitigated model",
            )
        return X, A

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """``[P(not selected), P(selected)]`` per row, shape ``(n, 2)``.

        Examples
        --------
        See :func:`mitigate`.
        """
        X, A = self._inputs(frame)
        if A is None:
            proba = self.estimator_._pmf_predict(X)
        else:
            sensitive = A.iloc[:, 0] if A.shape[1] == 1 else A
            proba = self.estimator_._pmf_predict(X, sensitive_features=sensitive)
        # fairlearn mixes classifiers as 1 - p, which can stray outside [0, 1] by an ulp
        selected = np.clip(np.asarray(proba, dtype=float)[:, 1], 0.0, 1.0)
        return np.column_stack([1.0 - selected, selected])

    def predict_score(self, frame: pd.DataFrame) -> np.ndarray:
        """The probability of selection, shape ``(n,)`` (the second column of
        :meth:`predict_proba`), usable as ``y_score`` in :func:`audit`."""
        return self.predict_proba(frame)[:, 1]

    def predict(
        self, frame: pd.DataFrame, *, random_state: int | np.random.Generator | None = None
    ) -> np.ndarray:
        """Randomised 0/1 decisions drawn with the probabilities of :meth:`predict_score`."""
        rng = np.random.default_rng(random_state)
        score = self.predict_score(frame)
        return (rng.random(score.size) < score).astype(np.int64)

    def __repr__(self) -> str:
        m = self.metadata
        return (
            f"MitigatedModel(method={m['method']!r}, constraint={m['constraint']!r}, "
            f"sensitive={self.sensitive}, needs_protected_at_scoring="
            f"{self.needs_protected_at_scoring})"
        )


def _check(
    model: object, train: pd.DataFrame, method: str, constraint: str, sensitive: object
) -> tuple[str, list[str], list[str]]:
    problems: list[Problem] = []
    spec = getattr(model, "spec", None)
    target = getattr(spec, "target", None)
    features = getattr(spec, "feature_names", None)
    protected = getattr(spec, "protected_names", None)
    if spec is None or not isinstance(target, str) or features is None or protected is None:
        problems.append(
            Problem(
                "model",
                f"{type(model).__name__} has no spec with target, feature_names, protected_names",
                "pass a RiskModel or any object with .spec and .make_estimator()",
            )
        )
    if not callable(getattr(model, "make_estimator", None)):
        problems.append(
            Problem("model", "no make_estimator() method", "it must return an unfitted Pipeline")
        )
    if method not in METHODS:
        problems.append(Problem("method", f"{method!r}", f"use one of {METHODS}"))
    if constraint not in CONSTRAINTS:
        problems.append(Problem("constraint", f"{constraint!r}", f"use one of {CONSTRAINTS}"))
    if problems:
        raise SchemaError(problems, context="Invalid input to riskmodels.fairness.mitigate")
    features = list(features)  # type: ignore[arg-type]
    if sensitive is None:
        sensitive = list(protected)  # type: ignore[arg-type]
    elif isinstance(sensitive, str):
        sensitive = [sensitive]
    else:
        sensitive = list(sensitive)  # type: ignore[call-overload]
    if not sensitive:
        problems.append(
            Problem(
                "sensitive",
                "no protected attribute to mitigate over",
                "name one, or list protected attributes in the dataset spec",
            )
        )
    missing = [c for c in [target, *features, *sensitive] if c not in train.columns]
    if missing:
        problems.append(
            Problem("train", f"missing column(s) {missing}", "pass the labelled training frame")
        )
    elif not train[target].isin([0, 1]).all():
        problems.append(
            Problem(target, "values other than 0/1 (or missing)", "the target must be binary")
        )
    if problems:
        raise SchemaError(problems, context="Invalid input to riskmodels.fairness.mitigate")
    return target, features, sensitive


def mitigate(
    model: object,
    train: pd.DataFrame,
    method: str = "exponentiated_gradient",
    constraint: str = "equalized_odds",
    sensitive: str | Sequence[str] | None = None,
) -> MitigatedModel:
    """Refit (exponentiated gradient) or post-process (threshold optimizer) a model with
    fairlearn so that a disparity between protected groups shrinks.

    Parameters
    ----------
    model : object
        Anything with ``spec`` (``target``, ``feature_names``, ``protected_names``) and
        ``make_estimator()`` returning an unfitted scikit-learn Pipeline (preprocessing +
        classifier), e.g. a ``RiskModel``.
    train : DataFrame
        Labelled training rows with the features, the target and the protected
        attribute(s) (never modified).
    method : {"exponentiated_gradient", "threshold_optimizer"}
        ``exponentiated_gradient`` (fairlearn reductions) refits the pipeline under the
        constraint and uses the protected attribute only during training.
        ``threshold_optimizer`` (fairlearn post-processing, Hardt et al. 2016) fits the
        pipeline, then learns group-specific thresholds: **it needs each person's
        protected characteristic at scoring time. Under the Equality Act 2010, setting
        different thresholds by protected characteristic at decision time may be direct
        discrimination**; the result says so in ``metadata["legal_note"]`` and
        ``metadata["needs_protected_at_scoring"]``.
    constraint : {"equalized_odds", "demographic_parity", "false_positive_rate_parity"}
        fairlearn's ``EqualizedOdds`` / ``DemographicParity`` / ``FalsePositiveRateParity``
        moments, or the same-named ``ThresholdOptimizer`` constraints.
    sensitive : str or list of str, optional
        Protected attribute(s) to mitigate over (default: all of ``spec.protected_names``;
        several are combined into intersectional groups). Missing values form a
        ``"missing"`` group.

    Returns
    -------
    MitigatedModel
        Randomised: ``metadata["randomized"]`` is True for both methods. Both optimise the
        balanced error (mean of FPR and FNR) so that a rare outcome does not collapse to
        "never select".

    Raises
    ------
    SchemaError
        Listing every problem with the model, the frame and the arguments at once.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from types import SimpleNamespace
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "sex": rng.choice(["F", "M"], 400)})
    >>> df["y"] = (rng.random(400) < 1 / (1 + np.exp(-df["x"]))).astype(int)
    >>> spec = SimpleNamespace(target="y", feature_names=["x"], protected_names=["sex"])
    >>> model = SimpleNamespace(spec=spec, make_estimator=lambda: make_pipeline(
    ...     StandardScaler(), LogisticRegression()))
    >>> m = mitigate(model, df, method="threshold_optimizer", constraint="demographic_parity")
    >>> m.metadata["needs_protected_at_scoring"], m.predict_proba(df).shape
    (True, (400, 2))
    """
    target, features, sensitive = _check(model, train, method, constraint, sensitive)
    import fairlearn
    import fairlearn.reductions
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.reductions import ErrorRate, ExponentiatedGradient

    X = train[features].reset_index(drop=True)
    y = train[target].to_numpy().astype(np.int64)
    A = _labels(train, sensitive)
    sensitive_arg: pd.Series | pd.DataFrame = A.iloc[:, 0] if A.shape[1] == 1 else A
    estimator = model.make_estimator()  # type: ignore[attr-defined]
    base_rate = float(y.mean())
    metadata: dict[str, Any] = {
        "method": method,
        "constraint": constraint,
        "objective": "balanced_error",
        "sensitive": list(sensitive),
        "features": list(features),
        "needs_protected_at_scoring": method == "threshold_optimizer",
        "randomized": True,
        "output": "probability of selection by a randomised classifier, not a calibrated risk",
        "fairlearn_version": fairlearn.__version__,
    }
    if method == "exponentiated_gradient":
        if not 0.0 < base_rate < 1.0:
            raise SchemaError(
                Problem(target, "a single class", "mitigation needs events and non-events"),
                context="Invalid input to riskmodels.fairness.mitigate",
            )
        # a Pipeline takes sample weights as "<last step>__sample_weight"
        weight_name = (
            f"{estimator.steps[-1][0]}__sample_weight"
            if isinstance(estimator, Pipeline)
            else "sample_weight"
        )
        # balanced error: FN cost 1/(2 base rate), FP cost 1/(2 (1 - base rate))
        objective = ErrorRate(costs={"fn": 0.5 / base_rate, "fp": 0.5 / (1.0 - base_rate)})
        fitted: ExponentiatedGradient | ThresholdOptimizer = ExponentiatedGradient(
            estimator,
            constraints=getattr(fairlearn.reductions, _MOMENTS[constraint])(),
            objective=objective,
            sample_weight_name=weight_name,
        )
        with warnings.catch_warnings():
            # fairlearn 0.15 uses pandas idioms that pandas 3 deprecates; nothing to act on
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"fairlearn\.")
            fitted.fit(X, y, sensitive_features=sensitive_arg)
    else:
        metadata["legal_note"] = _LEGAL_NOTE
        fitted = ThresholdOptimizer(
            estimator=estimator,
            constraints=constraint,
            objective="balanced_accuracy_score",
            prefit=False,
            predict_method="predict_proba",
        )
        fitted.fit(X, y, sensitive_features=sensitive_arg)
    return MitigatedModel(
        fitted,
        feature_names=features,
        sensitive=sensitive,
        train_groups=set(A.itertuples(index=False, name=None)),
        metadata=metadata,
    )
