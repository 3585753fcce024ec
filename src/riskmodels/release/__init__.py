"""Approval and release bundles: skops models, sha256-bound files, signed approvals, expiry.

:func:`approve` checks a policy's gates and writes a bundle atomically with the first
reviewer's signed approval; :func:`add_approval` adds another approver's signature;
:func:`load_release` checks the strict file set, the approvals against the site's trust
store, every file's sha256, the approval record and the expiry before it deserialises
anything, and loads the model with skops and the project's fixed :data:`TRUSTED_TYPES`.
"""

from riskmodels.release._bundle import (
    BUNDLE_FORMAT,
    CARD_FILES,
    MANIFEST,
    REFUSAL_REASONS,
    REQUIRED_FILES,
    Release,
    add_approval,
    approve,
    load_release,
)
from riskmodels.release._candidate import load_candidate, save_candidate
from riskmodels.release._signing import (
    APPROVALS_FILE,
    TRUST_STORE_ENV,
    Approval,
    default_trust_store,
    generate_signing_key,
    key_fingerprint,
    load_private_key,
)
from riskmodels.release._trusted import TRUSTED_TYPES, untrusted_types

__all__ = [
    "APPROVALS_FILE",
    "BUNDLE_FORMAT",
    "CARD_FILES",
    "MANIFEST",
    "REFUSAL_REASONS",
    "REQUIRED_FILES",
    "TRUSTED_TYPES",
    "TRUST_STORE_ENV",
    "Approval",
    "Release",
    "add_approval",
    "approve",
    "default_trust_store",
    "generate_signing_key",
    "key_fingerprint",
    "load_candidate",
    "load_private_key",
    "load_release",
    "save_candidate",
    "untrusted_types",
]
