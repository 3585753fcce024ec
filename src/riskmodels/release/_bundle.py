"""Approval and release bundles: write once, verify every byte before loading anything."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from riskmodels._io import sha256_bytes, sha256_file
from riskmodels.errors import (
    GateFailed,
    NotFittedError,
    PolicyError,
    PolicyViolation,
    ReleaseError,
    RiskModelsError,
)
from riskmodels.policy import GateReport, Policy
from riskmodels.release._signing import (
    SIGNATURE_FILE,
    TRUST_STORE_ENV,
    load_private_key,
    sign_manifest,
    verify_signature,
)
from riskmodels.release._trusted import TRUSTED_TYPES, untrusted_types

__all__ = ["BUNDLE_FORMAT", "MANIFEST", "Release", "approve", "load_release"]

BUNDLE_FORMAT = "riskmodels.release/1"
#: The manifest: approval, purposes and the sha256 of every other file in the bundle.
MANIFEST = "release.json"
#: Files every bundle has, bound by their sha256 in the manifest.
REQUIRED_FILES = (
    "model.skops",
    "model.json",
    "spec.yaml",
    "policy.yaml",
    "evidence.json",
    "gates.json",
    "profile.json",
)
#: The model card, written in three forms when a card is given.
CARD_FILES = ("card.json", "card.md", "card.html")
_KNOWN_FILES = frozenset(REQUIRED_FILES + CARD_FILES)
#: Fitted RiskModel attributes that are plain data, stored in model.json.
_MODEL_STATE = (
    "version_",
    "features_",
    "baseline_features_",
    "threshold_",
    "training_sha256_",
    "n_train_",
    "n_train_events_",
    "training_window_",
    "fitted_at_",
    "fit_times_",
    "calibration_scheme_",
    "flag_share_",
)


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if not isinstance(now, dt.datetime):
        raise TypeError(f"now must be a datetime, got {type(now).__name__}")
    # a naive datetime is read as UTC: every timestamp in a bundle is UTC
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("riskmodels", "scikit-learn", "skops", "numpy", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


# ---------------------------------------------------------------------- model state
def _model_payload(model: Any) -> dict[str, Any]:
    # A plain dict of the fitted scikit-learn objects: skops serialises them without
    # pickle, and every other piece of state goes to JSON/YAML next to it.
    return {
        "estimator": model.estimator_,
        "base_estimator": model.base_estimator_,
        "baseline": model.baseline_,
        "estimator_param": model.estimator,
    }


def _model_state(model: Any) -> dict[str, Any]:
    state = {
        "name": model.name,
        "display_name": model.display_name,
        "estimator_name": model.estimator_name,
        "calibration": model.calibration,
        "random_state": model.random_state,
        "quality": model.quality_.to_dict() if getattr(model, "quality_", None) else None,
    }
    for attr in _MODEL_STATE:
        value = getattr(model, attr, None)
        state[attr] = list(value) if isinstance(value, tuple) else value
    return state


def _rebuild_model(payload: dict[str, Any], state: dict[str, Any], spec: Any, profile: Any) -> Any:
    """A fitted RiskModel from its bundle parts, without calling ``fit`` or ``__init__``."""
    from riskmodels.data._quality import DataQualityReport
    from riskmodels.modeling import RiskModel

    model = RiskModel.__new__(RiskModel)
    model.spec = spec
    model.estimator = payload["estimator_param"]
    model.calibration = state["calibration"]
    model.random_state = state["random_state"]
    model.name = state["name"]
    model.estimator_ = payload["estimator"]
    model.base_estimator_ = payload["base_estimator"]
    model.baseline_ = payload["baseline"]
    model.profile_ = profile
    model.quality_ = DataQualityReport.from_dict(state["quality"]) if state.get("quality") else None
    for attr in _MODEL_STATE:
        value = state.get(attr)
        if attr == "training_window_" and value is not None:
            value = tuple(value)
        setattr(model, attr, value)
    return model


def _skops_dumps(model: Any) -> bytes:
    import skops.io as sio

    data = sio.dumps(_model_payload(model))
    new = untrusted_types(data)
    if new:
        raise ReleaseError(
            f"The model contains types outside riskmodels' trusted list: {new}. A release "
            "loads models only with that fixed list (never pickle); use an estimator built "
            "from scikit-learn parts, or extend riskmodels.release.TRUSTED_TYPES in a reviewed "
            "code change.",
            reason="untrusted_type",
        )
    return data


# ---------------------------------------------------------------------- the Release
@dataclass(eq=False)
class Release:
    """A verified, approved release bundle loaded from disk (see :func:`load_release`).

    The model is rebuilt as a fitted :class:`~riskmodels.RiskModel` (``model``), whose
    fitted scikit-learn objects come from ``model.skops`` loaded with the project's fixed
    trusted types; its other state comes from ``model.json``, ``spec.yaml`` and
    ``profile.json``. Score people with ``riskmodels.score(release, frame, purpose=...)``.

    Attributes
    ----------
    path : Path
        The bundle directory.
    manifest : dict
        The parsed ``release.json``.
    release_id : str
        sha256 of ``release.json``: binds every file, the approval and the purposes.
    model, spec, policy, evidence, gates, profile
        The released model and what it was approved on.
    signed_by : str or None
        Trust-store name of the key whose signature was verified (None if not checked).
    notes : list of str
        E.g. a library version differing from the one the release was made with.
    """

    path: Path
    manifest: dict[str, Any]
    release_id: str
    model: Any
    spec: Any
    policy: Policy
    evidence: Any
    gates: GateReport
    profile: Any
    signed_by: str | None = None
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ shortcuts
    @property
    def name(self) -> str:
        """Model name."""
        return self.manifest["model"]["name"]

    @property
    def version(self) -> str:
        """Model version."""
        return self.manifest["model"]["version"]

    @property
    def threshold(self) -> float:
        """Flag threshold: a person is flagged iff score >= threshold (the threshold the
        approved evidence was computed at)."""
        return float(self.manifest["model"]["threshold"])

    @property
    def reviewer(self) -> str:
        return self.manifest["approval"]["reviewer"]

    @property
    def author(self) -> str:
        return self.manifest["approval"]["author"]

    @property
    def approved_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.manifest["approval"]["approved_at"])

    @property
    def valid_until(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.manifest["approval"]["valid_until"])

    @property
    def waivers(self) -> dict[str, str]:
        return dict(self.manifest["approval"]["waivers"])

    @property
    def card(self) -> dict[str, Any] | None:
        """Card reference: ``{"file": "card.md", "sha256": ..., "complete": ...}`` or None."""
        return self.manifest.get("card")

    @property
    def audit_log_path(self) -> Path:
        """Default audit log of scoring runs (``audit_log.jsonl`` in the bundle)."""
        return self.path / "audit_log.jsonl"

    # ------------------------------------------------------------------ checks
    def verify(
        self,
        *,
        now: dt.datetime | None = None,
        trust_store: str | os.PathLike[str] | None = None,
    ) -> None:
        """Re-check the bundle on disk: ``release.json`` unchanged since loading, every
        file's sha256, the signature (with a trust store, or ``$RISKMODELS_TRUST_STORE``)
        and the expiry.

        Raises
        ------
        ReleaseError
            ``reason`` ``"tampered"``, ``"unapproved"`` or ``"expired"``.
        """
        where = str(self.path)
        raw = _read(self.path, MANIFEST)
        if sha256_bytes(raw) != self.release_id:
            raise ReleaseError(
                f"{self.path / MANIFEST} has changed since this release was loaded",
                reason="tampered",
                path=where,
            )
        store = trust_store if trust_store is not None else os.environ.get(TRUST_STORE_ENV)
        if store:
            sig_path = self.path / SIGNATURE_FILE
            sig = sig_path.read_bytes() if sig_path.is_file() else None
            self.signed_by = verify_signature(raw, sig, store, where)
        _check_hashes(self.path, self.manifest, lambda name: sha256_file(self.path / name))
        _check_expiry(self.manifest, _utc(now), where)

    def __repr__(self) -> str:
        return (
            f"Release({self.name!r} version {self.version}, approved by {self.reviewer} on "
            f"{self.approved_at.date()}, valid until {self.valid_until.date()}, "
            f"path={str(self.path)!r})"
        )

    def _repr_html_(self) -> str:
        a = self.manifest["approval"]
        waivers = "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
            for k, v in a["waivers"].items()
        )
        return (
            f"<div><h4>Release {html.escape(self.name)} (version {html.escape(self.version)})"
            f"</h4><p>Approved by {html.escape(a['reviewer'])} (author "
            f"{html.escape(a['author'])}) on {html.escape(a['approved_at'])}; valid until "
            f"{html.escape(a['valid_until'])}. Decision support only. Permitted purposes: "
            f"{html.escape(', '.join(self.manifest['purposes']['permitted']))}. Must not be "
            f"used for: {html.escape(', '.join(self.manifest['purposes']['prohibited']))}.</p>"
            + (f"<p>Waivers:</p><ul>{waivers}</ul>" if waivers else "")
            + "</div>"
        )


# ---------------------------------------------------------------------- approve
def _check_people(reviewer: Any, author: Any) -> tuple[str, str]:
    for role, who in (("reviewer", reviewer), ("author", author)):
        if not isinstance(who, str) or not who.strip():
            raise PolicyViolation(
                f"Approval needs a named {role}; got {who!r}. Name the person who is accountable."
            )
    if reviewer.strip().casefold() == author.strip().casefold():
        raise PolicyViolation(
            f"The reviewer ({reviewer!r}) must not be the model's author: approval is an "
            "independent review. Ask someone else with the authority to refuse it."
        )
    return reviewer.strip(), author.strip()


def _validity_days(valid_for_days: int | None, policy: Policy) -> int:
    cap = policy.validity.max_days
    if valid_for_days is None:
        return cap
    if (
        isinstance(valid_for_days, bool)
        or not isinstance(valid_for_days, int)
        or valid_for_days < 1
    ):
        raise PolicyError(
            f"valid_for_days must be a whole number of days >= 1, got {valid_for_days!r}",
            key="valid_for_days",
        )
    return min(valid_for_days, cap)


def _card_texts(card: Any) -> dict[str, bytes]:
    if card is None:
        return {}
    texts = {
        "card.json": card.to_json(),
        "card.md": card.to_markdown(),
        "card.html": card.to_html(),
    }
    return {k: v.encode("utf-8") if isinstance(v, str) else bytes(v) for k, v in texts.items()}


def approve(
    model: Any,
    evidence: Any,
    card: Any,
    policy: Policy,
    *,
    reviewer: str,
    author: str,
    out: str | os.PathLike[str],
    waivers: dict[str, str] | None = None,
    valid_for_days: int | None = None,
    now: dt.datetime | None = None,
    signing_key: Any = None,
) -> Release:
    """Check the policy gates and, if they pass or are waived, write a release bundle.

    The bundle directory holds ``model.skops`` (the fitted scikit-learn objects, skops),
    ``model.json`` (the rest of the model's state), ``spec.yaml``, ``policy.yaml``,
    ``evidence.json``, ``gates.json``, ``profile.json``, the card (``card.json``,
    ``card.md``, ``card.html`` when a card is given) and ``release.json``: the sha256 of
    every other file, reviewer, author, timestamps, validity, waivers, model name and
    version and the permitted and prohibited purposes. It is built in a temporary
    directory next to ``out`` and renamed into place, so a refusal or failure writes
    nothing.

    Parameters
    ----------
    model : RiskModel
        The fitted model.
    evidence : Evidence
        ``model.assess(test)``: it must be about this model and version.
    card : object or None
        A model card with ``to_json()``, ``to_markdown()``, ``to_html()`` and ``complete``;
        ``None`` writes no card and leaves ``documentation.card`` insufficient_evidence.
    policy : Policy
    reviewer, author : str
        Named people; the reviewer must not be the author.
    out : path
        The bundle directory to create; it must not exist.
    waivers : dict, optional
        ``{gate name: written reason}`` for each gate that does not pass (``warn`` gates
        need one too). Gates in ``NON_WAIVABLE`` cannot be waived.
    valid_for_days : int, optional
        Validity; capped at the policy's ``validity.max_days`` (the default).
    now : datetime, optional
        Approval time (UTC); for reproducible tests.
    signing_key : Ed25519PrivateKey or path, optional
        The reviewer's private key; signs ``release.json`` into ``release.sig`` so sites
        with a trust store can verify the approval.

    Returns
    -------
    Release
        The bundle, re-loaded from disk and verified.

    Raises
    ------
    PolicyViolation
        No reviewer or author, or the reviewer is the author.
    PolicyError
        A waiver without a written reason, for an unknown or passing gate, or for a gate
        that cannot be waived; an invalid ``valid_for_days``.
    GateFailed
        A gate is ``fail``, ``insufficient_evidence`` or ``warn`` and not waived
        (``err.report`` is the GateReport).
    ReleaseError
        ``out`` exists (``reason="exists"``), or the model holds a type outside the
        trusted list (``reason="untrusted_type"``).
    NotFittedError
        The model is not fitted.

    Examples
    --------
    >>> import tempfile
    >>> import riskmodels as rm
    >>> from riskmodels.policy import Policy
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
    >>> policy = Policy.default()
    >>> out = tempfile.mkdtemp() + "/release"
    >>> approve(model, evidence, None, policy, reviewer="Ann", author="Ann", out=out)
    Traceback (most recent call last):
    ...
    riskmodels.errors.PolicyViolation: The reviewer ('Ann') must not be the model's author...
    >>> approve(model, evidence, None, policy, reviewer="Bo", author="Ann", out=out)
    Traceback (most recent call last):
    ...
    riskmodels.errors.GateFailed: Release refused: ... gate(s) neither pass nor are waived:
    ...
    >>> waivers = {g.name: "documentation example, not a real approval"
    ...            for g in policy.check(evidence, model=model) if g.status != "pass"}
    >>> release = approve(model, evidence, None, policy, reviewer="Bo", author="Ann",
    ...                   waivers=waivers, out=out)
    >>> release.reviewer, release.manifest["approval"]["valid_for_days"]
    ('Bo', 180)
    """
    if not hasattr(model, "estimator_"):
        raise NotFittedError("approve() needs a fitted model; call model.fit(train) first.")
    reviewer, author = _check_people(reviewer, author)
    if not isinstance(policy, Policy):
        raise PolicyError(
            f"policy must be a riskmodels Policy, got {type(policy).__name__}; load one with "
            "Policy.from_yaml",
            key="<policy>",
        )
    out = Path(out)
    if out.exists():
        raise ReleaseError(
            f"{out} already exists; an approved release is never overwritten. Choose a new "
            "directory (e.g. with the next version number).",
            reason="exists",
            path=str(out),
        )
    now = _utc(now)
    report = policy.check(evidence, card=card, model=model)
    waived = report.check_waivers(waivers)
    blocking = report.blocking(waived)
    if blocking:
        lines = [
            f"  - {g.name}: {g.status} (value {g.value:.4g}, bound {g.bound}) - {g.reason}"
            for g in blocking
        ]
        raise GateFailed(
            f"Release refused: {len(blocking)} gate(s) neither pass nor are waived:\n"
            + "\n".join(lines)
            + "\nImprove the model or the evidence, or have the reviewer waive a gate with a "
            "written reason: approve(..., waivers={'gate.name': 'why it is acceptable'}).",
            report=report,
        )
    days = _validity_days(valid_for_days, policy)
    key = load_private_key(signing_key) if signing_key is not None else None

    files: dict[str, bytes] = {
        "model.skops": _skops_dumps(model),
        "model.json": json.dumps(_model_state(model), indent=1, allow_nan=False).encode(),
        "spec.yaml": model.spec.to_yaml().encode("utf-8"),
        "policy.yaml": policy.to_yaml().encode("utf-8"),
        "evidence.json": evidence.to_json().encode("utf-8"),
        "gates.json": report.to_json().encode("utf-8"),
        "profile.json": json.dumps(model.profile_.to_dict(), indent=1).encode("utf-8"),
        **_card_texts(card),
    }
    hashes = {name: sha256_bytes(data) for name, data in files.items()}
    manifest = {
        "format": BUNDLE_FORMAT,
        "model": {
            "name": model.display_name,
            "version": model.version_,
            "estimator": model.estimator_name,
            "calibration": model.calibration,
            "threshold": float(evidence.threshold),
            "features": list(model.features_),
        },
        "approval": {
            "decision_support_only": True,
            "reviewer": reviewer,
            "author": author,
            "approved_at": _iso(now),
            "valid_from": _iso(now),
            "valid_until": _iso(now + dt.timedelta(days=days)),
            "valid_for_days": days,
            "waivers": waived,
            "gates": report.summary(),
            "signed": key is not None,
        },
        "purposes": {
            "permitted": list(policy.permitted_purposes),
            "prohibited": list(policy.prohibited_purposes),
        },
        "policy": {"name": policy.name, "version": policy.version, "sha256": policy.sha256},
        "card": (
            {"file": "card.md", "sha256": hashes["card.md"], "complete": bool(card.complete)}
            if card is not None
            else None
        ),
        "evidence": {
            "created_at": evidence.created_at,
            "n": int(evidence.n),
            "n_events": int(evidence.n_events),
            "split": evidence.split.get("method"),
        },
        "training": {
            "sha256": model.training_sha256_,
            "window": list(model.training_window_) if model.training_window_ else None,
            "n": int(model.n_train_),
        },
        "environment": _versions(),
        "files": hashes,
    }
    manifest_bytes = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")
    if key is not None:
        files[SIGNATURE_FILE] = sign_manifest(manifest_bytes, key, reviewer)
    files[MANIFEST] = manifest_bytes
    _write_bundle(out, files)
    return load_release(out, now=now)


def _write_bundle(out: Path, files: dict[str, bytes]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a bundle is read by scoring sites
        if out.exists():  # created while we were writing: still never overwrite
            raise ReleaseError(
                f"{out} appeared while the release was being written; not overwritten",
                reason="exists",
                path=str(out),
            )
        os.rename(tmp, out)
        _fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform (e.g. Windows): the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- load and verify
def _read(path: Path, name: str) -> bytes:
    try:
        return (path / name).read_bytes()
    except FileNotFoundError:
        raise ReleaseError(
            f"Release {path} is missing {name}: the bundle was changed after approval",
            reason="tampered",
            path=str(path),
        ) from None
    except OSError as err:
        raise ReleaseError(
            f"Cannot read {path / name}: {err.strerror}", reason="unreadable", path=str(path)
        ) from None


def _check_hashes(path: Path, manifest: dict[str, Any], digest: Any) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ReleaseError(f"{path / MANIFEST} lists no files", reason="tampered", path=str(path))
    names = set(files)
    unknown = sorted(names - _KNOWN_FILES)
    missing = sorted(set(REQUIRED_FILES) - names)
    cards = names & set(CARD_FILES)
    if unknown or missing or cards not in (set(), set(CARD_FILES)):
        raise ReleaseError(
            f"{path / MANIFEST} does not list the bundle's files correctly (unknown: {unknown}, "
            f"missing: {missing})",
            reason="tampered",
            path=str(path),
        )
    changed = []
    for name in sorted(names):
        try:
            actual = digest(name)
        except FileNotFoundError:
            actual = "missing"
        if actual != files[name]:
            changed.append(name)
    if changed:
        raise ReleaseError(
            f"Release {path} has been changed since it was approved: {changed} "
            "do not match the sha256 recorded in release.json. It will not score; restore "
            "the approved bundle or approve a new release.",
            reason="tampered",
            path=str(path),
        )


def _check_approval(path: Path, manifest: dict[str, Any], gates: GateReport) -> None:
    a = manifest.get("approval")
    problems = []
    if not isinstance(a, dict):
        problems.append("no approval record")
    else:
        if a.get("decision_support_only") is not True:
            problems.append("not marked decision support only")
        reviewer, author = a.get("reviewer"), a.get("author")
        if not (isinstance(reviewer, str) and reviewer.strip()):
            problems.append("no named reviewer")
        if not (isinstance(author, str) and author.strip()):
            problems.append("no named author")
        if (
            isinstance(reviewer, str)
            and isinstance(author, str)
            and reviewer.strip().casefold() == author.strip().casefold()
        ):
            problems.append("the reviewer is the author")
        try:
            start = dt.datetime.fromisoformat(a["approved_at"])
            end = dt.datetime.fromisoformat(a["valid_until"])
            if end <= start:
                problems.append("valid_until is not after approved_at")
        except (KeyError, TypeError, ValueError):
            problems.append("approval timestamps missing or malformed")
        try:
            blocking = gates.blocking(a.get("waivers") or {})
        except PolicyError as err:
            problems.append(f"invalid waiver ({err})")
        else:
            if blocking:
                problems.append(f"gates neither passed nor waived: {[g.name for g in blocking]}")
    if problems:
        raise ReleaseError(
            f"Release {path} is not validly approved: {'; '.join(problems)}",
            reason="unapproved",
            path=str(path),
        )


def _check_expiry(manifest: dict[str, Any], now: dt.datetime, where: str) -> None:
    until = dt.datetime.fromisoformat(manifest["approval"]["valid_until"])
    since = dt.datetime.fromisoformat(manifest["approval"]["valid_from"])
    if now < since:
        # a clock set before the approval must not make an old release look fresh
        raise ReleaseError(
            f"Release {where} is valid from {_iso(since)}, after the time given ({_iso(now)}); "
            "check the clock.",
            reason="expired",
            path=where,
        )
    if now >= until:
        raise ReleaseError(
            f"Release {where} expired on {_iso(until)} (now {_iso(now)}). Re-validate the model "
            "on recent data and approve a new release.",
            reason="expired",
            path=where,
        )


def load_release(
    path: str | os.PathLike[str],
    *,
    now: dt.datetime | None = None,
    trust_store: str | os.PathLike[str] | None = None,
) -> Release:
    """Verify a release bundle and load it.

    In order, before anything is deserialised: the manifest is read; if a trust store is
    given (or named by the ``RISKMODELS_TRUST_STORE`` environment variable) its Ed25519
    signature must verify against a key in it; the sha256 of every file must match the
    manifest; the approval record must be complete (named reviewer other than the author,
    every non-passing gate waived with a reason); the release must not have expired.
    Only then are the files parsed and the model loaded with ``skops.io.load`` and the
    project's fixed ``TRUSTED_TYPES`` (never pickle, never a trust list from the bundle).

    Parameters
    ----------
    path : path
        The bundle directory.
    now : datetime, optional
        The time to check expiry against (default: now, UTC).
    trust_store : path, optional
        Directory of trusted reviewers' public keys (PEM).

    Returns
    -------
    Release

    Raises
    ------
    ReleaseError
        ``reason`` is ``"tampered"`` (a file changed, missing or unlisted, or a bad
        signature), ``"unapproved"`` (approval record incomplete, unsigned or signed by an
        untrusted key when a trust store is required), ``"expired"``,
        ``"untrusted_type"`` or ``"unreadable"``.
    """
    path = Path(path)
    where = str(path)
    if not (path / MANIFEST).is_file():
        raise ReleaseError(
            f"{path} is not a release bundle (no {MANIFEST})", reason="unreadable", path=where
        )
    raw_manifest = _read(path, MANIFEST)
    try:
        manifest = json.loads(raw_manifest)
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except ValueError as err:
        raise ReleaseError(
            f"{path / MANIFEST} is not valid JSON ({err})", reason="tampered", path=where
        ) from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise ReleaseError(
            f"{path} has format {manifest.get('format')!r}, expected {BUNDLE_FORMAT!r}",
            reason="unreadable",
            path=where,
        )
    store = trust_store if trust_store is not None else os.environ.get(TRUST_STORE_ENV)
    signed_by = None
    if store:
        sig = (path / SIGNATURE_FILE).read_bytes() if (path / SIGNATURE_FILE).is_file() else None
        signed_by = verify_signature(raw_manifest, sig, store, where)

    # Read each file once; hash and parse the same bytes (no check-then-use race).
    blobs: dict[str, bytes] = {}

    def digest(name: str) -> str:
        if name not in _KNOWN_FILES:
            raise ReleaseError(f"unexpected file {name!r}", reason="tampered", path=where)
        blobs[name] = _read(path, name)
        return sha256_bytes(blobs[name])

    _check_hashes(path, manifest, digest)
    try:
        gates = GateReport.from_json(blobs["gates.json"].decode("utf-8"))
    except (ValueError, KeyError, TypeError) as err:
        raise ReleaseError(
            f"gates.json of {path} cannot be read ({err})", reason="unreadable", path=where
        ) from None
    _check_approval(path, manifest, gates)
    _check_expiry(manifest, _utc(now), where)
    return _deserialise(path, manifest, blobs, sha256_bytes(raw_manifest), signed_by)


def _deserialise(
    path: Path,
    manifest: dict[str, Any],
    blobs: dict[str, bytes],
    release_id: str,
    signed_by: str | None,
) -> Release:
    import skops.io as sio

    from riskmodels.data import DatasetSpec, TrainingProfile
    from riskmodels.modeling import Evidence

    where = str(path)
    new = untrusted_types(blobs["model.skops"])
    if new:
        raise ReleaseError(
            f"model.skops of {path} needs types outside riskmodels' trusted list: {new}; "
            "it will not be loaded",
            reason="untrusted_type",
            path=where,
        )
    try:
        text = {n: blobs[n].decode("utf-8") for n in blobs if n != "model.skops"}
        policy = Policy.from_text(text["policy.yaml"])
        spec = DatasetSpec.from_dict(_yaml(text["spec.yaml"]))
        profile = TrainingProfile.from_dict(json.loads(text["profile.json"]))
        state = json.loads(text["model.json"])
        evidence = Evidence.from_json(text["evidence.json"])
        gates = GateReport.from_json(text["gates.json"])
        payload = sio.loads(blobs["model.skops"], trusted=list(TRUSTED_TYPES))
    except (RiskModelsError, ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise ReleaseError(
            f"Release {path} cannot be read ({type(err).__name__}: {err})",
            reason="unreadable",
            path=where,
        ) from None
    model = _rebuild_model(payload, state, spec, profile)
    if not (state.get("version_") == manifest["model"]["version"] == evidence.model_version):
        raise ReleaseError(
            f"Release {path}: model.json, release.json and evidence.json name different model "
            "versions",
            reason="tampered",
            path=where,
        )
    notes = []
    made_with = manifest.get("environment", {})
    here = _versions()
    for pkg in ("scikit-learn", "skops", "numpy"):
        if made_with.get(pkg) not in (None, here.get(pkg)):
            notes.append(
                f"released with {pkg} {made_with[pkg]}, loaded with {here[pkg]}: scores may "
                "differ in the last digits from those the release was validated with"
            )
    return Release(
        path=path,
        manifest=manifest,
        release_id=release_id,
        model=model,
        spec=spec,
        policy=policy,
        evidence=evidence,
        gates=gates,
        profile=profile,
        signed_by=signed_by,
        notes=notes,
    )


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)
