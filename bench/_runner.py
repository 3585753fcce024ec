"""A small benchmark runner: every benchmark measures riskmodels against a named anchor
in the same run and reports the ratio, so results compare across machines.

A benchmark module is ``bench/bench_<topic>.py`` exposing ``BENCHMARKS``: a list of
zero-argument callables, each returning a list of :class:`Result`. ``python bench/run.py``
runs them all (or those whose module name contains ``-k``) and writes ``bench/RESULTS.md``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Units where a smaller figure is better.
LOWER_IS_BETTER = ("s", "MB")


@dataclass
class Result:
    """One measured comparison.

    ``ratio`` is defined so that bigger is better for riskmodels: ``anchor / ours`` for
    times and memory (speed-up, memory saved), ``ours / anchor`` for throughputs.
    ``target`` is the minimum ratio the issue asks for (None when the figure is informative only).
    ``limit`` is an absolute bound on ``ours`` in its unit, for the few targets stated in
    seconds rather than as a ratio (e.g. the CLI's start-up); it is met when ``ours`` is
    at most ``limit`` (lower-is-better units) or at least ``limit`` (throughputs).
    """

    name: str
    ours: float
    anchor: float
    anchor_name: str
    unit: str  # "s" (lower is better) or e.g. "rows/s" (higher is better)
    target: float | None = None
    notes: str = ""
    limit: float | None = None

    @property
    def ratio(self) -> float:
        if self.unit in LOWER_IS_BETTER:
            return self.anchor / self.ours if self.ours > 0 else float("inf")
        return self.ours / self.anchor if self.anchor > 0 else float("inf")

    @property
    def target_text(self) -> str:
        """The targets as RESULTS.md shows them: the minimum ratio and/or the bound."""
        parts = [] if self.target is None else [str(self.target)]
        if self.limit is not None:
            sign = "<=" if self.unit in LOWER_IS_BETTER else ">="
            parts.append(f"{sign} {self.limit:g} {self.unit}")
        return "; ".join(parts) or "-"

    @property
    def met(self) -> str:
        if self.target is None and self.limit is None:
            return "-"
        ok = self.target is None or self.ratio >= self.target
        if self.limit is not None:
            lower = self.unit in LOWER_IS_BETTER
            ok = ok and (self.ours <= self.limit if lower else self.ours >= self.limit)
        return "yes" if ok else "NO"


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls, in seconds (best-of reduces noise from the
    other core's load; both sides of a ratio are measured the same way)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
