"""TrainingProfile: bins, per-batch-value counts, JSON round trips, and the drift statistics
(PSI, G, Monte Carlo p-values, Holm) checked against independent implementations."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, multinomial, power_divergence

import riskmodels as rm
from riskmodels.data import TrainingProfile
from riskmodels.data._profile import (
    MIN_GROUP_ROWS,
    OTHER,
    BatchCounts,
    g_statistic,
    gof_pvalues,
    holm,
    judge_drift,
    psi_from_counts,
)


def _spec(batch: str | None = "site", person: str | None = "person") -> rm.DatasetSpec:
    return rm.DatasetSpec(
        name="toy",
        target="y",
        target_description="event",
        id="i",
        person=person,
        batch=batch,
        features=[
            rm.FeatureSpec(name="x", kind="numeric", description="x"),
            rm.FeatureSpec(name="colour", kind="categorical", description="colour"),
            rm.FeatureSpec(name="flag", kind="binary", description="flag"),
            rm.FeatureSpec(name="site", kind="categorical", description="site"),
        ],
    )


def _frame(sizes: dict[str, int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    site = np.repeat(list(sizes), list(sizes.values()))
    n = site.size
    x = rng.normal(np.where(site == "A", 30.0, 50.0), 5.0)
    x[rng.random(n) < 0.05] = np.nan
    colour = rng.choice(["red", "blue", "green"], n).astype(object)
    colour[rng.random(n) < 0.03] = None
    return pd.DataFrame(
        {
            "i": np.arange(n),
            "y": 0,
            "person": rng.integers(0, max(n // 3, 1), n),
            "site": site,
            "x": x,
            "colour": colour,
            "flag": (rng.random(n) < np.where(site == "A", 0.2, 0.6)).astype(int),
        }
    )


# ---------------------------------------------------------------------- bins
@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(-100, 100)), min_size=1, max_size=60),
    st.lists(st.sampled_from(["a", "b", "c", "z", None]), min_size=1, max_size=60),
)
def test_bin_counts_are_the_documented_bins(xs, cats):
    """Numeric: searchsorted on the edges, missing next to last, an empty unseen bin;
    categorical: category codes, missing, then unseen categories."""
    train = pd.DataFrame(
        {"i": range(40), "y": 0, "x": np.linspace(-50, 50, 40), "colour": ["a", "b"] * 20}
    )
    spec = rm.DatasetSpec(
        name="t",
        target="y",
        target_description="e",
        id="i",
        features=[
            rm.FeatureSpec(name="x", kind="numeric", description="x"),
            rm.FeatureSpec(name="colour", kind="categorical", description="c"),
        ],
    )
    prof = TrainingProfile.from_frame(train, spec)
    px, pc = prof.features["x"], prof.features["colour"]
    s = pd.Series(xs, dtype=float)
    miss = s.isna().to_numpy()
    idx = np.searchsorted(px.edges, s.to_numpy()[~miss], side="right")
    expected = [*np.bincount(idx, minlength=len(px.edges) + 1), miss.sum(), 0]
    assert px.bin_counts(s).tolist() == expected
    c = pd.Series(cats, dtype=object)
    assert pc.bin_counts(c).tolist() == [
        (c == "a").sum(),
        (c == "b").sum(),
        c.isna().sum(),
        c.isin(["c", "z"]).sum(),
    ]
    assert px.bin_counts(s).sum() == len(s) and pc.bin_counts(c).sum() == len(c)


# ---------------------------------------------------------------------- batch groups
def test_counts_per_batch_value_equal_a_pandas_groupby():
    frame = _frame({"A": 400, "B": 300, "C": 150})
    prof = TrainingProfile.from_frame(frame, _spec())
    groups = prof.batch.groups
    assert list(groups) == ["A", "B", "C"] and prof.batch.pooled == []
    for name, p in prof.features.items():
        bins = pd.Series(p.bin_index(frame[name]), index=frame.index)
        table = pd.crosstab(frame["site"], bins).reindex(columns=range(len(p.labels)))
        for site, g in groups.items():
            assert g.counts[name] == table.loc[site].fillna(0).astype(int).tolist()
    means = frame.groupby("site")["x"].mean()
    people = frame.groupby("site")["person"].nunique()
    for site, g in groups.items():
        assert g.n_rows == (frame["site"] == site).sum()
        assert g.means["x"] == pytest.approx(means[site], rel=1e-12)
        assert g.n_people == people[site]
    assert prof.n_people == frame["person"].nunique()
    assert prof.features["x"].mean == pytest.approx(frame["x"].mean(), rel=1e-12)


def test_small_values_are_pooled_or_judged_against_everyone():
    # 60 + 50 rows pool to 110 >= MIN_GROUP_ROWS; 30 + 20 would not
    pooled = TrainingProfile.from_frame(_frame({"A": 500, "D": 60, "E": 50}), _spec())
    assert MIN_GROUP_ROWS == 100
    assert list(pooled.batch.groups) == ["A", OTHER] and pooled.batch.pooled == ["D", "E"]
    assert pooled.batch.groups[OTHER].n_rows == 110
    idx = pooled.batch.index(pd.Series(["A", "D", "E", "new", None]))
    assert idx.tolist() == [0, 1, 1, 2, 2]
    alone = TrainingProfile.from_frame(_frame({"A": 500, "D": 30, "E": 20}), _spec())
    assert list(alone.batch.groups) == ["A"] and alone.batch.pooled == []
    assert alone.batch.index(pd.Series(["D", "A"])).tolist() == [1, 0]
    comp = alone.compare(alone.count(_frame({"D": 30})))
    assert comp.reference.startswith("the whole training data")


def test_batch_values_match_as_text_whatever_the_dtype():
    prof = TrainingProfile.from_frame(_frame({"A": 400, "B": 300}), _spec())
    values = pd.Series(["B", "A", "Z", None, "B"])
    expected = [1, 0, 2, 2, 1]
    assert prof.batch.index(values).tolist() == expected
    assert prof.batch.index(values.astype("category")).tolist() == expected
    assert prof.batch.index(values.astype("string")).tolist() == expected


def test_one_value_is_compared_with_its_own_training_rows():
    frame = _frame({"A": 400, "B": 300})
    prof = TrainingProfile.from_frame(frame, _spec())
    batch = frame[frame["site"] == "B"].sample(90, random_state=0)
    comp = prof.compare(prof.count(batch))
    assert comp.exempt == "site" and "'B' (300 rows)" in comp.reference
    own = np.asarray(prof.batch.groups["B"].counts["flag"] + [0], dtype=float)
    np.testing.assert_allclose(comp.features["flag"].expected, own / own.sum(), rtol=1e-12)
    # the null widens for the reference's own noise: n / (distinct people of site B)
    people = frame.loc[frame["site"] == "B", "person"].nunique()
    assert comp.scale == pytest.approx(1 + 90 / people)
    assert comp.features["x"].expected_mean == pytest.approx(
        frame.loc[frame["site"] == "B", "x"].mean()
    )
    # against everyone instead, the same batch has moved a long way
    everyone = TrainingProfile.from_frame(frame, _spec(batch=None))
    whole = everyone.compare(everyone.count(batch))
    assert whole.features["x"].psi > 1 > 10 * comp.features["x"].psi


def test_several_values_are_weighted_as_in_the_batch():
    frame = _frame({"A": 400, "B": 300})
    prof = TrainingProfile.from_frame(frame, _spec())
    batch = pd.concat([frame[frame["site"] == "A"].head(30), frame[frame["site"] == "B"].head(90)])
    comp = prof.compare(prof.count(batch))
    a = np.asarray(prof.batch.groups["A"].counts["flag"] + [0], dtype=float)
    b = np.asarray(prof.batch.groups["B"].counts["flag"] + [0], dtype=float)
    np.testing.assert_allclose(
        comp.features["flag"].expected, 0.25 * a / a.sum() + 0.75 * b / b.sum(), rtol=1e-12
    )
    assert "2 values of site" in comp.reference
    # the batch column is its own reference: no change at all
    assert comp.features["site"].psi == 0


def test_profile_round_trips_through_json_and_old_profiles_load():
    frame = _frame({"A": 400, "B": 300, "D": 60, "E": 50})
    prof = TrainingProfile.from_frame(frame, _spec())
    back = TrainingProfile.from_dict(json.loads(json.dumps(prof.to_dict())))
    assert back == prof and back.to_dict() == prof.to_dict()
    batch = frame.sample(80, random_state=1)
    assert back.psi(batch) == prof.psi(batch)
    # a profile saved before batch groups, people, row counts and means were kept
    old = prof.to_dict()
    del old["batch"], old["n_people"]
    for f in old["features"].values():
        del f["n_rows"], f["mean"]
    loaded = TrainingProfile.from_dict(json.loads(json.dumps(old)))
    assert loaded.batch is None and loaded.n_people is None
    assert all(p.n_rows == len(frame) for p in loaded.features.values())
    comp = loaded.compare(loaded.count(batch))
    assert comp.reference == f"the training data ({len(frame):,} rows)"
    x = comp.features["x"]
    assert x.expected_mean is None and "mean" not in x.describe()


def test_counts_add_up_over_chunks():
    frame = _frame({"A": 400, "B": 300})
    prof = TrainingProfile.from_frame(frame, _spec())
    total = prof.empty_counts()
    for start in range(0, len(frame), 170):
        total += prof.count(frame.iloc[start : start + 170])
    whole = prof.count(frame)
    assert total.n_rows == whole.n_rows and total.groups.tolist() == whole.groups.tolist()
    assert all(total.bins[k].tolist() == whole.bins[k].tolist() for k in whole.bins)
    assert total.sums["x"] == pytest.approx(whole.sums["x"], rel=1e-12)
    assert isinstance(total, BatchCounts)


def test_changes_are_described_in_words():
    frame = _frame({"A": 400, "B": 300})
    prof = TrainingProfile.from_frame(frame, _spec(batch=None))
    base = frame.sample(200, random_state=2)
    older = prof.compare(prof.count(base.assign(x=base["x"] + 20))).features["x"]
    assert older.describe().startswith(f"mean {base['x'].mean() + 20:,.1f} vs ")
    assert "or more vs" in older.describe()
    gone = prof.compare(prof.count(base.assign(x=np.nan))).features["x"]
    share = f"{prof.features['x'].missing_rate:.0%}"
    assert f"100% of rows missing vs {share} expected" in gone.describe()
    red = prof.compare(prof.count(base.assign(colour="red"))).features["colour"]
    assert "100% of rows in 'red' vs" in red.describe()
    new = prof.compare(prof.count(base.assign(colour="purple"))).features["colour"]
    assert "in a category not seen in training vs 0% expected" in new.describe()
    flag = prof.compare(prof.count(base.assign(flag=1))).features["flag"]
    assert "100% of rows with value 1 vs" in flag.describe()


# ---------------------------------------------------------------------- statistics
@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=2, max_size=12).filter(lambda c: sum(c) > 0),
    st.integers(0, 2**32 - 1),
)
def test_g_statistic_equals_scipy_and_psi_is_a_divergence(counts, seed):
    c = np.asarray(counts)
    e = np.random.default_rng(seed).dirichlet(np.ones(c.size))
    e = np.maximum(e, 1e-6)
    e /= e.sum()
    expected_g, _ = power_divergence(c, c.sum() * e, lambda_="log-likelihood")
    assert g_statistic(c, e) == pytest.approx(expected_g, rel=1e-9, abs=1e-9)
    psi = psi_from_counts(c, e, n_ref=1_000)
    assert psi >= 0
    # bins in any order, same PSI; identical shares, none at all
    perm = np.random.default_rng(seed).permutation(c.size)
    assert psi_from_counts(c[perm], e[perm], n_ref=1_000) == pytest.approx(psi, rel=1e-12)
    assert psi_from_counts(c, c / c.sum()) == 0


def test_psi_is_finite_with_empty_bins_and_small_for_one_odd_row():
    e = np.array([0.5, 0.5, 0.0])
    assert np.isfinite(psi_from_counts(np.array([10, 10, 1]), e))
    # one row in 30 with a value training never had: a little, not a refusal
    assert psi_from_counts(np.array([15, 14, 1]), e, n_ref=100_000) < 0.1
    assert np.isnan(psi_from_counts(np.zeros(3), e))


_SPARSE = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.03, 0.0199, 0.0001])


@pytest.mark.parametrize("n", [5, 30, 200, 5_000])
def test_monte_carlo_p_values_hold_their_level_at_any_batch_size(n):
    """Under the null, P(p <= a) <= a (within 3 standard errors of 20,000 batches), from
    5 rows to thousands, with a bin of share 1e-4; and the test is not vacuous."""
    rng = np.random.default_rng(n)
    g = g_statistic(rng.multinomial(n, _SPARSE, size=20_000), _SPARSE)
    p = gof_pvalues(g, n, _SPARSE, n_sim=9_999, seed=1)
    for a in (0.001, 0.01, 0.05):
        se = np.sqrt(a * (1 - a) / g.size)
        assert a / 4 <= (p <= a).mean() <= a + 3 * se


def test_monte_carlo_p_values_equal_exact_enumeration():
    """At n = 5 every outcome can be listed (2,002 of them): the exact p-value is the
    null probability of the outcomes with G at least the observed one."""
    n, k = 5, _SPARSE.size
    outcomes = np.array(
        [np.bincount(c, minlength=k) for c in itertools.combinations_with_replacement(range(k), n)]
    )
    prob = multinomial.pmf(outcomes, n, _SPARSE)
    assert prob.sum() == pytest.approx(1)
    g = g_statistic(outcomes, _SPARSE)
    exact = np.array([prob[g >= x - 1e-9].sum() for x in g])
    mc = gof_pvalues(g, n, _SPARSE, n_sim=99_999, seed=2)
    tolerance = 4 * np.sqrt(exact * (1 - exact) / 99_999) + 2e-5
    assert (np.abs(mc - exact) <= tolerance).all()
    # the chi-square approximation is not this: several-fold off in the tail
    approx = chi2.sf(g, k - 1)
    assert (np.abs(approx - exact) > 10 * tolerance).any()


def test_early_stopping_decides_like_the_full_simulation():
    e = np.array([0.4, 0.3, 0.2, 0.1])
    rng = np.random.default_rng(3)
    shifted = np.array([0.3, 0.3, 0.2, 0.2])
    counts = np.vstack([rng.multinomial(60, e, 300), rng.multinomial(60, shifted, 300)])
    g = g_statistic(counts, e)
    full = gof_pvalues(g, 60, e, n_sim=20_000, seed=5)
    fast = gof_pvalues(g, 60, e, n_sim=20_000, seed=5, decide_at=0.001)
    assert ((full <= 0.001) == (fast <= 0.001)).all() and (full <= 0.001).any()
    assert (fast[full <= 0.001] == full[full <= 0.001]).all()
    # the same batch always gets the same p-value
    assert (gof_pvalues(g, 60, e, n_sim=20_000, seed=5, decide_at=0.001) == fast).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=20), st.sampled_from([0.001, 0.05]))
def test_holm_lies_between_bonferroni_and_no_correction(ps, alpha):
    p = np.asarray(ps)
    reject = holm(p, alpha)
    assert (reject >= (p <= alpha / p.size)).all()
    assert (reject <= (p <= alpha)).all()
    # rejections are the smallest p-values
    if reject.any() and (~reject).any():
        assert p[reject].max() <= p[~reject].min()
    # one row at a time or all at once
    assert (holm(np.vstack([p, p[::-1]]), alpha) == [reject, reject[::-1]]).all()


def test_judge_drift_judges_batches_alike_one_by_one_or_together():
    e = np.array([0.5, 0.3, 0.2])
    rng = np.random.default_rng(0)
    counts = np.stack(
        [rng.multinomial(100, e, 50), rng.multinomial(100, [0.2, 0.3, 0.5], 50)], axis=1
    )
    kw = dict(n=100, null=[e, e], scale=1.0, psi_warn=0.1, psi_refuse=0.25, significance=0.001)
    psi, g = psi_from_counts(counts, e), g_statistic(counts, e)
    p, status = judge_drift(psi, g, **kw)
    assert (status[:, 0] < 2).all() and (status[:, 1] == 2).mean() > 0.9
    assert np.isnan(p[psi < 0.1]).all() and not np.isnan(p[psi >= 0.1]).any()
    for r in (0, 7, 31):
        p1, s1 = judge_drift(psi[r : r + 1], g[r : r + 1], **kw)
        np.testing.assert_array_equal(s1[0], status[r])
        np.testing.assert_array_equal(p1[0], p[r])


# ---------------------------------------------------------------------- basis rule
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(-100, 100)), min_size=1, max_size=40),
    st.lists(st.sampled_from(["a", "b", "z", None]), min_size=1, max_size=40),
    st.booleans(),
)
def test_scan_counts_like_count_and_marks_exactly_the_rows_it_explains(xs, cats, categorical):
    """One basis rule: ``scan`` (what scoring runs per chunk) counts as ``count`` does,
    and the rows it puts outside the training data are exactly those
    ``out_of_distribution`` gives a reason (range, unseen category, a missing value
    training never had)."""
    n = min(len(xs), len(cats))
    train = pd.DataFrame(
        {"i": range(40), "y": 0, "x": np.linspace(-50, 50, 40), "colour": ["a", "b"] * 20}
    )
    spec = rm.DatasetSpec(
        name="t",
        target="y",
        target_description="e",
        id="i",
        features=[
            rm.FeatureSpec(name="x", kind="numeric", description="x"),
            rm.FeatureSpec(name="colour", kind="categorical", description="c"),
        ],
    )
    prof = TrainingProfile.from_frame(train, spec)
    colour = pd.Series(cats[:n], dtype="category" if categorical else object)
    batch = pd.DataFrame({"x": pd.Series(xs[:n], dtype=float), "colour": colour})
    counts, outside = prof.scan(batch)
    whole = prof.count(batch)
    assert counts.n_rows == whole.n_rows == n
    for name in ("x", "colour"):
        assert counts.bins[name].tolist() == whole.bins[name].tolist(), name
    words = prof.out_of_distribution(batch)
    assert (words != "").tolist() == outside.tolist()
    never_missing = batch["x"].isna() | batch["colour"].isna()  # training had no gaps
    assert (outside >= never_missing.to_numpy()).all()
    assert all("never was in training" in w for w in words[never_missing])
