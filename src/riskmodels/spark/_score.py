"""spark.score(): rm.score's guardrails over a Spark DataFrame, its scoring per partition.

The driver does what needs the whole batch: verify the release and purpose, check
suspension, sum each partition's drift counts and judge them, and write the one
audit-log entry. Every partition runs ``riskmodels.scoring._score._score_chunk`` and
``_assemble`` on its Arrow batches, with a release it verified itself from the bytes
the driver shipped.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels.data._profile import BatchCounts
from riskmodels.errors import PolicyViolation, Problem, ReleaseError, RiskModelsError, SchemaError
from riskmodels.release import Release, load_release
from riskmodels.release._signing import resolve_trust_store
from riskmodels.scoring._audit_log import resolve_audit_log, verify_audit_log
from riskmodels.scoring._risklist import DECISION_COLUMNS, STATUSES, RiskList
from riskmodels.scoring._score import (
    BACKGROUND_ROWS,
    _append_score_entry,
    _assemble,
    _check_args,
    _check_split,
    _display_columns,
    _drift,
    _keep_issued,
    _list_metadata,
    _log_refusal,
    _score_chunk,
    _verify,
)
from riskmodels.scoring._store import check_not_suspended, resolve_store
from riskmodels.spark._pyspark import require_pyspark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["META_KEY", "score", "to_risk_list"]

#: The key of the list's metadata (notice, provenance, counts, drift) in the Spark
#: metadata of its ``id`` column; Spark keeps it in the Parquet files it writes.
META_KEY = "riskmodels.risk_list"

#: Rows per Arrow batch scored at a time in a partition: rm.score's default chunk (larger
#: than Spark's default of 10,000, so each batch's fixed costs of validating, scanning and
#: predicting are paid less often).
BATCH_ROWS = 100_000
#: The first rows of the DataFrame searched for the explanations' background, as
#: ``riskmodels.score`` takes it from its first chunk (of 100,000 rows by default).
FIRST_CHUNK_ROWS = 100_000


# ---------------------------------------------------------------------- shipping
@dataclass(frozen=True)
class _Shipped:
    """What an executor needs to verify the release itself: the bundle's and the trust
    store's files as bytes (no shared file system assumed), the release id the driver
    verified, the purpose, and a run token (each run verifies afresh)."""

    run: str
    release_id: str
    purpose: str
    bundle: dict[str, bytes]
    trust: dict[str, bytes]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _ship(release: Release, purpose: str, trust_store: Any) -> _Shipped:
    store = resolve_trust_store(trust_store)
    return _Shipped(
        run=uuid.uuid4().hex,
        release_id=release.release_id,
        purpose=purpose,
        bundle=_files(Path(release.path)),
        trust=_files(store) if store.is_dir() else {},
    )


#: The release this Python worker verified for the current run (one entry: a worker
#: reused across runs verifies each run's release again and keeps only the newest).
_VERIFIED: dict[str, Release] = {}


def _executor_release(shipped: _Shipped) -> Release:
    """The release as verified on this worker: files, hashes, approvals against the
    shipped trust store, expiry by this machine's clock, and the purpose; it must be
    the release the driver verified."""
    release = _VERIFIED.get(shipped.run)
    if release is not None:
        return release
    root = Path(tempfile.mkdtemp(prefix="riskmodels-release-"))
    try:
        for folder, files in (("bundle", shipped.bundle), ("trust", shipped.trust)):
            (root / folder).mkdir()
            for name, data in files.items():
                (root / folder / name).write_bytes(data)
        release = load_release(root / "bundle", trust_store=root / "trust")
        # the model is loaded now: the files are no longer needed on this worker
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if release.release_id != shipped.release_id:
        raise ReleaseError(
            f"The release that reached this executor ({release.release_id}) is not the one "
            f"the driver verified ({shipped.release_id}). Hint: score again; if it "
            "persists, the bundle is being changed while it is read.",
            reason="tampered",
        )
    release.policy.check_purpose(shipped.purpose)
    _VERIFIED.clear()
    _VERIFIED[shipped.run] = release
    return release


# ---------------------------------------------------------------------- partitions
def _tally_batches(shipped: Any, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Per Arrow batch: the spec's problems and the drift counts (``profile.scan``), as
    one row of JSON for the driver to sum. A release this executor refuses is one row
    naming the refusal, which the driver raises as the same error."""
    try:
        release = _executor_release(shipped.value)
    except (ReleaseError, PolicyViolation) as err:
        for _ in batches:  # Spark's writer expects the input read to its end
            pass
        refusal = {"error": type(err).__name__, "message": str(err)}
        refusal["reason"] = getattr(err, "reason", None)
        yield pd.DataFrame(
            {"problems": ["[]"], "counts": ["null"], "refused": [json.dumps(refusal)]}
        )
        return
    spec, profile = release.spec, release.profile
    for batch in batches:
        problems: list[list[Any]] = []
        try:
            spec.validate(batch, require_target=False, require_protected=False)
        except SchemaError as err:
            problems = [[p.column, p.found, p.hint] for p in err.problems]
        counts = None
        if not problems:  # a batch that fails validation is not counted
            part, _ = profile.scan(batch)
            counts = {
                "n_rows": part.n_rows,
                "groups": part.groups.tolist(),
                "bins": {k: v.tolist() for k, v in part.bins.items()},
                "sums": part.sums,
            }
        yield pd.DataFrame(
            {"problems": [json.dumps(problems)], "counts": [json.dumps(counts)], "refused": [None]}
        )


