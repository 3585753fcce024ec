"""Run the benchmarks and write bench/RESULTS.md.

Usage: ``python bench/run.py [-k SUBSTRING]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _runner import Result  # noqa: E402


def _fmt(x: float, unit: str) -> str:
    if unit == "s":
        return f"{x:.4g} s"
    return f"{x:,.0f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default="", help="only modules whose name contains this")
    args = parser.parse_args()
    results: list[tuple[str, Result]] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.k not in path.stem:
            continue
        module = importlib.import_module(path.stem)
        for bench in module.BENCHMARKS:
            print(f"running {path.stem}.{bench.__name__} ...", flush=True)
            for r in bench():
                print(
                    f"  {r.name}: ours {_fmt(r.ours, r.unit)}, {r.anchor_name} "
                    f"{_fmt(r.anchor, r.unit)}, ratio {r.ratio:.2f}x "
                    f"(target {r.target or '-'}; met {r.met})",
                    flush=True,
                )
                results.append((path.stem, r))
    lines = [
        "# Benchmark results",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- python: {platform.python_version()}",
        "",
        "Ratios are measured in one run against the named anchor; bigger is better "
        "(speed-up for times, memory saved for memory, ours/anchor for throughputs). "
        "Regenerate with `make bench`.",
        "",
        "| benchmark | case | ours | anchor | anchor value | ratio | target | met | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for module, r in results:
        lines.append(
            f"| {module.removeprefix('bench_')} | {r.name} | {_fmt(r.ours, r.unit)} | "
            f"{r.anchor_name} | {_fmt(r.anchor, r.unit)} | {r.ratio:.2f}x | "
            f"{r.target if r.target is not None else '-'} | {r.met} | {r.notes} |"
        )
    if not args.k:
        (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
        print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
