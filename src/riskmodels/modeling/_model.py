"""RiskModel: a calibrated scikit-learn model bound to a dataset spec."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

from riskmodels._progress import Step, step
from riskmodels.data._profile import TrainingProfile
from riskmodels.data._quality import DataQualityReport, check_quality
from riskmodels.data._spec import DatasetSpec
from riskmodels.errors import DataQualityError, NotFittedError, Problem, SchemaError
from riskmodels.modeling._presets import build_pipeline

__all__ = ["RiskModel", "frame_sha256"]

_CALIBRATIONS = ("isotonic", "sigmoid", None)
#: Default decision threshold: flag the highest-risk 10% of the training population.
#: Lists are read by people with limited time; a top-decile flag is a common, stated
#: starting point, and the policy's bands may set their own cut points.
DEFAULT_FLAG_SHARE = 0.10
#: Cross-validation folds for the calibrator's out-of-fold predictions.
CAL_FOLDS = 5
#: From this many training rows the calibrator is fit on a held-out share instead of
#: cross-validated predictions: one base fit instead of CAL_FOLDS + 1, and with this much
#: data a 20% calibration set holds thousands of rows (enough for isotonic regression).
HOLDOUT_FROM = 50_000
HOLDOUT_SHARE = 0.2


def _top_share_threshold(scores: np.ndarray, share: float) -> tuple[float, float]:
    """Lowest score whose flag set (score >= it) holds at most ``share`` of ``scores``.

    A plain quantile would flag every row tied at the cut: isotonic calibration yields
    few distinct scores, and a 90th percentile could then flag a third of people.
    """
    values = np.unique(scores)
    at_or_above = 1.0 - np.searchsorted(np.sort(scores), values, side="left") / scores.size
    ok = np.flatnonzero(at_or_above <= share)
    idx = ok[0] if ok.size else values.size - 1
    return float(values[idx]), float(at_or_above[idx])


def frame_sha256(frame: pd.DataFrame, columns: list[str]) -> str:
    """sha256 of the values of ``columns`` (row order matters; the index does not)."""
    h = hashlib.sha256()
    h.update("\x1f".join(columns).encode())
    h.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes())
    return h.hexdigest()


class RiskModel:
    """A risk model for a binary incident outcome, with calibrated probabilities.

    ``RiskModel`` evaluates on labelled data (:meth:`assess`); it has no public method
    that scores unlabelled people — operational scores come only from an approved,
    verified release (``riskmodels.score``).

    Parameters
    ----------
    spec : DatasetSpec
        Describes target, features and protected attributes. Protected attributes are
        excluded from the features unless the spec lists them with a justification.
    estimator : {"logistic", "hgb"} or scikit-learn classifier or Pipeline, default "hgb"
        ``"logistic"``: L2 logistic regression on imputed, scaled, one-hot features.
        ``"hgb"``: ``HistGradientBoostingClassifier`` (categoricals one-hot encoded).
        A classifier is wrapped in the spec's preprocessing; a Pipeline is used as is
        and receives the raw feature columns.
    calibration : {"sigmoid", "isotonic", None}, default "sigmoid"
        Default ``"sigmoid"`` (Platt scaling): smooth and never exactly 0 or 1. Isotonic
        regression is more flexible but is a step function: with rare events its top step
        can rest on a handful of people and read "100% risk" on a list.
        Calibrator fitted without leakage. Below 50,000 training rows: on out-of-fold
        predictions (``CalibratedClassifierCV(ensemble=False)``: one base model fit on all
        training data; folds grouped by person when the spec has a person column). From
        50,000 rows: the base model is fit on 80% and frozen (``FrozenEstimator``), the
        calibrator on the other 20% (grouped by person) — one fit instead of six.
        Either way one base model is stored, explained and profiled.
    random_state : int or None
    name : str, optional
        Model name for cards and releases (default: the spec's name and the estimator).

    Attributes
    ----------
    estimator_ : sklearn estimator
        The fitted, calibrated scikit-learn estimator. Calling it directly bypasses every
        guardrail (purpose, approval, expiry, out-of-distribution abstention); use it for
        research only.
    base_estimator_ : sklearn.pipeline.Pipeline
        The uncalibrated pipeline (fit on all training data, or on 80% of it when the
        calibrator is fit on a held-out share); explanations describe it.
    baseline_ : sklearn.pipeline.Pipeline
        Logistic regression on ``baseline_features_``.
    profile_ : TrainingProfile
    training_sha256_ : str
    threshold_ : float
        Default decision threshold (predicted positive iff score >= threshold): the lowest
        training score that flags at most 10% of the training population.
    flag_share_ : float
        Share of the training population the default threshold actually flags (below 10%
        when calibrated scores are tied at the cut).
    calibration_info_ : dict
        How the calibrator was fit: ``method``, ``scheme`` (``"none"``, ``"held_out"`` or
        ``"cross_validated"``), ``holdout_share`` or ``folds``, and ``grouped_by_person``.

    Examples
    --------
    >>> import riskmodels as rm
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> model.features_ == [f for f in spec.feature_names]
    True
    """

    def __init__(
        self,
        spec: DatasetSpec,
        estimator: Any = "hgb",
        calibration: Literal["isotonic", "sigmoid"] | None = "sigmoid",
        random_state: int | None = None,
        name: str | None = None,
    ) -> None:
        self.spec = spec
        self.estimator = estimator
        self.calibration = calibration
        self.random_state = random_state
        self.name = name

    # ------------------------------------------------------------------ construction
    def _check_params(self) -> None:
        problems = []
        if not isinstance(self.spec, DatasetSpec):
            problems.append(
                Problem(
                    "spec",
                    f"expected a DatasetSpec, got {type(self.spec).__name__}",
                    "load one with DatasetSpec.from_yaml",
                )
            )
        if self.calibration not in _CALIBRATIONS:
            problems.append(
                Problem(
                    "calibration",
                    f"unknown calibration {self.calibration!r}",
                    f"use one of {_CALIBRATIONS}",
                )
            )
        if problems:
            raise SchemaError(problems, context="Invalid RiskModel")

    @property
    def estimator_name(self) -> str:
        """Short name of the estimator ("hgb", "logistic" or the class name)."""
        if isinstance(self.estimator, str):
            return self.estimator
        return type(self.estimator).__name__

    def make_estimator(self) -> Any:
        """An unfitted scikit-learn Pipeline (preprocessing + classifier) for the spec's
        features, without calibration (used by ``fairness.mitigate``)."""
        self._check_params()
        return build_pipeline(self.spec, self.spec.feature_names, self.estimator, self.random_state)

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame, *, allow: tuple[str, ...] = ()) -> RiskModel:
        """Validate ``frame``, fit the calibrated model and the baseline, profile the data.

        Parameters
        ----------
        frame : pandas.DataFrame
            Labelled training data valid against the spec.
        allow : tuple of str
            Serious data-quality issues accepted knowingly (see ``check_quality``).

        Raises
        ------
        SchemaError
            The frame fails the spec.
        DataQualityError
            One-class target (naming it), suspected leakage, or too few rows to calibrate.
        """
        self._check_params()
        # A spinner naming the stage, when stderr is a terminal (see riskmodels._progress).
        rows = f" on {len(frame):,} rows" if isinstance(frame, pd.DataFrame) else ""
        with step(f"Fitting {self.estimator_name}{rows}") as s:
            return self._fit(frame, allow, s)

    def _fit(self, frame: pd.DataFrame, allow: tuple[str, ...], progress: Step) -> RiskModel:
        """The work of :meth:`fit`; ``progress`` names each stage while it runs."""
        t0 = time.perf_counter()
        spec = self.spec
        progress.stage("checking the data")
        frame = spec.validate(frame)
        quality = check_quality(frame, spec, allow=allow)
        y = frame[spec.target].astype(int).to_numpy()
        features = spec.feature_names
        X = frame[features]
        base = self.make_estimator()

        t_fit = time.perf_counter()
        if self.calibration is None:
            progress.stage("fitting")
            fitted = clone(base).fit(X, y)
            base_fitted = fitted
            self.calibration_scheme_ = "none"
            self.calibration_info_ = {"method": None, "scheme": "none"}
        else:
            minority = int(min(y.sum(), len(y) - y.sum()))
            if minority < CAL_FOLDS:
                raise DataQualityError(
                    f"{spec.target!r}: only {minority} rows of the rarer class; calibration "
                    f"needs at least {CAL_FOLDS} (one per fold)",
                    column=spec.target,
                )
            if len(frame) >= HOLDOUT_FROM:
                progress.stage(f"fit, then {self.calibration} calibration on a held-out 20%")
                fit_idx, cal_idx = self._holdout(frame, y)
                base_fitted = clone(base).fit(X.iloc[fit_idx], y[fit_idx])
                fitted = CalibratedClassifierCV(
                    FrozenEstimator(base_fitted), method=self.calibration
                )
                fitted.fit(X.iloc[cal_idx], y[cal_idx])
                self.calibration_scheme_ = f"held-out {HOLDOUT_SHARE:.0%} calibration set"
                self.calibration_info_ = {
                    "method": self.calibration,
                    "scheme": "held_out",
                    "holdout_share": HOLDOUT_SHARE,
                    "grouped_by_person": self.spec.person is not None,
                }
            else:
                progress.stage(f"{CAL_FOLDS + 1} fits for {self.calibration} calibration")
                folds, how = self._folds(frame, y)
                fitted = CalibratedClassifierCV(
                    clone(base), method=self.calibration, cv=folds, ensemble=False
                )
                fitted.fit(X, y)
                base_fitted = fitted.calibrated_classifiers_[0].estimator
                self.calibration_scheme_ = f"{CAL_FOLDS}-fold out-of-fold predictions ({how})"
                # structured, so the card formats it instead of parsing the sentence above
                self.calibration_info_ = {
                    "method": self.calibration,
                    "scheme": "cross_validated",
                    "folds": CAL_FOLDS,
                    "grouped_by_person": how == "grouped by person",
                }
        fit_seconds = time.perf_counter() - t_fit

        progress.stage("baseline model and training profile")
        self.baseline_features_ = self._baseline_features(quality)
        self.baseline_ = build_pipeline(spec, self.baseline_features_, "logistic")
        self.baseline_.fit(frame[self.baseline_features_], y)

        self.estimator_ = fitted
        self.base_estimator_ = base_fitted
        self.features_ = features
        self.quality_ = quality
        self.profile_ = TrainingProfile.from_frame(frame, spec)
        self.training_sha256_ = frame_sha256(frame, spec.columns(protected=False))
        self.n_train_ = len(frame)
        self.n_train_events_ = int(y.sum())
        if spec.time is not None:
            t = pd.to_datetime(frame[spec.time])
            self.training_window_ = (str(t.min().date()), str(t.max().date()))
        else:
            self.training_window_ = None
        train_scores = fitted.predict_proba(X)[:, 1]
        self.threshold_, self.flag_share_ = _top_share_threshold(train_scores, DEFAULT_FLAG_SHARE)
        self.fitted_at_ = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.fit_times_ = {"fit_seconds": fit_seconds, "total_seconds": time.perf_counter() - t0}
        # hyperparameters are part of the identity: two models fit on the same data with
        # different settings must not share a version (the evidence gate relies on it)
        params = repr(sorted(self.make_estimator().get_params(deep=True).items(), key=str))
        self.version_ = hashlib.sha256(
            f"{self.training_sha256_}|{self.estimator_name}|{self.calibration}|"
            f"{self.random_state}|{params}".encode()
        ).hexdigest()[:12]
        return self

    def _folds(
        self, frame: pd.DataFrame, y: np.ndarray
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
        """Calibration folds and how they were formed (recorded for the card)."""
        if self.spec.person is not None:
            groups = frame[self.spec.person].to_numpy()
            if len(np.unique(groups)) >= CAL_FOLDS:
                return list(GroupKFold(CAL_FOLDS).split(frame, y, groups)), "grouped by person"
        skf = StratifiedKFold(CAL_FOLDS, shuffle=True, random_state=self.random_state)
        return list(skf.split(frame, y)), "stratified, not grouped by person"

    def _holdout(self, frame: pd.DataFrame, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # grouped by person so nobody's rows inform both the model and its calibrator
        idx = np.arange(len(frame))
        if self.spec.person is not None:
            gss = GroupShuffleSplit(
                n_splits=1, test_size=HOLDOUT_SHARE, random_state=self.random_state
            )
            return next(gss.split(idx, y, frame[self.spec.person].to_numpy()))
        sss = StratifiedShuffleSplit(
            n_splits=1, test_size=HOLDOUT_SHARE, random_state=self.random_state
        )
        return next(sss.split(idx, y))

    def _baseline_features(self, quality: DataQualityReport) -> list[str]:
        if self.spec.baseline_features:
            return list(self.spec.baseline_features)
        auc = {k: v for k, v in quality.univariate_auc.items() if not np.isnan(v)}
        return sorted(auc, key=lambda k: -auc[k])[:2] or self.spec.feature_names[:2]

    # ------------------------------------------------------------------ use
    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "estimator_"):
            raise NotFittedError(
                f"This RiskModel is not fitted yet; call .fit(train) before .{what}()."
            )

    @property
    def display_name(self) -> str:
        """Name used on cards, releases and lists."""
        return self.name or f"{self.spec.name}-{self.estimator_name}"

    def _predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        # Private on purpose: operational scores must come from a verified release.
        return self.estimator_.predict_proba(frame[self.features_])[:, 1]

    def _baseline_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.baseline_.predict_proba(frame[self.baseline_features_])[:, 1]

    def assess(
        self,
        test: pd.DataFrame,
        threshold: Any = None,
        n_boot: int = 1000,
        *,
        confidence: float = 0.95,
        random_state: int | None = 0,
        fairness: bool = True,
        explain: bool | int = 2000,
        split_method: str | None = None,
        reference: str | dict[str, Any] = "largest",
        thresholds: Sequence[float] = (),
    ) -> Any:
        """Evidence of how well the model works on labelled data it never saw.

        Parameters
        ----------
        test : pandas.DataFrame
            Labelled held-out data valid against the spec (e.g. from ``rm.split``).
        threshold : float or ThresholdChoice, optional
            Predicted positive iff score >= threshold; default ``threshold_`` (the
            training top decile). A ``rm.thresholds.from_capacity`` /
            ``from_sensitivity`` choice is recorded with how it was chosen
            (``Evidence.threshold_choice``).
        n_boot : int, default 1000
            Bootstrap replicates for every confidence interval.
        confidence : float, default 0.95
        random_state : int or None, default 0
        fairness : bool, default True
            Audit the spec's protected attributes and scan features for proxies.
        explain : bool or int, default 2000
            Global SHAP importance on up to this many test rows (``False`` to skip).
        split_method : str, optional
            How ``test`` was held out; read from ``rm.split``'s frame attrs by default.
        reference : "largest" or dict, default "largest"
            The fairness audit's reference group per protected attribute, e.g.
            ``{"ethnicity": "White"}`` (attributes not named use their largest group);
            the same argument as :func:`riskmodels.fairness.audit`. Choose it on purpose:
            disparities are read against it.
        thresholds : sequence of float, optional
            Extra thresholds to compare with ``threshold``: ``Evidence.threshold_rates``
            gives the selection rate, TPR, FPR and PPV at each, overall and by protected
            group, with exact intervals. They reuse the scores (no refit, no second
            explanation run); the gates still judge ``threshold`` alone.

        Returns
        -------
        Evidence

        Raises
        ------
        NotFittedError
            Called before :meth:`fit`.
        SchemaError
            ``test`` fails the spec.
        """
        from riskmodels.modeling._evidence import build_evidence

        self._check_fitted("assess")
        rows = f" on {len(test):,} rows" if isinstance(test, pd.DataFrame) else ""
        # A spinner naming the stage, when stderr is a terminal (see riskmodels._progress).
        with step(f"Assessing{rows}") as progress:
            return build_evidence(
                self,
                test,
                threshold=threshold,
                n_boot=n_boot,
                confidence=confidence,
                random_state=random_state,
                fairness=fairness,
                explain=explain,
                split_method=split_method,
                progress=progress,
                reference=reference,
                thresholds=thresholds,
            )

    def __repr__(self) -> str:
        state = f"fitted, version {self.version_}" if hasattr(self, "version_") else "unfitted"
        return (
            f"RiskModel(spec={self.spec.name!r}, estimator={self.estimator_name!r}, "
            f"calibration={self.calibration!r}; {state})"
        )
