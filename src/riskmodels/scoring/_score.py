"""score(): the only way to operational scores — verified release, permitted purpose,
validated data, drift check, per-row abstention, and an audit-log entry."""

from __future__ import annotations

import getpass
import math
import os
import platform
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels import _clock
from riskmodels._io import sha256_file
from riskmodels._progress import Step, step
from riskmodels.data._profile import DRIFT_STATUSES, BatchCounts, TrainingProfile, judge_drift
from riskmodels.errors import PolicyViolation, Problem, RiskModelsError, SchemaError
from riskmodels.metrics._venn_abers import METHOD as VA_METHOD
from riskmodels.release import Release, load_release
from riskmodels.scoring._audit_log import append_entry, resolve_audit_log, verify_audit_log
from riskmodels.scoring._risklist import DECISION_COLUMNS, STATUSES, RiskList
from riskmodels.scoring._store import check_not_suspended, record_issued, resolve_store

if TYPE_CHECKING:
    from riskmodels.policy import Policy

__all__ = ["DriftReport", "score"]

_EXPLAIN = ("flagged", "all", "none")
#: Reasons given per explained row.
REASONS = 3
#: Rows of the batch used as the reference population of linear and model-agnostic
#: explanations (the training data is not in a release: it is personal data).
BACKGROUND_ROWS = 10_000


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): say so, never guess
        return "unknown"


# ---------------------------------------------------------------------- inputs
class _Source:
    """Chunks of the columns scoring needs, from a DataFrame or a Parquet file."""

    n_rows: int
    sha256: str
    kind: str
    name: str

    def chunks(self) -> Iterator[pd.DataFrame]:
        raise NotImplementedError

    def validate(self, spec: Any) -> None:
        raise NotImplementedError


class _FrameSource(_Source):
    def __init__(self, frame: pd.DataFrame, columns: list[str], chunk_size: int) -> None:
        self.frame = frame
        self.columns = columns
        self.chunk_size = chunk_size
        self.n_rows = len(frame)
        self.kind = "frame"
        self.name = "DataFrame"

    def validate(self, spec: Any) -> None:
        # the whole frame at once: every problem, duplicates included, in one error
        spec.validate(self.frame, require_target=False, require_protected=False)
        from riskmodels.modeling import frame_sha256

        self.sha256 = frame_sha256(self.frame, self.columns)

    def chunks(self) -> Iterator[pd.DataFrame]:
        for start in range(0, self.n_rows, self.chunk_size):
            yield self.frame.iloc[start : start + self.chunk_size][self.columns]


class _ParquetSource(_Source):
    def __init__(self, path: Path, columns: list[str], chunk_size: int) -> None:
        import pyarrow.parquet as pq

        try:
            self.file = pq.ParquetFile(path)
        except (OSError, ValueError) as err:
            raise SchemaError(
                Problem(None, f"cannot be read as Parquet ({err})", "check the file"),
                context=f"Cannot read {path}",
            ) from None
        self.path = path
        self.columns = columns
        self.chunk_size = chunk_size
        self.n_rows = self.file.metadata.num_rows
        self.kind = "parquet"
        self.name = path.name

    def chunks(self) -> Iterator[pd.DataFrame]:
        for batch in self.file.iter_batches(batch_size=self.chunk_size, columns=self.columns):
            yield batch.to_pandas()

    def validate(self, spec: Any) -> None:
        # Streamed: each chunk is validated; duplicates are checked across chunks on the
        # keys alone, so memory holds the ids, never the whole batch.
        missing = [c for c in self.columns if c not in self.file.schema_arrow.names]
        if missing:
            raise SchemaError(
                [
                    Problem(c, "column is missing", "add it, or fix the name in the spec")
                    for c in missing
                ]
            )
        keys = [spec.id] + ([spec.time] if spec.time else [])
        problems: list[Problem] = []
        seen: list[pd.DataFrame] = []
        start = 0
        for chunk in self.chunks():
            try:
                spec.validate(chunk, require_target=False, require_protected=False)
            except SchemaError as err:
                end = start + len(chunk) - 1
                problems += [
                    Problem(p.column, f"rows {start:,}-{end:,}: {p.found}", p.hint)
                    for p in err.problems
                ]
            seen.append(chunk[keys])
            start += len(chunk)
        if self.n_rows == 0:
            problems.append(Problem(None, "the file has 0 rows", "pass a non-empty file"))
        if seen and not problems:
            all_keys = pd.concat(seen, ignore_index=True)
            dup = all_keys.duplicated()
            if dup.any():
                ex = all_keys.loc[dup, spec.id].head(5).tolist()
                problems.append(
                    Problem(
                        spec.id,
                        f"{int(dup.sum())} duplicate id(s) (e.g. {ex})",
                        "ids must be unique per snapshot; deduplicate",
                    )
                )
        if problems:
            raise SchemaError(problems)
        self.sha256 = sha256_file(self.path)


