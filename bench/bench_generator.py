"""Throughput of the synthetic prison-incidents generator (rows per second).

Two anchors, both measured in the same run on the same number of rows:

* ``sklearn.datasets.make_classification`` with as many features: the standard
  vectorised synthetic-data generator, a peer that does far less (no panel structure,
  no DataFrame, no calibration) — the ratio says what the realism costs.
* Building a DataFrame of the same columns and dtypes from preallocated numpy arrays: a
  floor no generator returning this frame can beat (a pure-Python per-row generator is
  not worth writing as an anchor; it would only flatter us).
"""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import make_classification

import riskmodels as rm
from _runner import Result, best_of

MONTHS = 12
SIZES = (10_000, 100_000, 1_000_000)


def _frame_floor(frame: pd.DataFrame) -> float:
    """Seconds to build ``frame``'s columns and dtypes from ready-made arrays."""
    arrays: dict[str, object] = {}
    for name, col in frame.items():
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().copy()
            cats = col.cat.categories
            arrays[name] = (codes, cats)
        else:
            arrays[name] = col.to_numpy().copy()

    def build() -> pd.DataFrame:
        data = {
            k: pd.Categorical.from_codes(*v) if isinstance(v, tuple) else v
            for k, v in arrays.items()
        }
        return pd.DataFrame(data)

    return best_of(build)


def bench_throughput() -> list[Result]:
    results = []
    for rows in SIZES:
        n_people = max(rows // MONTHS, 1)
        frame, spec = rm.datasets.make_prison_incidents(n_people=n_people, months=MONTHS)
        n = len(frame)
        ours = best_of(
            lambda n_people=n_people: rm.datasets.make_prison_incidents(
                n_people=n_people, months=MONTHS
            )
        )
        n_feat = len(spec.features)
        peer = best_of(
            lambda n=n, n_feat=n_feat: make_classification(
                n_samples=n, n_features=n_feat, n_informative=8, random_state=0
            )
        )
        floor = _frame_floor(frame)
        notes = f"{n:,} rows = {n_people:,} people x {MONTHS} months (with turnover)"
        results.append(
            Result(
                name=f"{rows:.0e} rows vs make_classification",
                ours=n / ours,
                anchor=n / peer,
                anchor_name=f"sklearn make_classification ({n_feat} features)",
                unit="rows/s",
                notes=notes,
            )
        )
        results.append(
            Result(
                name=f"{rows:.0e} rows vs DataFrame floor",
                ours=n / ours,
                anchor=n / floor,
                anchor_name="pd.DataFrame from preallocated arrays",
                unit="rows/s",
                notes=notes + f"; generation {ours:.3g} s, floor {floor:.3g} s",
            )
        )
        del frame
    return results


BENCHMARKS = [bench_throughput]
