"""Training profiles: what the model saw, for drift and out-of-distribution checks.

A profile keeps each feature's training distribution in bins (deciles for numeric
features, categories otherwise, plus a bin for missing values) and, when the spec names a
``batch`` column (e.g. ``establishment``), the same counts per value of that column, so
that a batch from one establishment can be compared with that establishment.

Drift asks two questions of the same bin counts, and a feature drifts only when both
answers are yes:

* **Could the batch be a sample of the population it should come from?** A multinomial
  goodness-of-fit G test of the batch's counts against the reference shares, with a
  Monte Carlo p-value (the G statistic of batches simulated from the reference), which is
  valid at any batch size, from 30 rows to millions; the training shares are themselves
  estimates, which the test allows for (see :meth:`TrainingProfile.compare`). The p-values
  of the features are corrected together (Holm), so ``significance`` is the chance that a
  batch from the reference population has *any* feature called changed.
* **Is the change large enough to matter?** The population stability index (PSI) above a
  bound: a batch of a million rows is not refused for a shift too small to matter.

This module knows no policy: scoring supplies the bounds (``DriftPolicy``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._json import JsonForms
from riskmodels.data._spec import DatasetSpec

__all__ = [
    "DRIFT_STATUSES",
    "MIN_GROUP_ROWS",
    "BatchCounts",
    "BatchGroup",
    "BatchProfile",
    "Comparison",
    "FeatureProfile",
    "FeatureShift",
    "TrainingProfile",
    "g_statistic",
    "gof_pvalues",
    "holm",
    "judge_drift",
    "psi_from_counts",
]

#: Quantile bins per numeric feature (deciles are the industry convention for PSI).
N_BINS = 10
#: A value of the batch column needs this many training rows for a reference of its own:
#: below it, its shares are too noisy to judge a batch by. Smaller values are pooled
#: into one group (:data:`OTHER`); if the pool is also below it, their batches are
#: compared with the whole training data.
MIN_GROUP_ROWS = 100
#: Key of the pooled group of batch-column values with fewer than MIN_GROUP_ROWS rows.
OTHER = "__other__"
_MISSING = "__missing__"
#: Pseudo-count per bin added to training counts for the G test's null, so that a bin
#: that training never filled (a missing value, an unseen category) has a small positive
#: probability instead of making any batch that fills it impossible (Jeffreys' prior).
_PRIOR = 0.5
#: Monte Carlo replicates simulated for every tested feature before deciding whether the
#: rest are needed (see :func:`gof_pvalues`).
_FIRST_STAGE = 2_000
#: Status codes returned by :func:`judge_drift`, by position.
DRIFT_STATUSES = ("stable", "review", "drifted")


# ---------------------------------------------------------------------- statistics
def psi_from_counts(
    counts: np.ndarray, expected: np.ndarray, *, n_ref: float = math.inf
) -> np.ndarray:
    """Population stability index of bin counts against expected shares.

    ``PSI = sum_j (a_j - e_j) * ln((a_j + d) / (e_j + d))`` with batch shares
    ``a = counts / n`` and a smoothing ``d = 1 / (2 * min(n, n_ref))``: half an
    observation of the smaller of the batch (``n`` rows) and the reference (``n_ref``).
    A bin empty on one side then adds a finite amount that shrinks as the samples grow,
    a bin empty on both sides adds nothing, and identical shares give exactly 0.

    Parameters
    ----------
    counts : array of shape (..., k)
        Batch counts per bin; leading axes are separate batches.
    expected : array of shape (k,) or (..., k)
        Reference shares (summing to 1).
    n_ref : float, default inf
        Size of the reference sample.

    Returns
    -------
    ndarray of shape (...)
        NaN for an empty batch.

    Examples
    --------
    >>> float(psi_from_counts(np.array([25, 25, 50]), np.array([0.25, 0.25, 0.5])))
    0.0
    >>> round(float(psi_from_counts(np.array([50, 25, 25]), np.array([0.25, 0.25, 0.5]))), 4)
    0.3416
    """
    c = np.asarray(counts, dtype=float)
    n = c.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = c / n
        d = 0.5 / np.minimum(n, n_ref)
        out = np.sum((a - expected) * np.log((a + d) / (expected + d)), axis=-1)
    return np.where(n[..., 0] > 0, out, np.nan)


def g_statistic(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Likelihood-ratio (G) statistic of bin counts against expected shares.

    ``G = 2 * sum_j c_j * ln(c_j / (n * e_j))`` (empty bins add 0): twice the batch size
    times the Kullback-Leibler divergence of the batch's shares from the expected ones.

    Parameters
    ----------
    counts : array of shape (..., k)
    expected : array of shape (k,) or (..., k)
        Strictly positive shares summing to 1.

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> float(g_statistic(np.array([25, 25, 50]), np.array([0.25, 0.25, 0.5])))
    0.0
    >>> round(float(g_statistic(np.array([50, 25, 25]), np.array([0.25, 0.25, 0.5]))), 3)
    34.657
    """
    c = np.asarray(counts, dtype=float)
    n = c.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(c > 0, c * np.log(c / (n * expected)), 0.0)
    return 2.0 * terms.sum(axis=-1)