def _source(frame: Any, columns: list[str], chunk_size: int) -> _Source:
    if isinstance(frame, pd.DataFrame):
        return _FrameSource(frame, columns, chunk_size)
    if isinstance(frame, str | os.PathLike):
        p = Path(frame)
        if p.suffix.lower() in (".parquet", ".pq") and p.is_file():
            return _ParquetSource(p, columns, chunk_size)
        from riskmodels.data import read_frame

        return _FrameSource(read_frame(p), columns, chunk_size)
    raise SchemaError(
        Problem(
            None,
            f"expected a DataFrame or a path, got {type(frame).__name__}",
            "pass a pandas DataFrame or a .parquet / .csv path",
        ),
        context="Invalid input to score",
    )


# ---------------------------------------------------------------------- drift
@dataclass(frozen=True)
class DriftReport:
    """Each feature of a batch against the population the batch should come from.

    ``reference`` names that population: the training data or, when the spec names a
    ``batch`` column (e.g. ``establishment``), the training rows of the batch's values in
    the batch's proportions (``TrainingProfile.compare``). Per feature: ``psi`` (the
    population stability index), ``p_value`` (a Monte Carlo G test of the batch's bin
    counts against the reference, valid at any batch size; NaN where PSI is below the
    policy's ``psi_warn`` and the feature was not tested), ``change`` (what differs most,
    in words) and ``status``:

    * ``drifted``: significant after Holm's correction across features at the policy's
      ``significance``, and PSI above ``psi_refuse``;
    * ``review``: significant, and PSI at least ``psi_warn``;
    * ``stable``: otherwise (the batch column itself is always stable: which
      establishments a batch covers is the batch's choice, not a change).
    """

    psi: dict[str, float]
    p_value: dict[str, float]
    status: dict[str, str]
    change: dict[str, str]
    n_rows: int
    reference: str
    significance: float
    psi_refuse: float
    batch_column: str | None = None

    @property
    def drifted(self) -> list[str]:
        return [f for f, s in self.status.items() if s == "drifted"]

    @property
    def review(self) -> list[str]:
        return [f for f, s in self.status.items() if s == "review"]

    def to_dict(self) -> dict[str, Any]:
        return {
            f: {
                "psi": _r(self.psi[f]),
                "p_value": _r(self.p_value[f]),
                "status": s,
                "change": self.change[f],
            }
            for f, s in self.status.items()
        }

    def refusal(self) -> str:
        """Why the batch is refused and what to do, naming each drifted feature."""
        changes = ", ".join(
            f"{f} ({self.change[f]}; PSI {self.psi[f]:.2f}, p = {self.p_value[f]:.2g})"
            for f in self.drifted
        )
        text = (
            f"Scoring refused: this batch of {self.n_rows:,} rows differs from the "
            "population the release was validated on, beyond chance (G tests, "
            f"Holm-corrected, family-wise false-alarm rate {self.significance:g}) and beyond "
            f"the policy's bound (PSI > {self.psi_refuse:g}), in {changes}. Compared with "
            f"{self.reference}. What to do: check that this is the batch you meant to score "
            "(a wrong extract, filter, date or unit, or values gone missing, show up like "
            "this); if it is, the population has changed since training, and the model "
            "must be re-validated on data from it and re-approved before it scores it."
        )
        if self.batch_column is None:
            text += (
                " If batches come from one part of the population at a time (e.g. one "
                "establishment), name that column as the spec's `batch`: each batch is then "
                "compared with the training rows of its own part."
            )
        return text


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 6)


