"""Global importance: mean |contribution| with a vectorised bootstrap interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskmodels.explain import Explanations
from riskmodels.explain._example import example_spec

SPEC = example_spec()
NAMES = SPEC.feature_names


def _explanations(contributions: np.ndarray) -> Explanations:
    n = len(contributions)
    values = pd.DataFrame(
        {
            "ideation": np.zeros(n, dtype=int),
            "prior_self_harm": np.zeros(n),
            "segregation_days": np.zeros(n),
            "age": np.full(n, 30.0),
            "establishment": pd.Series(["HMP A"] * n, dtype="str"),
        }
    )
    index = pd.Index(np.arange(n), name="person_id")
    return Explanations(
        contributions=pd.DataFrame(contributions, columns=NAMES, index=index),
        base_values=np.zeros(n),
        margin=contributions.sum(axis=1),
        values=values.set_axis(index),
        spec=SPEC,
    )


def test_point_estimates_order_and_columns():
    rng = np.random.default_rng(0)
    scales = np.array([0.5, 2.0, 0.1, 1.0, 0.3])
    contributions = rng.normal(size=(500, 5)) * scales
    table = _explanations(contributions).global_importance(n_boot=100)
    assert list(table.columns) == ["feature", "description", "mean_abs", "lo", "hi", "n"]
    assert table["feature"].tolist() == [NAMES[j] for j in np.argsort(-scales)]
    expected = np.abs(contributions).mean(axis=0)[np.argsort(-scales)]
    np.testing.assert_allclose(table["mean_abs"], expected)
    assert table.loc[0, "description"] == SPEC.feature(NAMES[1]).description
    assert (table["n"] == 500).all()


def test_interval_width_matches_the_standard_error():
    """The bootstrap interval of a mean is close to mean ± 1.96 standard errors."""
    rng = np.random.default_rng(1)
    contributions = rng.exponential(size=(4000, 5))
    table = _explanations(contributions).global_importance(n_boot=2000, random_state=3)
    a = np.abs(contributions)
    se = a.std(axis=0, ddof=1) / np.sqrt(len(a))
    width = (table["hi"] - table["lo"]).to_numpy()
    se_sorted = se[[NAMES.index(f) for f in table["feature"]]]
    np.testing.assert_allclose(width, 2 * 1.96 * se_sorted, rtol=0.15)


def test_reproducible_and_validated():
    contributions = np.random.default_rng(2).normal(size=(50, 5))
    ex = _explanations(contributions)
    pd.testing.assert_frame_equal(
        ex.global_importance(random_state=4), ex.global_importance(random_state=4)
    )
    assert not ex.global_importance(random_state=4).equals(ex.global_importance(random_state=5))
    with pytest.raises(ValueError, match="n_boot"):
        ex.global_importance(n_boot=0)
    with pytest.raises(ValueError, match="confidence"):
        ex.global_importance(confidence=1.0)


def test_no_rows_gives_nan_and_n_zero():
    table = _explanations(np.zeros((0, 5))).global_importance()
    assert table["mean_abs"].isna().all() and table["lo"].isna().all()
    assert (table["n"] == 0).all()


def test_large_n_runs_in_blocks_and_matches_small_block_result(monkeypatch):
    """Blocking the replicates (memory bound) does not change the draws' distribution."""
    from riskmodels.explain import _explanations as module

    contributions = np.random.default_rng(5).normal(size=(3000, 5))
    ex = _explanations(contributions)
    whole = ex.global_importance(n_boot=400, random_state=0)
    monkeypatch.setattr(module, "_BOOT_BLOCK_ENTRIES", 3000 * 7)  # 7 replicates per block
    blocked = ex.global_importance(n_boot=400, random_state=0)
    np.testing.assert_allclose(blocked["lo"], whole["lo"], rtol=0.05)
    np.testing.assert_allclose(blocked["hi"], whole["hi"], rtol=0.05)


@settings(max_examples=30, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.just(5)),
        elements=st.floats(-10, 10, allow_nan=False),
    ),
    st.randoms(use_true_random=False),
)
def test_interval_contains_the_estimate_and_row_order_does_not_matter(contributions, rnd):
    table = _explanations(contributions).global_importance(n_boot=50)
    assert (table["lo"] <= table["mean_abs"]).all() and (table["mean_abs"] <= table["hi"]).all()
    perm = np.array(rnd.sample(range(len(contributions)), len(contributions)))
    shuffled = _explanations(contributions[perm]).global_importance(n_boot=50)
    np.testing.assert_allclose(
        shuffled.set_index("feature")["mean_abs"].sort_index(),
        table.set_index("feature")["mean_abs"].sort_index(),
        rtol=1e-12,
        atol=1e-12,
    )
