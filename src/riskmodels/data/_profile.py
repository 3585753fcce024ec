"""Training profiles: what the model saw, for drift (PSI) and out-of-distribution checks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.data._spec import DatasetSpec

__all__ = ["FeatureProfile", "TrainingProfile"]

#: Quantile bins per numeric feature for PSI (deciles are the industry convention).
N_BINS = 10
#: Floor on bin shares so PSI stays finite when a bin is empty in one sample.
_EPS = 1e-4
_MISSING = "__missing__"


@dataclass
class FeatureProfile:
    """Distribution of one feature in the training data.

    ``edges`` are interior quantile cut points (numeric); ``labels`` are the bins' names
    (interval strings for numeric, category values otherwise) and ``shares`` their
    training proportions, the last bin being missing values.
    """

    name: str
    kind: str
    missing_rate: float
    labels: list[str]
    shares: list[float]
    edges: list[float] = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    categories: list[str] = field(default_factory=list)

    def bin_counts(self, values: pd.Series) -> np.ndarray:
        """Counts of ``values`` in this profile's bins (unseen categories count in no bin
        of the training support and are returned as an extra final bin)."""
        miss = values.isna().to_numpy()
        if self.kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            idx = np.searchsorted(np.asarray(self.edges), x, side="right")
            counts = np.bincount(idx[~miss], minlength=len(self.edges) + 1)
            return np.concatenate([counts, [miss.sum()], [0]])
        cats = values.astype(str).to_numpy()
        codes = pd.Categorical(cats, categories=self.categories).codes
        seen = (codes >= 0) & ~miss
        counts = np.bincount(codes[seen], minlength=len(self.categories))
        return np.concatenate([counts, [miss.sum()], [(~seen & ~miss).sum()]])

    def psi(self, values: pd.Series) -> float:
        """Population stability index of ``values`` against training (NaN if empty).

        PSI = sum over bins of (a - e) * ln(a / e), with actual shares a, expected
        (training) shares e, both floored at 1e-4; unseen categories form a bin whose
        training share is the floor.
        """
        counts = self.bin_counts(values).astype(float)
        if counts.sum() == 0:
            return float("nan")
        a = np.maximum(counts / counts.sum(), _EPS)
        e = np.maximum(np.asarray([*self.shares, 0.0]), _EPS)
        return float(np.sum((a - e) * np.log(a / e)))


@dataclass
class TrainingProfile:
    """Per-feature training distributions, ranges, category sets and missing rates.

    Examples
    --------
    >>> from riskmodels.data import DatasetSpec, FeatureSpec
    >>> spec = DatasetSpec(name="d", target="y", target_description="event", id="i",
    ...     features=[FeatureSpec(name="x", kind="numeric", description="x")])
    >>> df = pd.DataFrame({"i": range(100), "y": [0, 1] * 50, "x": range(100)})
    >>> prof = TrainingProfile.from_frame(df, spec)
    >>> prof.features["x"].min, prof.features["x"].max
    (0.0, 99.0)
    >>> round(prof.psi(df)["x"], 6)
    0.0
    """

    n_rows: int
    features: dict[str, FeatureProfile]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, spec: DatasetSpec) -> TrainingProfile:
        """Profile the spec's features in ``frame``."""
        out = {}
        for f in spec.features:
            s = frame[f.name]
            miss = float(s.isna().mean())
            if f.kind == "numeric":
                x = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
                qs = np.quantile(x, np.linspace(0, 1, N_BINS + 1)[1:-1]) if x.size else []
                edges = np.unique(np.asarray(qs, dtype=float)).tolist()
                prof = FeatureProfile(
                    f.name,
                    f.kind,
                    miss,
                    [],
                    [],
                    edges=edges,
                    min=float(x.min()) if x.size else None,
                    max=float(x.max()) if x.size else None,
                )
                bounds = ["-inf", *map(repr, edges), "inf"]
                prof.labels = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(bounds)] + [
                    _MISSING
                ]
            else:
                cats = sorted(pd.unique(s.dropna().astype(str)).tolist())
                prof = FeatureProfile(f.name, f.kind, miss, [*cats, _MISSING], [], categories=cats)
            counts = prof.bin_counts(s)[:-1]
            prof.shares = (counts / max(counts.sum(), 1)).tolist()
            out[f.name] = prof
        return cls(n_rows=len(frame), features=out)

    def psi(self, frame: pd.DataFrame) -> dict[str, float]:
        """PSI per feature of ``frame`` against the training profile."""
        return {name: p.psi(frame[name]) for name, p in self.features.items()}

    def out_of_distribution(self, frame: pd.DataFrame) -> pd.Series:
        """Per row, why it lies outside the training support ('' when it does not):
        a numeric value outside the training range or a category never seen in training."""
        reasons = pd.Series("", index=frame.index, dtype=object)
        for name, p in self.features.items():
            s = frame[name]
            if p.kind == "numeric" and p.min is not None:
                x = pd.to_numeric(s, errors="coerce")
                bad = (x < p.min) | (x > p.max)
                msg = (
                    f"{name}="
                    + x[bad].astype(str)
                    + f" outside training range [{p.min:g}, {p.max:g}]"
                )
            else:
                str_s = s.astype(str)
                bad = s.notna() & ~str_s.isin(p.categories)
                msg = f"{name}=" + str_s[bad] + " not seen in training"
            if bad.any():
                cur = reasons[bad]
                reasons[bad] = np.where(cur == "", msg, cur + "; " + msg)
        return reasons

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (exact round trip via :meth:`from_dict`)."""
        return {
            "n_rows": self.n_rows,
            "features": {k: vars(v).copy() for k, v in self.features.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            n_rows=d["n_rows"], features={k: FeatureProfile(**v) for k, v in d["features"].items()}
        )