def _drift(tally: BatchCounts, profile: TrainingProfile, policy: Policy) -> DriftReport:
    """Judge a batch's counts against the training profile by the policy's drift rule
    (``riskmodels.data._profile.judge_drift``)."""
    d = policy.drift
    comparison = profile.compare(tally)
    judged = [f for f in comparison.features if f != comparison.exempt]
    shifts = [comparison.features[f] for f in judged]
    pvalues, codes = judge_drift(
        np.array([[s.psi for s in shifts]], dtype=float).reshape(1, len(shifts)),
        np.array([[s.g for s in shifts]], dtype=float).reshape(1, len(shifts)),
        n=comparison.n_rows,
        null=[s.null for s in shifts],
        scale=comparison.scale,
        psi_warn=d.psi_warn,
        psi_refuse=d.psi_refuse,
        significance=d.significance,
    )
    judged_at = {f: (float(pvalues[0, j]), int(codes[0, j])) for j, f in enumerate(judged)}
    psi, p_value, status, change = {}, {}, {}, {}
    for name, shift in comparison.features.items():
        psi[name] = shift.psi
        p_value[name], code = judged_at.get(name, (math.nan, 0))
        status[name] = DRIFT_STATUSES[code]
        change[name] = (
            "the batch column: each of its values is compared with its own training rows"
            if name == comparison.exempt
            else shift.describe()
        )
    return DriftReport(
        psi=psi,
        p_value=p_value,
        status=status,
        change=change,
        n_rows=comparison.n_rows,
        reference=comparison.reference,
        significance=d.significance,
        psi_refuse=d.psi_refuse,
        batch_column=comparison.exempt,
    )


# ---------------------------------------------------------------------- per row
def _proxy_features(release: Release) -> tuple[str, ...]:
    proxies = getattr(release.evidence, "proxies", None)
    if proxies is None:
        return ()
    ff = proxies.flagged_features
    return tuple(ff() if callable(ff) else ff)


def _reason_texts(
    release: Release, sub: pd.DataFrame, rows: np.ndarray, background: pd.DataFrame
) -> np.ndarray:
    """Up to three plain-language reasons for ``rows`` (positions in ``sub``), joined by
    '; ' (missing when no feature raises the score)."""
    from riskmodels.explain import explain

    exps = explain(
        release.model.base_estimator_,
        sub,
        release.spec,
        background=background,
        rows=rows,
        proxies=_proxy_features(release),
        progress=False,
    )
    table = exps.reasons(k=REASONS)
    cols = [c for c in table.columns if str(c).startswith("reason_")]
    parts = table[cols].to_numpy(dtype=object)
    out = np.empty(len(parts), dtype=object)
    for i, row in enumerate(parts):
        words = [str(w) for w in row if isinstance(w, str) and w]
        out[i] = "; ".join(words) if words else None
    return out


# ---------------------------------------------------------------------- score
def _check_args(explain: Any, chunk_size: Any) -> None:
    problems = []
    if explain not in _EXPLAIN:
        problems.append(Problem("explain", f"{explain!r}", f"use one of {list(_EXPLAIN)}"))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        problems.append(Problem("chunk_size", f"{chunk_size!r}", "pass an integer >= 1"))
    if problems:
        raise SchemaError(problems, context="Invalid argument to score")


def _check_split(split_by: Any, spec: Any, shown: list[str]) -> None:
    """``split_by`` must name a column the list carries (id, person or display column)."""
    allowed = [spec.id, *shown]
    if split_by is not None and split_by not in allowed:
        hint = f"split by one of {allowed}"
        if split_by in spec.protected_names:
            hint = "protected attributes never travel onto a list; " + hint
        elif split_by in spec.columns(target=False, protected=False):
            hint = f"add it to the spec's display columns, or {hint}"
        raise SchemaError(
            Problem("split_by", f"{split_by!r} is not a column of the list", hint),
            context="Invalid argument to score",
        )


#: The watermark on every list a development release produces.
DEVELOPMENT_MARK = "DEVELOPMENT: NOT FOR OPERATIONAL USE. "


def _notice(release: Release, purpose: str) -> str:
    # read from the verified policy: the same object that enforced the purpose
    policy = release.policy
    prohibited = ", ".join(p.replace("_", " ") for p in policy.prohibited_purposes)
    approvers = " and ".join(release.signed_by) or release.reviewer
    mark = DEVELOPMENT_MARK if release.development else ""
    return mark + (
        "DECISION SUPPORT ONLY. This list supports, and does not replace, a human decision: "
        "every row must be reviewed by a member of staff with the authority and competence "
        "to act differently from the list, who records the decision and its rationale in the "
        f"columns provided. Produced for: {purpose.replace('_', ' ')}. It must not be used "
        f"for: {prohibited}. Scores are estimated probabilities of "
        f"'{release.spec.target_description}' from model {release.name} version "
        f"{release.version}, approved by {approvers} on {release.approved_at.date()} "
        f"and valid until {release.valid_until.date()}. Rows marked insufficient_basis were "
        "not scored because they lie outside the data the model was built on."
        + _waiver_sentence(release)
    )


def _waiver_sentence(release: Release) -> str:
    """What the people using the list must know: gates it was approved despite."""
    waived = release.waivers
    if not waived:
        return ""
    names = ", ".join(sorted(waived))
    return (
        f" The release was approved although {len(waived)} policy gate(s) did not pass "
        f"({names}); the reviewer's written reason for each is under 'waivers' in this "
        "list's details and in the release's approval record."
    )


