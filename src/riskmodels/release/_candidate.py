"""Candidate bundles: a fitted model and its evidence on disk, before approval.

The CLI needs to carry a model from ``train`` to ``check`` and ``approve`` across
processes. A candidate is written and read the way a release is (skops with the fixed
trusted types, sha256 of every file checked before anything is deserialised), but it
carries no approval and :func:`riskmodels.score` never accepts it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from riskmodels._io import sha256_bytes
from riskmodels.errors import ReleaseError
from riskmodels.modeling._persist import model_state, rebuild_model
from riskmodels.release._bundle import (
    MAX_FILE_BYTES,
    MAX_MODEL_BYTES,
    _listing,
    _read_capped,
    _skops_dumps,
    _write_bundle,
    _yaml,
)
from riskmodels.release._trusted import TRUSTED_TYPES, untrusted_types

__all__ = ["CANDIDATE_FORMAT", "candidate_id", "load_candidate", "save_candidate"]

CANDIDATE_FORMAT = "riskmodels.candidate/1"
_MANIFEST = "candidate.json"
_FILES = ("model.skops", "model.json", "spec.yaml", "profile.json", "evidence.json")


def save_candidate(model: Any, evidence: Any, out: str | os.PathLike[str]) -> Path:
    """Write a fitted model and its evidence to a new directory ``out`` (atomically).

    Raises
    ------
    ReleaseError
        ``out`` exists (``reason="exists"``) or the model holds untrusted types.
    """
    out = Path(out)
    if out.exists():
        raise ReleaseError(
            f"{out} already exists; choose a new directory", reason="exists", path=str(out)
        )
    files = {
        "model.skops": _skops_dumps(model),
        "model.json": json.dumps(model_state(model), indent=1, allow_nan=False).encode(),
        "spec.yaml": model.spec.to_yaml().encode("utf-8"),
        "profile.json": json.dumps(model.profile_.to_dict(), indent=1).encode("utf-8"),
        "evidence.json": evidence.to_json().encode("utf-8"),
    }
    manifest = {
        "format": CANDIDATE_FORMAT,
        "approved": False,
        "model": {"name": model.display_name, "version": model.version_},
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {name: sha256_bytes(data) for name, data in files.items()},
    }
    files[_MANIFEST] = json.dumps(manifest, indent=1).encode("utf-8")
    _write_bundle(out, files)
    return out


def candidate_id(path: str | os.PathLike[str]) -> str:
    """The candidate's content hash: sha256 of ``candidate.json``, which binds every file.

    ``riskmodels check`` prints and records it; ``riskmodels approve`` refuses a candidate
    whose content hash differs from the one that was checked.
    """
    return sha256_bytes(_read_capped(Path(path), _MANIFEST, MAX_FILE_BYTES))


def load_candidate(path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """Verify and load a candidate written by :func:`save_candidate`.

    Returns
    -------
    (RiskModel, Evidence)

    Raises
    ------
    ReleaseError
        Not a candidate, a file changed since it was written (``"tampered"``), or the
        model needs untrusted types.
    """
    import skops.io as sio

    from riskmodels.data import DatasetSpec, TrainingProfile
    from riskmodels.modeling import Evidence

    path = Path(path)
    where = str(path)
    try:
        present = set(_listing(path))
        manifest = json.loads(_read_capped(path, _MANIFEST, MAX_FILE_BYTES))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ReleaseError, ValueError):
        raise ReleaseError(
            f"{path} is not a candidate bundle (no readable {_MANIFEST})",
            reason="unreadable",
            path=where,
        ) from None
    if manifest.get("format") != CANDIDATE_FORMAT:
        raise ReleaseError(
            f"{path} has format {manifest.get('format')!r}", reason="unreadable", path=where
        )
    extra = sorted(present - {*_FILES, _MANIFEST})
    if extra:
        raise ReleaseError(
            f"{path} holds files the candidate does not list: {extra}",
            reason="tampered",
            path=where,
        )
    blobs = {}
    for name in _FILES:
        cap = MAX_MODEL_BYTES if name == "model.skops" else MAX_FILE_BYTES
        blobs[name] = _read_capped(path, name, cap)
        files = manifest.get("files")
        if not isinstance(files, dict) or sha256_bytes(blobs[name]) != files.get(name):
            raise ReleaseError(
                f"{path / name} changed after the candidate was written",
                reason="tampered",
                path=where,
            )
    new = untrusted_types(blobs["model.skops"])
    if new:
        raise ReleaseError(
            f"model.skops needs untrusted types {new}", reason="untrusted_type", path=where
        )
    try:
        spec = DatasetSpec.from_dict(_yaml(blobs["spec.yaml"].decode("utf-8")))
        profile = TrainingProfile.from_dict(json.loads(blobs["profile.json"]))
        state = json.loads(blobs["model.json"])
        evidence = Evidence.from_json(blobs["evidence.json"].decode("utf-8"))
        payload = sio.loads(blobs["model.skops"], trusted=list(TRUSTED_TYPES))
        model = rebuild_model(payload, state, spec, profile)
    except Exception as err:  # any library's own failure on a malformed file
        raise ReleaseError(
            f"Candidate {path} cannot be read ({type(err).__name__}: {err})",
            reason="unreadable",
            path=where,
        ) from None
    return model, evidence