def gof_pvalues(
    observed: np.ndarray,
    n: int,
    expected: np.ndarray,
    *,
    scale: float = 1.0,
    n_sim: int = 10_000,
    seed: int | Sequence[int] = 0,
    decide_at: float | None = None,
) -> np.ndarray:
    """Monte Carlo p-values of G statistics of batches of ``n`` rows against ``expected``.

    ``n_sim`` batches are drawn from ``Multinomial(n, expected)`` and the p-value of each
    observed statistic ``G`` is ``(1 + #{simulated >= G / scale}) / (1 + n_sim)``: never
    below its nominal level under the null, whatever ``n`` (no large-sample
    approximation). ``scale`` >= 1 widens the null for the noise in ``expected`` itself
    when it is estimated from a finite sample (``1 + n / N`` for a reference of N
    independent rows: the variance of the batch-minus-reference difference).

    With ``decide_at`` (a significance level), the first 2,000 replicates are drawn for
    all statistics and the rest only for those that could still be significant: a
    statistic already exceeded ``ceil(decide_at * (n_sim + 1))`` times cannot reach
    ``decide_at`` with ``n_sim`` replicates, so every decision at a level up to
    ``decide_at`` is the one the full simulation gives; its p-value is reported from
    the replicates drawn.

    Parameters
    ----------
    observed : array of shape (r,)
        G statistics (:func:`g_statistic`) of ``r`` batches of ``n`` rows each.
    n : int
    expected : array of shape (k,)
        The null's shares (strictly positive).
    scale : float, default 1.0
    n_sim : int, default 10_000
    seed : int or sequence of int, default 0
        Seeds the simulation, so that one batch always gets the same p-value.
    decide_at : float, optional

    Returns
    -------
    ndarray of shape (r,)

    Examples
    --------
    >>> e = np.array([0.5, 0.3, 0.2])
    >>> g = g_statistic(np.array([[15, 9, 6], [2, 8, 20]]), e)
    >>> p = gof_pvalues(g, 30, e, n_sim=9_999)
    >>> bool(p[0] > 0.5), bool(p[1] < 0.001)
    (True, True)
    """
    obs = np.atleast_1d(np.asarray(observed, dtype=float)) / scale
    # ties count as exceedances (the conservative side), whatever the rounding
    obs = obs * (1 - 1e-12)
    pvals = np.asarray(expected, dtype=float)
    pvals = pvals / pvals.sum()
    rng = np.random.default_rng(seed)
    first = n_sim if decide_at is None else min(n_sim, _FIRST_STAGE)

    def exceedances(size: int, stats: np.ndarray) -> np.ndarray:
        null = np.sort(g_statistic(rng.multinomial(n, pvals, size=size), pvals))
        return size - np.searchsorted(null, stats, side="left")

    exceed = exceedances(first, obs)
    used = np.full(obs.shape, first)
    if first < n_sim:
        assert decide_at is not None
        open_ = exceed < math.ceil(decide_at * (n_sim + 1))
        if open_.any():
            exceed[open_] += exceedances(n_sim - first, obs[open_])
            used[open_] = n_sim
    return (exceed + 1) / (used + 1)


