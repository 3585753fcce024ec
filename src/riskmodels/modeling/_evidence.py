"""Evidence: everything known about how well a fitted model works, with uncertainty."""

from __future__ import annotations

import datetime as dt
import html
import inspect
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmodels._progress import Step
from riskmodels._progress import active as progress_active
from riskmodels.data._quality import DataQualityReport, check_quality
from riskmodels.errors import Problem, SchemaError
from riskmodels.modeling._split import SPLIT_ATTR

if TYPE_CHECKING:
    from riskmodels.fairness import FairnessAudit, ProxyScan
    from riskmodels.metrics import PerformanceReport, VennAbers
    from riskmodels.modeling._model import RiskModel

__all__ = ["Evidence", "build_evidence"]


SCHEMA_VERSION = 1
#: Metrics shown side by side with the baseline, in reading order.
HEADLINE = (
    "auc",
    "average_precision",
    "brier",
    "brier_skill",
    "ece_uniform",
    "calibration_slope",
    "calibration_intercept",
    "oe_ratio",
    "tpr",
    "fpr",
    "ppv",
)


@dataclass
class Evidence:
    """Performance, fairness, proxies and explanations of one model on held-out data.

    Built by ``RiskModel.assess``. Every estimate carries its n and a CI (exact for rates,
    bootstrap for AUC, calibration measures and gaps, DeLong for the AUC gain); an
    undefined estimate is NaN with a status, never 0. Serialises to JSON losslessly
    (:meth:`to_json` / :meth:`from_json`).
    """

    model_name: str
    model_version: str
    estimator: str
    calibration: str | None
    created_at: str
    split: dict[str, Any]
    evaluation_window: list[str] | None
    threshold: float
    n_boot: int
    confidence: float
    performance: PerformanceReport
    baseline: PerformanceReport
    baseline_features: list[str]
    quality: DataQualityReport
    fairness: FairnessAudit | None = None
    proxies: ProxyScan | None = None
    importance: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    #: AUC of the model minus the baseline's, on the same rows, with DeLong's paired CI
    #: (``metrics._paired``): two separate CIs overlap even when one model is reliably
    #: better, so the gain is judged by its own interval.
    auc_gain: Any = None
    #: Selection rate, TPR, FPR and PPV at the threshold and at every extra threshold given
    #: to ``assess(thresholds=...)``, overall and by protected group, with exact intervals
    #: (``rm.fairness.rates_at_thresholds``; columns ``THRESHOLD_COLUMNS``).
    threshold_rates: pd.DataFrame | None = None
    #: Net benefit across thresholds (1%-50% and the threshold) of the model, the
    #: baseline, act on all and act on none, with bootstrap CIs (``rm.metrics.decision_curve``).
    decision_curve: pd.DataFrame | None = None
    #: How the threshold was chosen: ``method`` (``training_top_decile``, ``fixed``,
    #: ``capacity``, ``sensitivity``) and ``description`` in words.
    threshold_choice: dict[str, Any] | None = None
    #: Each person's range around their score: an inductive Venn-Abers predictor fitted
    #: on these rows (``rm.metrics.venn_abers``); a release carries it into every list as
    #: ``score_low``/``score_high``.
    venn_abers: VennAbers | None = None
    #: The ranges' widths across the score range, one row per tenth of the assessment
    #: set by score (``VennAbers.summary``): what the card reports.
    interval_widths: pd.DataFrame | None = None

    # ------------------------------------------------------------------ shortcuts
    @property
    def n(self) -> int:
        """Rows in the evaluation set."""
        return self.performance.n

    @property
    def n_events(self) -> int:
        """Events (positives) in the evaluation set."""
        return self.performance.n_pos

    @property
    def n_nonevents(self) -> int:
        """Non-events in the evaluation set."""
        return self.performance.n_neg

    def metric(self, name: str, *, baseline: bool = False) -> Any:
        """The :class:`~riskmodels.metrics.Estimate` called ``name``."""
        return (self.baseline if baseline else self.performance).metrics[name]

    def summary(self) -> pd.DataFrame:
        """Model against baseline: value and CI of each headline metric, and the gain."""
        rows = []
        for m in HEADLINE:
            a, b = self.metric(m), self.metric(m, baseline=True)
            rows.append(
                {
                    "metric": m,
                    "model": a.value,
                    "model_lo": a.lo,
                    "model_hi": a.hi,
                    "baseline": b.value,
                    "baseline_lo": b.lo,
                    "baseline_hi": b.hi,
                    "difference": a.value - b.value,
                    "status": a.status,
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (NaN encoded as null)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "estimator": self.estimator,
            "calibration": self.calibration,
            "created_at": self.created_at,
            "split": self.split,
            "evaluation_window": self.evaluation_window,
            "threshold": self.threshold,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "performance": self.performance.to_dict(),
            "baseline": self.baseline.to_dict(),
            "baseline_features": self.baseline_features,
            "quality": self.quality.to_dict(),
            "fairness": None if self.fairness is None else json.loads(self.fairness.to_json()),
            "proxies": None if self.proxies is None else json.loads(self.proxies.to_json()),
            "importance": None if self.importance is None else _frame_to_records(self.importance),
            "notes": self.notes,
            "auc_gain": None if self.auc_gain is None else self.auc_gain.to_dict(),
            "threshold_rates": (
                None if self.threshold_rates is None else _frame_to_records(self.threshold_rates)
            ),
            "decision_curve": (
                None if self.decision_curve is None else _frame_to_records(self.decision_curve)
            ),
            "threshold_choice": self.threshold_choice,
            "venn_abers": None if self.venn_abers is None else self.venn_abers.to_dict(),
            "interval_widths": (
                None if self.interval_widths is None else _frame_to_records(self.interval_widths)
            ),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        """Inverse of :meth:`to_dict`."""
        from riskmodels.fairness import FairnessAudit, ProxyScan
        from riskmodels.metrics import PerformanceReport

        d = dict(d)
        d.pop("schema_version", None)
        d["performance"] = PerformanceReport.from_dict(d["performance"])
        d["baseline"] = PerformanceReport.from_dict(d["baseline"])
        d["quality"] = DataQualityReport.from_dict(d["quality"])
        if d.get("fairness") is not None:
            d["fairness"] = FairnessAudit.from_json(json.dumps(d["fairness"]))
        if d.get("proxies") is not None:
            d["proxies"] = ProxyScan.from_json(json.dumps(d["proxies"]))
        if d.get("importance") is not None:
            d["importance"] = _frame_from_records(d["importance"])
        if d.get("venn_abers") is not None:
            from riskmodels.metrics import VennAbers

            d["venn_abers"] = VennAbers.from_dict(d["venn_abers"])
        for name in ("threshold_rates", "decision_curve", "interval_widths"):
            if d.get(name) is not None:
                d[name] = _frame_from_records(d[name])
        if d.get("auc_gain") is not None:
            from riskmodels.metrics import Estimate

            d["auc_gain"] = Estimate.from_dict(d["auc_gain"])
        return cls(**d)

    def to_json(self) -> str:
        """The evidence as JSON text (NaN as null); :meth:`save` writes it to a file."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Evidence:
        """Evidence from :meth:`to_json` text (read a file with :meth:`load`).

        Raises
        ------
        SchemaError
            ``text`` is not JSON (a file path, for example: use :meth:`load`).
        """
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as err:
            raise SchemaError(
                Problem(
                    "text",
                    f"not JSON text ({str(err)[:60]})",
                    "pass the text of evidence.to_json(); read a file with Evidence.load(path)",
                ),
                context="Invalid argument to Evidence.from_json",
            ) from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        from riskmodels._io import atomic_write_text

        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Evidence:
        """Evidence from a file written by :meth:`save`."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(fh.read())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Evidence) and self.to_dict() == other.to_dict()

    # ------------------------------------------------------------------ display
    def _repr_html_(self) -> str:
        s = self.summary()

        def fmt(v: float, lo: float, hi: float) -> str:
            if np.isnan(v):
                return "NaN"
            return f"{v:.3f} ({lo:.3f}&ndash;{hi:.3f})"

        rows = "".join(
            f"<tr><td>{r.metric}</td><td>{fmt(r.model, r.model_lo, r.model_hi)}</td>"
            f"<td>{fmt(r.baseline, r.baseline_lo, r.baseline_hi)}</td>"
            f"<td>{html.escape(r.status)}</td></tr>"
            for r in s.itertuples()
        )
        pct = round(self.confidence * 100)
        return (
            f"<div><h4>Evidence: {html.escape(self.model_name)} "
            f"(version {html.escape(self.model_version)})</h4>"
            f"<p>n = {self.n:,} ({self.n_events:,} events, {self.n_nonevents:,} "
            f"non-events); split: {html.escape(str(self.split.get('method')))}; "
            f"threshold {self.threshold:.3f}; {pct}% CIs (exact for rates, bootstrap "
            "otherwise) "
            f"({self.n_boot} replicates).</p>"
            f"<table><thead><tr><th>metric</th><th>model</th><th>baseline "
            f"({html.escape(', '.join(self.baseline_features))})</th><th>status</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></div>"
        )

    def plot_roc(self, ax: Any = None) -> Any:
        """ROC curves of the model and the baseline (scikit-learn ``RocCurveDisplay``).

        Returns the model's display; both curves are drawn on ``display.ax_``.
        """
        from sklearn.metrics import RocCurveDisplay

        # scikit-learn 1.7 renamed ``estimator_name`` to ``name`` (the old one is gone in
        # 1.9); the lowest version we support, 1.6, knows only the old one.
        params = inspect.signature(RocCurveDisplay).parameters
        name_arg = "name" if "name" in params else "estimator_name"
        shown = None
        for label, rep in ((self.model_name, self.performance), ("baseline", self.baseline)):
            disp = RocCurveDisplay(
                fpr=np.asarray(rep.roc["fpr"]),
                tpr=np.asarray(rep.roc["tpr"]),
                roc_auc=rep.metrics["auc"].value,
                **{name_arg: label},
            )
            disp.plot(ax=ax if shown is None else shown.ax_, plot_chance_level=shown is None)
            shown = shown or disp
        shown.ax_.set_title(f"ROC on held-out data (n = {self.n:,}, {self.n_events:,} events)")
        return shown

    def plot_calibration(self, ax: Any = None, strategy: str = "uniform") -> Any:
        """Reliability diagram of the model and the baseline (``CalibrationDisplay``).

        ``strategy`` is ``"uniform"`` (10 equal-width bins) or ``"quantile"`` (equal mass).
        """
        from sklearn.calibration import CalibrationDisplay

        shown = None
        for label, rep in ((self.model_name, self.performance), ("baseline", self.baseline)):
            bins = rep.reliability[strategy]
            keep = np.asarray(bins["count"]) > 0
            pred = np.asarray(bins["mean_predicted"], dtype=float)[keep]
            disp = CalibrationDisplay(
                prob_true=np.asarray(bins["observed_rate"])[keep],
                prob_pred=pred,
                y_prob=pred,
                estimator_name=label,
            )
            disp.plot(ax=ax if shown is None else shown.ax_, ref_line=shown is None)
            shown = shown or disp
        shown.ax_.set_title(f"Calibration on held-out data ({strategy} bins)")
        shown.ax_.set_xlabel("Mean predicted risk")
        shown.ax_.set_ylabel("Observed share with an incident")
        return shown


def _frame_to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in df.to_dict(orient="records")
    ]


def _frame_from_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records).fillna(np.nan).infer_objects()


