"""What every card section is built from: typed inputs, read by attribute, never guessed."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskmodels.cards._context import CardContext
from riskmodels.errors import Problem, SchemaError
from riskmodels.modeling import Evidence, RiskModel
from riskmodels.policy import Policy

__all__ = ["CardInputs", "coerce_context", "make_inputs"]


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


def _generated_at(value: str | dt.datetime | dt.date | None) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat()
    if isinstance(value, str):
        return value
    # Reproducible builds convention: a fixed clock when SOURCE_DATE_EPOCH is set.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).isoformat(timespec="seconds")
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def coerce_context(context: Any) -> CardContext:
    """A :class:`CardContext` from a context, a mapping, a YAML path or None."""
    if context is None:
        return CardContext()
    if isinstance(context, CardContext):
        return context
    if isinstance(context, Mapping):
        return CardContext(**dict(context))
    if isinstance(context, str | os.PathLike):
        return CardContext.from_yaml(context)
    raise SchemaError(
        Problem(
            "context",
            f"expected a CardContext, a mapping or a YAML path, got {type(context).__name__}",
            "build one with CardContext(...) or CardContext.from_yaml(path)",
        ),
        context="Invalid argument to ModelCard.build",
    )


def _check_arguments(model: Any, evidence: Any, policy: Any, sdc_threshold: Any) -> None:
    problems = []
    if not isinstance(model, RiskModel):
        problems.append(
            Problem("model", f"got {type(model).__name__}", "pass a fitted riskmodels.RiskModel")
        )
    elif not hasattr(model, "version_"):
        problems.append(Problem("model", "the model is not fitted", "call model.fit(train)"))
    if not isinstance(evidence, Evidence):
        problems.append(
            Problem(
                "evidence",
                f"expected Evidence, got {type(evidence).__name__}",
                "pass model.assess(test)",
            )
        )
    if policy is not None and not isinstance(policy, Policy):
        problems.append(
            Problem("policy", f"got {type(policy).__name__}", "pass a riskmodels Policy or None")
        )
    if (
        not isinstance(sdc_threshold, int | np.integer)
        or isinstance(sdc_threshold, bool)
        or (sdc_threshold < 0)
    ):
        problems.append(
            Problem(
                "sdc_threshold",
                f"{sdc_threshold!r}",
                "pass an integer >= 0 (0 disables disclosure control)",
            )
        )
    if problems:
        raise SchemaError(problems, context="Invalid argument to ModelCard.build")
    if evidence.model_version != model.version_:
        raise SchemaError(
            Problem(
                "evidence",
                f"was built for model version {evidence.model_version}, not {model.version_}",
                "assess this model: evidence = model.assess(test)",
            ),
            context="Evidence and model do not match",
        )


def make_inputs(
    model: RiskModel,
    evidence: Evidence,
    context: Any,
    *,
    policy: Policy | None,
    release: dict[str, Any] | None,
    mlflow_run_id: str | None,
    valid_until: Any,
    sdc_threshold: int,
    generated_at: Any,
) -> CardInputs:
    """Check the arguments of ``ModelCard.build`` (every problem at once) and normalise
    them into :class:`CardInputs`."""
    _check_arguments(model, evidence, policy, sdc_threshold)
    if isinstance(valid_until, dt.date | dt.datetime):
        valid_until = valid_until.isoformat()
    return CardInputs(
        model=model,
        evidence=evidence,
        context=coerce_context(context),
        policy=policy,
        release=release,
        mlflow_run_id=None if mlflow_run_id is None else str(mlflow_run_id),
        valid_until=None if valid_until is None else str(valid_until),
        generated_at=_generated_at(generated_at),
    )