def holm(pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's step-down rejections along the last axis (family-wise error rate ``alpha``).

    The smallest p-value is compared with ``alpha / m``, the next with
    ``alpha / (m - 1)``, and so on, stopping at the first that is not below its bound:
    valid under any dependence between the tests, and never less powerful than
    Bonferroni.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03, 0.5]), 0.05).tolist()
    [True, False, False, False]
    >>> holm(np.array([[0.001, 0.02], [0.03, 0.04]]), 0.05).tolist()
    [[True, True], [False, False]]
    """
    p = np.asarray(pvalues, dtype=float)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    ok = np.cumprod(ranked <= alpha / (m - np.arange(m)), axis=-1).astype(bool)
    out = np.empty_like(ok)
    np.put_along_axis(out, order, ok, axis=-1)
    return out


def judge_drift(
    psi: np.ndarray,
    g: np.ndarray,
    *,
    n: int,
    null: Sequence[np.ndarray],
    scale: float,
    psi_warn: float,
    psi_refuse: float,
    significance: float,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The drift rule: p-values and statuses of ``m`` features in ``r`` batches of ``n`` rows.

    A feature is tested when its PSI is at least ``psi_warn`` (a smaller change does not
    matter however significant). Its p-value is :func:`gof_pvalues` with
    ``ceil(2 m / significance)`` replicates (so that a certain change reaches
    ``significance / m``); untested features count as p = 1. Holm's correction at
    ``significance`` runs over all ``m`` features, so a batch drawn from the reference
    has any feature called changed with probability at most ``significance``. Status
    (positions in :data:`DRIFT_STATUSES`): ``drifted`` when significant and PSI >
    ``psi_refuse``; ``review`` when significant and PSI >= ``psi_warn``; ``stable``
    otherwise.

    Parameters
    ----------
    psi, g : arrays of shape (r, m)
        :func:`psi_from_counts` and :func:`g_statistic` per batch and feature.
    n : int
        Rows per batch.
    null : sequence of m arrays
        Each feature's null shares (:attr:`FeatureShift.null`).
    scale : float
        :attr:`Comparison.scale`.
    psi_warn, psi_refuse, significance : float
    seed : int, default 0

    Returns
    -------
    pvalues : ndarray of shape (r, m)
        NaN where not tested.
    status : ndarray of int, shape (r, m)

    Examples
    --------
    >>> e = np.array([0.5, 0.3, 0.2])
    >>> counts = np.array([[[100, 60, 40], [40, 60, 100]]])   # one batch, two features
    >>> p, status = judge_drift(psi_from_counts(counts, e), g_statistic(counts, e), n=200,
    ...     null=[e, e], scale=1.0, psi_warn=0.1, psi_refuse=0.25, significance=0.001)
    >>> [DRIFT_STATUSES[s] for s in status[0]]
    ['stable', 'drifted']
    """
    psi = np.atleast_2d(np.asarray(psi, dtype=float))
    g = np.atleast_2d(np.asarray(g, dtype=float))
    pvalues = np.full(psi.shape, np.nan)
    m = psi.shape[1]
    if m == 0 or n == 0:
        return pvalues, np.zeros(psi.shape, dtype=int)
    n_sim = math.ceil(2 * m / significance)
    tested = psi >= psi_warn
    for j in range(m):  # one simulation per feature, shared by every batch
        rows = np.flatnonzero(tested[:, j])
        if rows.size:
            pvalues[rows, j] = gof_pvalues(
                g[rows, j],
                n,
                null[j],
                scale=scale,
                n_sim=n_sim,
                seed=(seed, j),
                decide_at=significance,
            )
    significant = holm(np.where(np.isnan(pvalues), 1.0, pvalues), significance)
    status = np.where(significant, np.where(psi > psi_refuse, 2, 1), 0)
    return pvalues, status


