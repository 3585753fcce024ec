"""RiskList: scored people with bands, ranks, reasons, the notice, and room for a decision."""

from __future__ import annotations

import csv
import html
import io
import json
import os
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._io import atomic_write_bytes
from riskmodels.errors import Problem, SchemaError

__all__ = ["DECISION_COLUMNS", "STATUSES", "RiskList", "escape_formulas"]

#: Row statuses: scored and at/above the release threshold, scored below it, or not scored
#: because the row lies outside the data the model was built on.
STATUSES = ("flagged", "not_flagged", "insufficient_basis")
#: Empty columns for the human decision: the list records it, never makes it.
DECISION_COLUMNS = ("reviewed_by", "decision", "agrees_with_flag", "rationale")
#: A spreadsheet treats a cell beginning with one of these as a formula (OWASP "CSV
#: injection"); such cells are written with a leading single quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_META_KEY = b"riskmodels.risk_list"
#: Rows an .xlsx sheet can hold, less the header row.
EXCEL_MAX_ROWS = 1_048_575


def escape_formulas(values: pd.Series) -> pd.Series:
    """Text cells beginning with ``= + - @``, tab or carriage return, prefixed with ``'``.

    Non-text values are returned unchanged (a number is a number, not a formula).

    Examples
    --------
    >>> escape_formulas(pd.Series(["=HYPERLINK(1)", "ok", "-2+3"])).tolist()
    ["'=HYPERLINK(1)", 'ok', "'-2+3"]
    """
    try:
        risky = values.str.startswith(FORMULA_PREFIXES, na=False).astype(bool)
    except (AttributeError, TypeError):  # not text at all, or mixed types
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
        risky = risky.astype(bool)
    if not risky.any():
        return values
    out = values.astype(object)
    out[risky] = "'" + out[risky].astype(str)
    return out