def score(
    release: Release | str | os.PathLike[str],
    frame: pd.DataFrame | str | os.PathLike[str],
    *,
    purpose: str,
    explain: Literal["flagged", "all", "none"] = "flagged",
    chunk_size: int = 100_000,
    audit_log: str | os.PathLike[str] | None = None,
    trust_store: str | os.PathLike[str] | None = None,
    split_by: str | None = None,
    monitoring_store: str | os.PathLike[str] | None = None,
) -> RiskList:
    """Score people with an approved release, for a named, permitted purpose.

    In order: (1) the release's files, approval and expiry are verified; (2) the purpose
    must be permitted by the release's policy; (3) the data must match the spec (the
    target and protected attributes are not needed, and protected attributes are not
    read from a Parquet file); (4) each feature is compared with the population the
    batch should come from (the training data, or the training rows of the batch's
    values of the spec's ``batch`` column) and a batch that differs beyond chance and
    beyond the policy's PSI bound is refused (or flagged, if the policy says
    ``on_drift: flag``; see :class:`DriftReport`); (5) a row outside the training data
    (a value outside the training range, an unseen category, a missing value training
    never had) gets no score and status ``insufficient_basis`` with the reason; (6) the
    rest are scored, banded, ranked and (per ``explain``) given reasons; (7) one entry is
    appended to the site's audit log. A refusal scores nobody and is logged too (who,
    when, purpose, why). Time is the system clock's: no caller can claim another.

    Parameters
    ----------
    release : Release, path or str
        A loaded release (re-verified on disk), a bundle directory, or a registry URI
        ``models:/NAME@approved`` (the version's bundle is downloaded to a temporary
        folder and verified exactly as a folder is; ``riskmodels.tracking.register``).
    frame : DataFrame or path
        The people to score; a ``.parquet`` path is streamed in chunks so memory stays
        flat (a ``.csv`` path is read whole).
    purpose : str
        One of the policy's permitted purposes.
    explain : {"flagged", "all", "none"}, default "flagged"
        Rows to give reasons: those flagged (score >= the release threshold), all scored
        rows, or none.
    chunk_size : int, default 100_000
        Rows scored (and read from Parquet) at a time.
    audit_log : path, optional
        The site's audit log, outside any bundle: default ``$RISKMODELS_AUDIT_LOG``, else
        ``~/.local/share/riskmodels/audit_log.jsonl`` (see ``docs/sites.md``).
    trust_store : path, optional
        Folder of the public keys of the people allowed to approve; default
        ``$RISKMODELS_TRUST_STORE``, else ``~/.config/riskmodels/trust_store``. A
        production release needs its policy's number of approvals from these keys.
    split_by : str, optional
        A column that travels onto the list (the spec's ``person`` or a ``display``
        column, e.g. ``"establishment"``): the list's exports then write one sheet (XLSX)
        or one file (CSV, Parquet, in a folder) per value, each with its own counts and
        the same notice, so each place receives only its own people
        (:meth:`RiskList.split`). Checked before anything is scored.
    monitoring_store : URL or path, optional
        The site's monitoring store (``riskmodels.monitoring``): what this run issued is
        kept there, and a release monitoring has suspended is refused. Default
        ``$RISKMODELS_MONITORING_URL``, else ``monitoring.db`` beside the audit log.

    Returns
    -------
    RiskList

    Raises
    ------
    ReleaseError
        ``reason`` ``"tampered"``, ``"expired"`` or ``"unapproved"`` (also for a
        tampered audit log).
    PolicyViolation
        A prohibited or unknown purpose (the message lists the permitted ones), or a
        drifted batch under ``on_drift: refuse``: the policy forbids scoring a population
        the release was not validated on, so the refusal is a violation of the policy,
        not a data error (the data itself is valid).
    SchemaError
        The data does not match the spec (every problem listed), or a bad argument.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import riskmodels as rm
    >>> from riskmodels.policy import Policy
    >>> from riskmodels.release import add_approval, approve, generate_signing_key
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
    >>> train, test = rm.split(frame, spec)
    >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
    >>> evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
    >>> policy = Policy.default()
    >>> waivers = {g.name: "documentation example, not a real approval"
    ...            for g in policy.check(evidence, model=model) if g.status != "pass"}
    >>> d = pathlib.Path(tempfile.mkdtemp())   # two approvers, and a site trusting them
    >>> for who in ("R. Reviewer", "S. Second"):
    ...     _ = generate_signing_key(d / f"{who}.key", d / "trust" / f"{who}.pem")
    >>> release = approve(model, evidence, None, policy, reviewer="R. Reviewer",
    ...                   author="A. Author", waivers=waivers,
    ...                   signing_key=d / "R. Reviewer.key", out=d / "release")
    >>> release = add_approval(release, signing_key=d / "S. Second.key", reviewer="S. Second")
    >>> people = test.drop(columns=[spec.target, *spec.protected_names])
    >>> site = dict(trust_store=d / "trust", audit_log=d / "audit_log.jsonl")
    >>> risk_list = score(release, people, purpose="prioritise_welfare_review",
    ...                   explain="none", **site)
    >>> risk_list.frame.columns[:10].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['id', 'person_id', 'establishment', 'as_of', 'score', 'score_low', 'score_high',
     'band', 'rank', 'status']
    >>> bool(risk_list.frame["score"].dropna().is_monotonic_decreasing)  # highest first
    True
    >>> score(release, people, purpose="sentencing", **site)
    Traceback (most recent call last):
    ...
    riskmodels.errors.PolicyViolation: Purpose 'sentencing' is prohibited by policy ...
    """
    log_path = resolve_audit_log(audit_log)
    try:
        # A spinner naming the stage, when stderr is a terminal (see riskmodels._progress).
        with step(f"Scoring for {purpose}") as progress:
            return _score(
                release,
                frame,
                purpose=purpose,
                explain=explain,
                chunk_size=chunk_size,
                log_path=log_path,
                trust_store=trust_store,
                progress=progress,
                split_by=split_by,
                store_url=resolve_store(monitoring_store, log_path),
            )
    except RiskModelsError as err:
        _log_refusal(log_path, release, purpose, err)
        raise


