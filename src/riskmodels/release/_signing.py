"""Ed25519 signatures of release manifests, checked against a site's trust store.

A reviewer signs ``release.json`` (which binds the sha256 of every file in the bundle)
with a private key only they hold. A scoring site keeps its own trust store: a directory
of the public keys (PEM files, ``<name>.pem`` or ``<name>.pub``) of the people allowed to
approve releases. A release loaded with a trust store scores only if its signature
verifies against one of those keys (DESIGN.md principle 6).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from riskmodels._io import atomic_write_bytes
from riskmodels.errors import ReleaseError

__all__ = [
    "SIGNATURE_FILE",
    "TRUST_STORE_ENV",
    "generate_signing_key",
    "load_private_key",
    "sign_manifest",
    "verify_signature",
]

#: The detached signature of ``release.json`` inside a bundle.
SIGNATURE_FILE = "release.sig"
#: Environment variable naming the trust store directory when none is passed explicitly.
TRUST_STORE_ENV = "RISKMODELS_TRUST_STORE"
_RAW = {"encoding": serialization.Encoding.Raw, "format": serialization.PublicFormat.Raw}


def _key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public.public_bytes(**_RAW)).hexdigest()[:16]


def generate_signing_key(
    private_path: str | os.PathLike[str],
    public_path: str | os.PathLike[str],
    *,
    password: bytes | None = None,
) -> str:
    """Create an Ed25519 key pair: a PEM private key and a PEM public key for trust stores.

    Parameters
    ----------
    private_path, public_path : path
        Where to write the keys (atomically). Keep the private key with the reviewer;
        copy the public key into each scoring site's trust store as ``<name>.pem``.
    password : bytes, optional
        Encrypts the private key file.

    Returns
    -------
    str
        The key id (first 16 hex digits of the sha256 of the raw public key).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> len(generate_signing_key(d / "alice.key", d / "alice.pem"))
    16
    """
    key = Ed25519PrivateKey.generate()
    enc: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    atomic_write_bytes(
        private_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc),
    )
    os.chmod(private_path, 0o600)
    atomic_write_bytes(
        public_path,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return _key_id(key.public_key())


def load_private_key(
    key: Ed25519PrivateKey | str | os.PathLike[str], password: bytes | None = None
) -> Ed25519PrivateKey:
    """An Ed25519 private key, given as a key object or the path of a PEM file."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    try:
        loaded = serialization.load_pem_private_key(Path(key).read_bytes(), password=password)
    except (OSError, ValueError, TypeError) as err:
        raise ReleaseError(
            f"Cannot read the signing key {key}: {err}", reason="unreadable", path=str(key)
        ) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ReleaseError(
            f"The signing key {key} is not an Ed25519 key", reason="unreadable", path=str(key)
        )
    return loaded


def sign_manifest(manifest: bytes, key: Ed25519PrivateKey, signer: str) -> bytes:
    """The signature file's content for the exact bytes of ``release.json``."""
    doc = {
        "algorithm": "ed25519",
        "key_id": _key_id(key.public_key()),
        "signer": signer,
        "signature": base64.b64encode(key.sign(manifest)).decode("ascii"),
    }
    return json.dumps(doc, indent=1).encode("utf-8")


def _trust_store(path: Path) -> dict[str, Ed25519PublicKey]:
    if not path.is_dir():
        raise ReleaseError(
            f"The trust store {path} is not a directory of public keys",
            reason="unapproved",
            path=str(path),
        )
    keys = {}
    for f in sorted(path.iterdir()):
        if f.suffix not in (".pem", ".pub") or not f.is_file():
            continue
        try:
            pub = serialization.load_pem_public_key(f.read_bytes())
        except ValueError:
            continue  # not a PEM public key: it cannot vouch for anything
        if isinstance(pub, Ed25519PublicKey):
            keys[f.stem] = pub
    return keys


def verify_signature(
    manifest: bytes, signature: bytes | None, trust_store: str | os.PathLike[str], bundle: str
) -> str:
    """Check the signature of ``release.json`` against the trust store.

    Returns
    -------
    str
        The trust-store name (file stem) of the key that signed it.

    Raises
    ------
    ReleaseError
        ``reason="unapproved"`` when there is no signature or the key is not in the trust
        store; ``reason="tampered"`` when the signature does not match the manifest.
    """
    if signature is None:
        raise ReleaseError(
            f"Release {bundle} is not signed, and this site requires a signature from a key "
            f"in its trust store {trust_store}",
            reason="unapproved",
            path=bundle,
        )
    try:
        doc = json.loads(signature)
        sig = base64.b64decode(doc["signature"], validate=True)
        key_id = str(doc["key_id"])
    except (ValueError, KeyError, TypeError) as err:
        raise ReleaseError(
            f"The signature file of {bundle} is malformed ({err})", reason="tampered", path=bundle
        ) from None
    store = _trust_store(Path(trust_store))
    matches = {name: pub for name, pub in store.items() if _key_id(pub) == key_id}
    if not matches:
        raise ReleaseError(
            f"Release {bundle} is signed by key {key_id}, which is not in the trust store "
            f"{trust_store} (trusted: {sorted(store) or 'none'})",
            reason="unapproved",
            path=bundle,
        )
    for name, pub in matches.items():
        try:
            pub.verify(sig, manifest)
            return name
        except InvalidSignature:
            continue
    raise ReleaseError(
        f"The signature of {bundle} does not match its release.json: the manifest was changed "
        "after it was signed",
        reason="tampered",
        path=bundle,
    )
