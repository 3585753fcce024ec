"""The monitoring store: what was issued, what staff decided, what happened, suspensions.

It lives in ``scoring`` because scoring writes to it (each run's issued rows) and must
read it (a suspended release scores nobody); ``riskmodels.monitoring`` above reads and
judges it.

One database per site, shared by every release (rows carry the release id): embedded
SQLite by default, in a file beside the site's audit log, or any SQLAlchemy URL (e.g.
PostgreSQL) named by the ``store=`` argument or ``$RISKMODELS_MONITORING_URL``. Tables are
created on first use; :data:`MIGRATIONS` holds each schema version's statements so a store
written by an older version is brought up to date when it is opened.

The issued rows of each scoring run are stored as one Parquet blob per run (id, person,
as of, score, band, status and the batch column): one insert however long the list, so
recording costs scoring little, and any SQL database can hold it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodels.errors import ReleaseError, SchemaError

__all__ = [
    "MONITORING_ENV",
    "SCHEMA_VERSION",
    "Store",
    "check_not_suspended",
    "outcome_key",
    "outcome_keys",
    "record_issued",
    "reinstatement_id",
    "resolve_store",
    "signatures_per_suspension",
]

#: Environment variable naming the monitoring store's SQLAlchemy URL.
MONITORING_ENV = "RISKMODELS_MONITORING_URL"
#: The store's current schema version.
SCHEMA_VERSION = 1
#: File name of the default SQLite store, beside the site's audit log.
DEFAULT_FILE = "monitoring.db"


def resolve_store(store: str | os.PathLike[str] | None, audit_log: Path) -> str:
    """The store's URL: the argument (a URL or a file path), else ``$RISKMODELS_MONITORING_URL``,
    else a SQLite file ``monitoring.db`` beside the site's audit log."""
    value = store if store is not None else os.environ.get(MONITORING_ENV)
    if value is None:
        return f"sqlite:///{Path(audit_log).parent / DEFAULT_FILE}"
    text = os.fspath(value)
    return text if "://" in text else f"sqlite:///{Path(text)}"


def _tables(metadata: Any) -> dict[str, Any]:
    from sqlalchemy import (
        Column,
        DateTime,
        Integer,
        LargeBinary,
        String,
        Table,
        Text,
    )

    return {
        "meta": Table(
            "rm_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text)
        ),
        "runs": Table(
            "rm_runs",
            metadata,
            # one run: the list's output sha256, its audit-log entry and time (the same
            # people scored twice give the same list, in two runs)
            Column("list_id", String(160), primary_key=True),
            Column("output_sha256", String(64), index=True, nullable=False),
            Column("release_id", String(64), index=True, nullable=False),
            Column("audit_seq", Integer),
            Column("at", DateTime(timezone=True), nullable=False),
            Column("purpose", String(200)),
            Column("rows", Integer),
            Column("scored", Integer),
            Column("flagged", Integer),
            Column("abstained", Integer),
            Column("drift", Text),  # JSON: the run's DriftReport
            Column("batch_column", String(200)),
            Column("drifted", Text),  # JSON list of the features called drifted
            Column("issued", LargeBinary, nullable=False),  # Parquet of the issued rows
        ),
        "reviews": Table(
            "rm_reviews",
            metadata,
            Column("list_id", String(160), primary_key=True),
            Column("id", String(200), primary_key=True),
            Column("release_id", String(64), index=True, nullable=False),
            Column("reviewed_by", Text),
            Column("decision", Text),
            Column("agrees_with_flag", String(8)),
            Column("rationale", Text),
            Column("recorded_at", DateTime(timezone=True), nullable=False),
            Column("source_sha256", String(64)),
        ),
        "outcomes": Table(
            "rm_outcomes",
            metadata,
            Column("release_id", String(64), primary_key=True),
            Column("key", String(400), primary_key=True),  # person and as-of date (or id)
            Column("outcome", Integer, nullable=False),
            Column("groups", Text),  # JSON: protected attributes, for the audit only
            Column("recorded_at", DateTime(timezone=True), nullable=False),
        ),
        # suspensions themselves are audit-log entries (event "suspended"): see
        # check_not_suspended; the store keeps the signed reinstatements
        "reinstatements": Table(
            "rm_reinstatements",
            metadata,
            Column("release_id", String(64), index=True, nullable=False),
            Column("suspension_seq", Integer, primary_key=True),  # the audit-log entry
            Column("key", String(80), primary_key=True),  # the signer's key fingerprint
            Column("statement", Text, nullable=False),  # JSON approval entry (signed)
            Column("reason", Text, nullable=False),
            Column("at", DateTime(timezone=True), nullable=False),
        ),
    }