# ---------------------------------------------------------------------- profiles
@dataclass
class FeatureProfile:
    """Distribution of one feature in the training data.

    ``edges`` are interior quantile cut points (numeric); ``labels`` are the bins' names
    (interval strings for numeric, category values otherwise) and ``shares`` their
    training proportions, the last bin being missing values. ``n_rows`` is the number of
    training rows and ``mean`` the mean of a numeric feature (both ``None``/0 in profiles
    saved before they were kept).
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
    n_rows: int = 0
    mean: float | None = None

    def bin_index(self, values: pd.Series) -> np.ndarray:
        """The bin of each value: positions in :attr:`labels` (the last of which is
        "missing"), or ``len(labels)`` for a category never seen in training."""
        miss = values.isna().to_numpy()
        if self.kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            return self.numeric_index(x, miss)
        codes = self.category_index(values)
        idx = np.where(codes >= 0, codes, len(self.categories) + 1).astype(np.int64)
        idx[miss] = len(self.labels) - 1
        return idx

    def category_index(self, values: pd.Series) -> np.ndarray:
        """Position of each value among the training categories (compared as strings):
        -1 for a category never seen in training, -2 for a missing value.

        The string conversion is done on the distinct values, not on every row: scoring a
        million rows must not cost a million string conversions.
        """
        known = pd.Index(self.categories, dtype=object)
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()
            uniques: Any = values.cat.categories
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        mapper = known.get_indexer(pd.Index(uniques).astype(str).astype(object))
        idx = np.where(codes >= 0, mapper[np.maximum(codes, 0)] if len(mapper) else -1, -2)
        idx = np.asarray(idx, dtype=np.int64)
        idx[values.isna().to_numpy()] = -2
        return idx

    def numeric_index(self, x: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """:meth:`bin_index` of a numeric feature already converted to floats (scoring
        converts each chunk once, for its range check too)."""
        idx = np.searchsorted(np.asarray(self.edges, dtype=float), x, side="right")
        idx[missing] = len(self.labels) - 1
        return idx

    def bin_counts(self, values: pd.Series) -> np.ndarray:
        """Counts of ``values`` in this profile's bins (unseen categories count in no bin
        of the training support and are returned as an extra final bin)."""
        return np.bincount(self.bin_index(values), minlength=len(self.labels) + 1)

    def training_counts(self) -> np.ndarray:
        """Training rows per bin, with a final (empty) bin for unseen categories."""
        return np.append(np.rint(np.asarray(self.shares, dtype=float) * self.n_rows), 0.0)

    def psi(self, values: pd.Series) -> float:
        """Population stability index of ``values`` against the whole training data
        (NaN if empty), smoothed as in :func:`psi_from_counts`."""
        counts = self.bin_counts(values)
        ref = np.append(np.asarray(self.shares, dtype=float), 0.0)
        return float(psi_from_counts(counts, ref, n_ref=self.n_rows or math.inf))

    def bin_words(self, j: int) -> str:
        """Bin ``j`` in words, for messages ("55 or more", "missing", "'remand'")."""
        if j == len(self.labels) - 1:
            return "missing"
        if j == len(self.labels):
            return "in a category not seen in training"
        if self.kind == "numeric":
            if not self.edges:
                return "with any value"
            if j == 0:
                return f"below {_num(self.edges[0])}"
            if j == len(self.edges):
                return f"{_num(self.edges[-1])} or more"
            return f"from {_num(self.edges[j - 1])} to under {_num(self.edges[j])}"
        if self.kind == "binary":
            return f"with value {self.labels[j]}"
        return f"in {self.labels[j]!r}"


@dataclass
class BatchGroup:
    """Training rows of one value of the batch column (or of the pooled small values):
    bin counts per feature (training bins, missing last), means of numeric features."""

    n_rows: int
    counts: dict[str, list[int]]
    means: dict[str, float | None]
    n_people: int | None = None


@dataclass
class BatchProfile:
    """The training data split by the spec's batch column.

    ``groups`` maps each value with at least ``min_rows`` training rows to its
    :class:`BatchGroup`; values with fewer are pooled under :data:`OTHER` (listed in
    ``pooled``) when the pool reaches ``min_rows``, and are otherwise left out (a batch
    from them is compared with the whole training data).
    """

    column: str
    groups: dict[str, BatchGroup]
    pooled: list[str] = field(default_factory=list)
    min_rows: int = MIN_GROUP_ROWS

    def index(self, values: pd.Series) -> np.ndarray:
        """Each row's position in :attr:`groups`, or ``len(groups)`` (the whole training
        data) for a value training lacked or had too few rows of. Values are compared
        as text, like categories; a missing value is the value ``"__missing__"``."""
        keys = list(self.groups)
        where = {k: i for i, k in enumerate(keys)}
        whole = len(keys)
        other = where.get(OTHER, whole)
        pooled = set(self.pooled)

        def position(key: str) -> int:
            return where.get(key, other if key in pooled else whole)

        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()
            uniques: Any = values.cat.categories
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # the text conversion runs on the few distinct values, not on every row
        mapper = np.asarray([position(str(u)) for u in uniques], dtype=np.int64)
        idx = np.where(codes >= 0, mapper[np.maximum(codes, 0)] if len(mapper) else whole, -1)
        idx = np.asarray(idx, dtype=np.int64)
        idx[codes < 0] = position(_MISSING)
        return idx


@dataclass
class BatchCounts:
    """What the drift check needs from a batch, summable over chunks: rows, rows per
    reference group (the batch column's groups, then the whole training data), each
    feature's bin counts and the sum of each numeric feature's values."""

    n_rows: int
    groups: np.ndarray
    bins: dict[str, np.ndarray]
    sums: dict[str, float]

    def __add__(self, other: BatchCounts) -> BatchCounts:
        return BatchCounts(
            self.n_rows + other.n_rows,
            self.groups + other.groups,
            {k: v + other.bins[k] for k, v in self.bins.items()},
            {k: v + other.sums[k] for k, v in self.sums.items()},
        )


@dataclass(frozen=True)
class FeatureShift:
    """One feature of a batch against its reference (see :meth:`TrainingProfile.compare`).

    ``counts`` are the batch's bin counts (training bins, missing, unseen); ``expected``
    the reference's shares; ``null`` the same with half a training row added per bin
    (the G test's null, positive everywhere); ``psi`` and ``g`` the statistics; ``mean``
    and ``expected_mean`` those of a numeric feature (``None`` otherwise or unknown).
    """

    profile: FeatureProfile
    counts: np.ndarray
    expected: np.ndarray
    null: np.ndarray
    psi: float
    g: float
    mean: float | None
    expected_mean: float | None

    def describe(self) -> str:
        """The change in words: the mean (numeric) and the bin that changed most, e.g.
        ``"mean 47.1 vs 37.0 expected; 40% of rows 55 or more vs 11% expected"``."""
        n = self.counts.sum()
        if n == 0:
            return "no rows"
        a = self.counts / n
        d = a - self.expected
        # the largest change; of equal ones (a binary feature's two bins) the one that grew
        j = int(np.lexsort((d <= 0, -np.round(np.abs(d), 9)))[0])
        parts = []
        if self.mean is not None and self.expected_mean is not None:
            parts.append(f"mean {_num(self.mean)} vs {_num(self.expected_mean)} expected")
        where = self.profile.bin_words(j)
        parts.append(f"{_pct(a[j])} of rows {where} vs {_pct(self.expected[j])} expected")
        return "; ".join(parts)


@dataclass(frozen=True)
class Comparison:
    """A batch against the population it should come from.

    ``reference`` says in words what that population is; ``reference_size`` is its
    effective size (distinct people where known); ``scale`` (>= 1) is the factor by
    which the reference's own sampling noise widens the G test's null; ``exempt`` is the
    batch column (its distribution is the batch's choice, never drift).
    """

    n_rows: int
    scale: float
    reference_size: float
    reference: str
    exempt: str | None
    features: dict[str, FeatureShift]

    def statistics(self, name: str, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PSI and G of feature ``name`` for bin counts of shape (..., k) of other batches
        of the same size and the same reference (vectorised simulation)."""
        shift = self.features[name]
        psi = psi_from_counts(counts, shift.expected, n_ref=self.reference_size)
        return psi, g_statistic(counts, shift.null)


@dataclass(frozen=True)
class _Reference:
    """Training counts stacked for :meth:`TrainingProfile.compare`: one row per batch
    group, then the whole training data."""

    rows: np.ndarray
    effective: np.ndarray
    counts: dict[str, np.ndarray]
    means: dict[str, np.ndarray]


@dataclass
class TrainingProfile(JsonForms):
    """Per-feature training distributions, ranges, category sets and missing rates, and
    (with a spec ``batch`` column) the same per value of that column.

    ``n_people`` is the number of distinct people (spec ``person`` column): one person's
    monthly rows repeat the same facts, so the reference's sampling noise is judged by
    people, not rows. Both are ``None`` in profiles saved before they were kept.

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
    >>> shift = prof.compare(prof.count(df.assign(x=df["x"] + 30))).features["x"]
    >>> shift.describe()
    'mean 79.5 vs 49.5 expected; 40% of rows 89.1 or more vs 10% expected'
    """

    n_rows: int
    features: dict[str, FeatureProfile]
    n_people: int | None = None
    batch: BatchProfile | None = None

    def __post_init__(self) -> None:
        for p in self.features.values():
            # profiles saved before each feature kept its row count
            if not p.n_rows:
                p.n_rows = self.n_rows

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, spec: DatasetSpec) -> TrainingProfile:
        """Profile the spec's features in ``frame`` (and its batch column, if named)."""
        out = {}
        for f in spec.features:
            s = frame[f.name]
            miss = float(s.isna().mean())
            if f.kind == "numeric":
                x = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
                qs = np.quantile(x, np.linspace(0, 1, N_BINS + 1)[1:-1]) if x.size else []
                edges = np.unique(np.asarray(qs, dtype=float)).tolist()
                bounds = ["-inf", *map(repr, edges), "inf"]
                labels = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(bounds)]
                prof = FeatureProfile(
                    f.name,
                    f.kind,
                    miss,
                    [*labels, _MISSING],
                    [],
                    edges=edges,
                    min=float(x.min()) if x.size else None,
                    max=float(x.max()) if x.size else None,
                    mean=float(x.mean()) if x.size else None,
                )
            else:
                cats = sorted(pd.unique(s.dropna().astype(str)).tolist())
                prof = FeatureProfile(f.name, f.kind, miss, [*cats, _MISSING], [], categories=cats)
            counts = prof.bin_counts(s)[:-1]
            prof.shares = (counts / max(counts.sum(), 1)).tolist()
            prof.n_rows = len(frame)
            out[f.name] = prof
        n_people = int(frame[spec.person].nunique()) if spec.person else None
        batch = _batch_profile(frame, spec, out) if spec.batch else None
        return cls(n_rows=len(frame), features=out, n_people=n_people, batch=batch)

    # ------------------------------------------------------------------ batches
    def count(self, frame: pd.DataFrame) -> BatchCounts:
        """The :class:`BatchCounts` of ``frame`` (scoring gathers the same in chunks)."""
        bins = {name: p.bin_counts(frame[name]) for name, p in self.features.items()}
        sums = {
            name: float(np.nansum(pd.to_numeric(frame[name], errors="coerce").to_numpy(float)))
            for name, p in self.features.items()
            if p.kind == "numeric"
        }
        return BatchCounts(len(frame), self.group_rows(frame), bins, sums)

    def group_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of ``frame`` per reference group: the batch column's groups, then the
        whole training data (all rows, without a batch column)."""
        if self.batch is None:
            return np.array([len(frame)], dtype=np.int64)
        idx = self.batch.index(frame[self.batch.column])
        return np.bincount(idx, minlength=len(self.batch.groups) + 1)

    def empty_counts(self) -> BatchCounts:
        """Zero :class:`BatchCounts`, to add chunks to."""
        n_groups = 1 + (len(self.batch.groups) if self.batch else 0)
        return BatchCounts(
            0,
            np.zeros(n_groups, dtype=np.int64),
            {k: np.zeros(len(p.labels) + 1, dtype=np.int64) for k, p in self.features.items()},
            {k: 0.0 for k, p in self.features.items() if p.kind == "numeric"},
        )

    @cached_property
    def _reference(self) -> _Reference:
        groups = list(self.batch.groups.values()) if self.batch else []
        rows = np.array([g.n_rows for g in groups] + [self.n_rows], dtype=float)
        people = [g.n_people for g in groups] + [self.n_people]
        # distinct people where known: a person's monthly rows are not independent
        effective = np.array(
            [r if p is None else max(min(p, r), 1) for r, p in zip(rows, people, strict=True)]
        )
        counts, means = {}, {}
        for name, p in self.features.items():
            stacked = [np.append(np.asarray(g.counts[name], dtype=float), 0.0) for g in groups]
            counts[name] = np.vstack([*stacked, p.training_counts()])
            if p.kind == "numeric":
                known = [g.means.get(name) for g in groups] + [p.mean]
                means[name] = np.array([math.nan if v is None else v for v in known])
        return _Reference(rows, effective, counts, means)

    def compare(self, counts: BatchCounts) -> Comparison:
        """Each feature of a batch against the population the batch should come from.

        The reference is the training data, or with a batch column, the training rows
        of the batch's values, mixed in the batch's proportions (a batch from one
        establishment is compared with that establishment; the mix of establishments
        is the batch's choice, not a change). The reference shares are estimates from
        N training rows, so the G test's null is widened by ``scale = 1 + n / N`` for a
        batch of n rows (the largest ratio over the batch's groups, N counting distinct
        people where known): the variance of the difference between two samples.

        Examples
        --------
        >>> from riskmodels.data import DatasetSpec, FeatureSpec
        >>> spec = DatasetSpec(name="d", target="y", target_description="event", id="i",
        ...     batch="site", features=[FeatureSpec(name="x", kind="numeric",
        ...     description="x"), FeatureSpec(name="site", kind="categorical",
        ...     description="site")])
        >>> rng = np.random.default_rng(0)
        >>> site = np.repeat(["A", "B"], 500)
        >>> df = pd.DataFrame({"i": range(1000), "y": 0, "site": site,
        ...                    "x": rng.normal(np.where(site == "A", 30, 50), 5)})
        >>> prof = TrainingProfile.from_frame(df, spec)
        >>> comp = prof.compare(prof.count(df[df["site"] == "A"].head(50)))
        >>> comp.reference
        "the training rows of site 'A' (500 rows)"
        >>> round(comp.features["x"].expected_mean, 1), comp.exempt
        (29.9, 'site')
        """
        ref = self._reference
        n = counts.n_rows
        w = counts.groups.astype(float)
        present = w > 0
        if len(w) != len(ref.rows):
            raise ValueError("these counts were made with another profile's batch groups")
        ratio = float(np.max(w[present] / ref.effective[present])) if n else 0.0
        # the size of a reference as noisy as this mixture (a batch of n rows is as far
        # from it by chance as from a sample of n_ref independent rows)
        n_ref = n / ratio if ratio else math.inf
        weights = w / max(n, 1)
        shifts = {}
        for name, p in self.features.items():
            t = ref.counts[name]
            t_rows = t.sum(axis=1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                raw = np.where(t_rows > 0, t / t_rows, 0.0)
            smooth = (t + _PRIOR) / (t_rows + _PRIOR * t.shape[1])
            expected, null = weights @ raw, weights @ smooth
            c = counts.bins[name]
            mean = expected_mean = None
            if p.kind == "numeric":
                k_miss = len(p.labels) - 1
                present_n = c[:k_miss].sum()
                mean = float(counts.sums[name] / present_n) if present_n else None
                present_share = 1 - np.where(t_rows[:, 0] > 0, t[:, k_miss] / t_rows[:, 0], 0)
                wm = weights * present_share
                m = ref.means[name]
                if wm.sum() > 0 and not np.isnan(m[wm > 0]).any():
                    expected_mean = float(np.sum(wm[wm > 0] * m[wm > 0]) / wm.sum())
            shifts[name] = FeatureShift(
                profile=p,
                counts=c,
                expected=expected,
                null=null,
                psi=float(psi_from_counts(c, expected, n_ref=n_ref)),
                g=float(g_statistic(c, null)),
                mean=mean,
                expected_mean=expected_mean,
            )
        return Comparison(
            n_rows=n,
            scale=1.0 + ratio,
            reference_size=n_ref,
            reference=self._describe_reference(counts.groups),
            exempt=self.batch.column if self.batch else None,
            features=shifts,
        )

    def _describe_reference(self, groups: np.ndarray) -> str:
        if self.batch is None:
            return f"the training data ({self.n_rows:,} rows)"
        col, keys = self.batch.column, list(self.batch.groups)
        named = [i for i in np.flatnonzero(groups[:-1])]
        whole = f"the whole training data ({self.n_rows:,} rows)"
        if not named:
            return f"{whole}: the batch's {col} values have no training rows of their own"
        rows = sum(self.batch.groups[keys[i]].n_rows for i in named)
        if len(named) == 1:
            key = keys[named[0]]
            text = (
                f"the training rows of {col} {key!r} ({rows:,} rows)"
                if key != OTHER
                else f"the training rows of the {col} values with fewer than "
                f"{self.batch.min_rows} rows each, pooled ({rows:,} rows)"
            )
        else:
            text = (
                f"the training rows of the {len(named)} values of {col} in the batch, in "
                f"the batch's proportions ({rows:,} rows)"
            )
        if groups[-1]:
            text += f"; for rows whose {col} has no training rows of its own, {whole}"
        return text

    # ------------------------------------------------------------------ per feature
    def psi(self, frame: pd.DataFrame) -> dict[str, float]:
        """PSI per feature of ``frame`` against its reference (:meth:`compare`)."""
        return {k: v.psi for k, v in self.compare(self.count(frame)).features.items()}

    def scan(self, frame: pd.DataFrame) -> tuple[BatchCounts, np.ndarray]:
        """One pass over ``frame`` (a scoring chunk): its drift counts (exactly
        :meth:`count`) and which rows lie outside the training data, by the one basis
        rule: a numeric value outside the training range, a category never seen in
        training, or a missing value in a feature training never lacked (the model's
        handling of it would be a silent guess). :meth:`out_of_distribution` says why in
        words."""
        bins, sums = {}, {}
        bad = np.zeros(len(frame), dtype=bool)
        for name, prof in self.features.items():
            s = frame[name]
            miss = s.isna().to_numpy()
            if prof.kind == "numeric":
                x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
                idx = prof.numeric_index(x, miss)
                bins[name] = np.bincount(idx, minlength=len(prof.labels) + 1)
                sums[name] = float(np.nansum(x))
                if prof.min is not None:
                    bad |= (x < prof.min) | (x > prof.max)
            else:
                idx = prof.category_index(s)
                seen = np.bincount(idx[idx >= 0], minlength=len(prof.categories))
                unseen = idx == -1
                bins[name] = np.concatenate([seen, [miss.sum()], [unseen.sum()]])
                bad |= unseen
            if prof.missing_rate == 0:
                bad |= miss
        return BatchCounts(len(frame), self.group_rows(frame), bins, sums), bad

    def out_of_distribution(self, frame: pd.DataFrame) -> pd.Series:
        """Per row, why it lies outside the training data ('' when it does not), by the
        rule of :meth:`scan`: a numeric value outside the training range, a category
        never seen in training, a missing value in a feature training never lacked."""
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
            if p.missing_rate == 0:
                miss = s.isna()
                if miss.any():
                    cur = reasons[miss]
                    words = f"{name} is missing (it never was in training)"
                    reasons[miss] = np.where(cur == "", words, cur + "; " + words)
        return reasons

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (exact round trip via :meth:`from_dict`)."""
        batch = None
        if self.batch is not None:
            batch = {
                "column": self.batch.column,
                "min_rows": self.batch.min_rows,
                "pooled": list(self.batch.pooled),
                "groups": {k: vars(g).copy() for k, g in self.batch.groups.items()},
            }
        return {
            "n_rows": self.n_rows,
            "n_people": self.n_people,
            "features": {k: vars(v).copy() for k, v in self.features.items()},
            "batch": batch,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingProfile:
        """Inverse of :meth:`to_dict`; also reads profiles saved before ``n_people``,
        ``batch`` and the features' ``n_rows`` and ``mean`` were kept."""
        b = d.get("batch")
        batch = None
        if b is not None:
            batch = BatchProfile(
                column=b["column"],
                groups={k: BatchGroup(**g) for k, g in b["groups"].items()},
                pooled=list(b.get("pooled", [])),
                min_rows=int(b.get("min_rows", MIN_GROUP_ROWS)),
            )
        return cls(
            n_rows=d["n_rows"],
            features={k: FeatureProfile(**v) for k, v in d["features"].items()},
            n_people=d.get("n_people"),
            batch=batch,
        )


def _batch_profile(
    frame: pd.DataFrame, spec: DatasetSpec, features: dict[str, FeatureProfile]
) -> BatchProfile:
    """Bin counts, means and people per value of the spec's batch column, one
    ``bincount`` per feature over (group, bin) cells."""
    assert spec.batch is not None
    codes, uniques = pd.factorize(frame[spec.batch], use_na_sentinel=True)
    keys = [str(u) for u in uniques] + [_MISSING]
    codes = np.where(codes < 0, len(uniques), codes)
    sizes = np.bincount(codes, minlength=len(keys))
    big = sizes >= MIN_GROUP_ROWS
    small = (sizes > 0) & ~big
    names = sorted(keys[i] for i in np.flatnonzero(big))
    pool = sizes[small].sum() >= MIN_GROUP_ROWS
    pooled = sorted(keys[i] for i in np.flatnonzero(small)) if pool else []
    slots = {k: i for i, k in enumerate(names)}
    group_of_key = np.array(
        [slots.get(k, len(names) if k in pooled else -1) for k in keys], dtype=np.int64
    )
    n_groups = len(names) + bool(pooled)
    gcode = group_of_key[codes]
    keep = gcode >= 0
    g = gcode[keep]
    n_rows = np.bincount(g, minlength=n_groups)
    n_people: np.ndarray | None = None
    if spec.person:
        person, _ = pd.factorize(frame[spec.person])
        pairs = np.unique(g * (int(person.max()) + 2) + person[keep] + 1)
        n_people = np.bincount(pairs // (int(person.max()) + 2), minlength=n_groups)
    counts: dict[str, np.ndarray] = {}
    means: dict[str, np.ndarray] = {}
    for name, p in features.items():
        k = len(p.labels)
        idx = p.bin_index(frame[name])[keep]
        # unseen categories cannot occur in the data the categories came from
        cells = np.bincount(g * k + np.minimum(idx, k - 1), minlength=n_groups * k)
        counts[name] = cells.reshape(n_groups, k)
        if p.kind == "numeric":
            x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)[keep]
            ok = ~np.isnan(x)
            total = np.bincount(g[ok], weights=x[ok], minlength=n_groups)
            n_ok = np.bincount(g[ok], minlength=n_groups)
            with np.errstate(divide="ignore", invalid="ignore"):
                means[name] = total / n_ok
    groups = {}
    for i, key in enumerate([*names, *([OTHER] if pooled else [])]):
        groups[key] = BatchGroup(
            n_rows=int(n_rows[i]),
            counts={name: c[i].tolist() for name, c in counts.items()},
            means={name: (None if np.isnan(m[i]) else float(m[i])) for name, m in means.items()},
            n_people=None if n_people is None else int(n_people[i]),
        )
    return BatchProfile(column=spec.batch, groups=groups, pooled=pooled)


def _num(x: float) -> str:
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{x:.1%}" if 0 < x < 0.01 else f"{x:.0%}"
