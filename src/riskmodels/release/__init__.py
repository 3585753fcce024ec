"""Approval and release bundles: skops models, sha256-bound files, signatures, expiry.

:func:`approve` checks a policy's gates and writes a bundle atomically;
:func:`load_release` verifies every file's sha256 (and, with a trust store, the
reviewer's Ed25519 signature), the approval and the expiry before it deserialises
anything, and loads the model with skops and the project's fixed :data:`TRUSTED_TYPES`.
"""

from riskmodels.release._bundle import (
    BUNDLE_FORMAT,
    CARD_FILES,
    MANIFEST,
    REQUIRED_FILES,
    Release,
    approve,
    load_release,
)
from riskmodels.release._candidate import load_candidate, save_candidate
from riskmodels.release._signing import SIGNATURE_FILE, TRUST_STORE_ENV, generate_signing_key
from riskmodels.release._trusted import TRUSTED_TYPES, untrusted_types

__all__ = [
    "BUNDLE_FORMAT",
    "CARD_FILES",
    "MANIFEST",
    "REQUIRED_FILES",
    "SIGNATURE_FILE",
    "TRUSTED_TYPES",
    "TRUST_STORE_ENV",
    "Release",
    "approve",
    "generate_signing_key",
    "load_candidate",
    "load_release",
    "save_candidate",
    "untrusted_types",
]
