"""Sections 2 and 3: intended use, and prohibited and out-of-scope uses."""

from __future__ import annotations

from typing import Any

from riskmodels.cards._text import DECISION_SUPPORT_STATEMENT, STANDING_PROHIBITIONS
from riskmodels.cards.sections._inputs import CardInputs

__all__ = ["build"]


def build(inputs: CardInputs, sdc: int) -> dict[str, Any]:
    """``{"intended_use": ..., "prohibited_uses": ...}`` from the context and the policy."""
    ctx, policy = inputs.context, inputs.policy
    return {
        "intended_use": {
            "decision_support_statement": DECISION_SUPPORT_STATEMENT,
            "intended_use": ctx.intended_use,
            "intended_users": list(ctx.intended_users),
            "permitted_uses": list(ctx.permitted_uses),
            "decision_process": ctx.decision_process,
            "human_review": ctx.human_review,
            "appeal_route": ctx.appeal_route,
            "policy_permitted_purposes": list(policy.permitted_purposes) if policy else [],
        },
        "prohibited_uses": {
            "prohibited_uses": list(ctx.prohibited_uses),
            "out_of_scope_uses": list(ctx.out_of_scope_uses),
            "policy_prohibited_purposes": list(policy.prohibited_purposes) if policy else [],
            "standing_prohibitions": list(STANDING_PROHIBITIONS),
        },
    }