def build_evidence(
    model: RiskModel,
    test: pd.DataFrame,
    *,
    threshold: float | None,
    n_boot: int,
    confidence: float,
    random_state: int | None,
    fairness: bool,
    explain: bool | int,
    split_method: str | None,
    progress: Step | None = None,
    reference: Any = "largest",
    thresholds: Any = (),
) -> Evidence:
    """Assemble :class:`Evidence` for a fitted model on labelled ``test`` data.

    ``progress`` (the step :meth:`RiskModel.assess` shows) is told each stage as it starts.
    """
    progress = progress or Step("")  # a step never shown: every call is a no-op
    from riskmodels.metrics import performance_report

    spec = model.spec
    progress.stage("checking the data")
    test = spec.validate(test, require_protected=fairness)
    quality = check_quality(test, spec, raise_on_serious=False)
    y = test[spec.target].astype(int).to_numpy()
    thr = model.threshold_ if threshold is None else float(threshold)
    if threshold is None:
        choice = {
            "method": "training_top_decile",
            "description": "the lowest training score that flags at most 10% of the training "
            "rows (the default)",
        }
    elif hasattr(threshold, "method") and hasattr(threshold, "to_dict"):
        choice = threshold.to_dict()  # a rm.thresholds.ThresholdChoice
    else:
        choice = {"method": "fixed", "description": f"set to {thr:g} by the analyst"}
    scores = model._predict_proba(test)
    kw = dict(threshold=thr, n_boot=n_boot, confidence=confidence, random_state=random_state)
    progress.stage(f"performance ({n_boot:,} bootstrap replicates)")
    perf = performance_report(y, scores, **kw)
    base_scores = model._baseline_proba(test)
    base = performance_report(y, base_scores, **kw)
    from riskmodels.metrics import Estimate
    from riskmodels.metrics._paired import delong_auc_gain

    auc_gain = Estimate(**delong_auc_gain(y, scores, base_scores, confidence=confidence))

    split = dict(test.attrs.get(SPLIT_ATTR, {}))
    if split_method is not None:
        split["method"] = split_method
    split.setdefault("method", "unknown")
    window = None
    if spec.time is not None:
        t = pd.to_datetime(test[spec.time])
        window = [str(t.min().date()), str(t.max().date())]
    notes = []
    if split["method"] == "temporal" and not split.get("gap_days"):
        notes.append(
            "The temporal split has no gap: training rows dated just before the test period "
            "have outcome windows that overlap it. Use rm.split(..., gap_days=<outcome "
            "window in days>) for a strict evaluation."
        )
    if split["method"] in ("unknown", "random"):
        notes.append(
            f"The test set was split {split['method']}ly, not by time or person: "
            "performance on future people may be lower."
        )

    from riskmodels.fairness import rates_at_thresholds

    # the extra thresholds reuse the scores: one count pass each, no refit, no SHAP
    cuts = [thr, *np.atleast_1d(np.asarray(thresholds, dtype=object)).tolist()]
    audited = fairness and bool(spec.protected)
    threshold_rates = rates_at_thresholds(
        y,
        scores,
        test[spec.protected_names] if audited else None,
        thresholds=cuts,
        confidence=confidence,
    )
    from riskmodels.metrics._net_benefit import DEFAULT_GRID, decision_curve

    grid = sorted({*DEFAULT_GRID, thr} if 0 < thr < 1 else set(DEFAULT_GRID))
    curve = decision_curve(
        y,
        scores,
        thresholds=grid,
        others={"baseline": base_scores},
        n_boot=n_boot,
        confidence=confidence,
        random_state=random_state,
    )
    from riskmodels.metrics import venn_abers

    # the per-person ranges come from these rows: later than training, never fitted on,
    # and the data the release is approved on
    ranges = venn_abers(scores, y, n_boot=n_boot, confidence=confidence, random_state=random_state)
    audit = proxies = importance = None
    if audited:
        from riskmodels.fairness import audit as fairness_audit
        from riskmodels.fairness import proxy_scan

        progress.stage(f"fairness audit ({n_boot:,} bootstrap replicates)")
        audit = fairness_audit(
            y,
            scores,
            test[spec.protected_names],
            threshold=thr,
            reference=reference,
            n_boot=n_boot,
            confidence=confidence,
            random_state=random_state,
        )
        progress.stage("proxy scan")
        proxies = proxy_scan(
            test,
            model.features_,
            test[spec.protected_names],
            random_state=0 if random_state is None else random_state,
        )
    if explain:
        from riskmodels.explain import explain as shap_explain

        n_rows = len(test) if explain is True else min(int(explain), len(test))
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(len(test), size=n_rows, replace=False))
        flagged = () if proxies is None else tuple(proxies.flagged_features)
        progress.stage(f"explaining {n_rows:,} rows")
        # A bar of its own only under a terminal display (never a notebook widget here).
        exps = shap_explain(
            model.base_estimator_,
            test,
            spec,
            rows=rows,
            proxies=flagged,
            progress="auto" if progress_active() else False,
        )
        importance = exps.global_importance(random_state=0)

    return Evidence(
        model_name=model.display_name,
        model_version=model.version_,
        estimator=model.estimator_name,
        calibration=model.calibration,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        split=split,
        evaluation_window=window,
        threshold=thr,
        n_boot=n_boot,
        confidence=confidence,
        performance=perf,
        baseline=base,
        baseline_features=list(model.baseline_features_),
        quality=quality,
        fairness=audit,
        proxies=proxies,
        importance=importance,
        notes=notes,
        auc_gain=auc_gain,
        threshold_rates=threshold_rates,
        decision_curve=curve,
        threshold_choice=choice,
        venn_abers=ranges,
        interval_widths=ranges.summary(scores, y),
    )
