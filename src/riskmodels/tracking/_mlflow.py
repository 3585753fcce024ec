"""Log a model's assessment to MLflow (embedded SQLite store by default)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmodels._io import atomic_write_text, sha256_bytes
from riskmodels._progress import step
from riskmodels.tracking._store import (
    DEFAULT_EXPERIMENT,
    DEFAULT_TRACKING_URI,
    STEP_TAG,
    client,
    merge_tags,
    metric_key,
    quiet_mlflow,
    resolve_tracking_uri,
    write_run,
)

if TYPE_CHECKING:
    from riskmodels.modeling import Evidence, RiskModel
    from riskmodels.policy import GateReport, Policy

__all__ = ["DEFAULT_TRACKING_URI", "FAIRNESS_METRICS", "log_assessment"]

#: Per-group fairness metrics logged as ``fairness/<attribute>/<group>/<metric>`` (with
#: ``_lo`` and ``_hi``); every other group metric is in ``fairness/by_group.csv``.
FAIRNESS_METRICS = ("selection_rate", "tpr", "fpr", "fnr", "ppv", "auc", "oe_ratio")


def _performance_metrics(evidence: Evidence) -> dict[str, float]:
    out: dict[str, float] = {}
    for prefix, report in (("", evidence.performance), ("baseline_", evidence.baseline)):
        for name, est in report.metrics.items():
            for suffix, v in (("", est.value), ("_lo", est.lo), ("_hi", est.hi)):
                out[f"{prefix}{name}{suffix}"] = float(v)
    return out


def _fairness_metrics(evidence: Evidence) -> dict[str, float]:
    """``fairness/<attribute>/<group>/<metric>`` and its CI bounds, for every group."""
    if evidence.fairness is None:
        return {}
    out: dict[str, float] = {}
    for row in evidence.fairness.by_group.to_dict("records"):
        for m in FAIRNESS_METRICS:
            for suffix in ("", "_lo", "_hi"):
                key = metric_key("fairness", row["attribute"], row["group"], m + suffix)
                out[key] = float(row[f"{m}{suffix}"])
        out[metric_key("fairness", row["attribute"], row["group"], "n")] = float(row["n"])
    return out


def _params(model: RiskModel, evidence: Evidence, spec_yaml: str) -> dict[str, Any]:
    return {
        "estimator": model.estimator_name,
        "calibration": str(model.calibration),
        "calibration_scheme": getattr(model, "calibration_scheme_", ""),
        "features": ",".join(model.features_),
        "baseline_features": ",".join(model.baseline_features_),
        "n_train": model.n_train_,
        "training_sha256": model.training_sha256_,
        "spec_name": model.spec.name,
        "spec_sha256": sha256_bytes(spec_yaml.encode("utf-8")),
        "split_method": evidence.split.get("method", "unknown"),
        "split_cutoff": evidence.split.get("cutoff", ""),
        "split_gap_days": evidence.split.get("gap_days", ""),
        "threshold": evidence.threshold,
        "n_boot": evidence.n_boot,
        "n_test": evidence.n,
        "n_test_events": evidence.n_events,
    }


def _tags(model: RiskModel, gate: GateReport | None) -> dict[str, str]:
    from riskmodels._version import __version__

    tags = {
        STEP_TAG: "assess",
        "riskmodels.version": __version__,
        "riskmodels.model_name": model.display_name,
        "riskmodels.model_version": model.version_,
        "riskmodels.training_sha256": model.training_sha256_,
        "riskmodels.decision_support_only": "true",
    }
    if gate is not None:
        tags["riskmodels.gates"] = gate.summary()
        tags["riskmodels.policy"] = f"{gate.policy_name} {gate.policy_version}"
        tags.update({f"riskmodels.gate.{g.name}": g.status for g in gate})
    return tags


def _write_artifacts(
    folder: Path,
    evidence: Evidence,
    spec_yaml: str,
    card: Any,
    gate: GateReport | None,
    policy: Policy | None,
) -> None:
    """Everything a reviewer opens from the run: evidence, spec, fairness tables, and the
    card, gate report and policy when given."""
    atomic_write_text(folder / "evidence.json", evidence.to_json())
    atomic_write_text(folder / "spec.yaml", spec_yaml)
    if evidence.fairness is not None:
        audit = evidence.fairness
        atomic_write_text(folder / "fairness" / "by_group.csv", audit.by_group.to_csv(index=False))
        atomic_write_text(folder / "fairness" / "long.csv", audit.to_frame().to_csv(index=False))
        atomic_write_text(
            folder / "fairness" / "disparities.csv", audit.disparities.to_csv(index=False)
        )
    if card is not None:
        card.save(folder / "card")  # Markdown, HTML, JSON, ATRS record and figures
    if gate is not None:
        atomic_write_text(folder / "gates" / "gates.json", gate.to_json())
        atomic_write_text(folder / "gates" / "gates.md", gate.to_markdown())
    if policy is not None:
        atomic_write_text(folder / "policy.yaml", policy.to_yaml())


def log_assessment(
    model: RiskModel,
    evidence: Evidence,
    card: Any = None,
    gate: GateReport | None = None,
    *,
    policy: Policy | None = None,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> str:
    """Record a fitted model's evidence (and card, gate report, policy) as one MLflow run.

    Nothing global changes: the run is written through a client bound to the store, so
    the caller's tracking URI, active experiment and active run stay as they were. The
    model itself is not logged with MLflow's sklearn flavour: that flavour trusts the
    skops type list stored next to the model, and riskmodels loads models only with its
    own list (the release bundle is the model's home; see :func:`register`).

    The run holds:

    * params: estimator, calibration, features, training sha256, spec name and sha256,
      split (method, cutoff, gap), threshold, bootstrap replicates, test size;
    * metrics: each performance metric of the model and of the baseline (``baseline_``)
      with its CI (``_lo``, ``_hi``); per group ``fairness/<attribute>/<group>/<metric>``
      for :data:`FAIRNESS_METRICS` with CIs, and the group's ``n``. Undefined (NaN)
      estimates are left out: their status is in ``evidence.json``;
    * artifacts: ``evidence.json``, ``spec.yaml``, ``fairness/by_group.csv``,
      ``fairness/long.csv``, ``fairness/disparities.csv``; with a card, ``card/`` (every
      format, figures); with a gate report, ``gates/gates.json`` and ``gates/gates.md``;
      with a policy, ``policy.yaml``;
    * tags: ``riskmodels.version``, model name and version, training data sha256,
      ``riskmodels.step`` (``assess`` unless ``tags`` says otherwise) and, with a gate
      report, the summary and each gate's status (``riskmodels.gate.<name>``).

    Parameters
    ----------
    model : RiskModel
        A fitted model.
    evidence : Evidence
        From ``model.assess``.
    card : ModelCard, optional
        Saved under ``card/`` in every format.
    gate : GateReport, optional
        From ``policy.check``.
    policy : Policy, optional
        The policy the gates were checked against, saved as ``policy.yaml``.
    tracking_uri : str, optional
        Defaults to ``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///mlflow.db`` in the
        working folder (artifacts in ``mlartifacts/`` beside a SQLite database).
    experiment : str, default "riskmodels"
        Created if it does not exist.
    run_name : str, optional
        Defaults to the model's name and version.
    tags : dict, optional
        More tags (e.g. the step a command records).
    parent_run_id : str, optional
        The earlier run this one continues (tag ``riskmodels.parent_run_id``, and MLflow's
        ``mlflow.parentRunId`` so the UI nests it).

    Returns
    -------
    str
        The MLflow run id (cards can cite it).

    Examples
    --------
    >>> import tempfile, mlflow  # doctest: +SKIP
    >>> uri = f"sqlite:///{tempfile.mkdtemp()}/mlflow.db"  # doctest: +SKIP
    >>> run_id = log_assessment(model, evidence, tracking_uri=uri)  # doctest: +SKIP
    >>> mlflow.MlflowClient(uri).get_run(run_id).data.metrics["auc_lo"]  # doctest: +SKIP
    0.71...

    (Skipped in the doctests: creating an MLflow store takes seconds;
    ``tests/tracking/test_tracking.py`` runs this against a real store.)
    """
    uri = resolve_tracking_uri(tracking_uri)
    spec_yaml = model.spec.to_yaml()
    with step("Logging to MLflow") as progress:
        progress.stage("starting MLflow")
        # imports mlflow (a second or more): only runs that log pay for it
        with quiet_mlflow(), tempfile.TemporaryDirectory() as tmp:
            mlflow_client = client(uri)
            progress.stage("recording the run")
            _write_artifacts(Path(tmp), evidence, spec_yaml, card, gate, policy)
            return write_run(
                mlflow_client,
                experiment,
                uri,
                run_name=run_name or f"{model.display_name}-{model.version_}",
                params=_params(model, evidence, spec_yaml),
                metrics={**_performance_metrics(evidence), **_fairness_metrics(evidence)},
                tags=merge_tags(_tags(model, gate), tags),
                artifacts=tmp,
                parent_run_id=parent_run_id,
            )
