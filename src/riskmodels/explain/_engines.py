"""Computation kernels: SHAP values of the final classifier, summed back to source features.

Every kernel is a module-level function taking arrays and small picklable objects, so that
joblib's loky workers can run it on a chunk of rows. Each returns ``(contributions, base)``
where ``contributions`` has one column per *source* feature (the transformed columns of a
feature — e.g. its one-hot columns — form one contiguous slice in ``slices`` and are
summed) and ``base`` is the explainer's expected value in log-odds.

Three explainers are used:

- trees (``tree_patterns_task``, ``tree_plain_task``): shap's path-dependent TreeSHAP on
  the model's raw (log-odds) output;
- linear models (``linear_values``): shap's LinearExplainer, interventional, with the mean
  of the transformed background;
- anything else (``permutation_task``): shap's PermutationExplainer on the log-odds of
  ``predict_proba``, with whole source features switched on and off together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import shap

# shap is imported inside each kernel, not here: importing it costs more than a second
# (numba, and matplotlib through its plots), which every ``import riskmodels`` would pay.
# After the first call the import is a dictionary lookup.

__all__ = [
    "PROBA_CLIP",
    "Slices",
    "extract_trees",
    "linear_values",
    "logit_proba",
    "permutation_task",
    "sum_slices",
    "tree_patterns_task",
    "tree_plain_task",
]

#: Probabilities are clipped to [PROBA_CLIP, 1 - PROBA_CLIP] before taking log-odds, so that
#: models returning exactly 0 or 1 (k-nearest neighbours, ...) have finite margins.
PROBA_CLIP = 1e-6

_TREE_KEYS = (
    "children_left",
    "children_right",
    "children_default",
    "features",
    "thresholds",
    "values",
    "node_sample_weight",
)


Slices = list[tuple[int, int]]


def sum_slices(phi: np.ndarray, slices: Slices) -> np.ndarray:
    """Sum the columns of ``phi`` (rows x transformed columns) within each source slice.

    Plain reductions rather than a 0/1 matrix product: BLAS threads would contend with the
    worker processes for the same cores.
    """
    phi = phi.reshape(phi.shape[0], -1)
    out = np.zeros((phi.shape[0], len(slices)))
    for j, (start, stop) in enumerate(slices):
        if stop > start:
            out[:, j] = phi[:, start:stop].sum(axis=1)
    return out


def logit_proba(clf: Any, X: np.ndarray, *, clip: float = PROBA_CLIP) -> np.ndarray:
    """Log-odds of the positive class (``classes_[1]``) from ``predict_proba``, clipped."""
    p = np.asarray(clf.predict_proba(X), dtype=np.float64)[:, 1]
    if clip:
        p = np.clip(p, clip, 1.0 - clip)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


# --------------------------------------------------------------------------- trees
def extract_trees(explainer: shap.TreeExplainer) -> tuple[list[dict[str, Any]], float, np.dtype]:
    """Split a fitted shap TreeExplainer's ensemble into one plain dict per tree.

    Returns the trees (in shap's dense single-tree layout), the ensemble's base offset and
    the dtype shap casts inputs to before comparing them with thresholds.
    """
    m = explainer.model
    trees = []
    for t in range(m.children_left.shape[0]):
        n_nodes = int(m.num_nodes[t])
        tree = {k: np.ascontiguousarray(getattr(m, k)[t, :n_nodes]) for k in _TREE_KEYS}
        tree["thresholds"] = tree["thresholds"].astype(np.float64)
        tree["values"] = tree["values"].astype(np.float64).reshape(n_nodes, -1)
        tree["node_sample_weight"] = tree["node_sample_weight"].astype(np.float64)
        trees.append(tree)
    return trees, float(np.ravel(m.base_offset)[0]), np.dtype(m.input_dtype)


def _branch_patterns(
    tree: dict[str, Any], XT: np.ndarray, missing_T: np.ndarray, has_missing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by the branch they take at every internal node of ``tree``.

    ``XT`` is the chunk transposed (features x rows, so each comparison reads contiguous
    memory), ``missing_T`` its NaN mask and ``has_missing`` which features have any. Returns
    ``(first, inverse)``: one representative row per distinct pattern and, for every row,
    the index of its pattern. The comparison mirrors shap's C code exactly: a missing value
    follows ``children_default``, otherwise ``x <= threshold`` goes left.
    """
    left, right, default = tree["children_left"], tree["children_right"], tree["children_default"]
    feature, threshold = tree["features"], tree["thresholds"]
    internal = np.flatnonzero(right >= 0)
    n = XT.shape[1]
    if len(internal) == 0:
        return np.zeros(min(n, 1), dtype=np.intp), np.zeros(n, dtype=np.intp)
    # One bit per internal node, 63 to a word (bit ops in place, no temporaries).
    keys = np.zeros((-(-len(internal) // 63), n), dtype=np.int64)
    goes_left = np.empty(n, dtype=bool)
    shifted = np.empty(n, dtype=np.int64)
    for k, node in enumerate(internal):
        f = feature[node]
        np.less_equal(XT[f], threshold[node], out=goes_left)
        if has_missing[f]:
            goes_left[missing_T[f]] = default[node] == left[node]
        np.left_shift(goes_left, k % 63, out=shifted, casting="unsafe")
        np.bitwise_or(keys[k // 63], shifted, out=keys[k // 63])
    keys = keys.T
    if keys.shape[1] == 1:
        # Hash-based factorize is O(n); np.unique would sort.
        inverse, uniques = pd.factorize(keys[:, 0])
        n_unique = len(uniques)
    else:
        _, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        n_unique = int(inverse.max()) + 1
    first = np.empty(n_unique, dtype=np.intp)
    first[inverse] = np.arange(n)
    return first, inverse


def _single_tree_model(tree: dict[str, Any]) -> dict[str, Any]:
    return {
        "trees": [tree],
        "base_offset": 0.0,
        "tree_output": "log_odds",
        "input_dtype": np.float64,
        "internal_dtype": np.float64,
    }


def tree_patterns_task(
    trees: list[dict[str, Any]], X: np.ndarray, slices: Slices, input_dtype: np.dtype
) -> tuple[np.ndarray, float]:
    """Path-dependent TreeSHAP for a block of trees, computed once per branch pattern.

    In path-dependent TreeSHAP a row enters a tree's SHAP values only through the branch it
    takes at each split, so rows sharing a tree's branch pattern share that tree's values.
    Each tree is explained by shap (additivity check on) on one representative row per
    pattern and the result is broadcast back; the values are identical to explaining every
    row, at a fraction of the cost when many rows share patterns. Returns the block's
    contributions and its share of the base value (the ensemble's offset is added by the
    caller).
    """
    import shap

    X = np.asarray(X)
    # shap casts to the model's input dtype and then compares in double precision.
    X = X.astype(input_dtype, copy=False).astype(np.float64, copy=False)
    XT = np.ascontiguousarray(X.T)
    missing_T = np.isnan(XT)
    has_missing = missing_T.any(axis=1)
    # Accumulate transposed (features x rows) so each gather reads and writes contiguously.
    contributions_T = np.zeros((len(slices), X.shape[0]))
    base = 0.0
    for tree in trees:
        first, inverse = _branch_patterns(tree, XT, missing_T, has_missing)
        explainer = shap.TreeExplainer(_single_tree_model(tree))
        phi = explainer.shap_values(X[first], check_additivity=True)
        phi_T = np.ascontiguousarray(phi.reshape(len(first), -1).T)
        for j, (start, stop) in enumerate(slices):
            if stop > start:
                contributions_T[j] += phi_T[start:stop].sum(axis=0).take(inverse)
        base += float(np.ravel(explainer.expected_value)[0])
    contributions = np.ascontiguousarray(contributions_T.T)
    return contributions, base


def tree_plain_task(clf: Any, X: np.ndarray, slices: Slices) -> tuple[np.ndarray, float]:
    """Path-dependent TreeSHAP on every row (for tree models shap runs in native code)."""
    import shap

    explainer = shap.TreeExplainer(clf, model_output="raw")
    phi = np.asarray(explainer.shap_values(np.asarray(X), check_additivity=True))
    return sum_slices(phi, slices), float(np.ravel(explainer.expected_value)[0])


# --------------------------------------------------------------------------- linear
def linear_values(
    clf: Any, X: np.ndarray, background_mean: np.ndarray, slices: Slices
) -> tuple[np.ndarray, float]:
    """Interventional linear SHAP: ``coef * (x - mean(background))``, in log-odds."""
    import shap

    # A mean-only masker makes shap use the whole background's mean, not a 100-row sample.
    masker = shap.maskers.Independent({"mean": np.asarray(background_mean, dtype=np.float64)})
    explainer = shap.LinearExplainer(clf, masker)
    phi = np.asarray(explainer.shap_values(np.asarray(X, dtype=np.float64)))
    return sum_slices(phi, slices), float(np.ravel(explainer.expected_value)[0])


# --------------------------------------------------------------------------- model-agnostic
class _GroupedLogOdds:
    """The classifier's log-odds as a function of one *pointer* per source feature.

    Column ``j`` of an input row holds the index of the row (in ``table``) whose transformed
    columns of feature ``j`` are used. Masking a pointer with a background pointer thus
    swaps a whole source feature — all its one-hot and missing-indicator columns at once —
    so the explainer never sees impossible half-encoded inputs.
    """

    def __init__(self, clf: Any, table: np.ndarray, slices: Slices) -> None:
        self.clf = clf
        self.table = table
        self.slices = slices

    def __call__(self, pointers: np.ndarray) -> np.ndarray:
        idx = np.asarray(pointers).astype(np.intp)
        X = np.zeros((idx.shape[0], self.table.shape[1]))
        for j, (start, stop) in enumerate(self.slices):
            if stop > start:
                X[:, start:stop] = self.table[idx[:, j], start:stop]
        return logit_proba(self.clf, X)


def permutation_task(
    clf: Any,
    X: np.ndarray,
    background: np.ndarray,
    slices: Slices,
    seed: int,
    max_evals: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Model-agnostic SHAP (shap's PermutationExplainer, antithetic, exactly additive).

    Returns per-row contributions and per-row base values (the mean log-odds over the
    background sample).
    """
    import shap

    X = np.asarray(X, dtype=np.float64)
    n, n_bg, p = X.shape[0], background.shape[0], len(slices)
    table = np.vstack([X, background])
    rows = np.repeat(np.arange(n, dtype=np.float64)[:, None], p, axis=1)
    bg_rows = np.repeat(np.arange(n, n + n_bg, dtype=np.float64)[:, None], p, axis=1)
    model = _GroupedLogOdds(clf, table, slices)
    masker = shap.maskers.Independent(bg_rows, max_samples=n_bg)
    # PermutationExplainer seeds numpy's *global* generator; restore the caller's state.
    state = np.random.get_state()  # noqa: NPY002 (shap uses the legacy global generator)
    try:
        explainer = shap.PermutationExplainer(model, masker, seed=seed)
        out = explainer(rows, max_evals=max_evals, silent=True)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    values = np.asarray(out.values, dtype=np.float64).reshape(n, p)
    base = np.broadcast_to(np.asarray(out.base_values, dtype=np.float64).reshape(-1), (n,))
    return values, np.array(base)