def _log_refusal(log_path: Path, release: Any, purpose: Any, err: RiskModelsError) -> None:
    """One audit-log entry for a refused attempt: who, when, for what, why; nothing scored."""
    path = Path(release.path if isinstance(release, Release) else release)
    try:
        release_id = sha256_file(path / "release.json")
    except (OSError, TypeError):
        release_id = None
    record = {
        "event": "refused",
        "at": _clock.now().isoformat(timespec="seconds"),
        "user": _user(),
        "host": platform.node(),
        "purpose": purpose if isinstance(purpose, str) else repr(purpose),
        "release_path": str(path),
        "release_id": release_id,
        "error": type(err).__name__,
        "reason": getattr(err, "reason", None),
        "message": str(err)[:2000],
        "scored": 0,
    }
    try:
        append_entry(log_path, record)
    except (RiskModelsError, OSError) as log_err:
        # the refusal stands either way; say that it could not be recorded
        err.add_note(f"The refusal could not be written to the audit log {log_path}: {log_err}")


def _score(
    release: Release | str | os.PathLike[str],
    frame: pd.DataFrame | str | os.PathLike[str],
    *,
    purpose: str,
    explain: Literal["flagged", "all", "none"],
    chunk_size: int,
    log_path: Path,
    trust_store: str | os.PathLike[str] | None,
    progress: Step,
    split_by: str | None = None,
    store_url: str | None = None,
) -> RiskList:
    """The work of :func:`score`, as its named steps; ``progress`` names each one."""
    _check_args(explain, chunk_size)
    progress.stage("verifying the release")
    release = _verify(release, purpose, trust_store)
    store_url = store_url or resolve_store(None, log_path)
    if log_path.exists():
        check_not_suspended(release, verify_audit_log(log_path), store_url, trust_store)
    shown = _display_columns(release.spec)
    _check_split(split_by, release.spec, shown)
    progress.stage("checking the data")
    source = _validated_source(frame, release, shown, chunk_size)
    progress.stage(f"drift and basis checks on {source.n_rows:,} rows")
    drift, outside = _check_drift(source, release, purpose)
    chunks = _score_chunks(source, outside, release, explain, shown, progress)
    progress.stage("audit-log entry")
    out = _assemble(release, release.spec, *chunks)
    record = _record(log_path, release, purpose, source, out, drift)
    metadata = _list_metadata(release, purpose, explain, source, drift, record, log_path)
    metadata["split_by"] = split_by
    _keep_issued(store_url, release, out, metadata, drift)
    return RiskList(out, metadata)


def _keep_issued(
    store_url: str, release: Release, out: pd.DataFrame, metadata: dict[str, Any], drift: Any
) -> None:
    """Step 8: what was issued, for monitoring. The list is already audit-logged, so a
    store that cannot be written costs a warning, never the list."""
    try:
        record_issued(store_url, release, out, metadata, drift)
    except Exception as err:  # any database failure: the list stands
        warnings.warn(
            f"This list could not be recorded in the monitoring store {store_url} ({err}); "
            "monitoring will not see it. The audit log has it.",
            stacklevel=4,
        )


