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
    """

    name: str
    ours: float
    anchor: float
    anchor_name: str
    unit: str  # "s" (lower is better) or e.g. "rows/s" (higher is better)
    target: float | None = None
    notes: str = ""

    @property
    def ratio(self) -> float:
        if self.unit in LOWER_IS_BETTER:
            return self.anchor / self.ours if self.ours > 0 else float("inf")
        return self.ours / self.anchor if self.anchor > 0 else float("inf")

    @property
    def met(self) -> str:
        if self.target is None:
            return "-"
        return "yes" if self.ratio >= self.target else "NO"


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
