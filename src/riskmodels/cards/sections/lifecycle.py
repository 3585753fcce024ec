"""Section 13, lifecycle: when the card, model and evidence were made, and the approval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskmodels.cards.sections._inputs import CardInputs
from riskmodels.cards.sections._values import opt_int

if TYPE_CHECKING:
    from riskmodels.release import Release

__all__ = ["build", "release_record"]

_RECORD_KEYS = (
    "release_id",
    "reviewer",
    "author",
    "approved_at",
    "valid_from",
    "valid_until",
    "waivers",
    "gates",
    "environment",
    "approvals_required",
    "policy",
)


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, str | int | float | bool | list | dict):
        return v
    return str(v)


def release_record(release: Release | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The approval record of a release: a ``Release``, its manifest (``release.json``),
    or a flat mapping of the record's keys. Keys without a value are left out.

    Examples
    --------
    >>> release_record({"approval": {"reviewer": "A. Reviewer", "waivers": {}},
    ...                 "policy": {"name": "default", "version": "1.0"}})
    {'reviewer': 'A. Reviewer', 'waivers': {}, 'policy': 'default v1.0'}
    """
    if release is None:
        return None
    if isinstance(release, Mapping):
        manifest, release_id = (release, None) if "approval" in release else (None, None)
    else:
        manifest, release_id = release.manifest, release.release_id
    if manifest is not None:
        approval = dict(manifest.get("approval", {}))
        policy = manifest.get("policy") or {}
        rec: dict[str, Any] = {k: approval.get(k) for k in _RECORD_KEYS}
        rec["release_id"] = release_id
        rec["policy"] = f"{policy['name']} v{policy['version']}" if policy.get("name") else None
    else:
        rec = {k: release.get(k) for k in _RECORD_KEYS}
    return {k: _json_value(v) for k, v in rec.items() if v is not None}


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"lifecycle": ...}``: timestamps, MLflow run, validity and the approval record."""
    rel = inputs.release
    until = inputs.valid_until or (rel or {}).get("valid_until")
    policy = inputs.policy
    return {
        "lifecycle": {
            "generated_at": inputs.generated_at,
            "fitted_at": inputs.model.fitted_at_,
            "evaluated_at": inputs.evidence.created_at,
            "mlflow_run_id": inputs.mlflow_run_id,
            "valid_until": None if until is None else str(until),
            "max_validity_days": opt_int(policy.validity.max_days) if policy else None,
            "release": rel,
            "monitoring": monitoring_sentence(policy),
        }
    }


def monitoring_sentence(policy: Any) -> str | None:
    """What monitoring the policy configures, in words (from its ``monitoring`` and
    ``approvals`` sections: every number is the policy's own), or None without a policy.

    Examples
    --------
    >>> from riskmodels.policy import Policy
    >>> monitoring_sentence(Policy.default()).split(";")[0]
    "Every scoring run is kept in the site's monitoring store"
    """
    if policy is None:
        return None
    m = policy.monitoring
    text = (
        "Every scoring run is kept in the site's monitoring store; the riskmodels monitor command "
        "reports, per period, runs refused and drifted, review coverage of flagged people "
        f"(warning below {m.min_review_coverage:.0%}), agreement with the flag (an "
        f"automation-bias warning at {m.max_agreement:.0%} or more over at least "
        f"{m.min_reviews} reviews) and, on matured outcomes, incidents among flagged and "
        "not flagged people and observed/expected incidents by protected group."
    )
    if m.suspend_on_calibration:
        text += (
            " Matured outcomes that show the population or a group miscalibrated by the "
            "fairness gate's rule suspend the release: it scores nobody until "
            f"{policy.approvals.required} approver(s) sign its reinstatement."
        )
    return text
