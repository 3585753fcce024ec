"""The whole journey from one configuration file: ``riskmodels run pipeline.yaml``.

A pipeline file names the user's own data and every choice the step-by-step commands
take as options: the dataset spec, the estimator, the split (with its gap), the policy,
the card context and the output folder. The run trains, assesses, writes the candidate,
the model card and the gate report, and then **stops at the approval step** unless the
file names the approvers (with their signing keys) and the waivers they sign; only then
does it write the release and, if the file has a ``scoring`` section, score the people in
``data.score`` into a risk list. Nothing here bypasses a guardrail: approval, signatures,
purposes and the audit log are the library's own.

Relative paths in the file are relative to the file's own folder, so a pipeline folder
can be moved or shared as a whole.

Examples
--------
>>> cfg = PipelineConfig.model_validate(
...     {"spec": "spec.yaml", "data": {"train": "data.csv"}, "output": "out"})
>>> cfg.split.gap_days, cfg.approval is None
(0, True)
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskmodels._io import atomic_write_text
from riskmodels.errors import DataQualityError, GateFailed, Problem, ReleaseError, SchemaError

__all__ = [
    "ApprovalConfig",
    "Approver",
    "DataConfig",
    "ModelConfig",
    "PipelineConfig",
    "PipelineResult",
    "ScoringConfig",
    "SplitConfig",
    "check_record_path",
    "load_pipeline",
    "run_pipeline",
]

_DOCS = "see examples/pipeline.yaml for every key with a comment"


class _Section(BaseModel):
    # an unknown key is almost always a typo: refuse it rather than silently ignore it
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """The data files (``.csv`` or ``.parquet``).

    Parameters
    ----------
    train : Path
        Labelled data: it is split into training and held-out test data.
    score : Path, optional
        People to score once the release is approved (no outcome column needed).
    """

    train: Path
    score: Path | None = None


class ModelConfig(_Section):
    """The model: ``estimator`` (``hgb`` or ``logistic``), ``calibration`` (``sigmoid``,
    ``isotonic`` or ``none``), ``seed``, ``n_boot`` (bootstrap replicates for CIs) and
    ``allow`` (serious data-quality issues accepted knowingly: ``single_class``,
    ``too_few_events``, ``leakage``)."""

    estimator: Literal["hgb", "logistic"] = "hgb"
    calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid"
    seed: int = 0
    n_boot: int = Field(1000, ge=50)
    allow: list[Literal["single_class", "too_few_events", "leakage"]] = Field(default_factory=list)


class SplitConfig(_Section):
    """How the labelled data is split: ``method`` (``auto``, ``temporal``, ``grouped``,
    ``random``), ``test_size`` and ``gap_days`` (temporal: training snapshots this many
    days before the test period are left out; use the outcome horizon)."""

    method: Literal["auto", "temporal", "grouped", "random"] = "auto"
    test_size: float = Field(0.25, gt=0, lt=1)
    gap_days: int = Field(0, ge=0)


class Approver(_Section):
    """One approver: ``name`` (as the site's trust store knows them), ``signing_key``
    (their Ed25519 private key; its passphrase, if any, in $RISKMODELS_KEY_PASSPHRASE) and
    an optional ``role``."""

    name: str = Field(min_length=1)
    signing_key: Path
    role: str | None = None


class ApprovalConfig(_Section):
    """The approval: ``author`` (who built the model), ``approvers`` (the first approves,
    the others co-sign), ``waivers`` (gate name -> the written reason the approvers
    accept it) and ``valid_for_days``."""

    author: str = Field(min_length=1)
    approvers: list[Approver] = Field(min_length=1)
    waivers: dict[str, str] = Field(default_factory=dict)
    valid_for_days: int | None = Field(None, gt=0)


class ScoringConfig(_Section):
    """Scoring after approval: ``purpose`` (one the policy permits), ``out`` (the risk
    list: ``.xlsx``, ``.csv`` or ``.parquet``, in the output folder), ``split_by`` (one
    list per value, e.g. establishment), ``explain`` and the site's ``trust_store`` and
    ``audit_log`` (default: $RISKMODELS_TRUST_STORE and $RISKMODELS_AUDIT_LOG)."""

    purpose: str = Field(min_length=1)
    out: str = "risk_list.xlsx"
    split_by: str | None = None
    explain: Literal["flagged", "all", "none"] = "flagged"
    trust_store: Path | None = None
    audit_log: Path | None = None

    @model_validator(mode="after")
    def _known_format(self) -> ScoringConfig:
        if Path(self.out).suffix.lower() not in _WRITERS:
            raise ValueError(f"out must end in one of {sorted(_WRITERS)}, got {self.out!r}")
        return self


_WRITERS = {".csv": "to_csv", ".xlsx": "to_excel", ".parquet": "to_parquet"}


class PipelineConfig(_Section):
    """A pipeline file: see the module docstring and ``examples/pipeline.yaml``.

    Parameters
    ----------
    spec : Path
        The dataset spec (YAML).
    data : DataConfig
    output : Path
        Folder for the candidate, the card, the gate report, the release and the list.
    model : ModelConfig
    split : SplitConfig
    policy : Path, optional
        Policy YAML; default: the library's default policy.
    card_context : Path or dict, optional
        The owners' card context: a YAML file or the fields inline.
    approval : ApprovalConfig, optional
        Without it the run stops before approval.
    scoring : ScoringConfig, optional
        Without it the run stops once the release is written.
    """

    spec: Path
    data: DataConfig
    output: Path
    model: ModelConfig = Field(default_factory=ModelConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    policy: Path | None = None
    card_context: Path | dict[str, Any] | None = None
    approval: ApprovalConfig | None = None
    scoring: ScoringConfig | None = None

    @model_validator(mode="after")
    def _scoring_needs_people(self) -> PipelineConfig:
        if self.scoring is not None and self.data.score is None:
            raise ValueError("a scoring section needs the people to score in data.score")
        return self


def _problems(err: ValidationError) -> list[Problem]:
    """pydantic's errors as Problems that name the key (``data.train``) and what to do."""
    out = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or None
        if e["type"] == "extra_forbidden":
            hint = f"unknown key (a typo?); {_DOCS}"
        elif e["type"] == "missing":
            hint = f"add it; {_DOCS}"
        else:
            hint = _DOCS
        found = e["msg"].removeprefix("Value error, ")
        if e["type"] != "missing" and "input" in e and not isinstance(e["input"], dict):
            found += f" (got {e['input']!r})"
        out.append(Problem(key, found, hint))
    return out


def load_pipeline(path: str | os.PathLike[str]) -> PipelineConfig:
    """Read and check a pipeline file; every problem is reported at once.

    Relative paths are resolved against the file's folder, and the input files must
    exist.

    Parameters
    ----------
    path : str or path-like
        The pipeline YAML.

    Returns
    -------
    PipelineConfig

    Raises
    ------
    SchemaError
        The file is missing, is not YAML, or has unknown, missing or invalid keys, or
        names input files that do not exist; each problem names its key.
    """
    path = Path(path)
    ctx = f"Invalid pipeline file {path}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SchemaError(
            Problem(None, f"cannot read it: {err.strerror}", "check the path"), context=ctx
        ) from None
    except yaml.YAMLError as err:
        raise SchemaError(
            Problem(None, f"not valid YAML ({err})", "fix the YAML syntax"), context=ctx
        ) from None
    if not isinstance(raw, dict):
        raise SchemaError(
            Problem(None, "expected a mapping of keys (spec, data, output, ...)", _DOCS),
            context=ctx,
        )
    try:
        cfg = PipelineConfig.model_validate(raw)
    except ValidationError as err:
        raise SchemaError(_problems(err), context=ctx) from None
    cfg = _resolve(cfg, path.parent)
    missing = [
        Problem(key, f"file not found: {p}", "paths are relative to the pipeline file's folder")
        for key, p in _input_files(cfg)
        if not p.exists()
    ]
    if missing:
        raise SchemaError(missing, context=ctx)
    return cfg