def _score_batches(
    shipped: Any,
    background: Any,
    explain: str,
    shown: list[str],
    batches: Iterator[pd.DataFrame],
) -> Iterator[pd.DataFrame]:
    """Per Arrow batch: ``rm.score``'s chunk scoring and list assembly (rank is set
    over the whole DataFrame afterwards)."""
    release = _executor_release(shipped.value)
    for batch in batches:
        yield _arrow_ready(_score_part(release, batch, explain, shown, background.value))


def _score_part(
    release: Release,
    batch: pd.DataFrame,
    explain: str,
    shown: list[str],
    background: pd.DataFrame | None,
) -> pd.DataFrame:
    """The list's rows for ``batch``: exactly the code path of ``rm.score``."""
    _, bad = release.profile.scan(batch)
    (ids, times, p, ok, text, display), _ = _score_chunk(
        batch, bad, release, explain, shown, background
    )
    return _assemble(
        release,
        release.spec,
        [ids],
        [] if times is None else [times],
        [p],
        [ok],
        [text],
        {c: [s] for c, s in display.items()},
    )


def _arrow_ready(out: pd.DataFrame) -> pd.DataFrame:
    # categoricals (band, status) travel to Spark as their labels
    return out.assign(
        **{
            c: out[c].astype(object)
            for c in out.columns
            if isinstance(out[c].dtype, pd.CategoricalDtype)
        }
    )


# ---------------------------------------------------------------------- driver
def _spark_type(dtype: Any, T: Any) -> Any:
    """The Spark type of a list column from its pandas dtype in ``_assemble``'s output."""
    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return T.TimestampType()
    return T.StringType()


def _list_schema(release: Release, sample: pd.DataFrame, shown: list[str], frame: Any) -> Any:
    """The risk list's Spark schema, from ``_assemble`` itself on zero rows: a column
    added to the list appears here without a second list of columns. The id and display
    columns keep their input types."""
    from pyspark.sql import types as T

    empty = _score_part(release, sample.iloc[:0], "none", shown, None)
    fields = {f.name: f for f in frame.schema.fields}
    spec = release.spec
    out = []
    for name, dtype in empty.dtypes.items():
        source = spec.id if name == "id" else name if name in shown else None
        if source is not None:
            out.append(T.StructField(str(name), fields[source].dataType, True))
        elif name == "as_of" and spec.time:
            # a timestamp stays the kind it was (with or without time zone); a date or
            # text column comes back as the timestamp rm.score makes of it
            kind = fields[spec.time].dataType
            timestamp = isinstance(kind, T.TimestampType | T.TimestampNTZType)
            out.append(T.StructField("as_of", kind if timestamp else T.TimestampType(), True))
        else:
            out.append(T.StructField(str(name), _spark_type(dtype, T), True))
    return T.StructType(out)


def _input_columns(release: Release, shown: list[str], frame: Any) -> list[str]:
    """The columns ``rm.score`` reads; missing ones are one SchemaError."""
    spec = release.spec
    read = spec.columns(target=False, protected=False) + list(release.model.features_) + shown
    columns = list(dict.fromkeys(read))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            [
                Problem(c, "column is missing", "add it, or fix the name in the spec")
                for c in missing
            ]
        )
    return columns