#: Schema version -> statements that bring a store from the previous version to it
#: (version 1 is created from the table definitions).
MIGRATIONS: dict[int, tuple[str, ...]] = {1: ()}


# the stores whose tables this process has created or upgraded, with their engine and
# table objects (see Store._ready); close() disposes an engine's connections, and a
# disposed engine opens new ones when used again
_READY: dict[str, tuple[Any, Any, dict[str, Any]]] = {}


class Store:
    """An open monitoring store (see the module docstring)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import MetaData, create_engine, select

        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if self._ready():
            self.engine, self.metadata, self.t = _READY[url]
            return
        self.engine = create_engine(url)
        self.metadata = MetaData()
        self.t = _tables(self.metadata)
        self.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            meta = self.t["meta"]
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema")).first()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise SchemaError(
                    [],
                    context=f"The monitoring store {url} was written by a newer riskmodels "
                    f"(schema {version}; this version knows {SCHEMA_VERSION}); upgrade it",
                )
            for v in range(max(version, 1), SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(v, ()):
                    conn.exec_driver_sql(statement)
            if row is None:
                conn.execute(meta.insert().values(key="schema", value=str(SCHEMA_VERSION)))
            elif version != SCHEMA_VERSION:
                conn.execute(
                    meta.update().where(meta.c.key == "schema").values(value=str(SCHEMA_VERSION))
                )
        _READY[url] = (self.engine, self.metadata, self.t)

    def _ready(self) -> bool:
        """Whether this process already created or upgraded the store's tables: every
        ``score()`` opens the store, and checking seven tables and the schema version
        each time, with a new engine, cost ~7 ms. A SQLite file that has since
        disappeared is set up again."""
        if self.url not in _READY:
            return False
        if (
            self.url.startswith("sqlite:///")
            and not Path(self.url.removeprefix("sqlite:///")).exists()
        ):
            _READY.pop(self.url, None)
            return False
        return True

    def replace(self, table: str, rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
        """Insert ``rows`` into ``table``, replacing rows with the same ``keys`` (one
        transaction)."""
        from sqlalchemy import and_, bindparam, delete

        t = self.t[table]
        with self.engine.begin() as conn:
            if rows:
                # one executemany, not one DELETE per row
                match = and_(*(t.c[k] == bindparam(f"match_{k}") for k in keys))
                conn.execute(
                    delete(t).where(match), [{f"match_{k}": r[k] for k in keys} for r in rows]
                )
                conn.execute(t.insert(), rows)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ issued lists
    def add_run(self, row: dict[str, Any], issued: dict[str, pd.Series | None]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = len(next(c for c in issued.values() if c is not None))
        columns = {}
        for name, col in issued.items():
            if col is None:
                columns[name] = pa.nulls(n, pa.string())
                continue
            try:
                columns[name] = pa.array(col, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep them as text
                columns[name] = pa.array(col.astype(str), from_pandas=True)
        buf = io.BytesIO()
        pq.write_table(pa.table(columns), buf)
        with self.engine.begin() as conn:
            conn.execute(self.t["runs"].insert().values(**row, issued=buf.getvalue()))

    def runs(self, release_id: str) -> pd.DataFrame:
        from sqlalchemy import select

        t = self.t["runs"]
        cols = [c for c in t.c if c.name != "issued"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*cols).where(t.c.release_id == release_id).order_by(t.c.at)
            ).all()
        return pd.DataFrame(rows, columns=[c.name for c in cols])

    def issued(self, list_id: str) -> pd.DataFrame:
        from sqlalchemy import select

        t = self.t["runs"]
        with self.engine.connect() as conn:
            blob = conn.execute(select(t.c.issued).where(t.c.list_id == list_id)).scalar_one()
        frame = pd.read_parquet(io.BytesIO(blob))
        # ids and labels as text, the way returned lists and outcomes are matched
        for col in ("id", "person", "band", "status", "batch"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
            frame[col] = frame[col].map(lambda v: v if v is None else str(v))
        return frame

    # ------------------------------------------------------------------ the rest
    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self.t[table].insert(), rows)

    def frame(self, table: str, release_id: str) -> pd.DataFrame:
        from sqlalchemy import select

        t = self.t[table]
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.release_id == release_id)).all()
        return pd.DataFrame(rows, columns=[c.name for c in t.c])


def outcome_key(person: Any, as_of: Any) -> str:
    """How an issued row and its observed outcome are matched: person and snapshot date."""
    when = pd.Timestamp(as_of).date().isoformat() if pd.notna(as_of) else ""
    return f"{person}|{when}"


def outcome_keys(person: pd.Series, as_of: pd.Series) -> pd.Series:
    """:func:`outcome_key` of many rows at once (vectorised)."""
    when = pd.to_datetime(as_of).dt.strftime("%Y-%m-%d").fillna("")
    return person.astype(str).str.cat(when, sep="|")


def record_issued(
    store_url: str, release: Any, frame: pd.DataFrame, metadata: dict[str, Any], drift: Any
) -> None:
    """Keep what one scoring run issued (called by :func:`riskmodels.score`)."""
    spec = release.spec
    batch = spec.batch if spec.batch and spec.batch in frame.columns else None
    person = spec.person if spec.person and spec.person in frame.columns else None
    # native types (ints, categoricals as Parquet dictionaries): converting a million ids
    # to text here would cost scoring a second; monitoring converts what it reads
    issued = {
        "id": frame["id"],
        "person": frame[person] if person else None,
        "as_of": frame["as_of"] if "as_of" in frame.columns else None,
        "score": frame["score"],
        "band": frame["band"],
        "status": frame["status"],
        "batch": frame[batch] if batch else None,
    }
    counts = metadata["counts"]
    with Store(store_url) as store:
        store.add_run(
            {
                "list_id": f"{metadata['output_sha256']}-{metadata.get('audit_entry')}",
                "output_sha256": metadata["output_sha256"],
                "release_id": release.release_id,
                "audit_seq": metadata.get("audit_entry"),
                "at": dt.datetime.fromisoformat(metadata["generated_at"]),
                "purpose": metadata["purpose"],
                "rows": counts["rows"],
                "scored": counts["scored"],
                "flagged": counts["flagged"],
                "abstained": counts["insufficient_basis"],
                "drift": json.dumps(drift.to_dict()),
                "drifted": json.dumps(drift.drifted + drift.review),
                "batch_column": batch,
            },
            issued,
        )


def reinstatement_id(release_id: str, suspension_seq: int) -> str:
    """What a reinstatement's approvers sign: the release and the suspension (its audit-log
    entry), signed as an approval statement of this derived id, so a reinstatement can
    never be replayed for another suspension or release."""
    return f"{release_id}/reinstate/{suspension_seq}"


def signatures_per_suspension(
    release: Any, suspensions: list[dict[str, Any]], store_url: str, trust_store: Any
) -> dict[int, int]:
    """For each suspension (audit-log entry), how many distinct trusted keys (never the
    model's author) have validly signed its reinstatement."""
    from riskmodels.release._signing import resolve_trust_store, verify_approvals

    if not suspensions:
        return {}
    with Store(store_url) as store:
        signed = store.frame("reinstatements", release.release_id)
    out = {}
    for e in suspensions:
        statements = [
            json.loads(x) for x in signed.loc[signed["suspension_seq"] == e["seq"], "statement"]
        ]
        valid, _ = verify_approvals(
            reinstatement_id(release.release_id, e["seq"]),
            statements,
            resolve_trust_store(trust_store),
            str(release.path),
            author=release.author,
        )
        out[int(e["seq"])] = len(valid)
    return out


def check_not_suspended(
    release: Any, entries: list[dict[str, Any]], store_url: str, trust_store: Any
) -> None:
    """Refuse a release that monitoring suspended and enough approvers have not reinstated.

    Suspensions are read from the site's verified audit log (``entries``), not from the
    store, so deleting a row in the database cannot lift one; a reinstatement counts only
    with the policy's number of distinct trusted signatures over :func:`reinstatement_id`.
    """
    suspended = [
        e
        for e in entries
        if e.get("event") == "suspended" and e.get("release_id") == release.release_id
    ]
    needed = release.policy.approvals.required
    signed = signatures_per_suspension(release, suspended, store_url, trust_store)
    for e in suspended:
        have = signed[int(e["seq"])]
        if have < needed:
            raise ReleaseError(
                f"Release {release.name} {release.version} is suspended by monitoring since "
                f"{e['at']}: {e['reason']} It scores nobody until {needed} approver(s) "
                f"reinstate it (rm.monitoring.reinstate, signed; {have} so far) or it "
                "is replaced by a re-validated release.",
                reason="suspended",
                path=str(release.path),
            )