def _resolve(cfg: PipelineConfig, base: Path) -> PipelineConfig:
    def r(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else base / p).resolve()

    update: dict[str, Any] = {
        "spec": r(cfg.spec),
        "output": r(cfg.output),
        "policy": r(cfg.policy),
        "data": cfg.data.model_copy(
            update={"train": r(cfg.data.train), "score": r(cfg.data.score)}
        ),
    }
    if isinstance(cfg.card_context, Path):
        update["card_context"] = r(cfg.card_context)
    if cfg.approval is not None:
        approvers = [
            a.model_copy(update={"signing_key": r(a.signing_key)}) for a in cfg.approval.approvers
        ]
        update["approval"] = cfg.approval.model_copy(update={"approvers": approvers})
    if cfg.scoring is not None:
        update["scoring"] = cfg.scoring.model_copy(
            update={
                "trust_store": r(cfg.scoring.trust_store),
                "audit_log": r(cfg.scoring.audit_log),
            }
        )
    return cfg.model_copy(update=update)


def _input_files(cfg: PipelineConfig) -> list[tuple[str, Path]]:
    files = [("spec", cfg.spec), ("data.train", cfg.data.train)]
    if cfg.data.score is not None:
        files.append(("data.score", cfg.data.score))
    if cfg.policy is not None:
        files.append(("policy", cfg.policy))
    if isinstance(cfg.card_context, Path):
        files.append(("card_context", cfg.card_context))
    if cfg.approval is not None:
        files += [
            (f"approval.approvers.{i}.signing_key", a.signing_key)
            for i, a in enumerate(cfg.approval.approvers)
        ]
    return files