def _check_batch(F: Any, frame: Any, release: Release, shipped: Any) -> BatchCounts:
    """Spec problems from every partition (all at once), duplicate ids across the whole
    DataFrame (one aggregation) and the batch's drift counts, summed."""
    spec, profile = release.spec, release.profile
    from pyspark.sql import types as T

    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in ("problems", "counts", "refused")]
    )
    rows = frame.mapInPandas(functools.partial(_tally_batches, shipped), schema=schema).collect()
    for row in rows:
        if row["refused"] is not None:
            _raise_refusal(json.loads(row["refused"]), shipped.value.purpose)
    problems: list[Problem] = []
    for row in rows:
        for column, found, hint in json.loads(row["problems"]):
            p = Problem(column, found, hint)
            if p not in problems:
                problems.append(p)
    keys = [spec.id] + ([spec.time] if spec.time else [])
    dup = frame.groupBy(*keys).count().filter(F.col("count") > 1)
    examples = [r[spec.id] for r in dup.limit(5).collect()]
    if examples:
        n_dup = dup.agg(F.sum(F.col("count") - 1)).first()[0]
        problems.append(
            Problem(
                spec.id,
                f"{int(n_dup)} duplicate id(s) (e.g. {examples})",
                "ids must be unique per snapshot; deduplicate",
            )
        )
    tally = profile.empty_counts()
    for row in rows:
        c = json.loads(row["counts"])
        if c is not None:
            tally += BatchCounts(
                int(c["n_rows"]),
                np.asarray(c["groups"], dtype=np.int64),
                {k: np.asarray(v, dtype=np.int64) for k, v in c["bins"].items()},
                {k: float(v) for k, v in c["sums"].items()},
            )
    if tally.n_rows == 0 and not problems:
        problems.append(Problem(None, "the DataFrame has 0 rows", "pass a non-empty DataFrame"))
    if problems:
        raise SchemaError(problems)
    return tally


def _raise_refusal(refusal: dict[str, Any], purpose: str) -> None:
    """An executor's refusal of the release, raised on the driver as the same error."""
    message = (
        f"{refusal['message']}\n(Refused on a Spark executor, which verifies the release itself.)"
    )
    if refusal["error"] == "PolicyViolation":
        raise PolicyViolation(message, purpose=purpose)
    raise ReleaseError(message, reason=refusal["reason"] or "tampered")


def _background(frame: Any, release: Release, explain: str) -> pd.DataFrame | None:
    """The explanations' reference rows, as ``rm.score`` takes them: the first
    ``BACKGROUND_ROWS`` rows with a basis among the DataFrame's first rows."""
    if explain == "none":
        return None
    first = frame.limit(FIRST_CHUNK_ROWS).toPandas()
    _, bad = release.profile.scan(first)
    return first[~bad].head(BACKGROUND_ROWS)


def _digest(F: Any, frame: Any, columns: list[str]) -> str:
    """An order-independent sha256 of ``columns``: Spark rows have no order, so the
    digest is of the row count and the sum and xor of each row's 64-bit hash."""
    h = F.xxhash64(*[F.col(c) for c in columns])
    n, total, xor = frame.agg(
        F.count(F.lit(1)), F.sum(h.cast("decimal(38,0)")), F.bit_xor(h)
    ).first()
    text = "\x1f".join(columns) + f"|{n}|{total}|{xor}"
    return hashlib.sha256(text.encode()).hexdigest()


