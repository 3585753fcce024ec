"""Ed25519 approvals of release manifests, checked against a scoring site's trust store.

Each approver signs a short *approval statement*: the release id (the sha256 of
``release.json``, which binds the sha256 of every other file), the approver's name, the
role they claim and when they signed. The statements and signatures live in
``approvals.json`` inside the bundle. A scoring site keeps its own trust store: a folder of
the public keys (PEM files, ``<name>.pem`` or ``<name>.pub``) of the people allowed to
approve releases. A production release scores only when enough *distinct* trusted keys
have signed this exact release (DESIGN.md principle 6).

Where the trust store is: the ``trust_store=`` argument, else the folder named by
``RISKMODELS_TRUST_STORE``, else :func:`default_trust_store` (``~/.config/riskmodels/
trust_store``, or under ``$XDG_CONFIG_HOME``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskmodels._io import atomic_write_bytes
from riskmodels.errors import ReleaseError

__all__ = [
    "APPROVALS_FILE",
    "TRUST_STORE_ENV",
    "Approval",
    "approval_statement",
    "default_trust_store",
    "generate_signing_key",
    "key_fingerprint",
    "load_private_key",
    "resolve_trust_store",
    "sign_approval",
    "verify_approvals",
]

#: The approvals (statements and signatures) inside a bundle.
APPROVALS_FILE = "approvals.json"
#: Environment variable naming the trust store directory when none is passed explicitly.
TRUST_STORE_ENV = "RISKMODELS_TRUST_STORE"
#: Largest public key file read from a trust store (a PEM Ed25519 key is 113 bytes).
_MAX_KEY_BYTES = 16_384


def default_trust_store() -> Path:
    """The per-user trust store used when neither an argument nor the environment names one.

    ``$XDG_CONFIG_HOME/riskmodels/trust_store``, by default
    ``~/.config/riskmodels/trust_store``.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "riskmodels" / "trust_store"


def resolve_trust_store(trust_store: str | os.PathLike[str] | None) -> Path:
    """The trust store to use: the argument, else ``$RISKMODELS_TRUST_STORE``, else the
    per-user default."""
    if trust_store is not None:
        return Path(trust_store)
    env = os.environ.get(TRUST_STORE_ENV)
    return Path(env) if env else default_trust_store()