def check_record_path(candidate: Path) -> Path:
    """Where ``riskmodels check`` records the content hash of the candidate it checked."""
    return candidate.with_name(candidate.name + ".check.json")


@dataclass
class PipelineResult:
    """What a run produced; ``stopped_at`` says where it stopped and why.

    ``stopped_at`` is ``"approval"`` (no approval section: the gates await a reviewer),
    ``"release"`` (approved, nothing to score) or ``None`` (scored).
    """

    config: PipelineConfig
    model: Any
    evidence: Any
    card: Any
    gates: Any
    policy: Any
    candidate: Path
    candidate_sha256: str
    outputs: dict[str, Path] = field(default_factory=dict)
    release: Any = None
    risk_list: Any = None
    stopped_at: str | None = None


def run_pipeline(
    config: PipelineConfig | str | os.PathLike[str],
    *,
    progress: Any = None,
) -> PipelineResult:
    """Run the journey a pipeline file describes, stopping at approval unless it is given.

    Parameters
    ----------
    config : PipelineConfig or path
        A checked configuration, or the path of a pipeline YAML (see :func:`load_pipeline`).
    progress : callable, optional
        ``progress(message)`` returns a context manager wrapped around each step (the CLI
        shows a spinner); default: none.

    Returns
    -------
    PipelineResult

    Raises
    ------
    SchemaError, DataQualityError
        Invalid configuration or data (each names what to fix).
    GateFailed
        Approvals were given but a gate neither passes nor is waived under
        ``approval.waivers``.
    ReleaseError, PolicyViolation
        The output folder holds a release already (refused before any work), a signature
        is refused, or the purpose is not permitted.
    """
    import contextlib

    from riskmodels.cards import CardContext, ModelCard
    from riskmodels.data import DatasetSpec, check_quality, read_frame
    from riskmodels.modeling import RiskModel, split
    from riskmodels.policy import Policy
    from riskmodels.release import save_candidate
    from riskmodels.release._candidate import candidate_id

    cfg = config if isinstance(config, PipelineConfig) else load_pipeline(config)
    stage = progress or (lambda _msg: contextlib.nullcontext())
    out = cfg.output
    if (out / "release").exists():
        # Refused before any work: a release is never overwritten, and a new candidate
        # beside an old release would leave a folder whose parts disagree.
        raise ReleaseError(
            f"{out} holds a release already ({out / 'release'}); a release is never "
            "overwritten. Choose a new output folder in the pipeline file, or move the "
            "release away.",
            reason="exists",
            path=str(out / "release"),
        )
    # the small files first, so that a mistake in them costs no training time
    spec = DatasetSpec.from_yaml(cfg.spec)
    policy = Policy.default() if cfg.policy is None else Policy.from_yaml(cfg.policy)
    context = cfg.card_context
    if isinstance(context, Path):
        context = CardContext.from_yaml(context)
    elif isinstance(context, dict):
        context = CardContext(**context)
    out.mkdir(parents=True, exist_ok=True)
    with stage(f"Read and validate {cfg.data.train}"):
        frame = spec.validate(read_frame(cfg.data.train))
        try:
            check_quality(frame, spec, allow=cfg.model.allow)
        except DataQualityError as err:
            # the library's hint is Python's; in a pipeline the accepted issues live in the file
            message = re.sub(
                r"pass allow=\[[^\]]*\]",
                "list them under model.allow in the pipeline file",
                str(err),
            )
            raise DataQualityError(message, column=err.column, report=err.report) from None
    with stage("Split it into training and held-out test data"):
        train, test = split(
            frame,
            spec,
            method=cfg.split.method,
            test_size=cfg.split.test_size,
            gap_days=cfg.split.gap_days,
            random_state=cfg.model.seed,
        )
    m = cfg.model
    model = RiskModel(
        spec,
        estimator=m.estimator,
        calibration=None if m.calibration == "none" else m.calibration,
        random_state=m.seed,
    )
    with stage("Fit the model"):
        model.fit(train, allow=tuple(cfg.model.allow))
    with stage("Assess it on the held-out data"):
        evidence = model.assess(test, n_boot=m.n_boot, random_state=m.seed)

    # The candidate is rewritten on every run (it is this run's model); a release never is.
    candidate = out / "candidate"
    if candidate.exists():
        shutil.rmtree(candidate)
    with stage(f"Save the candidate to {candidate}"):
        save_candidate(model, evidence, candidate)
    content = candidate_id(candidate)

    with stage("Build the model card and check the policy gates"):
        card = ModelCard.build(model, evidence, context, policy=policy)
        gates = policy.check(evidence, model=model, context=card.context)
        card = card.with_gates(gates, _known_waivers(cfg, gates))
        card.save(out / "card")
    gates_file = out / "gates.json"
    gates.save(gates_file)
    # the record `riskmodels check` writes: `riskmodels approve --candidate` can go on from here
    record = {
        "candidate": str(candidate),
        "content_sha256": content,
        "policy": f"{policy.name} {policy.version}",
        "gates": gates.summary(),
    }
    atomic_write_text(check_record_path(candidate), json.dumps(record, indent=1) + "\n")
    result = PipelineResult(
        cfg, model, evidence, card, gates, policy, candidate, content,
        outputs={"candidate": candidate, "card": out / "card" / "model_card.html",
                 "gates": gates_file},
    )  # fmt: skip
    if cfg.approval is None:
        result.stopped_at = "approval"
        return result

    result.release = _approve(cfg, model, evidence, card, policy, out / "release", stage)
    result.outputs["release"] = out / "release"
    if cfg.scoring is None:
        result.stopped_at = "release"
        return result
    result.risk_list = _score(cfg, out, stage)
    result.outputs["risk_list"] = out / cfg.scoring.out
    return result