def _verify(release: Release | str | os.PathLike[str], purpose: str, trust_store: Any) -> Release:
    """Step 1-2: the release as on disk, verified, and the purpose permitted by it."""
    # A Release object is only a handle: its in-memory policy and model could have been
    # replaced after loading, so scoring always re-verifies and reloads from disk.
    path = release.path if isinstance(release, Release) else release
    if isinstance(path, str) and path.startswith("models:/"):
        # a registry URI: the version's bundle, downloaded and verified as a folder is
        # (imported here: MLflow is loaded only by runs that score from the registry)
        from riskmodels.tracking import load_registered_release

        verified = load_registered_release(path, trust_store=trust_store)
    else:
        verified = load_release(path, trust_store=trust_store)
    verified.policy.check_purpose(purpose)
    return verified


def _validated_source(frame: Any, release: Release, shown: list[str], chunk_size: int) -> _Source:
    """Step 3: the rows to score, checked against the spec (every problem at once)."""
    spec = release.spec
    features = list(release.model.features_)
    columns = list(dict.fromkeys(spec.columns(target=False, protected=False) + features + shown))
    source = _source(frame, columns, chunk_size)
    source.validate(spec)
    return source


def _check_drift(
    source: _Source, release: Release, purpose: str
) -> tuple[DriftReport, list[np.ndarray]]:
    """Step 4: one pass for the drift counts and each row's basis (one byte per row is
    kept); a drifted batch is refused when the policy says so."""
    profile = release.profile
    tally = profile.empty_counts()
    outside = []
    for chunk in source.chunks():
        part, bad = profile.scan(chunk)
        tally += part
        outside.append(bad)
    drift = _drift(tally, profile, release.policy)
    if drift.drifted and release.policy.drift.on_drift == "refuse":
        raise PolicyViolation(drift.refusal(), purpose=purpose)
    return drift, outside


def _score_chunks(
    source: _Source,
    outside: list[np.ndarray],
    release: Release,
    explain: str,
    shown: list[str],
    progress: Step,
) -> tuple[list[Any], ...]:
    """Step 5-6: per chunk, scores for rows with a basis, the reason for the others, and
    reasons for the rows ``explain`` asks for. Returns the per-chunk parts of the list:
    ids, times, scores, basis, reasons and display columns."""
    ids, times, scores, basis, reasons = [], [], [], [], []
    display: dict[str, list[pd.Series]] = {c: [] for c in shown}
    background = None
    done = 0
    doing = "scoring" if explain == "none" else "scoring and explaining"
    for chunk, bad in zip(source.chunks(), outside, strict=True):
        progress.stage(f"{doing}, {done:,}/{source.n_rows:,} rows done")
        done += len(chunk)
        part, background = _score_chunk(chunk, bad, release, explain, shown, background)
        for parts, value in zip((ids, times, scores, basis, reasons), part[:5], strict=True):
            if value is not None:
                parts.append(value)
        for c in shown:
            display[c].append(part[5][c])
    return ids, times, scores, basis, reasons, display


def _score_chunk(
    chunk: pd.DataFrame,
    bad: np.ndarray,
    release: Release,
    explain: str,
    shown: list[str],
    background: pd.DataFrame | None,
) -> tuple[tuple[Any, ...], pd.DataFrame | None]:
    """One chunk's part of the list (``bad``: its rows outside the training data, from
    ``profile.scan``): ids, times (None without a time column), scores, basis, reasons
    and display columns; and the explanations' background (the first chunk's rows with
    a basis, unless ``background`` is already set). Spark runs this per Arrow batch."""
    spec, model, profile = release.spec, release.model, release.profile
    threshold = release.threshold
    ok = ~bad
    p = np.full(len(chunk), np.nan)
    text = np.full(len(chunk), None, dtype=object)
    if bad.any():
        words = profile.out_of_distribution(chunk[bad]).to_numpy(dtype=object)
        text[bad] = "No score: " + words
    if ok.any():
        sub = chunk[ok] if not ok.all() else chunk
        p_ok = model._predict_proba(sub)
        p[ok] = p_ok
        if explain != "none":
            if background is None:
                # the same reference for every chunk: the first rows of the batch
                background = sub.head(BACKGROUND_ROWS)
            pick = p_ok >= threshold if explain == "flagged" else np.ones(len(p_ok), bool)
            if pick.any():
                text[np.flatnonzero(ok)[pick]] = _reason_texts(
                    release, sub, np.flatnonzero(pick), background
                )
    # a Series keeps its dtype (a categorical stays one byte per row)
    display = {c: chunk[c].reset_index(drop=True) for c in shown}
    times = pd.to_datetime(chunk[spec.time]).to_numpy() if spec.time else None
    return (chunk[spec.id].to_numpy(), times, p, ok, text, display), background


