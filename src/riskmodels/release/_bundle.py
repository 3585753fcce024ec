"""Approval and release bundles: write once, verify every byte before loading anything."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import platform
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from riskmodels import _clock
from riskmodels._io import atomic_write_bytes, sha256_bytes
from riskmodels.errors import (
    GateFailed,
    NotFittedError,
    PolicyError,
    PolicyViolation,
    ReleaseError,
)
from riskmodels.modeling._persist import model_payload, model_state, rebuild_model
from riskmodels.policy import GateReport, Policy
from riskmodels.policy._gates import fmt_number
from riskmodels.release._signing import (
    APPROVALS_FILE,
    Approval,
    load_private_key,
    resolve_trust_store,
    sign_approval,
    verify_approvals,
)
from riskmodels.release._trusted import TRUSTED_TYPES, untrusted_types

__all__ = ["BUNDLE_FORMAT", "MANIFEST", "Release", "add_approval", "approve", "load_release"]

BUNDLE_FORMAT = "riskmodels.release/2"
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
#: Largest file a bundle may hold (the model); every other file is far smaller.
MAX_MODEL_BYTES = 2 * 1024**3
MAX_FILE_BYTES = 256 * 1024**2
#: Every ``ReleaseError.reason`` a bundle can be refused with (docs/sites.md).
REFUSAL_REASONS = ("tampered", "unapproved", "expired", "untrusted_type", "unreadable", "exists")


def _now() -> dt.datetime:
    # the system clock (riskmodels._clock): no caller can claim another time
    return _clock.now().astimezone(dt.UTC)


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


def _skops_dumps(model: Any) -> bytes:
    import skops.io as sio

    data = sio.dumps(model_payload(model))
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
    approvals : list of Approval
        The approvals that verified against the trust store when the release was loaded
        for scoring (empty for a development release, or one loaded only to add an
        approval).
    development : bool
        True for a release under a ``development`` policy: it loads unsigned, only for
        non-operational purposes, and every list it produces says so.
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
    approvals: list[Approval] = field(default_factory=list)
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
        """The first approver: the person who approved the release and wrote its waivers."""
        return self.manifest["approval"]["reviewer"]

    @property
    def development(self) -> bool:
        return self.manifest["approval"].get("environment") == "development"

    @property
    def signed_by(self) -> list[str]:
        """Trust-store names of the keys whose approvals verified (see ``approvals``)."""
        return [a.trusted_as for a in self.approvals]

    @property
    def approval_fingerprints(self) -> list[str]:
        """Fingerprints of the keys whose approvals this release was verified with."""
        return [a.key for a in self.approvals]

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

    # ------------------------------------------------------------------ checks
    def verify(self, *, trust_store: str | os.PathLike[str] | None = None) -> None:
        """Re-check the bundle on disk exactly as :func:`load_release` does: the same
        ``release.json``, a strict file set, enough trusted approvals (unless development),
        every file's sha256, and validity at the current time.

        Raises
        ------
        ReleaseError
            ``reason`` ``"tampered"``, ``"unapproved"`` or ``"expired"``.
        """
        raw = _read(self.path, MANIFEST)
        if sha256_bytes(raw) != self.release_id:
            raise ReleaseError(
                f"{self.path / MANIFEST} has changed since this release was loaded",
                reason="tampered",
                path=str(self.path),
            )
        self.approvals = _verify_bundle(self.path, trust_store, require_approvals=True)[3]

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
    signing_key: Any = None,
    passphrase: bytes | str | None = None,
    role: str | None = None,
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
    card : ModelCard or None
        The model card, built once with ``ModelCard.build``. The ``documentation.card``
        gate reads its context; the bundle holds ``card.with_gates(report, waivers)``, the
        card with the gates it was approved on and the waivers given. ``None`` writes no
        card and leaves ``documentation.card`` insufficient_evidence.
    policy : Policy
    reviewer, author : str
        Named people; the reviewer (the first approver, who writes the waivers) must not
        be the author.
    out : path
        The bundle directory to create; it must not exist.
    waivers : dict, optional
        ``{gate name: written reason}`` for each gate that does not pass (``warn`` gates
        need one too). Gates in ``NON_WAIVABLE`` cannot be waived.
    valid_for_days : int, optional
        Validity; capped at the policy's ``validity.max_days`` (the default).
    signing_key : Ed25519PrivateKey or path
        The reviewer's private key (``riskmodels keys new``). Required unless the policy's
        environment is ``development``: the reviewer signs an approval statement over the
        release id, stored in ``approvals.json``. Further approvers sign with
        :func:`add_approval`; a site scores the release only once the policy's
        ``approvals.required`` distinct keys from its trust store have signed.
    passphrase : bytes or str, optional
        The passphrase of an encrypted key file.
    role : str, optional
        The role the reviewer approves in (one of the policy's ``approvals.roles``).

    Returns
    -------
    Release
        The bundle, re-read from disk with every file's hash checked. It scores only
        once enough trusted approvals are present (``approvals.required``).

    Raises
    ------
    PolicyViolation
        No reviewer or author, the reviewer is the author, or no signing key for a
        production release.
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
    >>> policy = Policy.from_dict({**Policy.default().to_dict(), "environment": "development",
    ...     "permitted_purposes": ["development_testing"]})
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
    >>> release.reviewer, release.manifest["approval"]["valid_for_days"], release.development
    ('Bo', 180, True)
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
    if role is not None and role not in policy.approvals.roles:
        raise PolicyError(
            f"role {role!r} is not one of the policy's approval roles {policy.approvals.roles}",
            key="approvals.roles",
        )
    development = policy.environment == "development"
    if signing_key is None and not development:
        raise PolicyViolation(
            "A production release must be signed: give the reviewer's private key "
            "(approve(..., signing_key=...); create one with `riskmodels keys new`). Only a "
            "policy with environment: development releases unsigned, for development use."
        )
    now = _now()
    report, waived = _checked_gates(model, evidence, card, policy, waivers)
    days = _validity_days(valid_for_days, policy)
    key = load_private_key(signing_key, passphrase) if signing_key is not None else None
    if card is not None:
        # the bundle's card shows the gates it was approved on and the waivers just given
        card = card.with_gates(report, waived)
    files = _bundle_files(model, evidence, card, policy, report)
    approval = {
        "decision_support_only": True,
        "reviewer": reviewer,
        "author": author,
        "approved_at": _iso(now),
        "valid_from": _iso(now),
        "valid_until": _iso(now + dt.timedelta(days=days)),
        "valid_for_days": days,
        "waivers": waived,
        "gates": report.summary(),
        "environment": policy.environment,
        "approvals_required": policy.approvals.required,
        "roles": list(policy.approvals.roles),
    }
    manifest = _build_manifest(model, evidence, card, policy, approval, files)
    manifest_bytes = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")
    if key is not None:
        entry = sign_approval(sha256_bytes(manifest_bytes), key, reviewer, role, _iso(now))
        files[APPROVALS_FILE] = _approvals_bytes([entry])
    files[MANIFEST] = manifest_bytes
    _write_bundle(out, files)
    return _load(out, trust_store=None, require_approvals=False)


def _checked_gates(
    model: Any, evidence: Any, card: Any, policy: Policy, waivers: dict[str, str] | None
) -> tuple[GateReport, dict[str, str]]:
    """The policy's gate report and the valid waivers; GateFailed if anything blocks."""
    report = policy.check(evidence, model=model, context=None if card is None else card.context)
    waived = report.check_waivers(waivers)
    blocking = report.blocking(waived)
    if blocking:
        lines = [
            f"  - {g.name}: {g.status} (value {fmt_number(g.value)}, bound {g.bound}) - {g.reason}"
            for g in blocking
        ]
        raise GateFailed(
            f"Release refused: {len(blocking)} gate(s) neither pass nor are waived:\n"
            + "\n".join(lines)
            + "\nImprove the model or the evidence, or have the reviewer waive a gate with a "
            "written reason: approve(..., waivers={'gate.name': 'why it is acceptable'}).",
            report=report,
        )
    return report, waived


