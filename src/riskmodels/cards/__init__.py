"""Model cards reviewers can read: Markdown, self-contained HTML, JSON and an ATRS record.

``ModelCard.build(model, evidence, context)`` turns a fitted model, its evidence and what
its owners say about it (:class:`CardContext`) into a card; fields only the owners can
know are never invented, they are listed as "to be completed by the owner" and make the
card incomplete. Group tables pass statistical disclosure control before publication.
"""

from riskmodels.cards._atrs import ATRSRecord
from riskmodels.cards._card import CARD_FILES, ModelCard
from riskmodels.cards._context import (
    ATRS_FIELDS,
    REQUIRED_FIELDS,
    TO_BE_COMPLETED,
    CardContext,
    Risk,
)
from riskmodels.cards._plots import CardFigure

__all__ = [
    "ATRS_FIELDS",
    "CARD_FILES",
    "REQUIRED_FIELDS",
    "TO_BE_COMPLETED",
    "ATRSRecord",
    "CardContext",
    "CardFigure",
    "ModelCard",
    "Risk",
]