def _escape_text(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def _flat(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """Metadata as (key, text) pairs for the CSV preamble and the Excel 'About' sheet."""
    rows = []
    for k, v in metadata.items():
        if k == "notice":
            continue
        if isinstance(v, dict | list):
            text = json.dumps(v, ensure_ascii=False)
        else:
            text = "" if v is None else str(v)
        rows.append((k, text.replace("\r", " ").replace("\n", " ")))
    return rows


class RiskList:
    """A scored batch: one row per person, for human review (see :func:`riskmodels.score`).

    Columns
    -------
    id
        The spec's id column (named ``metadata["id_column"]``).
    as_of
        The snapshot date, when the spec has a time column.
    score
        Calibrated probability of the outcome; NaN when the row was not scored.
    band
        The policy's band label of the score (e.g. low / medium / high).
    rank
        1 = highest score in the batch; ties share the best rank; empty when not scored.
    status
        ``flagged`` (score >= the release threshold), ``not_flagged``, or
        ``insufficient_basis`` (not scored: the row lies outside the training data).
    reasons
        Plain-language reasons for explained rows; why there is no score for
        ``insufficient_basis`` rows.
    reviewed_by, decision, agrees_with_flag, rationale
        Empty: for the member of staff who reviews the row to fill in.

    Attributes
    ----------
    frame : DataFrame
    metadata : dict
        Model name and version, release id, card reference, policy, purpose, generated
        at/by, valid until, threshold, bands, counts, drift, input/output sha256 and the
        decision-support ``notice``.
    """

    def __init__(self, frame: pd.DataFrame, metadata: dict[str, Any]) -> None:
        self.frame = frame
        self.metadata = metadata

    # ------------------------------------------------------------------ views
    @property
    def notice(self) -> str:
        """The decision-support notice every export carries."""
        return str(self.metadata["notice"])

    @property
    def counts(self) -> dict[str, int]:
        """Rows in, scored, insufficient_basis and flagged."""
        return dict(self.metadata["counts"])

    def __len__(self) -> int:
        return len(self.frame)

    def top(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` highest-ranked scored rows, highest first."""
        scored = self.frame[self.frame["rank"].notna()]
        return scored.sort_values("rank", kind="stable").head(n)

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"RiskList({self.metadata['model_name']} {self.metadata['model_version']}, "
            f"purpose={self.metadata['purpose']!r}: {c['rows']:,} rows, {c['scored']:,} scored, "
            f"{c['flagged']:,} flagged, {c['insufficient_basis']:,} insufficient_basis)"
        )

    def _repr_html_(self) -> str:
        head = self.top(10).to_html(index=False, na_rep="", float_format=lambda x: f"{x:.3f}")
        return (
            f"<div><p style='border:2px solid #cf222e;padding:6px'><b>"
            f"{html.escape(self.notice)}</b></p><p>{html.escape(repr(self))}</p>"
            f"<p>Top 10 by rank:</p>{head}</div>"
        )

    # ------------------------------------------------------------------ exports
    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the list as CSV, atomically, safe to open in a spreadsheet.

        The file starts with comment lines (``# notice,...``, ``# model_name,...``) that
        carry the notice and metadata, then the table. Text cells beginning with
        ``= + - @``, tab or carriage return are prefixed with ``'`` so a spreadsheet shows
        them as text instead of running them as formulas; every text cell is quoted.
        Read it back with ``pd.read_csv(path, comment="#")``.
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["# notice", _escape_text(self.notice)])
        for k, v in _flat(self.metadata):
            w.writerow([f"# {k}", _escape_text(v)])
        frame = self.frame.copy()
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col]):
                frame[col] = escape_formulas(frame[col])
        frame.to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        atomic_write_bytes(path, buf.getvalue().encode("utf-8"))

    def to_excel(self, path: str | os.PathLike[str]) -> None:
        """Write an .xlsx workbook, atomically: sheet "About this list" (the notice and
        metadata) first, then sheet "Risk list". Text cells that a spreadsheet would run
        as formulas are prefixed with ``'``.

        Raises
        ------
        SchemaError
            More rows than an Excel sheet holds (use :meth:`to_parquet` or :meth:`to_csv`).
        """
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        if len(self.frame) > EXCEL_MAX_ROWS:
            raise SchemaError(
                Problem(
                    None,
                    f"{len(self.frame):,} rows exceed an Excel sheet's {EXCEL_MAX_ROWS:,}",
                    "use to_parquet or to_csv",
                ),
                context="Cannot write the risk list to Excel",
            )
        wb = Workbook()
        about = wb.active
        about.title = "About this list"
        about.column_dimensions["A"].width = 28
        about.column_dimensions["B"].width = 110
        about.append(["Decision support only", _escape_text(self.notice)])
        about["A1"].font = Font(bold=True, color="CF222E")
        about["B1"].font = Font(bold=True)
        about["B1"].alignment = Alignment(wrap_text=True, vertical="top")
        for k, v in _flat(self.metadata):
            about.append([k, _escape_text(v)])
        sheet = wb.create_sheet("Risk list")
        cols = list(self.frame.columns)
        sheet.append(cols)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        data = [self.frame[c].to_numpy(dtype=object) for c in cols]
        for row in zip(*data, strict=True):
            sheet.append([_cell(v) for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        atomic_write_bytes(path, buf.getvalue())

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write Parquet, atomically, with the metadata (notice included) as JSON under the
        schema metadata key ``riskmodels.risk_list``; :meth:`from_parquet` reads it back."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(self.metadata, ensure_ascii=False).encode("utf-8")
        table = table.replace_schema_metadata(meta)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        atomic_write_bytes(path, sink.getvalue().to_pybytes())

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> RiskList:
        """Read a list written by :meth:`to_parquet` (e.g. to record decisions later)."""
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise SchemaError(
                Problem(None, "no riskmodels metadata in the file", "write it with to_parquet"),
                context=f"{path} is not a risk list",
            )
        return cls(table.to_pandas(), json.loads(raw))


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return _escape_text(v)