def _known_waivers(cfg: PipelineConfig, gates: Any) -> dict[str, str]:
    """The configured waivers of gates that exist (the card shows them)."""
    if cfg.approval is None:
        return {}
    names = {g.name for g in gates}
    return {k: v for k, v in cfg.approval.waivers.items() if k in names}


def _approve(cfg, model, evidence, card, policy, release_dir: Path, stage) -> Any:
    from riskmodels.release import add_approval, approve

    a = cfg.approval
    passphrase = os.environ.get("RISKMODELS_KEY_PASSPHRASE") or None
    first, others = a.approvers[0], a.approvers[1:]
    try:
        with stage(f"Approve the release ({first.name})"):
            release = approve(
                model,
                evidence,
                card,
                policy,
                reviewer=first.name,
                author=a.author,
                waivers=a.waivers,
                valid_for_days=a.valid_for_days,
                out=release_dir,
                signing_key=first.signing_key,
                passphrase=passphrase,
                role=first.role,
            )
    except GateFailed as err:
        # the library's hint is Python's; in a pipeline the waivers live in the file
        message = str(err).replace(
            "approve(..., waivers={'gate.name': 'why it is acceptable'})",
            "add `GATE.NAME: why it is acceptable` under approval.waivers in the pipeline file",
        )
        raise GateFailed(message, report=err.report) from None
    for other in others:
        with stage(f"Add the approval of {other.name}"):
            release = add_approval(
                release_dir,
                signing_key=other.signing_key,
                reviewer=other.name,
                role=other.role,
                passphrase=passphrase,
            )
    return release


def _score(cfg: PipelineConfig, out: Path, stage) -> Any:
    from riskmodels.scoring import score

    s = cfg.scoring
    with stage(f"Score {cfg.data.score} for {s.purpose}"):
        risk_list = score(
            out / "release",
            cfg.data.score,
            purpose=s.purpose,
            explain=s.explain,
            trust_store=s.trust_store,
            audit_log=s.audit_log,
            split_by=s.split_by,
        )
    target = out / s.out
    with stage(f"Write {target}"):
        getattr(risk_list, _WRITERS[target.suffix.lower()])(target)
    return risk_list
