"""Start-up: ``import riskmodels`` and ``riskmodels --help`` against ``import sklearn``.

Each figure is the median wall time of fresh interpreter processes (the page cache is
warm after the first, so "cold-ish": no bytecode compiled, nothing imported), measured
alternately with the anchor so that load from other processes falls on both sides alike.
The anchor is ``python -c "import sklearn"``: any riskmodels session pays for it.

Targets (issue 10): importing riskmodels costs at most 1.5x importing scikit-learn, i.e. a
ratio (sklearn / ours, bigger is better) of at least 1 / 1.5 = 0.67; ``riskmodels --help``
answers in under 1.5 s. ``import riskmodels`` loads its public names on first use, so
the import itself is nearly free; the second row is the honest figure for a session,
which loads the whole public API (and with it scikit-learn, pandas and scipy).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _runner import Result

#: Fresh processes per command (the median is reported).
RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", 7))
#: At most 1.5x the anchor's time, as a bigger-is-better ratio.
TARGET = round(1 / 1.5, 2)
HELP_LIMIT_SECONDS = 1.5

ANCHOR = [sys.executable, "-c", "import sklearn"]
ANCHOR_NAME = 'python -c "import sklearn"'


def _cli() -> list[str]:
    """The installed console script, or the module if the script is not on disk."""
    script = Path(sys.executable).with_name("riskmodels")
    if script.is_file():
        return [str(script), "--help"]
    return [sys.executable, "-m", "riskmodels.cli", "--help"]


def _wall(cmd: Sequence[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _medians(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command, the commands taking turns run by run."""
    for cmd in commands.values():  # once each unmeasured: bytecode and page cache
        _wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(_wall(cmd))
    return {name: statistics.median(ts) for name, ts in times.items()}


def bench_startup() -> list[Result]:
    commands = {
        "anchor": ANCHOR,
        "import": [sys.executable, "-c", "import riskmodels"],
        "api": [sys.executable, "-c", "from riskmodels import *"],
        "help": _cli(),
    }
    t = _medians(commands, RUNS)
    anchor = t["anchor"]
    median = f"median of {RUNS} fresh processes each, taking turns with the anchor"
    return [
        Result(
            name="import riskmodels",
            ours=t["import"],
            anchor=anchor,
            anchor_name=ANCHOR_NAME,
            unit="s",
            target=TARGET,
            notes=(
                f"riskmodels takes {t['import'] / anchor:.2f}x sklearn's time (target at "
                f"most 1.5x); public names load on first use; {median}"
            ),
        ),
        Result(
            name="import riskmodels and load the whole public API (from riskmodels import *)",
            ours=t["api"],
            anchor=anchor,
            anchor_name=ANCHOR_NAME,
            unit="s",
            target=TARGET,
            notes=(
                f"{t['api'] / anchor:.2f}x sklearn's time (target at most 1.5x); shap, "
                f"mlflow, matplotlib, jinja2, fairlearn, skops, openpyxl load when used; "
                f"{median}"
            ),
        ),
        Result(
            name="riskmodels --help",
            ours=t["help"],
            anchor=anchor,
            anchor_name=ANCHOR_NAME,
            unit="s",
            target=None,
            limit=HELP_LIMIT_SECONDS,
            notes=(
                f"{t['help']:.2f} s absolute (target under {HELP_LIMIT_SECONDS:g} s); "
                f"{t['help'] / anchor:.2f}x sklearn's import time; {median}"
            ),
        ),
    ]


BENCHMARKS = [bench_startup]
