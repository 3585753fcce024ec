"""Gates and the gate report: what a policy check found, gate by gate."""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from riskmodels._io import atomic_write_text
from riskmodels._json import finite_or_none
from riskmodels.errors import PolicyError

__all__ = ["GATE_STATUSES", "NON_WAIVABLE", "Gate", "GateReport", "fmt_number", "redact_counts"]

#: Statuses of a gate, from best to worst. ``warn`` needs a waiver with a reason;
#: ``fail`` and ``insufficient_evidence`` block approval unless waived.
GATE_STATUSES = ("pass", "warn", "insufficient_evidence", "fail")
#: Gates no waiver can lift: evidence about another model is no evidence about this one,
#: and mitigation that needs a protected characteristic at scoring time sets different
#: thresholds per group at decision time (possible direct discrimination, Equality Act
#: 2010 s.13).
NON_WAIVABLE = frozenset({"evidence.model_match", "fairness.mitigation", "policy.bands"})
_SCHEMA = "riskmodels.policy.GateReport/1"


def _unnum(x: Any) -> float:
    return math.nan if x is None else float(x)


_NUMBER = re.compile(r"\d[\d,]*")


def redact_counts(text: str, counts: tuple[tuple[str, int], ...], threshold: int) -> str:
    """``text`` with every quoted count below ``threshold`` shown as ``<threshold``.

    Structured, not guessed: ``counts`` names each count the text quotes, as the words
    that state it (e.g. ``"8 observed"``) and its value, so a count is hidden however it is
    worded and a number that is not a count (a bound, a ratio) is never touched.

    Examples
    --------
    >>> text = "Black: 8 observed, 40.6 expected; White: 118 observed, 120.2 expected"
    >>> redact_counts(text, (("8 observed", 8), ("118 observed", 118)), 10)
    'Black: <10 observed, 40.6 expected; White: 118 observed, 120.2 expected'
    """
    if threshold <= 0:
        return text
    for fragment, value in counts:
        if value < threshold:
            hidden = _NUMBER.sub(f"<{threshold}", fragment, count=1)
            # whole words only: "8 observed" must not match inside "118 observed"
            pattern = rf"(?<![\w.,]){re.escape(fragment)}(?!\w)"
            text = re.sub(pattern, lambda _m, h=hidden: h, text)
    return text