def _record(
    log_path: Path,
    release: Release,
    purpose: str,
    source: _Source,
    out: pd.DataFrame,
    drift: DriftReport,
) -> dict[str, Any]:
    """Step 7: the run's entry in the site's audit log; returns the counts, the output
    hash, who, when and the entry."""
    from riskmodels.modeling import frame_sha256

    output_sha = frame_sha256(out, ["id", "score", "band", "rank", "status"])
    counts_ = {
        "rows": len(out),
        "scored": int(out["score"].notna().sum()),
        "insufficient_basis": int((out["status"] == "insufficient_basis").sum()),
        "flagged": int((out["status"] == "flagged").sum()),
    }
    entry = _append_score_entry(
        log_path, release, purpose, counts_, source.name, source.sha256, output_sha, drift
    )
    return {"counts": counts_, "output_sha": output_sha, **entry}


def _append_score_entry(
    log_path: Path,
    release: Release,
    purpose: str,
    counts: dict[str, int],
    input_name: str,
    input_sha: str,
    output_sha: str,
    drift: DriftReport,
) -> dict[str, Any]:
    """The run's entry in the site's audit log, from its counts (``rows``, ``scored``,
    ``insufficient_basis``, ``flagged``) and hashes: one writer for ``score`` and for
    ``riskmodels.spark.score``, whose counts come from its partitions. Returns who, when
    and the entry."""
    user = _user()
    now = _clock.now()
    entry = append_entry(
        log_path,
        {
            "event": "score",
            "at": now.isoformat(timespec="seconds"),
            "user": user,
            "host": platform.node(),
            "purpose": purpose,
            "release_id": release.release_id,
            "model_name": release.name,
            "model_version": release.version,
            "rows_in": counts["rows"],
            "scored": counts["scored"],
            "abstained": counts["insufficient_basis"],
            "flagged": counts["flagged"],
            "input": input_name,
            "input_sha256": input_sha,
            "output_sha256": output_sha,
            "drift": drift.drifted + drift.review,
            "environment": release.manifest["approval"]["environment"],
            "approved_by": release.signed_by,
            "approval_keys": release.approval_fingerprints,
            "waivers": release.waivers,
        },
    )
    return {"user": user, "at": now, "entry": entry}


def _threshold_words(release: Release) -> str | None:
    """How the release's threshold was chosen, from its evidence (None for evidence
    written before it was recorded)."""
    choice = getattr(release.evidence, "threshold_choice", None) or {}
    return choice.get("description")


def _list_metadata(
    release: Release,
    purpose: str,
    explain: str,
    source: _Source,
    drift: DriftReport,
    record: dict[str, Any],
    log_path: Path,
) -> dict[str, Any]:
    """What the list says about itself: the notice, provenance, approvals, bands, counts,
    drift and where its audit entry is."""
    policy, card, threshold = release.policy, release.card, release.threshold
    metadata = {
        "notice": _notice(release, purpose),
        "model_name": release.name,
        "model_version": release.version,
        "outcome": release.spec.target_description,
        "release_id": release.release_id,
        "release_path": str(release.path),
        "card": (
            f"{card['file']} in the release bundle (sha256 {card['sha256']})"
            if card
            else "no model card in the release"
        ),
        "policy": f"{policy.name} {policy.version} (sha256 {policy.sha256})",
        "purpose": purpose,
        "permitted_purposes": list(policy.permitted_purposes),
        "prohibited_purposes": list(policy.prohibited_purposes),
        "generated_at": record["at"].isoformat(timespec="seconds"),
        "generated_by": record["user"],
        "approved_by": ", ".join(release.signed_by) or release.reviewer,
        "environment": release.manifest["approval"]["environment"],
        "approved_at": release.approved_at.isoformat(timespec="seconds"),
        "valid_until": release.valid_until.isoformat(timespec="seconds"),
        "approval_keys": release.approval_fingerprints,
        "waivers": release.waivers,
        "threshold": threshold,
        "threshold_choice": _threshold_words(release),
        "bands": {
            "cuts": policy.bands.resolve(threshold),
            "labels": list(policy.bands.labels),
        },
        # the method in words (not the tables: to_dict would copy them all for one string)
        "ranges": None if getattr(release.evidence, "venn_abers", None) is None else VA_METHOD,
        "explained": explain,
        "reasons": (
            f"up to {REASONS} features that raise the person's score most (SHAP values of "
            "the uncalibrated model, relative to the average person of this batch for "
            "linear models and of the training data for tree models)"
            if explain != "none"
            else "not computed"
        ),
        "id_column": release.spec.id,
        "counts": record["counts"],
        "drift": drift.to_dict(),
        "drift_flagged": drift.drifted,
        "drift_reference": drift.reference,
        "input": source.name,
        "input_sha256": source.sha256,
        "output_sha256": record["output_sha"],
        "audit_log": str(log_path),
        "audit_entry": record["entry"]["seq"],
    }
    if drift.drifted:
        metadata["notice"] += (
            f" WARNING: this batch differs from {drift.reference} in "
            f"{', '.join(drift.drifted)} (beyond chance and beyond the policy's population "
            "stability index bound); the scores may be less reliable than the release's "
            "evidence shows."
        )
    return metadata


