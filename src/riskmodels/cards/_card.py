"""ModelCard: what a model is for, how well it works for whom, and what it cannot know."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmodels._io import atomic_write_bytes, atomic_write_text
from riskmodels._json import dumps_published, round_floats
from riskmodels.cards._atrs import ATRSRecord, make_record
from riskmodels.cards._build import (
    SCHEMA_ID,
    SECTIONS,
    attach_gates,
    build_document,
    draw_figures,
)
from riskmodels.cards._context import CardContext
from riskmodels.cards._plots import CardFigure
from riskmodels.cards._render import render_fairness_markdown, render_html, render_markdown
from riskmodels.cards.sections._inputs import coerce_context
from riskmodels.errors import Problem, SchemaError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riskmodels.modeling import Evidence, RiskModel
    from riskmodels.policy import GateReport, Policy
    from riskmodels.release import Release

__all__ = ["CARD_FILES", "ModelCard"]

#: The files :meth:`ModelCard.save` writes (figures go to ``figures/``).
CARD_FILES = {
    "markdown": "model_card.md",
    "html": "model_card.html",
    "json": "model_card.json",
    "atrs_json": "atrs.json",
    "atrs_markdown": "atrs.md",
}
FIGURES_DIR = "figures"
FAIRNESS_REPORT_SCHEMA = "riskmodels.cards.FairnessReport/1"


@cache
def _schema_text() -> str:
    return (
        resources.files("riskmodels.cards")
        .joinpath("model_card.schema.json")
        .read_text(encoding="utf-8")
    )


class ModelCard:
    """A model card built from a fitted model, its evidence and its owners' context.

    Build it with :meth:`build`; render it with :meth:`to_markdown`, :meth:`to_html`,
    :meth:`to_json` and :meth:`to_atrs`, or write every format with :meth:`save`.

    Attributes
    ----------
    data : dict
        The card as plain JSON data (what :meth:`to_json` writes): every number is copied
        unrounded from the evidence, after statistical disclosure control of group tables.
    figures : dict of str to CardFigure
        PNG figures (calibration, ROC, fairness by attribute, global importance), drawn
        on first use.
    context : CardContext
        The owners' context the card was built with.

    Examples
    --------
    >>> import riskmodels as rm
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
    >>> card = ModelCard.build(model, evidence, CardContext(owner_team="Safer Custody"))
    >>> card.complete, "senior_responsible_owner" in card.missing_fields
    (False, True)
    >>> card.to_markdown().startswith("# Model card")
    True
    """

    def __init__(
        self, data: dict[str, Any], context: CardContext, roc: dict[str, Any] | None = None
    ) -> None:
        # Published numbers at a stated precision: every rendering (JSON, Markdown, HTML,
        # ATRS) reads the same rounded values, stable across machines.
        self.data = round_floats(data)
        self.context = context
        self._roc = roc or {
            "model": {"fpr": [], "tpr": [], "auc": None},
            "baseline": {"fpr": [], "tpr": [], "auc": None},
        }
        self._figures: dict[str, CardFigure] | None = None

    @property
    def figures(self) -> dict[str, CardFigure]:
        """The card's figures, drawn on first use (building a card draws nothing)."""
        if self._figures is None:
            self._figures = draw_figures(self.data, self._roc)
        return self._figures

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        model: RiskModel,
        evidence: Evidence,
        context: CardContext | dict[str, Any] | str | os.PathLike[str] | None = None,
        *,
        policy: Policy | None = None,
        release: Release | Mapping[str, Any] | None = None,
        mlflow_run_id: str | None = None,
        valid_until: Any = None,
        sdc_threshold: int = 10,
        generated_at: Any = None,
        gate: None = None,
    ) -> ModelCard:
        """Build the card of ``model`` from its ``evidence`` and its owners' ``context``.

        The card is built once. Its gate section is attached afterwards with
        :meth:`with_gates`; the policy check reads the card's context, not the card.

        Parameters
        ----------
        model : RiskModel
            The fitted model.
        evidence : Evidence
            ``model.assess(test)``; it must belong to this model version.
        context : CardContext, dict, YAML path or None
            What only the owners can say. Missing fields are shown as "To be completed by
            the owner" and make the card incomplete; nothing is invented.
        policy : Policy, optional
            The release policy: the card states its prioritised fairness criterion, its
            permitted and prohibited purposes, and judges groups by its adequacy rule.
        release : Release, its manifest, or a mapping, optional
            Release / approval metadata (``reviewer``, ``approved_at``, ``valid_until``,
            ``waivers``, ...), shown in the lifecycle section.
        mlflow_run_id : str, optional
        valid_until : date or str, optional
            Overrides the release's validity date.
        sdc_threshold : int, default 10
            Statistical disclosure control: group counts below it are shown as "<10",
            counts that would reveal them are withheld, and rates whose denominators are
            below it are suppressed. 0 disables it (never for published cards).
        generated_at : datetime or str, optional
            The card's timestamp; default now, or ``SOURCE_DATE_EPOCH`` when set
            (reproducible builds).
        gate : None
            Removed: passing a gate report raises ``SchemaError``; use
            ``card.with_gates(report)``.

        Returns
        -------
        ModelCard

        Raises
        ------
        SchemaError
            Bad arguments, an unfitted model, evidence of another model version, or an
            invalid context (every problem listed).
        """
        if gate is not None:
            raise SchemaError(
                Problem(
                    "gate",
                    "ModelCard.build no longer takes the gate report",
                    "build the card once, then card = card.with_gates(report)",
                ),
                context="Invalid argument to ModelCard.build",
            )
        ctx = coerce_context(context)
        data, roc = build_document(
            model,
            evidence,
            ctx,
            policy=policy,
            release=release,
            mlflow_run_id=mlflow_run_id,
            valid_until=valid_until,
            sdc_threshold=sdc_threshold,
            generated_at=generated_at,
        )
        return cls(data, ctx, roc)

    def with_gates(self, report: GateReport, waivers: Mapping[str, str] | None = None) -> ModelCard:
        """A new card with ``report`` as its policy gate section (and in its summary).

        Parameters
        ----------
        report : GateReport
            ``policy.check(evidence, model=model, context=card.context)``.
        waivers : mapping of gate name to reason, optional
            Waivers recorded at approval (``approve`` passes them); default: those of the
            card's release record, if any.

        Returns
        -------
        ModelCard
            This card is left as it is; figures already drawn are shared.

        Examples
        --------
        >>> import riskmodels as rm
        >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
        >>> train, test = rm.split(frame, spec)
        >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
        >>> evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
        >>> card = ModelCard.build(model, evidence, CardContext(owner_team="Safer Custody"))
        >>> report = rm.Policy.default().check(evidence, model=model, context=card.context)
        >>> card.with_gates(report).data["gate"]["status"]
        'fail'
        """
        card = type(self)(attach_gates(self.data, report, waivers), self.context)
        card._roc, card._figures = self._roc, self._figures
        return card

    # ------------------------------------------------------------------ facts
    @property
    def complete(self) -> bool:
        """True when every field only the owner can supply is filled in."""
        return bool(self.data["complete"])

    @property
    def missing_fields(self) -> list[str]:
        """Names of the context fields still to be completed by the owner."""
        return [m["field"] for m in self.data["missing_fields"]]

    @property
    def sdc_threshold(self) -> int:
        """The disclosure-control threshold the card applies."""
        return int(self.data["sdc_threshold"])

    @property
    def sections(self) -> list[str]:
        """The section keys, in reading order."""
        return [k for k, _ in SECTIONS]

    @staticmethod
    def json_schema() -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) that :meth:`to_json` output satisfies."""
        return json.loads(_schema_text())

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The card as plain data (a deep copy of :attr:`data`)."""
        return json.loads(self.to_json())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """A card from :meth:`to_dict` output (or a parsed ``model_card.json``).

        The owners' context is read back from the document's ``context``. Figures need the
        ROC points, which the JSON does not hold: the ROC figure is left out.
        """
        d = dict(data)
        if d.get("schema") != SCHEMA_ID:
            raise SchemaError(
                Problem(
                    "schema",
                    f"{d.get('schema')!r}",
                    f"expected a model card document ({SCHEMA_ID})",
                ),
                context="Not a model card",
            )
        return cls(d, CardContext(**d["context"]))

    def to_json(self) -> str:
        """The card as JSON (UTF-8 text, indented, keys in reading order)."""
        return dumps_published(self.data)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """A card from :meth:`to_json` text (read a file with :meth:`load`).

        Examples
        --------
        >>> import riskmodels as rm
        >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
        >>> train, test = rm.split(frame, spec)
        >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
        >>> evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
        >>> card = ModelCard.build(model, evidence, CardContext(owner_team="Safer Custody"))
        >>> back = ModelCard.from_json(card.to_json())
        >>> back.to_json() == card.to_json(), back.context.owner_team
        (True, 'Safer Custody')
        """
        return cls.from_dict(json.loads(text))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelCard:
        """A card from a ``model_card.json`` file, or from the folder :meth:`save` wrote."""
        path = Path(path)
        if path.is_dir():
            path = path / CARD_FILES["json"]
        return cls.from_json(path.read_text(encoding="utf-8"))

    # ------------------------------------------------------------------ renderers
    def to_markdown(self, figures_dir: str | None = None) -> str:
        """The card as Markdown for a code host.

        With ``figures_dir``, figures are linked as ``{figures_dir}/<name>.png`` (what
        :meth:`save` writes, with ``figures_dir="figures"``); by default they are left
        out (with a pointer to the HTML card), so the text never links a missing file.
        """
        figures = self.figures if figures_dir is not None else {}
        return render_markdown(self.data, figures, figures_dir)

    def to_html(self) -> str:
        """The card as one self-contained HTML page: inline CSS, figures as data URIs,
        no external requests."""
        return render_html(self.data, self.figures, fragment=False)

    def _repr_html_(self) -> str:
        return render_html(self.data, self.figures, fragment=True)

    def to_atrs(self) -> ATRSRecord:
        """An ATRS (Tier 1 and Tier 2) record: ``.data``, ``.json``, ``.markdown`` and
        ``.missing`` (the fields the owner must complete)."""
        return make_record(self.data, self.context)

    def fairness_report(self, figures_dir: str | None = None) -> dict[str, str]:
        """The published fairness report: the card's fairness section and proxy scan.

        Returns ``{"markdown": ..., "json": ...}``. Both hold the audit after statistical
        disclosure control (the raw ``FairnessAudit`` has every small count and must not
        be published as it is).
        """
        d = self.data
        md = d["model_details"]
        payload = {
            "schema": FAIRNESS_REPORT_SCHEMA,
            "model": md["name"],
            "version": md["version"],
            "generated_at": d["generated_at"],
            "sdc_threshold": d["sdc_threshold"],
            "evaluation": {
                "n": d["metrics"]["n"],
                "n_events": d["metrics"]["n_events"],
                "window": d["metrics"]["evaluation_window"],
                "split": d["metrics"]["split"].get("method"),
            },
            "protected": d["factors"]["protected"],
            "justified_features": d["factors"]["justified_features"],
            "fairness": d["fairness"],
            "proxies": d["factors"]["proxies"],
        }
        figures = self.figures if figures_dir is not None else {}
        return {
            "markdown": render_fairness_markdown(d, figures, figures_dir),
            "json": dumps_published(payload),
        }

    def save(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write every format to ``directory`` atomically.

        Writes ``model_card.md``, ``model_card.html``, ``model_card.json``, ``atrs.json``,
        ``atrs.md`` and ``figures/*.png``. Paths inside the files are relative, so the
        folder can be moved or published as it is.

        Returns
        -------
        dict
            File role (``"markdown"``, ``"html"``, ..., ``"figure:<name>"``) to path.
        """
        out = Path(directory)
        atrs = self.to_atrs()
        texts = {
            "markdown": self.to_markdown(figures_dir=FIGURES_DIR),
            "html": self.to_html(),
            "json": self.to_json(),
            "atrs_json": atrs.json,
            "atrs_markdown": atrs.markdown,
        }
        written: dict[str, Path] = {}
        for key, figure in self.figures.items():
            path = out / FIGURES_DIR / figure.name
            atomic_write_bytes(path, figure.png)
            written[f"figure:{key}"] = path
        for role, text in texts.items():
            path = out / CARD_FILES[role]
            atomic_write_text(path, text)
            written[role] = path
        return written

    def __repr__(self) -> str:
        md = self.data["model_details"]
        state = "complete" if self.complete else f"incomplete ({len(self.missing_fields)} missing)"
        return f"ModelCard({md['name']!r}, version {md['version']!r}, {state})"