@dataclass(frozen=True)
class Gate:
    """One policy gate's outcome.

    Attributes
    ----------
    name : str
        Dotted name, the policy section first (e.g. ``"reliability.auc"``); waivers name
        gates by it.
    status : {"pass", "warn", "fail", "insufficient_evidence"}
    value : float
        The checked value (NaN when undefined).
    bound : str
        The bound in words, e.g. ``">= 0.7"`` or ``"0.8 to 1.2"``.
    lo, hi : float
        CI of the value (NaN when there is none).
    reason : str
        One sentence saying why the gate has this status.
    waivable : bool
        False for gates no waiver can lift (see ``NON_WAIVABLE``).
    counts : tuple of (str, int)
        Each count of people or events the reason quotes: its words as they appear in
        ``reason`` and its value, so that a published card can hide small ones
        (:meth:`published_reason`).
    """

    name: str
    status: str
    value: float
    bound: str
    lo: float
    hi: float
    reason: str
    waivable: bool = True
    counts: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.status not in GATE_STATUSES:
            raise ValueError(f"gate status must be one of {GATE_STATUSES}, got {self.status!r}")

    @property
    def section(self) -> str:
        """The policy section the gate belongs to."""
        return self.name.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("value", "lo", "hi"):
            d[k] = finite_or_none(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gate:
        d = dict(d)
        for k in ("value", "lo", "hi"):
            d[k] = _unnum(d[k])
        d["counts"] = tuple((str(text), int(n)) for text, n in d.get("counts", ()))
        return cls(**d)

    def published_reason(self, threshold: int) -> str:
        """The reason with every quoted count below ``threshold`` shown as ``<threshold``
        (statistical disclosure control for published cards)."""
        return redact_counts(self.reason, self.counts, threshold)


def fmt_number(x: float | None) -> str:
    """A number as gate text: one format everywhere (no ``nan``, no ``7.861e+04``).

    Counts with thousands separators, other values with three decimals, small values
    with three significant digits, and "n/a" for an undefined value.

    Examples
    --------
    >>> [fmt_number(v) for v in (78612.0, 0.7312, 0.0009184, float("nan"), -0.25)]
    ['78,612', '0.731', '0.000918', 'n/a', '-0.250']
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.{2 - math.floor(math.log10(abs(x)))}f}"
    return f"{x:.3f}"


def _ci(g: Gate) -> str:
    if math.isnan(g.lo) or math.isnan(g.hi):
        return ""
    return f"{fmt_number(g.lo)} to {fmt_number(g.hi)}"


@dataclass(frozen=True)
class GateReport:
    """The outcome of :meth:`Policy.check`: one :class:`Gate` per policy gate.

    ``passed`` is True only when every gate passes. ``failures`` are the gates that
    block approval unless waived (``fail`` and ``insufficient_evidence``); ``warnings``
    the gates that need a waiver with a reason (``warn``).

    Examples
    --------
    >>> g = Gate("reliability.auc", "pass", 0.74, ">= 0.70", 0.71, 0.77, "AUC 0.740 >= 0.70.")
    >>> report = GateReport(gates=(g,), policy_name="default", policy_version="1.0",
    ...                     policy_sha256="", model_name="m", model_version="v",
    ...                     criterion="calibration_within_groups", criterion_rationale="...")
    >>> report.passed, report["reliability.auc"].status
    (True, 'pass')
    >>> GateReport.from_json(report.to_json()) == report
    True
    """

    gates: tuple[Gate, ...]
    policy_name: str
    policy_version: str
    policy_sha256: str
    model_name: str | None
    model_version: str | None
    criterion: str
    criterion_rationale: str
    checked_at: str = ""
    notes: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ access
    def __iter__(self) -> Iterator[Gate]:
        return iter(self.gates)

    def __len__(self) -> int:
        return len(self.gates)

    def __getitem__(self, name: str) -> Gate:
        for g in self.gates:
            if g.name == name:
                return g
        raise KeyError(f"no gate named {name!r}; gates are {self.names}")

    @property
    def names(self) -> list[str]:
        """Gate names in report order."""
        return [g.name for g in self.gates]

    @property
    def passed(self) -> bool:
        """True when every gate passes (nothing needs a waiver)."""
        return all(g.status == "pass" for g in self.gates)

    @property
    def failures(self) -> list[Gate]:
        """Gates that block approval unless waived: ``fail`` and ``insufficient_evidence``."""
        return [g for g in self.gates if g.status in ("fail", "insufficient_evidence")]

    @property
    def warnings(self) -> list[Gate]:
        """Gates with status ``warn``: approval needs a waiver with a reason for each."""
        return [g for g in self.gates if g.status == "warn"]

    def check_waivers(self, waivers: Mapping[str, str] | None) -> dict[str, str]:
        """Validate waivers against this report and return them cleaned.

        Raises
        ------
        PolicyError
            A waiver names no gate of the report, names a gate that passed, names a gate
            that cannot be waived, or has no written reason (``key`` is
            ``"waivers.<gate>"``).
        """
        clean: dict[str, str] = {}
        for name, reason in dict(waivers or {}).items():
            key = f"waivers.{name}"
            if name not in self.names:
                raise PolicyError(
                    f"Waiver for unknown gate {name!r}; gates are {self.names}", key=key
                )
            if not isinstance(reason, str) or not reason.strip():
                raise PolicyError(
                    f"Waiver of {name!r} has no reason: a waiver must say, in writing, why the "
                    "release is acceptable despite the gate",
                    key=key,
                )
            gate = self[name]
            if gate.status == "pass":
                raise PolicyError(f"Gate {name!r} passed; it needs no waiver", key=key)
            if not gate.waivable:
                raise PolicyError(f"Gate {name!r} cannot be waived: {gate.reason}", key=key)
            clean[name] = reason.strip()
        return clean

    def blocking(self, waivers: Mapping[str, str] | None = None) -> list[Gate]:
        """Gates that are not ``pass`` and not (validly) waived."""
        waived = self.check_waivers(waivers)
        return [g for g in self.gates if g.status != "pass" and g.name not in waived]

    # ------------------------------------------------------------------ tables and text
    def to_frame(self) -> pd.DataFrame:
        """One row per gate: ``gate, status, value, bound, lo, hi, reason, waivable``."""
        return pd.DataFrame(
            [
                {
                    "gate": g.name,
                    "status": g.status,
                    "value": g.value,
                    "bound": g.bound,
                    "lo": g.lo,
                    "hi": g.hi,
                    "reason": g.reason,
                    "waivable": g.waivable,
                }
                for g in self.gates
            ],
            columns=["gate", "status", "value", "bound", "lo", "hi", "reason", "waivable"],
        )

    @property
    def status(self) -> str | None:
        """The worst status of any gate (``GATE_STATUSES`` runs from best to worst), or
        None for a report without gates."""
        ranks = [GATE_STATUSES.index(g.status) for g in self.gates]
        return GATE_STATUSES[max(ranks)] if ranks else None

    def summary(self) -> str:
        """One line: counts of each status."""
        counts = {s: sum(g.status == s for g in self.gates) for s in GATE_STATUSES}
        return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no gates"

    def to_markdown(self, waivers: Mapping[str, str] | None = None) -> str:
        """A Markdown section for the model card: the table and the fairness criterion."""
        waivers = dict(waivers or {})
        lines = [
            f"### Policy gates ({self.policy_name} {self.policy_version})",
            "",
            f"Model: {self.model_name or 'not given'} (version {self.model_version or '-'}). "
            f"Result: {self.summary()}.",
            "",
            "| gate | status | value | CI | bound | why |",
            "|---|---|---|---|---|---|",
        ]
        for g in self.gates:
            status = g.status + (" (waived)" if g.name in waivers else "")
            cells = [g.name, status, fmt_number(g.value), _ci(g), g.bound, g.reason]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines += [
            "",
            f"**Fairness criterion prioritised:** {self.criterion.replace('_', ' ')}. "
            f"{self.criterion_rationale}",
        ]
        if waivers:
            lines += ["", "**Waivers:**", ""]
            lines += [f"- `{k}`: {v}" for k, v in waivers.items()]
        for note in self.notes:
            lines += ["", f"_Note: {note}_"]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        colours = {
            "pass": "#1a7f37",
            "warn": "#9a6700",
            "fail": "#cf222e",
            "insufficient_evidence": "#8250df",
        }
        rows = "".join(
            f"<tr><td>{html.escape(g.name)}</td>"
            f"<td style='color:{colours[g.status]};font-weight:bold'>{g.status}</td>"
            f"<td>{fmt_number(g.value)}</td><td>{_ci(g)}</td><td>{html.escape(g.bound)}</td>"
            f"<td>{html.escape(g.reason)}</td></tr>"
            for g in self.gates
        )
        return (
            f"<div><h4>Gate report: policy {html.escape(self.policy_name)} "
            f"{html.escape(self.policy_version)}, model {html.escape(str(self.model_name))}"
            f"</h4><p>{html.escape(self.summary())}. Fairness criterion prioritised: "
            f"{html.escape(self.criterion)}.</p><table><thead><tr><th>gate</th>"
            "<th>status</th><th>value</th><th>CI</th><th>bound</th><th>why</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return (
            f"GateReport(policy={self.policy_name!r}, model={self.model_name!r}, {self.summary()})"
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (NaN as null)."""
        return {
            "schema": _SCHEMA,
            "policy_name": self.policy_name,
            "policy_version": self.policy_version,
            "policy_sha256": self.policy_sha256,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "criterion": self.criterion,
            "criterion_rationale": self.criterion_rationale,
            "checked_at": self.checked_at,
            "notes": list(self.notes),
            "gates": [g.to_dict() for g in self.gates],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GateReport:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        if d.pop("schema", None) != _SCHEMA:
            raise ValueError(f"not a serialised GateReport (schema {_SCHEMA!r} expected)")
        d["gates"] = tuple(Gate.from_dict(g) for g in d["gates"])
        d["notes"] = tuple(d.get("notes", ()))
        return cls(**d)

    def to_json(self, *, indent: int | None = 1) -> str:
        """JSON text; :meth:`from_json` restores an equal report."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> GateReport:
        """Read a report written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GateReport:
        """A report from a file written by :meth:`save`."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(fh.read())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GateReport):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]