def _assemble(
    release: Release,
    spec: Any,
    ids: list[np.ndarray],
    times: list[np.ndarray],
    scores: list[np.ndarray],
    basis: list[np.ndarray],
    reasons: list[np.ndarray],
    display: dict[str, list[pd.Series]] | None = None,
) -> pd.DataFrame:
    """The list: id, display columns, as_of, score, score_low, score_high, band, rank,
    status, reasons and the decision columns, highest score first (rows without a score
    last, in input order)."""
    import pyarrow as pa

    n = sum(len(x) for x in scores)
    # staff work down the list: highest risk first, ties and unscored rows in input order.
    # Each column is put in this order as it is built, so the list is never held twice.
    raw = np.concatenate(scores) if scores else np.empty(0)
    order = np.lexsort((np.arange(n), -np.nan_to_num(raw), np.isnan(raw)))
    score_all = raw[order]
    ok = (np.concatenate(basis) if basis else np.empty(0, bool))[order]
    # band and status are categoricals (ordered bands): one byte per row, however long
    # the list, and "low < medium < high" sorts the way a reader expects
    codes = np.where(ok, np.where(score_all >= release.threshold, 0, 1), 2).astype(np.int8)
    status = pd.Categorical.from_codes(codes, categories=list(STATUSES))
    bands = release.policy.bands
    ranges = getattr(release.evidence, "venn_abers", None)
    if ranges is not None:
        # each person's range (Venn-Abers, from the release's assessment data); a band is
        # given only where the whole range lies inside it, else the run of bands it spans
        low, high = ranges.interval(score_all)
    else:
        # evidence from before ranges were recorded: the score alone
        low = high = score_all
    band = pd.Categorical.from_codes(
        bands.span_codes(low, high, release.threshold).astype(np.int8),
        categories=bands.span_labels(),
        ordered=True,
    )
    rank = pd.Series(score_all).rank(ascending=False, method="min").astype("Int64")
    data: dict[str, Any] = {"id": (np.concatenate(ids) if ids else np.empty(0))[order]}
    for c, parts in (display or {}).items():
        # travel onto the list unchanged (never model inputs because of it)
        col = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)
        data[c] = col.take(order).reset_index(drop=True)
    if spec.time:
        data["as_of"] = (np.concatenate(times) if times else np.empty(0, "datetime64[ns]"))[order]
    data["score"] = score_all
    data["score_low"] = low if ranges is not None else np.full(n, np.nan)
    data["score_high"] = high if ranges is not None else np.full(n, np.nan)
    data["band"] = band
    data["rank"] = rank.array
    data["status"] = status
    # Text that may be missing is Arrow-backed StringDtype in every pandas we support:
    # numpy "str" under pandas 2.x turns a missing value into the text 'None', which then
    # reaches every export as if someone had written it.
    text = pd.StringDtype("pyarrow")
    data["reasons"] = pd.array(
        (np.concatenate(reasons) if reasons else np.empty(0, object))[order], dtype=text
    )
    for col in DECISION_COLUMNS:
        # all missing, for the reviewer: no per-row objects are created
        data[col] = pd.array(pa.nulls(n, pa.large_string()), dtype=text)
    return pd.DataFrame(data)


def _display_columns(spec: Any) -> list[str]:
    """Columns that travel onto the list beside the id: the person and the spec's
    ``display`` columns (protected attributes never do)."""
    cols = [c for c in [spec.person, *getattr(spec, "display", [])] if c and c != spec.id]
    protected = set(spec.protected_names)
    return [c for c in dict.fromkeys(cols) if c not in protected]