def score(
    release: Release | str | os.PathLike[str],
    spark_df: DataFrame,
    *,
    purpose: str,
    explain: Literal["flagged", "all", "none"] = "flagged",
    trust_store: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    split_by: str | None = None,
    monitoring_store: str | os.PathLike[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> DataFrame:
    """Score a Spark DataFrame with an approved release, for a permitted purpose.

    The same guardrails as :func:`riskmodels.score`, in the same order, and the same
    scoring code per partition: (1) the release is verified on the driver (files,
    hashes, approvals against ``trust_store``, expiry, suspension) and the purpose must
    be permitted; (2) every partition verifies the release again from the bytes the
    driver shipped (against the same trust store, by its own clock) before it reads a
    row; (3) each Arrow batch is validated against the spec and its drift counts are
    summed on the driver, ids are checked for duplicates across the whole DataFrame,
    and the batch is judged by the policy's drift rule: a refusal happens before any
    row is scored; (4) each batch is scored by ``rm.score``'s own chunk function
    (per-row abstention, bands, reasons for flagged rows); (5) ranks are set over the
    whole DataFrame; (6) one entry is appended to the site's audit log by the driver,
    with counts aggregated from the partitions. Refusals are logged too.

    The result is persisted (memory, then disk): it is computed once, and later actions
    read it rather than scoring again. Write one list per establishment with
    ``lists.write.partitionBy("establishment").parquet(path)`` (the column must be one
    the list carries, checked with ``split_by`` before anything is scored).

    Parameters
    ----------
    release : Release, path or str
        A release bundle folder (or a loaded ``Release``, re-verified from disk) readable
        by the driver, or a registry URI ``models:/NAME@approved`` (downloaded and
        verified as :func:`riskmodels.score` does); executors receive its files from the
        driver.
    spark_df : pyspark.sql.DataFrame
        The people to score (the columns ``rm.score`` reads; others are ignored).
    purpose : str
        One of the policy's permitted purposes.
    explain : {"flagged", "all", "none"}, default "flagged"
        Rows to give reasons, as in :func:`riskmodels.score`; the explanations' background
        is the DataFrame's first rows with a basis, as ``rm.score`` takes its first chunk's.
    trust_store, audit_log : path, optional
        The site's trust store and audit log, as in :func:`riskmodels.score`.
    split_by : str, optional
        A column the list carries (id, person or a display column) the lists will be
        written by; checked before anything is scored.
    monitoring_store : URL or path, optional
        The site's monitoring store, as in :func:`riskmodels.score`: what the run issued
        (id, person, as_of, score, band, status, batch column) is kept there, brought to
        the driver as those seven narrow columns, and a suspended release is refused.
    batch_rows : int, default 100_000
        Rows per Arrow batch scored at a time in a partition (its memory, not its result).

    Returns
    -------
    pyspark.sql.DataFrame
        The risk list's columns (``RiskList.frame``'s, in its order): id, display
        columns, as_of, score, band, rank, status, reasons and the decision columns;
        ``band`` and ``status`` as strings. Rows are in no particular order: sort by
        ``rank``. The list's notice and metadata (``RiskList.metadata``) are in the
        ``id`` column's Spark metadata under :data:`META_KEY`; :func:`to_risk_list` turns
        the list into a ``RiskList`` with every export.

    Raises
    ------
    ReleaseError, PolicyViolation, SchemaError
        As :func:`riskmodels.score`, before any partition is scored.
    DependencyError
        pyspark is not installed.

    Examples
    --------
    >>> import riskmodels as rm
    >>> lists = rm.spark.score("releases/self-harm-v1", spark.read.parquet("people.parquet"),
    ...                        purpose="prioritise_welfare_review")  # doctest: +SKIP
    >>> lists.orderBy("rank").show(5)  # doctest: +SKIP
    """
    F = require_pyspark()
    log_path = resolve_audit_log(audit_log)
    try:
        return _score(
            F,
            release,
            spark_df,
            purpose=purpose,
            explain=explain,
            trust_store=trust_store,
            log_path=log_path,
            split_by=split_by,
            store_url=resolve_store(monitoring_store, log_path),
            batch_rows=batch_rows,
        )
    except RiskModelsError as err:
        _log_refusal(log_path, release, purpose, err)
        raise


@contextlib.contextmanager
def _arrow_batch_rows(spark: Any, rows: int) -> Iterator[None]:
    """Spark's Arrow batch size set to ``rows`` for the block, then restored."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key, None)
    spark.conf.set(key, str(rows))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def _score(
    F: Any,
    release: Release | str | os.PathLike[str],
    frame: Any,
    *,
    purpose: str,
    explain: str,
    trust_store: Any,
    log_path: Path,
    split_by: str | None,
    store_url: str,
    batch_rows: int,
) -> Any:
    """The work of :func:`score`, as its named steps."""
    from pyspark.sql import Window

    _check_args(explain, batch_rows)
    verified = _verify(release, purpose, trust_store)
    if log_path.exists():
        check_not_suspended(verified, verify_audit_log(log_path), store_url, trust_store)
    spec = verified.spec
    shown = _display_columns(spec)
    _check_split(split_by, spec, shown)
    columns = _input_columns(verified, shown, frame)
    people = frame.select(*columns)
    spark = frame.sparkSession
    # the caller's session keeps its own batch size once the list is computed
    with _arrow_batch_rows(spark, batch_rows):
        shipped = spark.sparkContext.broadcast(_ship(verified, purpose, trust_store))

        tally = _check_batch(F, people, verified, shipped)
        drift = _drift(tally, verified.profile, verified.policy)
        if drift.drifted and verified.policy.drift.on_drift == "refuse":
            raise PolicyViolation(drift.refusal(), purpose=purpose)

        background = spark.sparkContext.broadcast(_background(people, verified, explain))
        sample = people.limit(0).toPandas()
        schema = _list_schema(verified, sample, shown, people)
        # a partial of a module-level function: executors import it rather than unpickle code
        scorer = functools.partial(_score_batches, shipped, background, explain, shown)
        # computed once: the counts, the digest and the caller's actions all read this
        scored = people.mapInPandas(scorer, schema=schema).persist()
        by_status = dict(scored.groupBy("status").count().collect())
        counts = {
            "rows": int(sum(by_status.values())),
            "scored": int(by_status.get("flagged", 0) + by_status.get("not_flagged", 0)),
            "insufficient_basis": int(by_status.get("insufficient_basis", 0)),
            "flagged": int(by_status.get("flagged", 0)),
        }
    rank = F.when(
        F.col("score").isNotNull(), F.rank().over(Window.orderBy(F.desc_nulls_last("score")))
    ).cast("long")
    out = scored.withColumn("rank", rank).select(*schema.names)
    source = _SparkSource(
        f"Spark DataFrame ({people.rdd.getNumPartitions()} partitions)",
        _digest(F, people, columns),
    )
    output_sha = _digest(F, scored, ["id", "score", "band", "status"])
    entry = _append_score_entry(
        log_path, verified, purpose, counts, source.name, source.sha256, output_sha, drift
    )
    record = {"counts": counts, "output_sha": output_sha, **entry}
    metadata = _list_metadata(verified, purpose, explain, source, drift, record, log_path)
    metadata["split_by"] = split_by
    _keep_issued(store_url, verified, _issued(scored, spec), metadata, drift)
    # the notice travels with the list: in its schema, and in any Parquet Spark writes
    return out.withMetadata("id", {META_KEY: json.dumps(metadata, ensure_ascii=False)})


def _issued(lists: Any, spec: Any) -> pd.DataFrame:
    """The columns the monitoring store keeps of a list (``record_issued``), on the driver."""
    wanted = ["id", spec.person, "as_of", "score", "band", "status", spec.batch]
    return lists.select(*[c for c in dict.fromkeys(wanted) if c in lists.columns]).toPandas()


@dataclass(frozen=True)
class _SparkSource:
    """What the list's metadata says about its input (``_list_metadata`` reads these)."""

    name: str
    sha256: str


def to_risk_list(lists: DataFrame) -> RiskList:
    """The Spark list as a :class:`~riskmodels.RiskList`: its rows on the driver in
    ``rm.score``'s order (highest score first, unscored last; ties by id), with its
    notice and metadata, for every export ``rm.score``'s lists have (XLSX, CSV and
    Parquet, one file per establishment with ``split_by``).

    Parameters
    ----------
    lists : pyspark.sql.DataFrame
        A result of :func:`score`, or a filter of it (e.g. one region's establishments).

    Returns
    -------
    RiskList

    Raises
    ------
    SchemaError
        ``lists`` does not carry a risk list's metadata (it is not a result of
        :func:`score`, or a transformation dropped the ``id`` column's metadata).

    Examples
    --------
    >>> lists = rm.spark.score(release, people,
    ...                        purpose="prioritise_welfare_review")  # doctest: +SKIP
    >>> risk_list = rm.spark.to_risk_list(lists)  # doctest: +SKIP
    >>> risk_list.to_excel("lists.xlsx", split_by="establishment")  # doctest: +SKIP
    """
    F = require_pyspark()
    field = next((f for f in lists.schema.fields if f.name == "id"), None)
    text = None if field is None else (field.metadata or {}).get(META_KEY)
    if text is None:
        raise SchemaError(
            Problem(
                "id",
                "carries no risk-list metadata (notice, provenance, counts)",
                "pass a DataFrame returned by riskmodels.spark.score, with its columns kept",
            ),
            context="Not a risk list",
        )
    metadata = json.loads(text)
    frame = lists.orderBy(F.desc_nulls_last("score"), F.asc("id")).toPandas()
    from riskmodels.policy import Bands

    # the list's band categories: each band and each run of bands a range can span
    bands = Bands(cuts=metadata["bands"]["cuts"], labels=metadata["bands"]["labels"])
    frame["band"] = pd.Categorical(frame["band"], categories=bands.span_labels(), ordered=True)
    frame["status"] = pd.Categorical(frame["status"], categories=list(STATUSES))
    frame["rank"] = frame["rank"].astype("Int64")
    text_dtype = pd.StringDtype("pyarrow")
    for column in ("reasons", *DECISION_COLUMNS):
        frame[column] = frame[column].astype(text_dtype)
    return RiskList(frame.reset_index(drop=True), metadata)
