"""Run the benchmarks and write bench/RESULTS.md.

Usage: ``python bench/run.py [-k SUBSTRING] [--update]``

Without ``-k`` every benchmark runs and RESULTS.md is rewritten. With ``-k`` only the
modules whose name contains SUBSTRING run and RESULTS.md is left alone, unless
``--update`` is given: then their rows in RESULTS.md are replaced (or added) and every
other row is kept, with the header saying which rows are newer than the full run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _runner import Result  # noqa: E402

RESULTS = HERE / "RESULTS.md"
_TABLE_HEAD = [
    "| benchmark | case | ours | anchor | anchor value | ratio | target | met | notes |",
    "|---|---|---|---|---|---|---|---|---|",
]


def _fmt(x: float, unit: str) -> str:
    if unit == "s":
        return f"{x:.4g} s"
    return f"{x:,.0f} {unit}"


def _row(module: str, r: Result) -> str:
    return (
        f"| {module.removeprefix('bench_')} | {r.name} | {_fmt(r.ours, r.unit)} | "
        f"{r.anchor_name} | {_fmt(r.anchor, r.unit)} | {r.ratio:.2f}x | "
        f"{r.target_text} | {r.met} | {r.notes} |"
    )


def _header(date: str, partial: str | None = None) -> list[str]:
    lines = [
        "# Benchmark results",
        "",
        f"- date: {date}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- python: {platform.python_version()}",
    ]
    if partial:
        lines.append(f"- {partial}")
    return [
        *lines,
        "",
        "Ratios are measured in one run against the named anchor; bigger is better "
        "(speed-up for times, memory saved for memory, ours/anchor for throughputs). "
        "Regenerate with `make bench`.",
        "",
        *_TABLE_HEAD,
    ]


def _merged(new_rows: dict[str, list[str]], now: str) -> list[str]:
    """RESULTS.md with the rows of the modules in ``new_rows`` replaced, others kept."""
    old = RESULTS.read_text(encoding="utf-8").splitlines() if RESULTS.exists() else []
    old_date = next((ln.removeprefix("- date: ") for ln in old if ln.startswith("- date: ")), "")
    rows: dict[str, list[str]] = {}
    for line in old:
        match = re.match(r"\| ([^|]+?) \|", line)
        if match and not line.startswith(("| benchmark ", "|---")):
            rows.setdefault(f"bench_{match.group(1)}", []).append(line)
    rows.update(new_rows)
    names = ", ".join(m.removeprefix("bench_") for m in sorted(new_rows))
    partial = f"partial update: {names} re-measured on {now}"
    date = old_date or now
    if old_date:
        partial += f"; the other rows are from the full run of {old_date}"
    lines = _header(date, partial)
    for module in sorted(rows):
        lines.extend(rows[module])
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default="", help="only modules whose name contains this")
    parser.add_argument(
        "--update",
        action="store_true",
        help="with -k: replace these modules' rows in RESULTS.md and keep the others",
    )
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
                    f"(target {r.target_text}; met {r.met})",
                    flush=True,
                )
                results.append((path.stem, r))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not args.k:
        lines = _header(now) + [_row(module, r) for module, r in results]
    elif args.update:
        new_rows: dict[str, list[str]] = {}
        for module, r in results:
            new_rows.setdefault(module, []).append(_row(module, r))
        lines = _merged(new_rows, now)
    else:
        return 0
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