def _raw_public(public: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def key_fingerprint(public: Any) -> str:
    """The key's fingerprint: ``SHA256:`` and the first 32 hex digits of the sha256 of the
    raw public key. Audit-log entries and approvals name keys by it."""
    return "SHA256:" + hashlib.sha256(_raw_public(public)).hexdigest()[:32]


def generate_signing_key(
    private_path: str | os.PathLike[str],
    public_path: str | os.PathLike[str],
    *,
    password: bytes | None = None,
) -> str:
    """Create an Ed25519 key pair: a PEM private key (mode 0600) and a PEM public key.

    Parameters
    ----------
    private_path, public_path : path
        Where to write the keys (atomically; the private key is never readable by others,
        not even while it is written). Keep the private key with the approver; copy the
        public key into each scoring site's trust store as ``<name>.pem``.
    password : bytes, optional
        Encrypts the private key file (a passphrase the approver types when signing).

    Returns
    -------
    str
        The key's fingerprint (:func:`key_fingerprint`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> generate_signing_key(d / "alice.key", d / "alice.pem").startswith("SHA256:")
    True
    >>> oct((d / "alice.key").stat().st_mode & 0o777)
    '0o600'
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    enc: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    atomic_write_bytes(
        private_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc),
        mode=0o600,
    )
    atomic_write_bytes(
        public_path,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return key_fingerprint(key.public_key())


def load_private_key(key: Any, password: bytes | str | None = None) -> Any:
    """An Ed25519 private key, given as a key object or the path of a PEM file.

    Raises
    ------
    ReleaseError
        ``reason="unreadable"``: the file cannot be read, is not an Ed25519 key, needs a
        passphrase that was not given, or the passphrase is wrong (one clear message).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(password, str):
        password = password.encode("utf-8")
    where = str(key)
    try:
        data = Path(key).read_bytes()
    except (OSError, TypeError) as err:
        raise ReleaseError(
            f"Cannot read the signing key {where}: {getattr(err, 'strerror', None) or err}",
            reason="unreadable",
            path=where,
        ) from None
    try:
        loaded = serialization.load_pem_private_key(data, password=password or None)
    except TypeError:
        # cryptography: TypeError when an encrypted key gets no password (or vice versa)
        msg = (
            f"The signing key {where} is protected by a passphrase; give it (passphrase=...)"
            if not password
            else f"The signing key {where} has no passphrase; do not give one"
        )
        raise ReleaseError(msg, reason="unreadable", path=where) from None
    except ValueError:
        if password:
            raise ReleaseError(
                f"Wrong passphrase for the signing key {where}",
                reason="unreadable",
                path=where,
            ) from None
        raise ReleaseError(
            f"{where} is not a PEM private key", reason="unreadable", path=where
        ) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ReleaseError(
            f"The signing key {where} is not an Ed25519 key", reason="unreadable", path=where
        )
    return loaded


def approval_statement(release_id: str, signer: str, role: str | None, signed_at: str) -> bytes:
    """The exact bytes an approver signs: canonical JSON of what they approve and as whom."""
    doc = {
        "approves": "riskmodels.release",
        "release_id": release_id,
        "role": role,
        "signed_at": signed_at,
        "signer": signer,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_approval(
    release_id: str, key: Any, signer: str, role: str | None, signed_at: str
) -> dict[str, Any]:
    """One entry of ``approvals.json``: the statement's fields, the key's fingerprint and
    the base64 Ed25519 signature of :func:`approval_statement`."""
    statement = approval_statement(release_id, signer, role, signed_at)
    return {
        "signer": signer,
        "role": role,
        "signed_at": signed_at,
        "key": key_fingerprint(key.public_key()),
        "signature": base64.b64encode(key.sign(statement)).decode("ascii"),
    }


@dataclass(frozen=True)
class Approval:
    """An approval whose signature verified against a key in the trust store."""

    signer: str
    role: str | None
    signed_at: str
    key: str
    trusted_as: str


def _trust_store(path: Path, bundle: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not path.is_dir():
        raise ReleaseError(
            f"No trust store at {path}, so nobody's approval of {bundle} can be checked. "
            f"Create the folder (or name one with trust_store= or ${TRUST_STORE_ENV}) and copy "
            "into it the public keys (.pem) of the people allowed to approve releases; see "
            "docs/sites.md.",
            reason="unapproved",
            path=bundle,
        )
    keys = {}
    for f in sorted(path.iterdir()):
        if f.suffix not in (".pem", ".pub") or f.is_symlink() or not f.is_file():
            continue
        try:
            if f.stat().st_size > _MAX_KEY_BYTES:
                continue
            pub = serialization.load_pem_public_key(f.read_bytes())
        except (OSError, ValueError):
            continue  # not a PEM public key: it cannot vouch for anything
        if isinstance(pub, Ed25519PublicKey):
            keys[key_fingerprint(pub)] = (f.stem, pub)
    return keys


def verify_approvals(
    release_id: str,
    entries: Any,
    trust_store: Path,
    bundle: str,
    *,
    author: str,
) -> tuple[list[Approval], list[str]]:
    """Check every approval of a release against the trust store.

    Returns
    -------
    (valid, problems)
        ``valid``: the approvals that count, one per distinct trusted key, in file order;
        ``problems``: why each other entry does not count (untrusted key, a signature
        over another release, the author approving, a key used twice, a malformed entry).

    Raises
    ------
    ReleaseError
        The trust store is missing, or ``entries`` is not a list.
    """
    from cryptography.exceptions import InvalidSignature

    if not isinstance(entries, list):
        raise ReleaseError(
            f"{APPROVALS_FILE} of {bundle} is not a list of approvals",
            reason="tampered",
            path=bundle,
        )
    store = _trust_store(trust_store, bundle)
    valid: list[Approval] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, e in enumerate(entries, start=1):
        try:
            signer, role, signed_at = str(e["signer"]), e.get("role"), str(e["signed_at"])
            key, sig = str(e["key"]), base64.b64decode(e["signature"], validate=True)
            if role is not None and not isinstance(role, str):
                raise TypeError("role must be text")
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            problems.append(f"approval {i} is malformed ({err})")
            continue
        if key not in store:
            problems.append(
                f"approval {i} ({signer}) is signed by key {key}, not in the trust store"
            )
            continue
        name, pub = store[key]
        try:
            pub.verify(sig, approval_statement(release_id, signer, role, signed_at))
        except InvalidSignature:
            problems.append(
                f"approval {i} ({signer}): the signature does not match this release (it was "
                "made for other content, or the entry was edited)"
            )
            continue
        if key in seen:
            problems.append(
                f"approval {i} ({signer}): key {key} has already approved; one key counts once"
            )
            continue
        if author.strip().casefold() in (signer.strip().casefold(), name.strip().casefold()):
            problems.append(f"approval {i}: the model's author ({author}) cannot approve it")
            continue
        seen.add(key)
        valid.append(Approval(signer, role, signed_at, key, name))
    return valid, problems
