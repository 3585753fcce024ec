"""RiskList: scored people with bands, ranks, reasons, the notice, and room for a decision.

The exports are built for the people who work from the list (``docs/risk_lists.md``):

* XLSX: the list sheet first, ready to filter, print and fill in (drop-downs for the
  decision), then an "About this list" sheet in sentences and small tables;
* CSV: a plain table whose header is the first line, with a short ``notice`` column on
  every row and the full notice and details in a ``<name>.about.txt`` file beside it;
* Parquet: the exact values, with the metadata in the file's schema;
* HTML: a short table under the notice, for documents and notebooks.

Every text cell a person opens (XLSX, CSV, HTML) is made safe first, in one vectorised
pass per column: control characters (ESC and the like, which spreadsheets reject) are
replaced with U+FFFD and counted, and a cell that a spreadsheet would run as a formula is
prefixed with ``'``. Parquet keeps the values exactly as scored.
"""

from __future__ import annotations

import copy
import html
import io
import json
import math
import os
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels._io import atomic_write_bytes, atomic_write_text
from riskmodels.errors import Problem, SchemaError

if TYPE_CHECKING:
    from openpyxl import Workbook

__all__ = [
    "DECISION_COLUMNS",
    "DECISION_OPTIONS",
    "STATUSES",
    "RiskList",
    "escape_formulas",
]

#: Row statuses: scored and at/above the release threshold, scored below it, or not scored
#: because the row lies outside the data the model was built on.
STATUSES = ("flagged", "not_flagged", "insufficient_basis")
#: Empty columns for the human decision: the list records it, never makes it.
DECISION_COLUMNS = ("reviewed_by", "decision", "agrees_with_flag", "rationale")
#: Columns that hold a probability (shown as a percentage in every export).
SCORE_COLUMNS = ("score", "score_low", "score_high")
#: The choices offered for ``decision`` in the XLSX drop-down; a list whose metadata holds
#: ``decision_options`` (e.g. from a site's policy) offers those instead.
DECISION_OPTIONS = (
    "support offered",
    "already supported",
    "no action needed",
    "disagree with flag",
    "other",
)
#: The choices offered for ``agrees_with_flag``.
AGREES_OPTIONS = ("yes", "no")
#: A spreadsheet treats a cell beginning with one of these as a formula (OWASP "CSV
#: injection"); such cells are written with a leading single quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Characters XML 1.0 forbids (openpyxl's ILLEGAL_CHARACTERS_RE) plus DEL: invisible in
#: a cell, rejected by spreadsheets, and able to hide text from the reader.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: What a control character is replaced with: visible, so a changed id is never mistaken
#: for an unchanged one, and distinct ids stay distinct.
REPLACEMENT = "\ufffd"
#: The CSV column that carries the short notice on every row.
NOTICE_COLUMN = "notice"
LIST_SHEET = "Risk list"
ABOUT_SHEET = "About this list"
_META_KEY = b"riskmodels.risk_list"
#: Rows an .xlsx sheet can hold, less the header row.
EXCEL_MAX_ROWS = 1_048_575
#: Scores as percentages: two decimals below 10%, where the flag threshold usually lies
#: (3.46% not flagged beside 3.47% flagged must not both read "3.5%"), one above.
SCORE_FORMAT = "[<0.1]0.00%;0.0%"
#: Decimals of the CSV score (a probability: 0.0260 is 2.60%); Parquet keeps every digit.
CSV_SCORE_DECIMALS = 4
#: Band fills from lowest to highest band: pale enough that black text stays readable on
#: screen and in black-and-white print; the label is always written too.
_BAND_FILLS = ("E2EFDA", "FFF2CC", "FFE699", "F8CBAD", "F4B084")
_HEADER_FILL = "D9D9D9"
#: Header and blank cells of the decision columns: "this is for you to fill in".
_INPUT_FILL = "DDEBF7"
_NOTICE_RED = "CF222E"
#: The font of every styled cell: a cell font without a name falls back to a serif face
#: in some programs, unlike the unstyled cells beside it.
_FONT = "Calibri"
#: List columns whose text wraps (in rows with reasons): the rest stay on one line.
_WRAPPED = ("reasons", "status")
#: Points per line of 11-point text, for the heights of rows whose text wraps.
_LINE_HEIGHT = 15.0
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FILE_FORBIDDEN = re.compile(r"[^\w.\-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)
}


# ====================================================================== safe text
def _text_cells(
    values: pd.Series, fn: Callable[[pd.Series], tuple[pd.Series, np.ndarray]]
) -> tuple[pd.Series, np.ndarray]:
    """Apply ``fn`` (vectorised, on a Series of text) to the text cells of ``values``.

    Returns the new Series and which rows ``fn`` changed. Numbers, dates and booleans are
    never text; a categorical is changed through its categories (one call per category,
    not per row); an object column mixing text with other values (rare: ids read partly
    as numbers) has its text cells picked out first.
    """
    none = np.zeros(len(values), dtype=bool)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.Series(values.cat.categories, dtype=object)
        new, changed = _text_cells(cats, fn)
        if not changed.any():
            return values, none
        if new.duplicated().any():  # two categories became one: treat as plain text
            return _text_cells(values.astype(object), fn)
        codes = values.cat.codes.to_numpy()
        rows = np.zeros(len(values), dtype=bool)
        rows[codes >= 0] = changed[codes[codes >= 0]]
        return values.cat.rename_categories(new.tolist()), rows
    if not pd.api.types.is_string_dtype(values.dtype):
        return values, none
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return values, none
    if kind == "string":
        return fn(values)
    vals = values.to_numpy(dtype=object, copy=True)
    is_text = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
    if not is_text.any():
        return values, none
    new, changed = fn(pd.Series(vals[is_text], dtype=object))
    vals[is_text] = new.to_numpy(dtype=object)
    rows = np.zeros(len(vals), dtype=bool)
    rows[is_text] = changed
    return pd.Series(vals, index=values.index, name=values.name, dtype=object), rows


