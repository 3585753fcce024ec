"""What every card section is built from: typed inputs, read by attribute, never guessed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskmodels.cards._context import CardContext
    from riskmodels.modeling import Evidence, RiskModel
    from riskmodels.policy import Policy

__all__ = ["CardInputs"]


@dataclass(frozen=True)
class CardInputs:
    """The inputs of :meth:`ModelCard.build`, checked and normalised once.

    Attributes
    ----------
    model : RiskModel
        Fitted; ``evidence`` belongs to this version.
    evidence : Evidence
    context : CardContext
        What only the owners can say.
    policy : Policy or None
        The release policy (purposes, fairness criterion, the group-adequacy rule).
    release : dict or None
        The approval record (see :func:`riskmodels.cards.sections.lifecycle.release_record`).
    mlflow_run_id : str or None
    valid_until : str or None
    generated_at : str
        ISO timestamp of the card.
    """

    model: RiskModel
    evidence: Evidence
    context: CardContext
    policy: Policy | None
    release: dict[str, Any] | None
    mlflow_run_id: str | None
    valid_until: str | None
    generated_at: str