def _bundle_files(
    model: Any, evidence: Any, card: Any, policy: Policy, report: GateReport
) -> dict[str, bytes]:
    """Every file of the bundle but the manifest and the approvals, as bytes."""
    return {
        "model.skops": _skops_dumps(model),
        "model.json": json.dumps(model_state(model), indent=1, allow_nan=False).encode(),
        "spec.yaml": model.spec.to_yaml().encode("utf-8"),
        "policy.yaml": policy.to_yaml().encode("utf-8"),
        "evidence.json": evidence.to_json().encode("utf-8"),
        "gates.json": report.to_json().encode("utf-8"),
        "profile.json": json.dumps(model.profile_.to_dict(), indent=1).encode("utf-8"),
        **_card_texts(card),
    }


def _build_manifest(
    model: Any,
    evidence: Any,
    card: Any,
    policy: Policy,
    approval: dict[str, Any],
    files: dict[str, bytes],
) -> dict[str, Any]:
    """``release.json``: what is released, the approval record, and every file's sha256."""
    hashes = {name: sha256_bytes(data) for name, data in files.items()}
    return {
        "format": BUNDLE_FORMAT,
        "model": {
            "name": model.display_name,
            "version": model.version_,
            "estimator": model.estimator_name,
            "calibration": model.calibration,
            "threshold": float(evidence.threshold),
            "features": list(model.features_),
        },
        "approval": approval,
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


def _approvals_bytes(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(entries, indent=1, ensure_ascii=False).encode("utf-8")


def add_approval(
    release: Release | str | os.PathLike[str],
    *,
    signing_key: Any,
    reviewer: str,
    role: str | None = None,
    passphrase: bytes | str | None = None,
) -> Release:
    """Add one approver's signature to a release, changing nothing else.

    The approver signs the same approval statement over the same release id; the
    manifest, the model and every other file stay byte for byte as they were. One key
    counts once, and the model's author can never approve.

    Parameters
    ----------
    release : Release or path
        The bundle; it is re-read and every file's hash checked first.
    signing_key : Ed25519PrivateKey or path
        The approver's private key.
    reviewer : str
        The approver's name.
    role : str, optional
        The role approved in (one of the policy's ``approvals.roles``).
    passphrase : bytes or str, optional

    Returns
    -------
    Release

    Raises
    ------
    PolicyViolation
        The approver is the author, or this key has already approved the release.
    ReleaseError
        The bundle is not intact, is expired, or the key cannot be read.
    """
    path = release.path if isinstance(release, Release) else Path(release)
    current = _load(path, trust_store=None, require_approvals=False)
    reviewer = _check_people(reviewer, current.author)[0]
    roles = current.manifest["approval"].get("roles") or []
    if role is not None and role not in roles:
        raise PolicyError(
            f"role {role!r} is not one of the release's approval roles {roles}",
            key="approvals.roles",
        )
    key = load_private_key(signing_key, passphrase)
    from riskmodels.release._signing import key_fingerprint

    entries = _read_approvals(path)
    fingerprint = key_fingerprint(key.public_key())
    if any(isinstance(e, dict) and e.get("key") == fingerprint for e in entries):
        raise PolicyViolation(
            f"Key {fingerprint} has already approved {path}; each approver signs with their "
            "own key, and one key counts once."
        )
    entry = sign_approval(current.release_id, key, reviewer, role, _iso(_now()))
    atomic_write_bytes(path / APPROVALS_FILE, _approvals_bytes([*entries, entry]))
    return _load(path, trust_store=None, require_approvals=False)


def _read_approvals(path: Path) -> list[Any]:
    if not (path / APPROVALS_FILE).exists():
        return []
    raw = _read_capped(path, APPROVALS_FILE, MAX_FILE_BYTES)
    try:
        entries = json.loads(raw)
    except ValueError as err:
        raise ReleaseError(
            f"{path / APPROVALS_FILE} is not valid JSON ({err})", reason="tampered", path=str(path)
        ) from None
    if not isinstance(entries, list):
        raise ReleaseError(
            f"{path / APPROVALS_FILE} is not a list of approvals", reason="tampered", path=str(path)
        )
    # approvals.json cannot be signed as a whole (each approval signs the release), so it
    # must be exactly as riskmodels writes it: no field, byte or comment can be slipped in
    if raw != _approvals_bytes(entries) or any(
        not isinstance(e, dict) or set(e) != _APPROVAL_KEYS for e in entries
    ):
        raise ReleaseError(
            f"{path / APPROVALS_FILE} is not as riskmodels writes it (an unknown field or an "
            "edit outside the approvals); restore it from the approved bundle",
            reason="tampered",
            path=str(path),
        )
    return entries


_APPROVAL_KEYS = frozenset({"signer", "role", "signed_at", "key", "signature"})


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
def _refuse(path: Path, message: str, reason: str = "tampered") -> ReleaseError:
    return ReleaseError(message, reason=reason, path=str(path))


def _read_capped(path: Path, name: str, cap: int) -> bytes:
    """Read one bundle file, refusing a symlink, a non-regular file or one over ``cap``."""
    target = path / name
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        raise _refuse(
            path, f"Release {path} is missing {name}: the bundle was changed after approval"
        ) from None
    except OSError as err:
        raise _refuse(path, f"Cannot read {target}: {err.strerror}", "unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, f"{target} is not a regular file (a symlink or device is refused)")
    if st.st_size > cap:
        raise _refuse(path, f"{target} is {st.st_size:,} bytes, over the cap of {cap:,}")
    try:
        with open(target, "rb") as fh:
            data = fh.read(cap + 1)
    except OSError as err:
        raise _refuse(path, f"Cannot read {target}: {err.strerror}", "unreadable") from None
    if len(data) > cap:
        raise _refuse(path, f"{target} grew over the cap of {cap:,} bytes while being read")
    return data


def _read(path: Path, name: str) -> bytes:
    return _read_capped(path, name, MAX_FILE_BYTES)


def _listing(path: Path) -> dict[str, os.DirEntry[str]]:
    """The bundle folder's entries; only regular files (never symlinks) are allowed."""
    if path.is_symlink() or not path.is_dir():
        raise _refuse(path, f"{path} is not a release bundle folder", "unreadable")
    out = {}
    with os.scandir(path) as it:
        for entry in it:
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                raise _refuse(
                    path,
                    f"Release {path} holds {entry.name!r}, which is not a regular file (a "
                    "symlink, folder or device): a bundle holds only the files it lists",
                )
            out[entry.name] = entry
    return out


def _check_file_set(path: Path, manifest: dict[str, Any], present: set[str]) -> dict[str, str]:
    """The manifest's file list, checked: known plain names, and nothing else on disk."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise _refuse(path, f"{path / MANIFEST} lists no files")
    names = set(files)
    unknown = sorted(names - _KNOWN_FILES)
    missing = sorted(set(REQUIRED_FILES) - names)
    cards = names & set(CARD_FILES)
    if unknown or missing or cards not in (set(), set(CARD_FILES)):
        raise _refuse(
            path,
            f"{path / MANIFEST} does not list the bundle's files correctly (unknown: {unknown}, "
            f"missing: {missing})",
        )
    extra = sorted(present - names - {MANIFEST, APPROVALS_FILE})
    if extra:
        raise _refuse(
            path,
            f"Release {path} holds files that release.json does not list: {extra}. A bundle "
            "holds exactly its listed files; restore the approved bundle.",
        )
    absent = sorted(names - present)
    if absent:
        raise _refuse(
            path, f"Release {path} is missing {absent}: the bundle was changed after approval"
        )
    return files


def _check_hashes(path: Path, files: dict[str, str], blobs: dict[str, bytes]) -> None:
    changed = [name for name in sorted(files) if sha256_bytes(blobs[name]) != files[name]]
    if changed:
        raise _refuse(
            path,
            f"Release {path} has been changed since it was approved: {changed} "
            "do not match the sha256 recorded in release.json. It will not score; restore "
            "the approved bundle or approve a new release.",
        )


def _check_approvals(
    path: Path, manifest: dict[str, Any], release_id: str, trust_store: Any
) -> list[Approval]:
    """Enough distinct trusted approvals of this exact release, or ReleaseError."""
    a = manifest["approval"]
    required, roles = a.get("approvals_required"), a.get("roles") or []
    if not isinstance(required, int) or isinstance(required, bool) or required < 1:
        raise _refuse(path, f"{path / MANIFEST} states no valid number of required approvals")
    if not (path / APPROVALS_FILE).exists():
        raise _refuse(
            path,
            f"Release {path} is not signed: a production release scores only with "
            f"{required} approval(s) signed by keys in the site's trust store.",
            "unapproved",
        )
    store = resolve_trust_store(trust_store)
    valid, problems = verify_approvals(
        release_id, _read_approvals(path), store, str(path), author=str(a.get("author", ""))
    )
    missing_roles = sorted(set(roles) - {v.role for v in valid})
    if len(valid) < required or missing_roles:
        detail = "; ".join(problems) if problems else "no other approvals"
        roles_note = f"; roles without an approval: {missing_roles}" if missing_roles else ""
        raise _refuse(
            path,
            f"Release {path} has {len(valid)} valid approval(s) from the trust store {store}, "
            f"{required} required{roles_note} ({detail}). Each approver signs with "
            "riskmodels.add_approval (or `riskmodels approve --add`).",
            "unapproved",
        )
    return valid


def _verify_bundle(
    path: Path, trust_store: Any, *, require_approvals: bool
) -> tuple[dict[str, Any], bytes, dict[str, bytes], list[Approval]]:
    """Every check before deserialising, in order; returns the manifest, its bytes, the
    listed files' bytes (hash-checked) and the approvals that verified."""
    present = set(_listing(path))
    if MANIFEST not in present:
        raise _refuse(path, f"{path} is not a release bundle (no {MANIFEST})", "unreadable")
    raw = _read(path, MANIFEST)
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("approval"), dict):
            raise ValueError("not a release manifest")
    except ValueError as err:
        raise _refuse(path, f"{path / MANIFEST} is not valid ({err})") from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise _refuse(
            path,
            f"{path} has format {manifest.get('format')!r}, expected {BUNDLE_FORMAT!r}",
            "unreadable",
        )
    files = _check_file_set(path, manifest, present)
    release_id = sha256_bytes(raw)
    environment = manifest["approval"].get("environment")
    if environment not in ("production", "development"):
        raise _refuse(path, f"{path / MANIFEST} names no valid environment ({environment!r})")
    approvals: list[Approval] = []
    if require_approvals and environment == "production":
        # before any other file is read: no trusted approval, nothing is touched
        approvals = _check_approvals(path, manifest, release_id, trust_store)
    blobs = {
        name: _read_capped(path, name, MAX_MODEL_BYTES if name == "model.skops" else MAX_FILE_BYTES)
        for name in files
    }
    _check_hashes(path, files, blobs)
    try:
        gates = GateReport.from_json(blobs["gates.json"].decode("utf-8"))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
        raise _refuse(path, f"gates.json of {path} cannot be read ({err})", "unreadable") from None
    _check_approval(path, manifest, gates)
    _check_expiry(manifest, _now(), str(path))
    return manifest, raw, blobs, approvals


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
    try:
        until = dt.datetime.fromisoformat(manifest["approval"]["valid_until"])
        since = dt.datetime.fromisoformat(manifest["approval"]["valid_from"])
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("validity timestamps carry no time zone")
    except (KeyError, TypeError, ValueError) as err:
        raise ReleaseError(
            f"Release {where} has no valid validity dates ({err})", reason="tampered", path=where
        ) from None
    if now < since:
        # a clock set before the approval must not make an old release look fresh
        raise ReleaseError(
            f"Release {where} is valid from {_iso(since)}, after the system time ({_iso(now)}); "
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
    trust_store: str | os.PathLike[str] | None = None,
) -> Release:
    """Verify a release bundle and load it.

    In order, before anything is deserialised: the folder holds only regular files and
    exactly those ``release.json`` lists (plus ``approvals.json``), none over the size
    cap; unless the release is under a ``development`` policy, ``approvals.json`` holds
    at least the policy's ``approvals.required`` signatures of this exact release by
    distinct keys in the trust store, none by the author, covering the policy's roles;
    the sha256 of every file matches the manifest; the approval record is complete; the
    release is valid now (system clock). Only then are the files parsed and the model
    loaded with ``skops.io.load`` and the project's fixed ``TRUSTED_TYPES`` (never
    pickle, never a trust list from the bundle). Every failure is a ``ReleaseError``.

    Parameters
    ----------
    path : path
        The bundle directory.
    trust_store : path, optional
        Folder of the public keys (PEM) of the people allowed to approve; default
        ``$RISKMODELS_TRUST_STORE``, else ``~/.config/riskmodels/trust_store``.

    Returns
    -------
    Release

    Raises
    ------
    ReleaseError
        ``reason`` is one of :data:`REFUSAL_REASONS`: ``"tampered"`` (a file changed,
        missing, unlisted, a symlink or oversized), ``"unapproved"`` (too few trusted
        approvals, no trust store, the author approving, an incomplete approval record),
        ``"expired"``, ``"untrusted_type"`` or ``"unreadable"`` (not a bundle, or a file
        that cannot be parsed).
    """
    return _load(Path(path), trust_store=trust_store, require_approvals=True)


def _load(path: Path, *, trust_store: Any, require_approvals: bool) -> Release:
    path = Path(path)
    manifest, raw, blobs, approvals = _verify_bundle(
        path, trust_store, require_approvals=require_approvals
    )
    return _deserialise(path, manifest, blobs, sha256_bytes(raw), approvals)


def _deserialise(
    path: Path,
    manifest: dict[str, Any],
    blobs: dict[str, bytes],
    release_id: str,
    approvals: list[Approval],
) -> Release:
    import skops.io as sio

    from riskmodels.data import DatasetSpec, TrainingProfile
    from riskmodels.modeling import Evidence

    where = str(path)
    try:
        new = untrusted_types(blobs["model.skops"])
    except ReleaseError as err:
        raise ReleaseError(
            f"Release {path} cannot be read: model.skops: {err}", reason="unreadable", path=where
        ) from None
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
        if not isinstance(payload, dict) or not isinstance(state, dict):
            raise TypeError("model.skops or model.json does not hold a model")
        model = rebuild_model(payload, state, spec, profile)
    except Exception as err:
        # A malformed file can fail in any library's own way (zipfile.BadZipFile, KeyError,
        # a pydantic error...); whatever it is, the release is unreadable and scores nobody.
        raise ReleaseError(
            f"Release {path} cannot be read ({type(err).__name__}: {err})",
            reason="unreadable",
            path=where,
        ) from None
    a = manifest["approval"]
    if (policy.environment, policy.approvals.required) != (
        a.get("environment"),
        a.get("approvals_required"),
    ) or list(policy.approvals.roles) != list(a.get("roles") or []):
        raise ReleaseError(
            f"Release {path}: release.json and policy.yaml disagree on the environment or the "
            "approvals required",
            reason="tampered",
            path=where,
        )
    purposes = manifest.get("purposes") or {}
    if purposes.get("permitted") != list(policy.permitted_purposes) or purposes.get(
        "prohibited"
    ) != list(policy.prohibited_purposes):
        raise ReleaseError(
            f"Release {path}: release.json and policy.yaml name different purposes",
            reason="tampered",
            path=where,
        )
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
        approvals=approvals,
        notes=notes,
    )


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)
