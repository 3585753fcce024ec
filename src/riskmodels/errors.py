"""The exception hierarchy: every error a user of riskmodels sees comes from here.

Each error carries structured detail (the column, key or value involved and a hint)
so that callers can act on it programmatically, and a message that says what went
wrong and what to do next.

Examples
--------
>>> from riskmodels.errors import SchemaError, Problem
>>> err = SchemaError([Problem(column="age", found="missing", hint="add the column")])
>>> isinstance(err, ValueError)
True
>>> err.problems[0].column
'age'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DataQualityError",
    "DependencyError",
    "GateFailed",
    "NotFittedError",
    "PolicyError",
    "PolicyViolation",
    "Problem",
    "ReleaseError",
    "RiskModelsError",
    "SchemaError",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in a frame, file or configuration.

    Parameters
    ----------
    column : str or None
        The column (or configuration key) the problem concerns.
    found : str
        What was found, in words, with the offending value(s) where useful.
    hint : str
        What the user can do about it.
    """

    column: str | None
    found: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.column!r}: " if self.column is not None else ""
        hint = f" Hint: {self.hint}" if self.hint else ""
        return f"{where}{self.found}.{hint}"


class RiskModelsError(Exception):
    """Base class of every error raised on purpose by riskmodels."""


class SchemaError(RiskModelsError, ValueError):
    """A frame does not match its dataset spec, or a spec/file is malformed.

    All problems found are reported at once in ``problems``.
    """

    def __init__(self, problems: list[Problem] | Problem | str, *, context: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(column=None, found=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.context = context
        head = context or "The data does not match the dataset spec"
        n = len(self.problems)
        lines = [f"{head} ({n} problem{'s' if n != 1 else ''}):"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    @property
    def columns(self) -> list[str | None]:
        """The columns named by the problems, in order."""
        return [p.column for p in self.problems]


class DataQualityError(RiskModelsError, ValueError):
    """The data is valid against the spec but unfit for modelling (e.g. one class,
    suspected leakage). ``report`` holds the :class:`DataQualityReport` when there is one."""

    def __init__(self, message: str, *, column: str | None = None, report: Any = None) -> None:
        self.column = column
        self.report = report
        super().__init__(message)


class DependencyError(RiskModelsError, ImportError):
    """An optional dependency a feature needs is not installed (e.g. pyspark for
    ``riskmodels.spark``); the message names the extra that installs it."""


class NotFittedError(RiskModelsError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class PolicyError(RiskModelsError, ValueError):
    """A policy file is invalid: unknown key, bad value, or a forbidden setting."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class PolicyViolation(RiskModelsError, PermissionError):
    """A requested use is forbidden by the policy (e.g. a prohibited or unknown purpose)."""

    def __init__(self, message: str, *, purpose: str | None = None) -> None:
        self.purpose = purpose
        super().__init__(message)


class GateFailed(RiskModelsError):
    """A policy gate failed and was not waived; ``report`` carries the ``GateReport``."""

    def __init__(self, message: str, *, report: Any = None) -> None:
        self.report = report
        super().__init__(message)


class ReleaseError(RiskModelsError):
    """A release bundle is tampered with, expired, unapproved or unreadable.

    ``reason`` is one of ``"tampered"``, ``"expired"``, ``"unapproved"``,
    ``"untrusted_type"``, ``"unreadable"``, ``"suspended"`` (by monitoring, see
    ``riskmodels.monitoring``).
    """

    def __init__(self, message: str, *, reason: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(message)
