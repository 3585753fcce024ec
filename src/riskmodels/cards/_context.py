"""CardContext: what only the people who own a model can say about it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from riskmodels._io import atomic_write_text
from riskmodels.errors import Problem, SchemaError

__all__ = [
    "ATRS_FIELDS",
    "REQUIRED_FIELDS",
    "TO_BE_COMPLETED",
    "CardContext",
    "Risk",
]

#: How a field nobody has filled in appears in every rendering of a card.
TO_BE_COMPLETED = "To be completed by the owner"


class Risk(BaseModel):
    """One risk of using the tool and how it is mitigated (ATRS Tier 2, risks section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk: str = Field(min_length=1)
    mitigation: str = Field(min_length=1)


class CardContext(BaseModel):
    """Everything a model card needs that only the model's owners can know.

    The library never invents these fields: a field left out appears in the card as an
    explicit "To be completed by the owner" item, and a missing field listed in
    :data:`REQUIRED_FIELDS` makes the card incomplete (``ModelCard.complete`` is False, and
    the policy's documentation gate fails). Fields in :data:`ATRS_FIELDS` are needed only
    for a complete Algorithmic Transparency Recording Standard record.

    Parameters
    ----------
    owner_organisation, owner_team : str
        Who is accountable for the tool (ATRS: organisation / department, team).
    senior_responsible_owner : str
        Role title of the senior responsible owner.
    contact : str
        Contact e-mail or address for questions about the tool.
    intended_use : str
        What the model is for, in plain words.
    intended_users : list of str
        Who reads its output (e.g. "safety custody teams").
    permitted_uses, prohibited_uses, out_of_scope_uses : list of str
        Uses allowed, uses forbidden, and uses the model was never evaluated for.
    decision_process : str
        How the output enters decisions (what it is one input to).
    human_review : str
        Who reviews each output, and their authority to disagree with it.
    appeal_route : str
        How a person can challenge a decision the output informed.
    dpia_reference, eqia_reference : str
        References of the data protection and equality impact assessments.
    ethical_considerations, caveats : list of str
    description, website, benefits, previous_process, alternatives_considered,
    frequency_and_scale, reviewer_training, phase, maintenance, external_supplier : str
        ATRS fields (optional for the card, listed as gaps in the ATRS record).
    risks : list of Risk
        ATRS risks with their mitigations.
    data_motivation, data_collection, data_access : str
        Datasheet fields about the training data, where known.

    Examples
    --------
    >>> ctx = CardContext(owner_organisation="HM Prison Service", contact="team@example.org")
    >>> "senior_responsible_owner" in ctx.missing_fields()
    True
    >>> CardContext(prohibited_uses="Sentencing").prohibited_uses  # one string is a list
    ['Sentencing']
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner_organisation: str | None = None
    owner_team: str | None = None
    senior_responsible_owner: str | None = None
    contact: str | None = None
    intended_use: str | None = None
    intended_users: list[str] = Field(default_factory=list)
    permitted_uses: list[str] = Field(default_factory=list)
    prohibited_uses: list[str] = Field(default_factory=list)
    out_of_scope_uses: list[str] = Field(default_factory=list)
    decision_process: str | None = None
    human_review: str | None = None
    appeal_route: str | None = None
    dpia_reference: str | None = None
    eqia_reference: str | None = None
    ethical_considerations: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    # ATRS-only fields
    description: str | None = None
    website: str | None = None
    benefits: str | None = None
    previous_process: str | None = None
    alternatives_considered: str | None = None
    frequency_and_scale: str | None = None
    reviewer_training: str | None = None
    phase: str | None = None
    maintenance: str | None = None
    external_supplier: str | None = None
    risks: list[Risk] = Field(default_factory=list)
    # Datasheet fields
    data_motivation: str | None = None
    data_collection: str | None = None
    data_access: str | None = None

    def __init__(self, **data: Any) -> None:
        # Report every problem at once, as SchemaError, like the other configuration files.
        try:
            super().__init__(**data)
        except ValidationError as err:
            problems = []
            for e in err.errors():
                loc = ".".join(str(p) for p in e["loc"]) or None
                hint = "see docs/cards.md for the fields of a card context"
                if e["type"] == "extra_forbidden":
                    hint = f"unknown key; known keys are {sorted(type(self).model_fields)}"
                problems.append(Problem(column=loc, found=e["msg"], hint=hint))
            raise SchemaError(problems, context="Invalid CardContext") from None

    @field_validator(
        "intended_users",
        "permitted_uses",
        "prohibited_uses",
        "out_of_scope_uses",
        "ethical_considerations",
        "caveats",
        mode="before",
    )
    @classmethod
    def _one_string_is_a_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [v]
        return [] if v is None else v

    @field_validator("*", mode="after")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        # Blank text is no answer: treat it as missing rather than as a filled-in field.
        if isinstance(v, str):
            return v.strip() or None
        if isinstance(v, list):
            return [x.strip() if isinstance(x, str) else x for x in v if not _blank(x)]
        return v

    # ------------------------------------------------------------------ completeness
    def missing_fields(self, fields: tuple[str, ...] | None = None) -> list[str]:
        """Names of the fields (default :data:`REQUIRED_FIELDS`) that are not filled in."""
        wanted = REQUIRED_FIELDS if fields is None else fields
        return [f for f in wanted if _blank(getattr(self, f))]

    @staticmethod
    def label(name: str) -> str:
        """The plain-language label of a field, as cards show it."""
        return _LABELS.get(name, name.replace("_", " ").capitalize())

    # ------------------------------------------------------------------ YAML I/O
    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> CardContext:
        """Read a context from a YAML file (an empty file is an empty context).

        Raises
        ------
        SchemaError
            The file is missing, is not YAML, is not a mapping, or has unknown or
            mistyped keys (all listed at once).
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as err:
            raise SchemaError(
                Problem(None, f"cannot read {p}: {err.strerror}", "check the path"),
                context="Invalid CardContext",
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SchemaError(
                Problem(None, f"{p} is not valid YAML ({err})", "fix the YAML syntax"),
                context="Invalid CardContext",
            ) from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SchemaError(
                Problem(
                    None, f"expected a mapping, got {type(data).__name__}", "see docs/cards.md"
                ),
                context="Invalid CardContext",
            )
        return cls(**data)

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        """The filled-in fields as YAML (written atomically to ``path`` when given)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def template(cls) -> str:
        """A YAML skeleton listing every field with its meaning, for owners to fill in.

        Examples
        --------
        >>> text = CardContext.template()
        >>> CardContext(**yaml.safe_load(text)).missing_fields() == list(REQUIRED_FIELDS)
        True
        """
        lines = [
            "# Model card context: what only the model's owners can know.",
            "# Fill in every field marked (required): until then the card is incomplete.",
            "# Lists take one item per line ('- ...'); risks take 'risk:' and 'mitigation:'.",
        ]
        for name in cls.model_fields:
            tag = " (required)" if name in REQUIRED_FIELDS else ""
            lines.append("")
            lines.append(f"# {cls.label(name)}{tag}")
            is_list = name in _LIST_FIELDS or name == "risks"
            lines.append(f"{name}: []" if is_list else f"{name}:")
        return "\n".join(lines) + "\n"


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, list | tuple):
        return len(v) == 0
    return False


_LIST_FIELDS = (
    "intended_users",
    "permitted_uses",
    "prohibited_uses",
    "out_of_scope_uses",
    "ethical_considerations",
    "caveats",
)

#: Fields without which a card is incomplete (they only a person can know).
REQUIRED_FIELDS: tuple[str, ...] = (
    "owner_organisation",
    "owner_team",
    "senior_responsible_owner",
    "contact",
    "intended_use",
    "intended_users",
    "permitted_uses",
    "prohibited_uses",
    "out_of_scope_uses",
    "decision_process",
    "human_review",
    "appeal_route",
    "dpia_reference",
    "eqia_reference",
    "ethical_considerations",
    "caveats",
)

#: Further fields a complete ATRS record needs.
ATRS_FIELDS: tuple[str, ...] = (
    "website",
    "benefits",
    "previous_process",
    "alternatives_considered",
    "frequency_and_scale",
    "reviewer_training",
    "phase",
    "maintenance",
    "external_supplier",
    "risks",
)

_LABELS = {
    "owner_organisation": "Owner organisation",
    "owner_team": "Owner team",
    "senior_responsible_owner": "Senior responsible owner",
    "contact": "Contact",
    "intended_use": "Intended use",
    "intended_users": "Intended users",
    "permitted_uses": "Permitted uses",
    "prohibited_uses": "Prohibited uses",
    "out_of_scope_uses": "Out-of-scope uses",
    "decision_process": "How the output enters decisions",
    "human_review": "Who reviews each output",
    "appeal_route": "How to challenge a decision",
    "dpia_reference": "Data protection impact assessment (DPIA) reference",
    "eqia_reference": "Equality impact assessment (EqIA) reference",
    "ethical_considerations": "Ethical considerations",
    "caveats": "Caveats",
    "description": "Plain-language description",
    "website": "Website",
    "benefits": "Benefits",
    "previous_process": "Process before the tool",
    "alternatives_considered": "Alternatives considered",
    "frequency_and_scale": "Frequency and scale of use",
    "reviewer_training": "Training for the people who use the output",
    "phase": "Phase (pilot, production, retired)",
    "maintenance": "Maintenance and review schedule",
    "external_supplier": "External supplier",
    "risks": "Risks and mitigations",
    "data_motivation": "Why the data were collected",
    "data_collection": "How the data were collected",
    "data_access": "Data access and storage",
}
