"""One run per governed step of the command line, each linked to the step before.

``train`` and ``check`` are assessments (:func:`~riskmodels.tracking.log_assessment`,
tagged with the step and the candidate's content hash); ``approve``, ``register`` and
``score`` record what they decided. A step finds its parent by content, not by a file
beside the bundle: ``check`` continues the newest ``train`` run of the same candidate
(``riskmodels.candidate_sha256``), ``approve`` the newest ``check`` of it, and ``score``
the newest ``approve`` (else ``register``) run of the same release
(``riskmodels.release_id``). No personal data is logged: a score run holds counts,
hashes and the purpose, never the list.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmodels._io import atomic_write_bytes
from riskmodels.tracking._registry import RELEASE_TAG
from riskmodels.tracking._store import (
    DEFAULT_EXPERIMENT,
    STEP_TAG,
    client,
    find_run,
    quiet_mlflow,
    resolve_tracking_uri,
    write_run,
)

if TYPE_CHECKING:
    from riskmodels.release import Release
    from riskmodels.scoring import RiskList

__all__ = ["CANDIDATE_TAG", "STEP_TAG", "log_approval", "log_scoring", "parent_run"]

#: Tag naming the candidate a run is about (its content hash, as ``check`` records it).
CANDIDATE_TAG = "riskmodels.candidate_sha256"


def parent_run(
    steps: tuple[str, ...],
    tag: str,
    value: str,
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str | None:
    """The newest run of the first of ``steps`` that has one with ``tag`` = ``value``."""
    uri = resolve_tracking_uri(tracking_uri)
    with quiet_mlflow():
        return _first_run(client(uri), experiment, steps, tag, value)


def _first_run(
    mlflow_client: Any, experiment: str, steps: tuple[str, ...], tag: str, value: str
) -> str | None:
    for s in steps:
        found = find_run(mlflow_client, experiment, s, tag, value)
        if found is not None:
            return found
    return None


def _log(
    step: str,
    *,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    files: Mapping[str, bytes],
    parent: tuple[tuple[str, ...], str, str] | str | None,
    tracking_uri: str | None,
    experiment: str,
) -> str:
    """One step's run; ``parent`` is a run id, or (steps, tag, value) to look it up."""
    uri = resolve_tracking_uri(tracking_uri)
    with quiet_mlflow(), tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            atomic_write_bytes(Path(tmp) / name, data)
        mlflow_client = client(uri)
        return write_run(
            mlflow_client,
            experiment,
            uri,
            run_name=run_name,
            params=params,
            metrics=metrics,
            tags={STEP_TAG: step, **tags},
            artifacts=tmp if files else None,
            parent_run_id=(
                _first_run(mlflow_client, experiment, *parent)
                if isinstance(parent, tuple)
                else parent
            ),
        )


def log_approval(
    release: Release,
    candidate_sha256: str | None = None,
    *,
    parent_run_id: str | None = None,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str:
    """The ``approve`` step: who approved what, until when, with which waivers; the
    manifest (``release.json``) and gate report as artifacts. Continues ``parent_run_id``
    when given, else the newest ``check`` run of the candidate ``candidate_sha256``."""
    from riskmodels._version import __version__

    a = release.manifest["approval"]
    tags = {
        RELEASE_TAG: release.release_id,
        "riskmodels.version": __version__,
        "riskmodels.gates": release.gates.summary(),
    }
    if candidate_sha256 is not None:
        tags[CANDIDATE_TAG] = candidate_sha256
    return _log(
        "approve",
        run_name=f"approve {release.name} {release.version}",
        params={
            "model_name": release.name,
            "model_version": release.version,
            "reviewer": release.reviewer,
            "author": release.author,
            "valid_until": a["valid_until"],
            "approvals_required": a["approvals_required"],
            "environment": a["environment"],
            "waived_gates": ", ".join(sorted(release.waivers)) or "none",
        },
        metrics={"waivers": float(len(release.waivers))},
        tags=tags,
        files={
            "release.json": json.dumps(release.manifest, indent=1).encode("utf-8"),
            "gates.json": release.gates.to_json().encode("utf-8"),
        },
        parent=parent_run_id
        or (None if candidate_sha256 is None else (("check",), CANDIDATE_TAG, candidate_sha256)),
        tracking_uri=tracking_uri,
        experiment=experiment,
    )


def log_scoring(
    risk_list: RiskList,
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str:
    """The ``score`` step: purpose, release, counts, input and output hashes and the
    audit-log entry (never the list: it is personal data). Continues the newest
    ``approve`` run of the same release, else its ``register`` run."""
    from riskmodels._version import __version__

    m = risk_list.metadata
    return _log(
        "score",
        run_name=f"score {m['model_name']} {m['model_version']} for {m['purpose']}",
        params={
            "purpose": m["purpose"],
            "model_name": m["model_name"],
            "model_version": m["model_version"],
            "explained": m["explained"],
            "input": m["input"],
            "input_sha256": m["input_sha256"],
            "output_sha256": m["output_sha256"],
            "audit_entry": m["audit_entry"],
        },
        metrics={
            **{k: float(v) for k, v in m["counts"].items()},
            "drifted_features": float(len(m["drift_flagged"])),
        },
        tags={RELEASE_TAG: m["release_id"], "riskmodels.version": __version__},
        files={},
        parent=(("approve", "register"), RELEASE_TAG, m["release_id"]),
        tracking_uri=tracking_uri,
        experiment=experiment,
    )