def _replace_control(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    bad = text.str.contains(CONTROL_CHARACTERS, regex=True, na=False).to_numpy(dtype=bool)
    if not bad.any():
        return text, bad
    return text.str.replace(CONTROL_CHARACTERS, REPLACEMENT, regex=True), bad


def _prefix_formulas(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    risky = text.str.startswith(FORMULA_PREFIXES, na=False).to_numpy(dtype=bool)
    if not risky.any():
        return text, risky
    out = text.copy()
    out[risky] = "'" + text[risky]
    return out, risky


def escape_formulas(values: pd.Series) -> pd.Series:
    """Text cells beginning with ``= + - @``, tab or carriage return, prefixed with ``'``.

    Non-text values are returned unchanged (a number is a number, not a formula).

    Parameters
    ----------
    values : Series
        Any column: text, categorical, mixed or numeric.

    Returns
    -------
    Series
        ``values`` with each risky text cell prefixed, so that a spreadsheet shows it as
        text instead of running it.

    Examples
    --------
    >>> escape_formulas(pd.Series(["=HYPERLINK(1)", "ok", "-2+3"])).tolist()
    ["'=HYPERLINK(1)", 'ok', "'-2+3"]
    """
    return _text_cells(values, _prefix_formulas)[0]


def _safe_scalar(value: Any) -> Any:
    """One value made safe as :func:`_safe_frame` makes a column (for headers, metadata)."""
    if not isinstance(value, str):
        return value
    value = re.sub(CONTROL_CHARACTERS, REPLACEMENT, value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@dataclass(frozen=True)
class _Safe:
    """A list frame made safe for people and spreadsheets, and what that changed."""

    frame: pd.DataFrame
    control_cells: int
    formula_cells: int

    def __add__(self, other: _Safe) -> _Safe:
        return _Safe(
            self.frame,
            self.control_cells + other.control_cells,
            self.formula_cells + other.formula_cells,
        )


def _safe_frame(frame: pd.DataFrame, *, readable_status: bool = False) -> _Safe:
    """Control characters replaced and formulas escaped in every text cell and header.

    ``readable_status`` writes ``not_flagged`` as "not flagged" (XLSX and HTML, read by
    people; CSV and Parquet keep the codes other programs match on).
    """
    columns: dict[str, pd.Series] = {}
    control = formulas = 0
    for col in frame.columns:
        s, bad = _text_cells(frame[col], _replace_control)
        s, risky = _text_cells(s, _prefix_formulas)
        control += int(bad.sum())
        formulas += int(risky.sum())
        if readable_status and col == "status" and isinstance(s.dtype, pd.CategoricalDtype):
            s = s.cat.rename_categories([str(c).replace("_", " ") for c in s.cat.categories])
        columns[str(_safe_scalar(str(col)))] = s.reset_index(drop=True)
    out = pd.DataFrame(columns) if columns else pd.DataFrame(index=range(len(frame)))
    return _Safe(out, control, formulas)


# ====================================================================== words
def _words(value: Any) -> str:
    """A metadata value in plain words: lists joined, dicts as "key: value" pairs, never
    JSON (the About sheet and the sidecar are read by people, not parsers)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "not available" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_words(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple | set):
        return ", ".join(_words(v) for v in value) or "none"
    return str(value)


def _when(value: Any) -> str:
    """An ISO timestamp as "2 December 2026, 12:28 UTC" (unambiguous in any locale)."""
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return _words(value)
    if t.tzinfo is None:
        zone = ""
    elif t.utcoffset() is not None and t.utcoffset().total_seconds() == 0:  # type: ignore[union-attr]
        zone = " UTC"
    else:
        zone = t.strftime(" UTC%z")
    return f"{t.day} {t:%B %Y, %H:%M}{zone}"


def _pct(x: Any, digits: int | None = None) -> str:
    """A probability as a percentage; by default as :data:`SCORE_FORMAT` shows it."""
    if x is None or pd.isna(x):
        return ""
    if digits is None:
        digits = 2 if float(x) < 0.1 else 1
    return f"{float(x):.{digits}%}"


def _cut(x: float) -> str:
    """A band edge: one decimal when that is exact (5.0%), else two (3.47%), as the
    flag threshold it may be is written."""
    exact = abs(x * 1000 - round(x * 1000)) < 1e-9
    return _pct(x, 1 if exact else 2)


def _purpose(value: Any) -> str:
    return str(value).replace("_", " ")


def _purposes(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_purpose(v) for v in value) or "none"
    return _purpose(value)


# ====================================================================== About content
@dataclass(frozen=True)
class _Line:
    """A labelled sentence."""

    label: str
    text: str


@dataclass(frozen=True)
class _Table:
    """A small table; ``key`` names a table other parts refer to (the drop-down options)."""

    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    key: str = ""


@dataclass(frozen=True)
class _Section:
    title: str
    items: tuple[_Line | _Table, ...]


#: Metadata keys the About sections put into words; any other key goes under "Other
#: details", so nothing a newer ``score`` adds is ever hidden.
_ABOUT_KEYS = {
    "notice", "model_name", "model_version", "outcome", "purpose", "generated_at",
    "generated_by", "valid_until", "explained", "reasons", "counts", "split", "threshold",
    "threshold_choice", "split_by",
    "bands", "decision_options", "permitted_purposes", "prohibited_purposes", "approved_by",
    "approved_at", "environment", "approval_keys", "waivers", "drift", "drift_flagged",
    "drift_reference", "release_id", "release_path", "card", "policy", "input",
    "input_sha256", "output_sha256", "audit_log", "audit_entry", "id_column",
}  # fmt: skip

_COUNT_LABELS = {
    "rows": "Rows in this list",
    "scored": "Scored",
    "flagged": "Flagged (score at or above the flag threshold)",
    "not_flagged": "Not flagged",
    "insufficient_basis": "Not scored (insufficient basis)",
}

_PROVENANCE = {
    "release_id": "Release id",
    "release_path": "Release folder",
    "card": "Model card",
    "policy": "Policy",
    "input": "Input",
    "input_sha256": "Input sha256",
    "output_sha256": "List sha256",
    "audit_log": "Audit log",
    "audit_entry": "Audit log entry",
    "id_column": "Id column in the input",
}


def _about(rl: RiskList, safe: _Safe, *, file: str, sheets: _Table | None = None) -> list[_Section]:
    """What the About sheet and the CSV sidecar say, as sections of sentences and tables."""
    m = rl.metadata
    sections = [
        _Section("Decision support only", (_Line("Notice", rl.notice),)),
        _Section("This list", _about_list(m, file)),
        _Section("How many", (_counts_table(rl.counts),) + ((sheets,) if sheets else ())),
        _Section("Bands and the flag", _about_bands(m)),
        _Section("Columns", (_columns_table(rl),)),
        _Section("Recording the decision", _about_decision(rl)),
        _Section("Purposes", _about_purposes(m)),
        _Section("Approval", _about_approval(m)),
        _Section("Waivers", _about_waivers(m)),
        _Section("Data drift", _about_drift(m)),
        _Section("Checks made when this file was written", _about_checks(safe)),
        _Section(
            "Where it comes from",
            tuple(_Line(label, _words(m[k])) for k, label in _PROVENANCE.items() if k in m),
        ),
        _Section(
            "Other details",
            tuple(
                _generic(k.replace("_", " ").capitalize(), v)
                for k, v in m.items()
                if k not in _ABOUT_KEYS and k not in _PROVENANCE
            ),
        ),
    ]
    return [s for s in sections if s.items]


def _generic(label: str, value: Any) -> _Line | _Table:
    """Any other metadata value: a sentence, or a small table for a dict of dicts."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        keys = list(dict.fromkeys(k for v in value.values() for k in v))
        rows = tuple((str(name), *(_words(v.get(k)) for k in keys)) for name, v in value.items())
        return _Table((label.lower(), *keys), rows)
    return _Line(label, _words(value))


def _about_list(m: dict[str, Any], file: str) -> tuple[_Line, ...]:
    lines = [_Line("File", file)]
    if "outcome" in m or "model_name" in m:
        lines.append(
            _Line(
                "Scores",
                f"Each score is the estimated probability of '{m.get('outcome', 'the outcome')}'"
                f", from model {m.get('model_name', 'unnamed')} version "
                f"{m.get('model_version', 'unknown')}.",
            )
        )
    if "purpose" in m:
        lines.append(_Line("Produced for", _purpose(m["purpose"])))
    if "generated_at" in m:
        by = f" by {m['generated_by']}" if m.get("generated_by") else ""
        lines.append(_Line("Generated", f"{_when(m['generated_at'])}{by}"))
    if "valid_until" in m:
        lines.append(
            _Line("Release valid until", f"{_when(m['valid_until'])}; score a new list after that.")
        )
    split = m.get("split")
    if isinstance(split, dict):
        whole = split.get("whole_list_counts", {}).get("rows")
        lines.append(
            _Line(
                "Rows",
                f"Only the rows whose {split.get('column')} is {_words(split.get('value'))}, "
                f"from a list of {_words(whole)} rows scored together; the rank is the "
                "position in that whole list.",
            )
        )
    if m.get("explained") == "none":
        lines.append(_Line("Reasons", "Not computed for this list."))
    elif "reasons" in m:
        which = {"flagged": "flagged rows", "all": "every scored row"}
        given = which.get(str(m.get("explained")), _words(m.get("explained")))
        lines.append(_Line("Reasons", f"Given for {given}: {_words(m['reasons'])}."))
    return tuple(lines)


def _counts_table(counts: dict[str, Any]) -> _Table:
    rows = []
    for k, v in counts.items():
        if isinstance(v, dict):
            rows += [(f"{_COUNT_LABELS.get(k, k)}: {kk}", _words(vv)) for kk, vv in v.items()]
        else:
            rows.append((_COUNT_LABELS.get(k, k.replace("_", " ")), _words(v)))
    return _Table(("", "rows"), tuple(rows))


def _count_words(c: dict[str, Any]) -> str:
    return (
        f"{c.get('rows', 0):,} rows: {c.get('scored', 0):,} scored, {c.get('flagged', 0):,} "
        f"flagged, {c.get('insufficient_basis', 0):,} not scored"
    )


def _about_bands(m: dict[str, Any]) -> tuple[_Line | _Table, ...]:
    items: list[_Line | _Table] = []
    if m.get("threshold") is not None:
        items.append(
            _Line(
                "Flag",
                f"A row is flagged when its score is at least {_cut(m['threshold'])} "
                "(the release's threshold)."
                + (
                    f" How it was chosen: {m['threshold_choice']}."
                    if m.get("threshold_choice")
                    else ""
                ),
            )
        )
    bands = m.get("bands")
    if (
        isinstance(bands, dict)
        and isinstance(bands.get("labels"), list | tuple)
        and isinstance(bands.get("cuts"), list | tuple)
        and len(bands["labels"]) == len(bands["cuts"]) + 1
    ):
        labels, cuts = list(bands["labels"]), [float(c) for c in bands["cuts"]]
        rows = []
        for i, label in enumerate(labels):
            lo = cuts[i - 1] if 0 < i <= len(cuts) else None
            hi = cuts[i] if i < len(cuts) else None
            if lo is None:
                span = f"below {_cut(hi)}" if hi is not None else "every score"
            elif hi is None:
                span = f"{_cut(lo)} and above"
            else:
                span = f"{_cut(lo)} to under {_cut(hi)}"
            rows.append((str(label), span))
        items.append(_Table(("band", "scores"), tuple(rows)))
        if m.get("ranges"):
            items.append(
                _Line(
                    "Ranges",
                    "score_low to score_high is the range the chance plausibly lies in. A "
                    "row gets one band only when its whole range lies inside it; a range "
                    "that crosses an edge shows the bands it spans, e.g. "
                    f"'{labels[-2]} to {labels[-1]}'.",
                )
            )
    elif bands is not None:
        items.append(_Line("Bands", _words(bands)))
    return tuple(items)


def _columns_table(rl: RiskList) -> _Table:
    m = rl.metadata
    threshold = (
        _cut(m["threshold"]) if m.get("threshold") is not None else "the release's threshold"
    )
    meaning = {
        "id": f"The record id from the input data ({m.get('id_column', 'the id column')}).",
        "as_of": "The date of the snapshot the score is for.",
        "score": "Estimated probability of the outcome, as a percentage; empty when not scored.",
        "score_low": "The lowest the score could plausibly be, given how the model did on "
        "the people it was tested on (Venn-Abers range); empty when not recorded.",
        "score_high": "The highest the score could plausibly be (the same range).",
        "band": "The policy's band of the score (see 'Bands and the flag'); when the range "
        "from score_low to score_high crosses a band edge, the bands it spans, e.g. "
        "'medium to high'.",
        "rank": "1 = the highest score in the list; equal scores share a rank; empty when "
        "not scored.",
        "status": f"flagged: score at or above {threshold}; not flagged: below it; "
        "insufficient basis: not scored, because the person's data lies outside the data "
        "the model was built on (the reasons say why).",
        "reasons": "Up to three things that raise this person's score most, in words; for "
        "a row without a score, why there is none.",
        "reviewed_by": "For you: the name of the member of staff who reviewed the row.",
        "decision": "For you: what was decided (choose from the drop-down in the XLSX).",
        "agrees_with_flag": "For you: yes or no: do you agree with the flag?",
        "rationale": "For you: why, in your own words (free text).",
    }
    rows = []
    for col in rl.frame.columns:
        text = meaning.get(str(col))
        if text is None:
            text = (
                "From the input data, unchanged, to help find the person; never a model input."
                if col in rl.display_columns
                else "From the input data."
            )
        rows.append((str(col), text))
    return _Table(("column", "what it holds"), tuple(rows))


def _about_decision(rl: RiskList) -> tuple[_Line | _Table, ...]:
    return (
        _Line(
            "How",
            "A member of staff with the authority and competence to act differently from "
            "the list reviews each row and fills in reviewed_by, decision, agrees_with_flag "
            "and rationale. In the XLSX, decision and agrees_with_flag have drop-downs; "
            "reviewed_by and rationale are free text.",
        ),
        _Table(("decision options",), tuple((o,) for o in rl.decision_options), key="options"),
    )


def _about_purposes(m: dict[str, Any]) -> tuple[_Line, ...]:
    lines = []
    if "permitted_purposes" in m:
        lines.append(_Line("May be used for", _purposes(m["permitted_purposes"])))
    if "prohibited_purposes" in m:
        lines.append(_Line("Must not be used for", _purposes(m["prohibited_purposes"])))
    return tuple(lines)


def _about_approval(m: dict[str, Any]) -> tuple[_Line, ...]:
    lines = []
    if "approved_by" in m:
        lines.append(_Line("Approved by", _words(m["approved_by"])))
    if "approved_at" in m:
        lines.append(_Line("Approved on", _when(m["approved_at"])))
    if "environment" in m:
        lines.append(_Line("Environment", _words(m["environment"])))
    if "approval_keys" in m:
        lines.append(_Line("Approvers' keys", _words(m["approval_keys"])))
    return tuple(lines)


def _about_waivers(m: dict[str, Any]) -> tuple[_Line | _Table, ...]:
    if "waivers" not in m:
        return ()
    waivers = m["waivers"]
    if not waivers:
        return (_Line("Waivers", "None: the release passed every gate of its policy."),)
    if isinstance(waivers, dict):
        return (
            _Line(
                "Waivers",
                f"The release was approved although {len(waivers)} policy gate(s) did not "
                "pass; the reviewer gave a written reason for each.",
            ),
            _Table(
                ("policy gate", "reviewer's reason"),
                tuple((str(k), _words(v)) for k, v in waivers.items()),
            ),
        )
    return (_Line("Waivers", _words(waivers)),)


def _about_drift(m: dict[str, Any]) -> tuple[_Line | _Table, ...]:
    drift = m.get("drift")
    if not drift:
        return ()
    items: list[_Line | _Table] = []
    if m.get("drift_reference"):
        items.append(_Line("Compared with", _words(m["drift_reference"])))
    flagged = m.get("drift_flagged") or []
    items.append(
        _Line(
            "Result",
            f"The batch differs beyond chance and beyond the policy's bound in: {_words(flagged)}."
            if flagged
            else "No feature differs beyond chance and beyond the policy's bound.",
        )
    )
    if isinstance(drift, dict) and all(isinstance(v, dict) for v in drift.values()):
        rows = tuple(
            (
                str(f),
                _words(d.get("change", "")),
                _words(d.get("status", "")),
                "" if d.get("psi") is None else f"{float(d['psi']):.3f}",
                "not tested" if d.get("p_value") is None else f"{float(d['p_value']):.2g}",
            )
            for f, d in drift.items()
        )
        items.append(_Table(("feature", "what changed", "status", "PSI", "p-value"), rows))
    else:
        items.append(_Line("Drift", _words(drift)))
    return tuple(items)


def _about_checks(safe: _Safe) -> tuple[_Line, ...]:
    return (
        _Line(
            "Formulas",
            f"{safe.formula_cells:,} text cell(s) began with = + - @, a tab or a carriage "
            "return; each was prefixed with ' so that spreadsheets show it as text and "
            "never run it.",
        ),
        _Line(
            "Control characters",
            f"{safe.control_cells:,} text cell(s) held control characters (invisible codes "
            f"such as ESC that spreadsheets reject); each was replaced with {REPLACEMENT}. "
            "The Parquet export keeps the exact values.",
        ),
    )


def _about_text(title: str, sections: list[_Section], width: int = 88) -> str:
    """The About sections as plain text (the CSV sidecar)."""
    out = [title, "=" * len(title), ""]
    for sec in sections:
        out += [sec.title, "-" * len(sec.title)]
        for item in sec.items:
            if isinstance(item, _Line):
                out += textwrap.wrap(
                    f"{item.label}: {item.text}", width, subsequent_indent="    "
                ) or [f"{item.label}:"]
            else:
                out += _text_table(item)
        out.append("")
    return "\n".join(out)


def _text_table(table: _Table, width: int = 88) -> list[str]:
    """A small table as aligned text; the last column wraps so lines stay short."""
    cells = [tuple(str(v) for v in r) for r in (table.header, *table.rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(table.header))]
    indent = 2 + sum(w + 2 for w in widths[:-1])
    widths[-1] = min(widths[-1], max(width - indent, 30))
    lines = []
    for j, row in enumerate(cells):
        last = textwrap.wrap(row[-1], widths[-1]) or [""]
        first = "  ".join(v.ljust(w) for v, w in zip(row[:-1], widths, strict=False))
        lines.append(("  " + (first + "  " if first else "") + last[0]).rstrip())
        lines += [" " * indent + more for more in last[1:]]
        if j == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


# ====================================================================== XLSX
def _hf(text: str, limit: int = 200) -> str:
    """Text for a page header or footer: at most ``limit`` characters (Excel refuses a
    header over 255, codes included), ``&`` doubled (it starts a code there)."""
    text = str(_safe_scalar(text))
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text.replace("&", "&&")


def _print_setup(ws: Any, rl: RiskList, where: str, *, title_rows: bool) -> None:
    """Landscape A4, fit to the page width, the short notice on top of every page and the
    list's id at the bottom (a printed page must never lose either)."""
    from openpyxl.worksheet.page import PageMargins
    from openpyxl.worksheet.properties import PageSetupProperties
    from openpyxl.worksheet.worksheet import Worksheet

    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.7, bottom=0.7, header=0.3, footer=0.3)
    ws.print_options.gridLines = True
    if title_rows:
        ws.print_title_rows = "1:1"
    ws.oddHeader.center.text = _hf(rl.short_notice)
    ws.oddHeader.center.font = "Calibri,Bold"
    ws.oddHeader.center.size = 10
    ws.oddHeader.center.color = _NOTICE_RED
    ws.oddFooter.left.text = _hf(f"{rl.list_label}{where}")
    ws.oddFooter.left.size = 8
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.right.size = 8


def _widths(frame: pd.DataFrame, options: tuple[str, ...]) -> list[float]:
    """Column widths (characters) fitted to header and content, capped so a row fits a
    landscape page; long reasons wrap instead."""
    caps = {"reasons": 45, "status": 13, "rationale": 30, "reviewed_by": 16}
    fixed = {**dict.fromkeys(SCORE_COLUMNS, 7), "decision": max(map(len, options), default=8) + 3}
    out = []
    for col in frame.columns:
        s = frame[col]
        if col in fixed:
            content = fixed[col]
        elif col in caps and col in DECISION_COLUMNS:
            content = caps[col]
        elif isinstance(s.dtype, pd.CategoricalDtype):
            content = max((len(str(c)) for c in s.cat.categories), default=0)
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            content = 10
        elif s.notna().any():
            content = int(s.dropna().astype(str).str.len().max())
        else:
            content = 0
        # +4: room for the filter button beside the header
        out.append(float(min(max(len(str(col)) + 4, content + 2), caps.get(col, 30))))
    return out


def _python_values(s: pd.Series) -> list[Any]:
    """A column as Python values for openpyxl: missing as None, dates without a time of
    day as dates, time zones dropped (Excel has none)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        present = s.dropna()
        if (present == present.dt.normalize()).all():
            vals = s.dt.date.to_numpy(dtype=object, copy=True)
            vals[s.isna().to_numpy()] = None
            return vals.tolist()
    return s.to_numpy(dtype=object, na_value=None).tolist()


def _style_cells(ws: Any, values: list[Any], mask: np.ndarray, **style: Any) -> None:
    """Turn the masked values into styled cells (openpyxl styles a cell, never a column,
    once the cell holds a value); only these cells pay for a cell object."""
    from openpyxl.cell import Cell, WriteOnlyCell

    for i in np.flatnonzero(mask):
        v = values[i]
        cell = v if isinstance(v, Cell) else WriteOnlyCell(ws, v)
        for name, value in style.items():
            setattr(cell, name, value)
        values[i] = cell


def _cell_columns(ws: Any, frame: pd.DataFrame, bands: list[str]) -> list[list[Any]]:
    """Each column as a list of values or styled cells: scores as percentages, bands
    coloured, flagged in bold, reasons wrapped; rows made tall by their reasons are
    aligned to the top so a reader's eye stays on one row."""
    from openpyxl.styles import Alignment, Font, PatternFill

    top = Alignment(vertical="top")
    wrap = Alignment(vertical="top", wrap_text=True)
    n = len(frame)
    tall = frame["reasons"].notna().to_numpy() if "reasons" in frame else np.zeros(n, bool)
    columns = []
    for col in frame.columns:
        s = frame[col]
        values = _python_values(s)
        present = s.notna().to_numpy()
        if col in SCORE_COLUMNS:
            _style_cells(ws, values, present, number_format=SCORE_FORMAT)
        elif col == "band":
            colours = _band_colours(len(bands))
            text = s.astype(object).to_numpy()
            for label, colour in zip(bands, colours, strict=True):
                fill = PatternFill("solid", fgColor=colour)
                _style_cells(ws, values, text == label, fill=fill)
        elif col == "status":
            _style_cells(
                ws, values, (s == "flagged").to_numpy(dtype=bool), font=Font(name=_FONT, bold=True)
            )
        if col in _WRAPPED:
            _style_cells(ws, values, present & tall, alignment=wrap)
        else:
            _style_cells(ws, values, present & tall, alignment=top)
        columns.append(values)
    return columns


def _lines(text: pd.Series, width: float) -> np.ndarray:
    """Lines each text takes when wrapped in a column ``width`` characters wide: a little
    more than a proportional font needs, so that no line is ever cut off. Neither Excel
    nor LibreOffice fits row heights to wrapped text when it opens a file."""
    t = text.astype("string")
    chars = t.str.len().fillna(0).to_numpy(dtype=float)
    breaks = t.str.count("\n").fillna(0).to_numpy(dtype=float)
    # a column width counts digit widths; text averages about 1.2 characters per digit
    per_line = max((width - 1.0) * 1.2, 1.0)
    return np.maximum(np.ceil(chars / per_line) + breaks, 1.0)


def _band_colours(k: int) -> list[str]:
    if k <= 1:
        return list(_BAND_FILLS[:k])
    last = len(_BAND_FILLS) - 1
    return [_BAND_FILLS[round(i * last / (k - 1))] for i in range(k)]


def _validation_formula(options: tuple[str, ...], about_range: str) -> str:
    """The drop-down's list: inline when Excel allows it (no commas or quotes, at most 255
    characters), else the options' cells on the About sheet."""
    inline = ",".join(options)
    if len(inline) <= 255 and not any("," in o or '"' in o for o in options):
        return f'"{inline}"'
    return about_range


def _decision_inputs(ws: Any, cols: list[str], bottom: int, decision_list: str) -> None:
    """Drop-downs for decision and agrees_with_flag, and a pale fill on every decision
    cell still blank, so what is left to do is visible on screen and on paper."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    lists = {
        "decision": (decision_list, "Decision", "Choose what was decided from the list."),
        "agrees_with_flag": (
            '"' + ",".join(AGREES_OPTIONS) + '"',
            "Agrees with flag",
            "Choose yes or no.",
        ),
    }
    blank = PatternFill("solid", fgColor=_INPUT_FILL, bgColor=_INPUT_FILL)
    for j, col in enumerate(cols, start=1):
        if col not in DECISION_COLUMNS:
            continue
        letter = get_column_letter(j)
        cells = f"{letter}2:{letter}{max(bottom, 2)}"
        ws.conditional_formatting.add(cells, FormulaRule(formula=[f"LEN({letter}2)=0"], fill=blank))
        if col in lists:
            formula, title, prompt = lists[col]
            dv = DataValidation(
                type="list",
                formula1=formula,
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=title,
                error=f"{prompt} Other notes go in rationale.",
                showInputMessage=True,
                promptTitle=title,
                prompt=prompt,
            )
            dv.add(cells)
            ws.data_validations.append(dv)


def _header_cells(ws: Any, cols: list[str]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    cells = []
    for col in cols:
        cell = WriteOnlyCell(ws, col)
        cell.font = Font(name=_FONT, bold=True)
        fill = _INPUT_FILL if col in DECISION_COLUMNS else _HEADER_FILL
        cell.fill = PatternFill("solid", fgColor=fill)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        cell.border = Border(bottom=Side(style="medium"))
        cells.append(cell)
    return cells


def _list_sheet(wb: Workbook, title: str, rl: RiskList, safe: _Safe, decision_list: str) -> None:
    """One list sheet: header in row 1 (so ``pd.read_excel`` returns the list), frozen,
    filtered, fitted, printable, with drop-downs for the decision."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    frame = safe.frame
    cols = [str(c) for c in frame.columns]
    bottom = len(frame) + 1
    # write-only sheets write their view and columns with the first row: set them first
    ws.freeze_panes = "B2"
    widths = _widths(frame, rl.decision_options)
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    lines = np.ones(len(frame))
    for col, width in zip(cols, widths, strict=True):
        if col in _WRAPPED:
            lines = np.maximum(lines, _lines(frame[col], width))
    for i in np.flatnonzero(lines > 1):
        ws.row_dimensions[int(i) + 2].height = float(lines[i]) * _LINE_HEIGHT
    split = rl.metadata.get("split")
    where = f" | {split['column']} = {_words(split['value'])}" if isinstance(split, dict) else ""
    _print_setup(ws, rl, where, title_rows=True)
    if cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{bottom}"
    _decision_inputs(ws, cols, bottom, decision_list)
    ws.append(_header_cells(ws, cols))
    bands = (
        [str(c) for c in rl.frame["band"].cat.categories]
        if "band" in rl.frame and isinstance(rl.frame["band"].dtype, pd.CategoricalDtype)
        else []
    )
    for row in zip(*_cell_columns(ws, frame, bands), strict=True):
        ws.append(row)


def _about_grid(
    sections: list[_Section],
) -> tuple[list[tuple[str, tuple[Any, ...]]], dict[str, str]]:
    """The About sections as sheet rows ``(kind, values)``, and the cell range of each
    keyed table (``'About this list'!$A$5:$A$9``) for drop-downs to refer to."""
    rows: list[tuple[str, tuple[Any, ...]]] = [("title", ("About this risk list",))]
    ranges: dict[str, str] = {}
    for sec in sections:
        rows += [("blank", ()), ("section", (sec.title,))]
        for item in sec.items:
            if isinstance(item, _Line):
                rows.append(("line", (item.label, item.text)))
                continue
            rows.append(("table_header", item.header))
            first = len(rows) + 1
            rows += [("table_row", tuple(r)) for r in item.rows]
            if item.key:
                ranges[item.key] = f"'{ABOUT_SHEET}'!$A${first}:$A${len(rows)}"
    return rows, ranges


def _about_sheet(wb: Workbook, rl: RiskList, grid: list[tuple[str, tuple[Any, ...]]]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    ws = wb.create_sheet(ABOUT_SHEET)
    widths = {"A": 30, "B": 80, "C": 12, "D": 9, "E": 10}
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    for r, (kind, values) in enumerate(grid, start=1):
        if kind in ("title", "section"):
            ws.row_dimensions[r].height = 20.0
        elif values:
            need = max(
                _lines(pd.Series([str(v)]), w)[0]
                for v, w in zip(values, widths.values(), strict=False)
            )
            if need > 1:
                ws.row_dimensions[r].height = float(need) * _LINE_HEIGHT
    _print_setup(ws, rl, "", title_rows=False)
    ws.print_options.gridLines = False
    wrap = Alignment(vertical="top", wrap_text=True)
    section_fill = PatternFill("solid", fgColor=_HEADER_FILL)
    styles: dict[str, dict[str, Any]] = {
        "title": {"font": Font(name=_FONT, bold=True, size=14)},
        "section": {"font": Font(name=_FONT, bold=True, size=12), "fill": section_fill},
        "line": {"alignment": wrap},
        "table_header": {
            "font": Font(name=_FONT, bold=True),
            "border": Border(bottom=Side(style="thin")),
            "alignment": wrap,
        },
        "table_row": {"alignment": wrap},
    }
    for kind, values in grid:
        cells = []
        for j, value in enumerate(values):
            cell = WriteOnlyCell(ws, _safe_scalar(value))
            for name, style in styles.get(kind, {}).items():
                setattr(cell, name, style)
            if kind == "line" and j == 0:
                cell.font = Font(name=_FONT, bold=True)
            cells.append(cell)
        if kind == "section":  # the band across the table's width
            cells += [WriteOnlyCell(ws, None) for _ in range(len(widths) - 1)]
            for cell in cells[1:]:
                cell.fill = styles["section"]["fill"]
        if kind == "line" and values and values[0] == "Notice":
            cells[1].font = Font(name=_FONT, bold=True, color=_NOTICE_RED)
        ws.append(cells)


# ====================================================================== files
def _sheet_titles(keys: Iterable[Any]) -> list[str]:
    """Excel sheet names for the split values: no ``[]:*?/\\``, at most 31 characters,
    not starting or ending with ``'``, unique (Excel ignores case), never the About
    sheet's name or Excel's reserved "History"."""
    taken = {ABOUT_SHEET.casefold(), "history"}
    out = []
    for key in keys:
        text = "(missing)" if key is None else str(key)
        text = re.sub(CONTROL_CHARACTERS, "", _SHEET_FORBIDDEN.sub("-", text)).strip().strip("'")
        text = text[:31].strip() or "(blank)"
        name, i = text, 1
        while name.casefold() in taken:
            i += 1
            suffix = f" ({i})"
            name = text[: 31 - len(suffix)] + suffix
        taken.add(name.casefold())
        out.append(name)
    return out


def _file_stems(keys: Iterable[Any]) -> list[str]:
    """Safe, unique file names (without extension) for the split values."""
    taken: set[str] = set()
    out = []
    for key in keys:
        text = "missing" if key is None else str(key)
        text = _FILE_FORBIDDEN.sub("_", re.sub(CONTROL_CHARACTERS, "", text)).strip("._-")[:100]
        text = text or "blank"
        if text.upper() in _WINDOWS_RESERVED:
            text = "_" + text
        name, i = text, 1
        while name.casefold() in taken:
            i += 1
            name = f"{text}-{i}"
        taken.add(name.casefold())
        out.append(name)
    return out


def _sidecar(path: Path) -> Path:
    return path.with_name(f"{path.stem}.about.txt")


def _folder(path: str | os.PathLike[str], split_by: str) -> Path:
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise SchemaError(
            Problem("path", f"{folder} is a file", "pass a folder: one file per value is written"),
            context=f"Cannot split the risk list by {split_by!r}",
        )
    return folder


#: The file in a split list's folder naming the files of its latest run.
SPLIT_MANIFEST = "risk_list_files.json"


def _replace_split_manifest(
    folder: Path, written: list[str], split_by: str, metadata: Mapping[str, Any]
) -> None:
    """Record this run's files and delete the files an earlier run wrote that this one did
    not (a prison that has no one on today's list must not find yesterday's file).

    Only files named in the earlier manifest are deleted: anything else in the folder is
    the site's, and is left alone.
    """
    manifest = folder / SPLIT_MANIFEST
    before: list[str] = []
    if manifest.is_file():
        try:
            before = list(json.loads(manifest.read_text(encoding="utf-8")).get("files", []))
        except (ValueError, AttributeError, TypeError, OSError):
            before = []  # unreadable: delete nothing
    record = {
        "split_by": split_by,
        "generated_at": metadata.get("generated_at"),
        "release_id": metadata.get("release_id"),
        "files": sorted(written),
    }
    atomic_write_text(manifest, json.dumps(record, indent=1) + "\n")
    keep = set(written)
    for name in before:
        stale = folder / str(name)
        # a bare name from our own manifest, never a path elsewhere
        if name not in keep and Path(str(name)).name == name and stale.is_file():
            stale.unlink()


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return str(value)


def _counts(frame: pd.DataFrame, keys: Iterable[str] = ()) -> dict[str, int]:
    """Rows, scored, insufficient_basis and flagged (plus ``not_flagged`` if asked)."""
    status = frame["status"].astype(object) if "status" in frame else pd.Series(dtype=object)
    known = {
        "rows": len(frame),
        "scored": int(frame["score"].notna().sum()) if "score" in frame else 0,
        "insufficient_basis": int((status == "insufficient_basis").sum()),
        "flagged": int((status == "flagged").sum()),
        "not_flagged": int((status == "not_flagged").sum()),
    }
    wanted = ["rows", "scored", "insufficient_basis", "flagged", *keys]
    return {k: known[k] for k in dict.fromkeys(wanted) if k in known}


def _warn_control(control: int, where: Path) -> None:
    if control:
        warnings.warn(
            f"{control:,} text cell(s) of the risk list held control characters (invisible "
            f"codes such as ESC that spreadsheets reject); each was replaced with U+FFFD "
            f"({REPLACEMENT}) in {where}. The count is in the file's About details; "
            "to_parquet keeps the exact values.",
            UserWarning,
            stacklevel=3,
        )


# ====================================================================== RiskList
class RiskList:
    """A scored batch: one row per person, for human review (see :func:`riskmodels.score`).

    Parameters
    ----------
    frame : DataFrame
        The list, highest score first (as :func:`riskmodels.score` builds it); exports
        keep its row order.
    metadata : dict
        Must hold the decision-support ``notice``; :func:`riskmodels.score` adds the
        model, release, purposes, approvals, validity, counts, drift and hashes.

    Columns
    -------
    id
        The spec's id column (named ``metadata["id_column"]``).
    display columns
        Any columns between ``id`` and ``as_of``/``score`` (e.g. ``person_id``,
        ``establishment``, ``wing``): copied from the input to help find the person,
        never model inputs.
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

    Examples
    --------
    >>> import pandas as pd
    >>> rl = RiskList(pd.DataFrame({"id": ["A1", "B2"], "score": [0.31, 0.02]}),
    ...               {"notice": "DECISION SUPPORT ONLY. A member of staff decides."})
    >>> len(rl), rl.short_notice
    (2, 'DECISION SUPPORT ONLY: a member of staff reviews every row and decides.')
    """

    def __init__(self, frame: pd.DataFrame, metadata: dict[str, Any]) -> None:
        if "notice" not in metadata:
            raise SchemaError(
                Problem("notice", "is missing from the metadata", "every list carries its notice"),
                context="Cannot build a risk list",
            )
        self.frame = frame
        self.metadata = metadata

    # ------------------------------------------------------------------ views
    @property
    def notice(self) -> str:
        """The decision-support notice every export carries."""
        return str(self.metadata["notice"])

    @property
    def short_notice(self) -> str:
        """The notice in one line, for page headers: a development list's mark first, and
        a drift warning when the batch drifted."""
        start = self.notice.find("DECISION SUPPORT ONLY")
        mark = self.notice[:start] if start > 0 else ""
        drift = (
            " WARNING: this batch differs from the data the model was validated on."
            if self.metadata.get("drift_flagged")
            else ""
        )
        return (
            f"{mark}DECISION SUPPORT ONLY: a member of staff reviews every row and decides.{drift}"
        )

    @property
    def list_id(self) -> str:
        """A short id of this list: the first 12 hex digits of its sha256, as recorded in
        the audit log (``"unrecorded"`` for a list not made by :func:`riskmodels.score`)."""
        sha = self.metadata.get("output_sha256")
        return str(sha)[:12] if sha else "unrecorded"

    @property
    def list_label(self) -> str:
        """The list's id, release and audit entry in one line (printed on every page)."""
        m = self.metadata
        parts = [f"List {self.list_id}"]
        if m.get("release_id"):
            parts.append(f"release {str(m['release_id'])[:12]}")
        if m.get("audit_entry") is not None:
            parts.append(f"audit entry {m['audit_entry']}")
        if m.get("generated_at"):
            parts.append(f"generated {_when(m['generated_at'])}")
        return " | ".join(parts)

    @property
    def counts(self) -> dict[str, int]:
        """Rows in, scored, insufficient_basis and flagged."""
        if "counts" in self.metadata:
            return dict(self.metadata["counts"])
        return _counts(self.frame)

    @property
    def display_columns(self) -> list[str]:
        """Columns between ``id`` and ``as_of``/``score``: shown to find the person."""
        cols = [str(c) for c in self.frame.columns]
        if "id" not in cols:
            return []
        end = next((i for i, c in enumerate(cols) if c in ("as_of", "score")), len(cols))
        return cols[cols.index("id") + 1 : end]

    @property
    def decision_options(self) -> tuple[str, ...]:
        """The choices for ``decision``: ``metadata["decision_options"]`` if given, else
        :data:`DECISION_OPTIONS`."""
        options = self.metadata.get("decision_options")
        if options is None:
            return DECISION_OPTIONS
        if (
            not isinstance(options, list | tuple)
            or not options
            or not all(isinstance(o, str) and o.strip() for o in options)
        ):
            raise SchemaError(
                Problem(
                    "decision_options",
                    f"{options!r}",
                    "give a non-empty list of non-empty texts, e.g. ['support offered', 'other']",
                ),
                context="Invalid risk list metadata",
            )
        return tuple(str(_safe_scalar(o)) for o in options)

    def __len__(self) -> int:
        return len(self.frame)

    def top(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` highest-ranked scored rows, highest first."""
        scored = self.frame[self.frame["rank"].notna()]
        return scored.sort_values("rank", kind="stable").head(n)

    def __repr__(self) -> str:
        c = self.counts
        m = self.metadata
        return (
            f"RiskList({m.get('model_name', 'unnamed')} {m.get('model_version', '')}, "
            f"purpose={m.get('purpose')!r}: {c.get('rows', len(self)):,} rows, "
            f"{c.get('scored', 0):,} scored, {c.get('flagged', 0):,} flagged, "
            f"{c.get('insufficient_basis', 0):,} insufficient_basis)"
        )

    def _repr_html_(self) -> str:
        return self.to_html(max_rows=10)

    def to_html(self, max_rows: int = 20) -> str:
        """A short, self-contained HTML table of the first rows under the full notice.

        For documents, READMEs and notebooks: the first ``max_rows`` rows in list order
        (highest score first), scores as percentages, bands coloured; the decision columns
        are left out (they are empty) and named below the table. Every value is escaped.

        Parameters
        ----------
        max_rows : int, default 20
            Rows shown.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> rl = RiskList(pd.DataFrame({"id": ["<b>A1</b>"], "score": [0.31]}),
        ...               {"notice": "DECISION SUPPORT ONLY. A member of staff decides."})
        >>> page = rl.to_html()
        >>> "&lt;b&gt;A1&lt;/b&gt;" in page and "31.0%" in page
        True
        """
        head = self.frame.head(max(int(max_rows), 0))
        safe = _safe_frame(head, readable_status=True).frame
        cols = [c for c in safe.columns if c not in DECISION_COLUMNS]
        bands = (
            [str(c) for c in self.frame["band"].cat.categories]
            if "band" in self.frame and isinstance(self.frame["band"].dtype, pd.CategoricalDtype)
            else []
        )
        colour = dict(zip(bands, _band_colours(len(bands)), strict=True))
        th = "border:1px solid #bbb;padding:4px 8px;background:#e8e8e8;text-align:left"
        td = "border:1px solid #bbb;padding:4px 8px;vertical-align:top"
        header = "".join(f"<th style='{th}'>{html.escape(str(c))}</th>" for c in cols)
        body = []
        for row in safe[cols].itertuples(index=False):
            cells = []
            for col, value in zip(cols, row, strict=True):
                style = td
                if col not in _WRAPPED:  # a date or an id broken over two lines misleads
                    style += ";white-space:nowrap"
                if col in (*SCORE_COLUMNS, "rank"):
                    style += ";text-align:right"
                if col == "band" and str(value) in colour:
                    style += f";background:#{colour[str(value)]}"
                if col == "status" and value == "flagged":
                    style += ";font-weight:bold"
                cells.append(f"<td style='{style}'>{html.escape(_html_value(col, value))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        m = self.metadata
        about = [
            f"Model {m['model_name']} version {m.get('model_version', '')}"
            if "model_name" in m
            else "",
            f"for {_purpose(m['purpose'])}" if "purpose" in m else "",
            f"generated {_when(m['generated_at'])}" if "generated_at" in m else "",
            f"release valid until {_when(m['valid_until'])}" if "valid_until" in m else "",
        ]
        c = self.counts
        summary = (
            f"{c.get('rows', len(self)):,} rows: {c.get('scored', 0):,} scored, "
            f"{c.get('flagged', 0):,} flagged, {c.get('insufficient_basis', 0):,} not scored "
            "(insufficient basis)."
        )
        missing = [d for d in DECISION_COLUMNS if d in safe.columns]
        foot = f"Showing the first {len(head):,} of {len(self):,} rows, highest score first." + (
            f" The full list also has the columns for the reviewer: {', '.join(missing)}."
            if missing
            else ""
        )
        return (
            "<div class='riskmodels-risk-list' style='font-family:system-ui,sans-serif;"
            "font-size:14px;max-width:1200px'>"
            f"<p style='border:2px solid #{_NOTICE_RED};background:#fff5f5;padding:8px;"
            f"font-weight:bold'>{html.escape(str(_safe_scalar(self.notice)))}</p>"
            f"<p>{html.escape(str(_safe_scalar(' · '.join(a for a in about if a))))}</p>"
            f"<p>{html.escape(summary)}</p>"
            f"<table style='border-collapse:collapse'><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            f"<p style='color:#555'>{html.escape(foot)}</p></div>"
        )

    # ------------------------------------------------------------------ split
    @property
    def split_by(self) -> str | None:
        """The column every export splits by unless told otherwise (set by
        ``rm.score(..., split_by=...)``), or None."""
        value = self.metadata.get("split_by")
        return None if value is None else str(value)

    def split(self, column: str) -> dict[Any, RiskList]:
        """One list per value of ``column`` (e.g. ``establishment``), each with its own
        counts and the same notice, so each place receives only its own people.

        Rows keep their order (highest score first) and their rank in the whole list;
        values are in sorted order (a categorical's own order), a missing value last
        under the key ``None``. Each part's ``metadata["split"]`` names the column, the
        value and the whole list's counts.

        Parameters
        ----------
        column : str
            A column of the list.

        Returns
        -------
        dict
            Value -> :class:`RiskList`.

        Raises
        ------
        SchemaError
            ``column`` is not a column of the list.

        Examples
        --------
        >>> import pandas as pd
        >>> rl = RiskList(pd.DataFrame({"id": [1, 2, 3], "establishment": ["B", "A", "B"],
        ...                             "score": [0.5, 0.3, 0.1]}),
        ...               {"notice": "DECISION SUPPORT ONLY. A member of staff decides."})
        >>> {k: v.frame["id"].tolist() for k, v in rl.split("establishment").items()}
        {'A': [2], 'B': [1, 3]}
        >>> rl.split("establishment")["B"].counts["rows"]
        2
        """
        if column not in self.frame.columns:
            raise SchemaError(
                Problem(
                    column,
                    "is not a column of the risk list",
                    f"split by one of {[str(c) for c in self.frame.columns]}",
                ),
                context=f"Cannot split the risk list by {column!r}",
            )
        codes, uniques = pd.factorize(self.frame[column], sort=True, use_na_sentinel=True)
        order = np.argsort(np.where(codes < 0, len(uniques), codes), kind="stable")
        sizes = np.bincount(np.where(codes < 0, len(uniques), codes), minlength=len(uniques) + 1)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        whole = self.counts
        parts: dict[Any, RiskList] = {}
        for k in range(len(uniques) + 1):
            pos = order[bounds[k] : bounds[k + 1]]
            if len(pos) == 0:
                continue
            value = _json_safe(uniques[k]) if k < len(uniques) else None
            key = uniques[k] if k < len(uniques) else None
            key = key.item() if isinstance(key, np.generic) else key
            frame = self.frame.iloc[pos].reset_index(drop=True)
            meta = copy.deepcopy(self.metadata)
            meta.pop("split_by", None)  # a part is one place's whole list
            meta["counts"] = _counts(frame, whole)
            meta["split"] = {"column": column, "value": value, "whole_list_counts": whole}
            parts[key] = RiskList(frame, meta)
        return parts

    # ------------------------------------------------------------------ exports
    def to_csv(self, path: str | os.PathLike[str], *, split_by: str | None = None) -> None:
        """Write the list as CSV, with its notice and details in a text file beside it.

        The header is the first line, so ``pd.read_csv(path)`` (no arguments) and any
        spreadsheet program open the list directly. The notice travels two ways: a short
        ``notice`` column on every row (the last column), naming the sidecar
        ``<name>.about.txt`` written next to the CSV with the full notice, counts,
        purposes, approvals, waivers, drift and provenance in sentences and small tables.
        Scores are probabilities rounded to 4 decimals (0.0260 = 2.60%); Parquet keeps
        every digit. Text is UTF-8 with a byte-order mark so that Excel reads
        accented names correctly. Control characters are replaced with U+FFFD (counted in
        the sidecar, and a ``UserWarning`` says how many); text cells beginning with
        ``= + - @``, tab or carriage return are prefixed with ``'`` so a spreadsheet shows
        them as text instead of running them as formulas. Both files are written
        atomically, the sidecar first.

        Parameters
        ----------
        path : path
            The CSV file; with ``split_by``, a folder.
        split_by : str, optional
            A column (e.g. ``"establishment"``): one ``<value>.csv`` (and its
            ``<value>.about.txt``) per value in the folder ``path``; see :meth:`split`.
            Default: the list's own :attr:`split_by`. The folder's
            ``risk_list_files.json`` names the files written; files an earlier split
            wrote there and this one did not are deleted (nothing else is touched).

        Raises
        ------
        SchemaError
            ``split_by`` is not a column, or ``path`` is a file when ``split_by`` is given.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> rl = RiskList(pd.DataFrame({"id": ["A1", "=B2"], "score": [0.31, 0.02]}),
        ...               {"notice": "DECISION SUPPORT ONLY. A member of staff decides."})
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> rl.to_csv(d / "list.csv")
        >>> back = pd.read_csv(d / "list.csv")
        >>> back.columns.tolist(), back["id"].tolist()
        (['id', 'score', 'notice'], ['A1', "'=B2"])
        >>> sorted(p.name for p in d.iterdir())
        ['list.about.txt', 'list.csv']
        """
        split_by = self.split_by if split_by is None else split_by
        if split_by is not None:
            self._write_split(path, split_by, "csv")
            return
        path = Path(path)
        safe = self._write_csv(path)
        _warn_control(safe.control_cells, path)

    def _write_csv(self, path: Path) -> _Safe:
        if NOTICE_COLUMN in self.frame.columns:
            raise SchemaError(
                Problem(NOTICE_COLUMN, "is a column of the list", "rename it: the CSV adds it"),
                context="Cannot write the risk list as CSV",
            )
        safe = _safe_frame(self.frame)
        frame = safe.frame
        frame = frame.assign(
            **{
                c: frame[c].round(CSV_SCORE_DECIMALS)
                for c in SCORE_COLUMNS
                if c in frame and pd.api.types.is_float_dtype(frame[c].dtype)
            }
        )
        sidecar = _sidecar(path)
        mark = self.short_notice.split("DECISION SUPPORT ONLY")[0]
        frame = frame.assign(
            **{NOTICE_COLUMN: f"{mark}DECISION SUPPORT ONLY (a person decides): see {sidecar.name}"}
        )
        sections = _about(self, safe, file=f"{path.name} (this file describes it)")
        atomic_write_text(sidecar, _about_text(f"About the risk list {path.name}", sections))
        buf = io.StringIO()
        # RFC 4180 line ends: a field holding a lone carriage return is then quoted too
        # (with "\n" it is not, and every reader splits the row there)
        frame.to_csv(buf, index=False, lineterminator="\r\n")
        atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig"))
        return safe

    def to_excel(self, path: str | os.PathLike[str], *, split_by: str | None = None) -> None:
        """Write an .xlsx workbook for daily use, atomically.

        The list sheet comes first (``pd.read_excel(path)`` returns the list): header in
        row 1, frozen with the id column; a filter on every column; widths fitted to the
        content; scores as percentages (the cell holds the probability to 16 digits);
        bands coloured;
        flagged rows' status in bold; reasons wrapped; drop-downs for ``decision``
        (:attr:`decision_options`) and ``agrees_with_flag`` (yes / no), ``reviewed_by``
        and ``rationale`` free text, every blank decision cell shaded. Printing: A4
        landscape, fitted to the page width, the header row on every page, the short
        notice at the top and the list's id (:attr:`list_label`) at the bottom of each
        page. Then the "About this list" sheet: the notice, counts, bands, what each
        column means, purposes, approvals, waivers with their reasons, drift per feature
        and provenance, in sentences and small tables.

        Control characters are replaced with U+FFFD (counted on the About sheet, and a
        ``UserWarning`` says how many); text cells that a spreadsheet would run as
        formulas are prefixed with ``'``.

        Parameters
        ----------
        path : path
            The .xlsx file.
        split_by : str, optional
            A column (e.g. ``"establishment"``): one list sheet per value (named after
            it; see :meth:`split`), then the About sheet with the counts per sheet.
            Default: the list's own :attr:`split_by`.

        Raises
        ------
        SchemaError
            More rows than an Excel sheet holds (use :meth:`to_parquet` or :meth:`to_csv`),
            or ``split_by`` is not a column.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> rl = RiskList(pd.DataFrame({"id": ["A1", "B2"], "score": [0.31, 0.02]}),
        ...               {"notice": "DECISION SUPPORT ONLY. A member of staff decides."})
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "list.xlsx"
        >>> rl.to_excel(path)
        >>> pd.read_excel(path)["id"].tolist()
        ['A1', 'B2']
        >>> pd.ExcelFile(path).sheet_names
        ['Risk list', 'About this list']
        """
        split_by = self.split_by if split_by is None else split_by
        from openpyxl import Workbook

        path = Path(path)
        if split_by is None:
            parts = [(LIST_SHEET, self)]
        else:
            split = self.split(split_by)
            parts = list(zip(_sheet_titles(split), split.values(), strict=True)) or [
                (LIST_SHEET, self)
            ]
        for title, part in parts:
            if len(part) > EXCEL_MAX_ROWS:
                raise SchemaError(
                    Problem(
                        None,
                        f"{len(part):,} rows exceed an Excel sheet's {EXCEL_MAX_ROWS:,}",
                        "use to_parquet or to_csv, or split_by a column",
                    ),
                    context=f"Cannot write the risk list sheet {title!r} to Excel",
                )
        safes = [_safe_frame(part.frame, readable_status=True) for _, part in parts]
        total = _Safe(safes[0].frame, 0, 0)
        for s in safes:
            total = total + s
        sheets = None
        if split_by is not None:
            sheets = _Table(
                (f"sheet ({split_by})", "rows"),
                tuple((t, _count_words(p.counts)) for t, p in parts),
            )
        grid, ranges = _about_grid(_about(self, total, file=path.name, sheets=sheets))
        decision_list = _validation_formula(self.decision_options, ranges["options"])
        wb = Workbook(write_only=True)
        wb.properties.title = f"Risk list {self.list_id}"
        wb.properties.subject = self.short_notice
        wb.properties.description = self.notice
        for (title, part), safe in zip(parts, safes, strict=True):
            _list_sheet(wb, title, part, safe, decision_list)
        _about_sheet(wb, self, grid)
        buf = io.BytesIO()
        wb.save(buf)
        atomic_write_bytes(path, buf.getvalue())
        _warn_control(total.control_cells, path)

    def to_parquet(self, path: str | os.PathLike[str], *, split_by: str | None = None) -> None:
        """Write Parquet, atomically, with the exact values and the metadata.

        The metadata (notice included) is stored as JSON under the schema metadata key
        ``riskmodels.risk_list``; :meth:`from_parquet` reads it back. Values are kept
        exactly as scored (control characters and formula-like text included: Parquet is
        read by programs, and :meth:`from_parquet` then :meth:`to_excel` makes them safe
        for people).

        Parameters
        ----------
        path : path
            The Parquet file; with ``split_by``, a folder.
        split_by : str, optional
            A column: one ``<value>.parquet`` per value in the folder ``path``, each with
            its own counts (see :meth:`split`). Default: the list's own :attr:`split_by`.
            Stale files of an earlier split are deleted as for :meth:`to_csv`.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> rl = RiskList(pd.DataFrame({"id": ["A1"], "score": [0.123456789]}),
        ...               {"notice": "DECISION SUPPORT ONLY. A member of staff decides."})
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "list.parquet"
        >>> rl.to_parquet(path)
        >>> float(RiskList.from_parquet(path).frame["score"].iloc[0])
        0.123456789
        """
        split_by = self.split_by if split_by is None else split_by
        if split_by is not None:
            self._write_split(path, split_by, "parquet")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(self.metadata, ensure_ascii=False).encode("utf-8")
        table = table.replace_schema_metadata(meta)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        atomic_write_bytes(path, sink.getvalue().to_pybytes())

    def _write_split(
        self, path: str | os.PathLike[str], split_by: str, kind: Literal["csv", "parquet"]
    ) -> None:
        folder = _folder(path, split_by)
        split = self.split(split_by)
        control = 0
        written = []
        for stem, part in zip(_file_stems(split), split.values(), strict=True):
            target = folder / f"{stem}.{kind}"
            if kind == "csv":
                control += part._write_csv(target).control_cells
                written += [target.name, _sidecar(target).name]
            else:
                part.to_parquet(target)
                written.append(target.name)
        _replace_split_manifest(folder, written, split_by, self.metadata)
        _warn_control(control, folder)

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> RiskList:
        """Read a list written by :meth:`to_parquet` (e.g. to record decisions later).

        Raises
        ------
        SchemaError
            The file holds no risk-list metadata.
        """
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise SchemaError(
                Problem(None, "no riskmodels metadata in the file", "write it with to_parquet"),
                context=f"{path} is not a risk list",
            )
        return cls(table.to_pandas(), json.loads(raw))


def _html_value(col: str, value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if col in SCORE_COLUMNS:
        return _pct(value)
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)
