"""Recording what staff decided on a returned list, and what happened to the people on it
(what each scoring run issued is recorded by ``score`` itself: ``scoring/_store.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodels import _clock
from riskmodels._io import sha256_file
from riskmodels.errors import Problem, SchemaError
from riskmodels.scoring._store import Store, outcome_keys, resolve_store

__all__ = ["record_outcomes", "record_reviews"]

#: Largest difference between an issued score and the one a returned list holds: CSV
#: lists carry scores to 4 decimals, XLSX and Parquet exactly.
SCORE_TOLERANCE = 0.5e-4 + 1e-12


def _release(release: Any, trust_store: Any) -> Any:
    from riskmodels.release import Release, load_release

    if isinstance(release, Release):
        return release
    return load_release(release, trust_store=trust_store)


def _read_returned(path: Path) -> pd.DataFrame:
    """The rows of a returned list (every list sheet of an XLSX; a CSV; a Parquet file)."""
    from riskmodels.scoring._risklist import ABOUT_SHEET, NOTICE_COLUMN

    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, dtype={"id": str})
        parts = [f for name, f in sheets.items() if name != ABOUT_SHEET]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        # the XLSX shows statuses in words ("not flagged"); back to their codes
        if "status" in frame:
            frame["status"] = frame["status"].astype(str).str.replace(" ", "_")
    elif suffix == ".csv":
        frame = pd.read_csv(path, dtype={"id": str})
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        raise SchemaError(
            Problem("reviewed_list", f"{path.name}", "return the .xlsx, .csv or .parquet list"),
            context="Cannot read the returned list",
        )
    return frame.drop(columns=[NOTICE_COLUMN], errors="ignore")


def _blank(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()


def _check_returned(
    returned: pd.DataFrame, issued: pd.DataFrame, options: tuple[str, ...]
) -> list[Problem]:
    """Every way the returned list differs from what was issued, or breaks the drop-downs."""
    from riskmodels.scoring._risklist import AGREES_OPTIONS, DECISION_COLUMNS

    problems = []
    missing = [c for c in ("id", "score", *DECISION_COLUMNS) if c not in returned.columns]
    if missing:
        return [
            Problem(c, "is missing from the returned list", "return the list as issued")
            for c in missing
        ]
    ids = returned["id"].astype(str)
    by_id = issued.set_index("id")
    unknown = ids[~ids.isin(by_id.index)]
    if len(unknown):
        problems.append(
            Problem(
                "id",
                f"{len(unknown)} id(s) not on the issued list, e.g. {unknown.head(3).tolist()}",
                "return only rows of the list as issued",
            )
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        problems.append(
            Problem(
                "id", f"{dup.nunique()} id(s) twice, e.g. {dup.head(3).tolist()}", "each row once"
            )
        )
    known = ids.isin(by_id.index).to_numpy()
    got = pd.to_numeric(returned["score"], errors="coerce").to_numpy(dtype=float)[known]
    want = by_id.loc[ids[known], "score"].to_numpy(dtype=float)
    altered = ~((np.isnan(got) & np.isnan(want)) | (np.abs(got - want) <= SCORE_TOLERANCE))
    if altered.any():
        shown = ids[known][altered].head(3).tolist()
        problems.append(
            Problem(
                "score",
                f"{int(altered.sum())} score(s) differ from those issued, for id(s) {shown}",
                "scores are never edited; return the list as issued",
            )
        )
    for column, allowed in (("decision", options), ("agrees_with_flag", AGREES_OPTIONS)):
        values = returned[column]
        filled = ~_blank(values)
        bad = sorted(set(values[filled].astype(str)) - set(allowed))
        if bad:
            problems.append(
                Problem(
                    column,
                    f"value(s) {bad[:5]} outside the drop-down",
                    f"use one of {list(allowed)}",
                )
            )
    return problems


def record_reviews(
    release: Any,
    reviewed_list: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    trust_store: str | os.PathLike[str] | None = None,
) -> dict[str, int]:
    """Record the decisions staff wrote on a returned risk list.

    The file (XLSX with every list sheet, CSV or Parquet, as :func:`riskmodels.score`'s
    list was exported) is checked against what was issued: every id must be on one issued
    list of this release, every score unchanged, every ``decision`` and
    ``agrees_with_flag`` one of the drop-down values. Any problem refuses the whole file
    (all are listed) and stores nothing. Rows with no decision are not stored (they were
    not reviewed); a list returned again replaces its earlier decisions.

    Parameters
    ----------
    release : Release or path
        The release that produced the list.
    reviewed_list : path
        The returned list.
    store, audit_log, trust_store : optional
        The site's monitoring store (default: ``$RISKMODELS_MONITORING_URL``, else
        ``monitoring.db`` beside the audit log), audit log and trust store.

    Returns
    -------
    dict
        ``rows`` read, ``reviewed`` stored, ``list_id`` matched.

    Raises
    ------
    SchemaError
        The file differs from what was issued or breaks the drop-downs (nothing stored).
    """
    from riskmodels.scoring._audit_log import resolve_audit_log
    from riskmodels.scoring._risklist import DECISION_OPTIONS

    rel = _release(release, trust_store)
    path = Path(reviewed_list)
    returned = _read_returned(path)
    url = resolve_store(store, resolve_audit_log(audit_log))
    with Store(url) as st:
        runs = st.runs(rel.release_id)
        if runs.empty:
            raise SchemaError(
                Problem(
                    None,
                    f"no list of release {rel.release_id[:12]} was issued here",
                    "record reviews at the site that scored the list",
                ),
                context=f"Cannot record the reviews in {path.name}",
            )
        ids = set(returned["id"].astype(str)) if "id" in returned else set()
        best, best_problems, best_hits = None, None, -1
        for list_id in reversed(runs["list_id"].tolist()):  # the latest list first
            issued = st.issued(list_id)
            hits = len(ids & set(issued["id"]))
            if hits > best_hits:
                problems = _check_returned(returned, issued, DECISION_OPTIONS)
                best, best_problems, best_hits = list_id, problems, hits
            if hits == len(ids) and not best_problems:
                break
        if best_problems:
            raise SchemaError(
                best_problems, context=f"The returned list {path.name} was not recorded"
            )
        reviewed = returned[~_blank(returned["decision"])]
        now = _clock.now()
        digest = sha256_file(path)
        rows = [
            {
                "list_id": best,
                "id": str(r["id"]),
                "release_id": rel.release_id,
                "reviewed_by": _text(r.get("reviewed_by")),
                "decision": _text(r.get("decision")),
                "agrees_with_flag": _text(r.get("agrees_with_flag")),
                "rationale": _text(r.get("rationale")),
                "recorded_at": now,
                "source_sha256": digest,
            }
            for r in reviewed.to_dict(orient="records")
        ]
        st.replace("reviews", rows, ("list_id", "id"))
    return {"rows": len(returned), "reviewed": len(rows), "list_id": best}


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).strip() or None


def record_outcomes(
    release: Any,
    outcomes: pd.DataFrame,
    *,
    store: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    trust_store: str | os.PathLike[str] | None = None,
) -> dict[str, int]:
    """Record observed outcomes of people who were scored, once their window has passed.

    ``outcomes`` has the spec's person and time columns (the snapshot a list scored) and
    its target (1 = the incident happened within the outcome window); protected
    attributes may be included for the fairness indicators (they are stored for the
    audit only). A row whose window (the spec's ``outcome_window_days`` after the
    snapshot) has not yet passed by the system clock is refused: an outcome not yet
    complete would read as "no incident". Any problem refuses the whole frame.

    Returns
    -------
    dict
        ``rows`` stored.

    Raises
    ------
    SchemaError
        Missing columns, labels that are not 0/1, windows not yet passed, a spec without
        ``outcome_window_days``.
    """
    from riskmodels.scoring._audit_log import resolve_audit_log

    rel = _release(release, trust_store)
    spec = rel.spec
    problems: list[Problem] = []
    if spec.outcome_window_days is None:
        problems.append(
            Problem(
                "outcome_window_days",
                "is not set in the release's spec",
                "name the outcome window (days) in the dataset spec",
            )
        )
    need = [c for c in (spec.person or spec.id, spec.time, spec.target) if c]
    missing = [c for c in need if c not in outcomes.columns]
    problems += [
        Problem(c, "is missing from the outcomes", "one row per person and snapshot")
        for c in missing
    ]
    if problems:
        raise SchemaError(problems, context="Cannot record outcomes")
    y = pd.to_numeric(outcomes[spec.target], errors="coerce")
    if not y.isin([0, 1]).all():
        problems.append(Problem(spec.target, "values other than 0 and 1", "1 = incident"))
    person = outcomes[spec.person or spec.id].astype(str)
    as_of = (
        pd.to_datetime(outcomes[spec.time])
        if spec.time
        else pd.Series(pd.NaT, index=outcomes.index)
    )
    now = _clock.now()
    due = as_of + pd.Timedelta(days=int(spec.outcome_window_days))
    early = due.dt.tz_localize(None) > pd.Timestamp(now).tz_localize(None) if spec.time else None
    if early is not None and early.any():
        first = as_of[early].min().date()
        problems.append(
            Problem(
                spec.time,
                f"{int(early.sum())} row(s) whose {spec.outcome_window_days}-day "
                f"outcome window has not passed (earliest snapshot {first})",
                "record outcomes only once the window is over",
            )
        )
    if problems:
        raise SchemaError(problems, context="Cannot record outcomes")
    protected = [c for c in spec.protected_names if c in outcomes.columns]
    # each row's groups as JSON text, from one records pass (a row-by-row .iloc took
    # most of the time for 20,000 outcomes)
    groups = (
        [json.dumps(g) for g in outcomes[protected].astype(str).to_dict("records")]
        if protected
        else [None] * len(person)
    )
    keys = outcome_keys(person, as_of).tolist()
    rows = [
        {"release_id": rel.release_id, "key": k, "outcome": v, "groups": g, "recorded_at": now}
        for k, v, g in zip(keys, y.astype(int).tolist(), groups, strict=True)
    ]
    with Store(resolve_store(store, resolve_audit_log(audit_log))) as st:
        st.replace("outcomes", rows, ("release_id", "key"))
    return {"rows": len(rows)}
