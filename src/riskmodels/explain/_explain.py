"""``explain()``: SHAP values of a fitted pipeline's classifier, per source feature.

The work is done on the final classifier in its transformed feature space (shap cannot
see through a Pipeline) and summed back to the spec's columns. Only the requested rows
are explained, a chunk at a time; two small first chunks run in this process and time the
work and, when the rest is expected to take a while, the remaining chunks go to joblib's
loky workers.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from riskmodels._validation import (
    check_choice,
    check_int,
    check_positions,
    check_seed,
    raise_problems,
)
from riskmodels.data._spec import DatasetSpec
from riskmodels.errors import NotFittedError, Problem, RiskModelsError, SchemaError
from riskmodels.explain import _engines
from riskmodels.explain._explanations import Explanations
from riskmodels.explain._progress import ProgressMode, open_progress

if TYPE_CHECKING:
    # shap is imported where an explainer is built (see _engines): it costs more than a
    # second at import time, which ``import riskmodels`` should not pay.
    import shap

__all__ = ["ExplainerFallbackWarning", "explain"]

#: Background rows used by the model-agnostic explainer.
N_BACKGROUND = 100
# Remaining work (estimated from the first chunks) worth starting worker processes for;
# a cold pool costs a few seconds of imports.
_PARALLEL_MIN_SECONDS = 3.0
# Arrays at least this large are written once to a memory-mapped file and shared with the
# workers by reference, instead of being pickled (and hashed by joblib) for every task.
_SHARE_MIN_BYTES = 1 << 20
_SHARED_ROOT = "/dev/shm"  # RAM-backed where available: no disk I/O
# Explanations must add up to the model's own log-odds to this (relative) tolerance.
_ADDITIVITY_RTOL = 1e-6


class ExplainerFallbackWarning(UserWarning):
    """shap's specialised explainer could not handle the model; a model-agnostic one was used."""


# --------------------------------------------------------------------------- checks
def _unpack(pipeline: Any) -> tuple[ColumnTransformer, Any]:
    if not (
        isinstance(pipeline, Pipeline)
        and len(pipeline.steps) == 2
        and isinstance(pipeline.steps[0][1], ColumnTransformer)
    ):
        raise SchemaError(
            Problem(
                "pipeline",
                type(pipeline).__name__,
                "pass Pipeline([('preprocess', ColumnTransformer), ('classifier', clf)]), the "
                "uncalibrated pipeline: with a RiskModel, model.base_estimator_, not the "
                "calibrated wrapper",
            ),
            context="Invalid argument to explain",
        )
    preprocess, clf = pipeline.steps[0][1], pipeline.steps[-1][1]
    try:
        check_is_fitted(preprocess)
        check_is_fitted(clf)
    except SklearnNotFittedError:
        raise NotFittedError(
            "The pipeline is not fitted, so there is nothing to explain yet. Fit it first "
            "(RiskModel.fit, or pipeline.fit(train, y))."
        ) from None
    classes = getattr(clf, "classes_", None)
    if classes is None or len(classes) != 2:
        raise SchemaError(
            Problem(
                "pipeline",
                f"{type(clf).__name__} with classes {classes!r}",
                "explain a binary classifier (events vs non-events)",
            ),
            context="Invalid argument to explain",
        )
    return preprocess, clf


def _source_slices(
    preprocess: ColumnTransformer, spec: DatasetSpec
) -> tuple[list[str], list[tuple[int, int]]]:
    """The features the pipeline uses (spec order) and, per feature, its transformed columns.

    The model may use a subset of the spec's features; every transformer must be named
    after one of them and take exactly that column.
    """
    problems = []
    names = spec.feature_names
    used = set()
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder":
            if transformer != "drop":
                problems.append(
                    Problem(
                        "remainder",
                        f"remainder={transformer!r} adds columns no feature owns",
                        "use remainder='drop'",
                    )
                )
            continue
        cols = [columns] if isinstance(columns, str) else list(np.ravel(columns))
        if name not in names:
            problems.append(
                Problem(name, "transformer is not named after a spec feature", f"features: {names}")
            )
        elif cols != [name]:
            problems.append(
                Problem(
                    name,
                    f"transformer takes columns {cols}",
                    "give each feature its own transformer taking [feature_name]",
                )
            )
        used.add(name)
    if problems:
        raise SchemaError(problems, context="The pipeline does not match the dataset spec")
    features = [name for name in names if name in used]
    slices = []
    for name in features:
        sl = preprocess.output_indices_[name]
        slices.append((int(sl.start or 0), int(sl.stop or 0)))
    return features, slices


def _positions(rows: Any, n: int) -> np.ndarray:
    positions, problems = check_positions(rows, n)
    raise_problems(problems, "Invalid argument to explain")
    return positions


def _proxies(proxies: Iterable[str], spec: DatasetSpec) -> frozenset[str]:
    names = frozenset([proxies] if isinstance(proxies, str) else proxies)
    unknown = sorted(names - set(spec.feature_names))
    if unknown:
        raise SchemaError(
            Problem(
                "proxies",
                f"not features of the spec: {unknown}",
                "pass the feature names flagged by the fairness proxy scan",
            )
        )
    return names


def _source_values(
    frame: pd.DataFrame, spec: DatasetSpec, features: list[str], index: pd.Index
) -> pd.DataFrame:
    """The rows' feature values, categoricals as strings (JSON round trips keep them)."""
    out = {}
    for name in features:
        f = spec.feature(name)
        s = frame[f.name].reset_index(drop=True)
        out[f.name] = s.astype("str") if f.kind == "categorical" else s
    return pd.DataFrame(out).set_axis(index)


def _is_logistic(clf: Any) -> bool:
    # Linear models whose decision function is the log-odds of predict_proba.
    return isinstance(clf, LogisticRegression) or (
        isinstance(clf, SGDClassifier) and clf.loss == "log_loss"
    )


def _tree_unsuitable(clf: Any, explainer: shap.TreeExplainer) -> str | None:
    """Why shap's TreeExplainer cannot give log-odds SHAP values for ``clf`` (None if it can)."""
    model = explainer.model
    if isinstance(clf, HistGradientBoostingClassifier) and np.any(
        getattr(clf, "is_categorical_", None) is not None and clf.is_categorical_
    ):
        return (
            "it uses native categorical splits, which shap ignores (shap issue #3436); "
            "one-hot encode categoricals in the pipeline instead"
        )
    if getattr(model, "tree_output", None) != "log_odds":
        return f"its trees output {getattr(model, 'tree_output', 'unknown')!r}, not log-odds"
    if getattr(model, "num_outputs", 1) != 1:
        return "it has more than one output"
    return None


# --------------------------------------------------------------------------- engines
@dataclass
class _Engine:
    """What to run on each chunk of transformed rows, and how to read the model's margin."""

    method: str
    clf: Any
    slices: list[tuple[int, int]]
    margin_fn: Callable[[np.ndarray], np.ndarray]
    probe_rows: int
    default_chunk: int
    parallel: bool = True
    # Leading chunks of ``probe_rows`` run in-process to time the work. The fastest one is
    # trusted: the first may carry one-off costs (shap's numba kernels compile on first use)
    # and either may be stalled by a busy machine.
    probe_chunks: int = 2
    # Extra seconds each fresh worker spends before it is useful (imports, compilation).
    worker_warmup: float = 0.0
    trees: list[dict[str, Any]] = field(default_factory=list)
    base_offset: float = 0.0
    input_dtype: Any = np.float64
    background: np.ndarray | None = None
    background_mean: np.ndarray | None = None
    max_evals: int = 500
    random_state: int | None = 0

    def tasks(
        self, chunk: int, X: np.ndarray, n_blocks: int
    ) -> list[tuple[Callable[..., Any], tuple[Any, ...], float]]:
        """``(function, args, share of the chunk's rows)`` for each task of one chunk."""
        if self.method == "tree" and self.trees:
            blocks = np.array_split(np.arange(len(self.trees)), max(1, n_blocks))
            return [
                (
                    _engines.tree_patterns_task,
                    ([self.trees[t] for t in b], X, self.slices, self.input_dtype),
                    len(b) / len(self.trees),
                )
                for b in blocks
                if len(b)
            ]
        if self.method == "tree":
            return [(_engines.tree_plain_task, (self.clf, X, self.slices), 1.0)]
        if self.method == "linear":
            return [(_engines.linear_values, (self.clf, X, self.background_mean, self.slices), 1.0)]
        seed = None if self.random_state is None else self.random_state + chunk
        args = (self.clf, X, self.background, self.slices, seed, self.max_evals)
        return [(_engines.permutation_task, args, 1.0)]


def _margin_fn(clf: Any, method: str) -> Callable[[np.ndarray], np.ndarray]:
    """The model's own log-odds, to check the explanations against."""
    if method == "permutation":  # the explained function itself: clipped log-odds
        return lambda X: _engines.logit_proba(clf, X)
    if hasattr(clf, "decision_function"):
        return lambda X: np.asarray(clf.decision_function(X), dtype=np.float64).reshape(-1)
    return lambda X: _engines.logit_proba(clf, X, clip=0.0)


def _transform(preprocess: ColumnTransformer, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(preprocess.transform(frame), dtype=np.float64)


def _background_rows(
    background: pd.DataFrame, spec: DatasetSpec, n: int | None, random_state: int | None
) -> pd.DataFrame:
    spec.validate(background, require_target=False, require_protected=False)
    if n is None or len(background) <= n:
        return background
    pick = np.random.default_rng(random_state).choice(len(background), size=n, replace=False)
    return background.iloc[np.sort(pick)]


def _choose_engine(
    preprocess: ColumnTransformer,
    clf: Any,
    slices: list[tuple[int, int]],
    spec: DatasetSpec,
    background: pd.DataFrame,
    random_state: int | None,
    reason: str | None = None,
) -> _Engine:
    common = {"clf": clf, "slices": slices, "random_state": random_state}
    if reason is None and _is_logistic(clf):
        bg = _transform(preprocess, _background_rows(background, spec, None, random_state))
        return _Engine(
            method="linear",
            margin_fn=_margin_fn(clf, "linear"),
            probe_rows=1 << 62,  # vectorised: all rows in-process
            default_chunk=100_000,
            parallel=False,
            background_mean=bg.mean(axis=0),
            **common,
        )
    if reason is None:
        import shap

        try:
            explainer = shap.TreeExplainer(clf, model_output="raw")
        except Exception as err:  # shap signals unsupported models with assorted errors
            reason = f"{type(err).__name__}: {err}"
        else:
            reason = _tree_unsuitable(clf, explainer)
            if reason is None:
                engine = _Engine(
                    method="tree",
                    margin_fn=_margin_fn(clf, "tree"),
                    probe_rows=500,
                    default_chunk=100_000,
                    **common,
                )
                if _can_share_patterns(explainer):
                    engine.trees, engine.base_offset, engine.input_dtype = _engines.extract_trees(
                        explainer
                    )
                else:
                    engine.default_chunk = 10_000
                return engine
    warnings.warn(
        f"shap's TreeExplainer cannot explain {type(clf).__name__} ({reason}); using the "
        f"model-agnostic permutation explainer on the log-odds of predict_proba with "
        f"{min(N_BACKGROUND, len(background))} background rows instead (slower, and an "
        "estimate rather than exact values).",
        ExplainerFallbackWarning,
        stacklevel=3,
    )
    bg = _transform(preprocess, _background_rows(background, spec, N_BACKGROUND, random_state))
    n_features = len(slices)
    return _Engine(
        method="permutation",
        margin_fn=_margin_fn(clf, "permutation"),
        probe_rows=1,
        worker_warmup=15.0,
        default_chunk=32,
        background=bg,
        max_evals=max(500, 2 * (2 * n_features + 1)),
        **common,
    )


def _method_without_rows(clf: Any) -> str:
    """The method that would be used, for an empty explanation (no warnings, no work)."""
    if _is_logistic(clf):
        return "linear"
    import shap

    try:
        suitable = _tree_unsuitable(clf, shap.TreeExplainer(clf, model_output="raw")) is None
    except Exception:  # shap signals unsupported models with assorted errors
        suitable = False
    return "tree" if suitable else "permutation"


def _can_share_patterns(explainer: shap.TreeExplainer) -> bool:
    """Whether shap evaluates this ensemble with its own C code on numeric splits only
    (XGBoost, LightGBM and CatBoost go to their libraries' native implementations)."""
    model = explainer.model
    return (
        getattr(model, "model_type", None) == "internal"
        and getattr(model, "fully_defined_weighting", False)
        and not np.any(getattr(model, "threshold_types", np.zeros(1)))
        and explainer.feature_perturbation == "tree_path_dependent"
    )


# --------------------------------------------------------------------------- running
def _call(tag: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, Any]:
    return tag, fn(*args)


class _SharedArrays:
    """Large arrays written once to memory-mapped files that workers open by name.

    Each chunk's file is removed as soon as its last task is done, so a long run holds
    only the chunks in flight.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.paths: dict[int, str] = {}

    def share(self, key: int, arr: np.ndarray) -> np.ndarray:
        if arr.nbytes < _SHARE_MIN_BYTES:
            return arr
        path = os.path.join(self.folder, f"chunk{key}.npy")
        np.save(path, arr)
        self.paths[key] = path
        return np.load(path, mmap_mode="r")

    def release(self, key: int) -> None:
        path = self.paths.pop(key, None)
        if path is not None:
            os.remove(path)


@contextlib.contextmanager
def _shared_arrays() -> Iterator[_SharedArrays]:
    root = (
        _SHARED_ROOT if os.path.isdir(_SHARED_ROOT) and os.access(_SHARED_ROOT, os.W_OK) else None
    )
    with tempfile.TemporaryDirectory(prefix="riskmodels-explain-", dir=root) as folder:
        yield _SharedArrays(folder)


def _chunks(n: int, probe: int, n_probes: int, size: int) -> list[tuple[int, int]]:
    """Row ranges: ``n_probes`` chunks of ``probe`` rows, then chunks of ``size`` rows."""
    probe = max(1, probe)
    bounds = [(a, min(a + probe, n)) for a in range(0, min(n, probe * n_probes), probe)]
    start = bounds[-1][1]
    bounds += [(a, min(a + size, n)) for a in range(start, n, size)]
    return bounds


def _compute(
    engine: _Engine,
    preprocess: ColumnTransformer,
    rows: pd.DataFrame,
    *,
    chunk_size: int | None,
    n_jobs: int | None,
    progress: ProgressMode,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, p = len(rows), len(engine.slices)
    contributions = np.zeros((n, p))
    base = np.zeros(n)
    margin = np.empty(n)
    n_workers = max(1, effective_n_jobs(n_jobs))
    size = max(1, int(chunk_size) if chunk_size is not None else engine.default_chunk)
    bounds = _chunks(n, min(engine.probe_rows, size), engine.probe_chunks, size)

    def prepare(c: int, margin_now: bool = True) -> np.ndarray:
        a, b = bounds[c]
        X = _transform(preprocess, rows.iloc[a:b])
        if margin_now:
            margin[a:b] = engine.margin_fn(X)
        else:
            pending.append((c, X))
        return X

    # In parallel mode margins are computed here while the workers run, single-threaded so
    # the model's own thread pool does not compete with them for the cores.
    pending: list[tuple[int, np.ndarray]] = []

    def drain_margins() -> None:
        with threadpool_limits(limits=1):
            while pending:
                c, X = pending.pop()
                a, b = bounds[c]
                margin[a:b] = engine.margin_fn(X)

    def collect(c: int, result: tuple[np.ndarray, Any]) -> None:
        a, b = bounds[c]
        contributions[a:b] += result[0]
        base[a:b] += result[1]

    # The first (small) chunks run here: they surface errors with a plain traceback and
    # time the work, so that short jobs never pay for starting worker processes.
    n_probes = min(engine.probe_chunks, len(bounds))
    seconds_per_row = np.inf
    for c in range(n_probes):
        start = time.perf_counter()
        X = prepare(c)
        for fn, args, _ in engine.tasks(c, X, 1):
            collect(c, fn(*args))
        a, b = bounds[c]
        seconds_per_row = min(seconds_per_row, (time.perf_counter() - start) / (b - a))
    done = bounds[n_probes - 1][1]
    expected = seconds_per_row * (n - done)
    parallel = (
        engine.parallel
        and n_workers > 1
        and len(bounds) > n_probes
        and expected > _PARALLEL_MIN_SECONDS + engine.worker_warmup
    )
    bar = open_progress(
        progress,
        total=n,
        done=done,
        expected_seconds=expected / (n_workers if parallel else 1),
        description=f"Explaining {n:,} rows",
    )
    try:
        if not parallel:
            for c in range(n_probes, len(bounds)):
                X = prepare(c)
                for fn, args, share in engine.tasks(c, X, 1):
                    collect(c, fn(*args))
                    bar.advance(share * (bounds[c][1] - bounds[c][0]))
        else:
            n_chunks = len(bounds) - n_probes
            # Enough tasks to keep every worker busy: split trees when chunks are few.
            n_blocks = -(-3 * n_workers // n_chunks)
            tasks_left: dict[int, int] = {}
            with _shared_arrays() as shared:

                def jobs() -> Iterator[Any]:
                    for c in range(n_probes, len(bounds)):
                        X = shared.share(c, prepare(c, margin_now=False))
                        tasks = engine.tasks(c, X, n_blocks)
                        tasks_left[c] = len(tasks)
                        for fn, args, share in tasks:
                            yield delayed(_call)((c, share), fn, args)

                with Parallel(
                    n_jobs=n_workers, backend="loky", return_as="generator_unordered"
                ) as par:
                    results = par(jobs())
                    drain_margins()
                    for (c, share), result in results:
                        collect(c, result)
                        bar.advance(share * (bounds[c][1] - bounds[c][0]))
                        tasks_left[c] -= 1
                        if tasks_left[c] == 0:
                            shared.release(c)
                        drain_margins()
                drain_margins()
    finally:
        bar.close()
    base += engine.base_offset
    return contributions, base, margin


def _check_additivity(
    contributions: np.ndarray, base: np.ndarray, margin: np.ndarray, clf: Any
) -> None:
    total = base + contributions.sum(axis=1)
    gap = np.abs(total - margin)
    tol = _ADDITIVITY_RTOL * (1.0 + np.abs(margin))
    if np.any(gap > tol):
        i = int(np.argmax(gap - tol))
        raise RiskModelsError(
            f"Explanations of {type(clf).__name__} do not add up to its log-odds: for row {i} "
            f"base + contributions = {total[i]:.9g} but the model gives {margin[i]:.9g}. "
            "This is a bug; please report it with the model type and shap version."
        )


# --------------------------------------------------------------------------- public
def explain(
    pipeline: Pipeline,
    frame: pd.DataFrame,
    spec: DatasetSpec,
    *,
    background: pd.DataFrame | None = None,
    rows: Any = None,
    ids: Any = None,
    proxies: Iterable[str] = (),
    chunk_size: int | None = None,
    n_jobs: int | None = -1,
    progress: ProgressMode = "auto",
    random_state: int | None = 0,
) -> Explanations:
    """Explain a fitted risk model's scores for some rows, feature by feature, in log-odds.

    SHAP values are computed for the pipeline's final classifier on its transformed
    inputs and summed back to the source columns it uses (a categorical's one-hot columns
    become one contribution). They are in the **log-odds of the uncalibrated pipeline**:
    the calibration that turns scores into the probabilities users see is monotone, so
    the direction of each reason holds, but the contributions add up to the uncalibrated
    log-odds, not to the calibrated probability.

    - Tree ensembles (HistGradientBoosting, gradient boosting): ``shap.TreeExplainer``,
      path-dependent (exact; uses each node's training cover, so ``background`` is not
      needed), on the raw log-odds output.
    - Logistic regression: ``shap.LinearExplainer``, interventional: each contribution is
      ``coef * (x - mean of the transformed background)``.
    - Anything else: shap's TreeExplainer is tried; if it cannot handle the model, an
      :class:`ExplainerFallbackWarning` names the reason and shap's model-agnostic
      ``PermutationExplainer`` explains the log-odds of ``predict_proba`` (clipped to
      [1e-6, 1 - 1e-6]) against 100 background rows, switching whole source features on
      and off.

    Every row's ``base value + sum of contributions`` is checked against the model's own
    log-odds (``decision_function`` or the logit of ``predict_proba``).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted ``Pipeline([("preprocess", ColumnTransformer), ("classifier", clf)])``,
        uncalibrated, with one transformer per spec feature, named after it and taking
        ``[feature_name]``.
    frame : pandas.DataFrame
        Rows to explain (it must satisfy ``spec``; target and protected columns optional).
    spec : DatasetSpec
    background : pandas.DataFrame, optional
        A sample of the training frame: the reference population for linear models (its
        mean) and the model-agnostic explainer (100 rows drawn from it). Default: ``frame``
        itself (all its rows, not only those explained), so contributions are measured
        from the frame's average person. Tree models do not use it.
    rows : array of int or bool, optional
        Positions (or a boolean mask) of the rows to explain; default all. Explaining only
        the rows a list will show — e.g. the flagged ones — saves most of the cost.
    ids : array-like, optional
        One id per row of ``frame``; default ``frame[spec.id]``.
    proxies : iterable of str, default ()
        Features the fairness proxy scan flagged as proxies for a protected attribute;
        reasons citing them say so.
    chunk_size : int, optional
        Rows per chunk of work; default depends on the explainer (100,000 for trees).
    n_jobs : int, default -1
        Worker processes (joblib convention; -1 = all cores). Small jobs run in-process.
    progress : bool or "auto", default "auto"
        ``"auto"`` shows a bar (rich in a terminal, tqdm in Jupyter) when the work is
        expected to take more than a few seconds; ``False`` never.
    random_state : int or None, default 0
        Seeds the background sample and the permutation explainer.

    Returns
    -------
    Explanations

    Raises
    ------
    riskmodels.errors.NotFittedError
        If the pipeline is not fitted.
    riskmodels.errors.SchemaError
        If the explained rows or the background fail the spec, the pipeline's transformers
        do not map one-to-one onto the spec's features, or a proxy is not a feature.

    Examples
    --------
    >>> from riskmodels.explain import explain
    >>> from riskmodels.explain._example import make_example
    >>> pipeline, frame, spec = make_example()
    >>> ex = explain(pipeline, frame, spec, background=frame, rows=[3])
    >>> ex.method
    'linear'
    >>> ex.reasons(k=1).loc[0, "reason_1"]
    'Current suicidal ideation: yes (raises risk)'
    """
    raise_problems(
        [
            *check_int(chunk_size, "chunk_size", minimum=1, none_ok=True),
            *check_int(n_jobs, "n_jobs"),
            *(
                [Problem("n_jobs", "0", "pass -1 (all cores) or a positive number")]
                if n_jobs == 0 and not isinstance(n_jobs, bool)
                else []
            ),
            *check_choice(progress, "progress", [True, False, "auto"]),
            *check_seed(random_state),
        ],
        "Invalid argument to explain",
    )
    preprocess, clf = _unpack(pipeline)
    features, slices = _source_slices(preprocess, spec)
    proxy_set = _proxies(proxies, spec)
    if not isinstance(frame, pd.DataFrame):
        spec.validate(frame)  # raises SchemaError naming the type
    positions = _positions(rows, len(frame))
    selected = frame.iloc[positions]
    spec.validate(
        selected if len(selected) else frame, require_target=False, require_protected=False
    )
    if ids is None:
        id_values = selected[spec.id].to_numpy()
    else:
        all_ids = ids.to_numpy() if isinstance(ids, pd.Series | pd.Index) else np.asarray(ids)
        if len(all_ids) != len(frame):
            raise SchemaError(
                Problem(
                    "ids", f"{len(all_ids)} ids", f"pass one id per row of frame ({len(frame)})"
                ),
                context="Invalid argument to explain",
            )
        id_values = all_ids[positions]
    index = pd.Index(id_values, name=spec.id)
    values = _source_values(selected, spec, features, index)

    if len(selected) == 0:
        empty = np.zeros(0)
        contributions, base, margin = np.zeros((0, len(slices))), empty, empty
        method = _method_without_rows(clf)
    else:
        # Without a training sample, the frame itself is the reference population.
        reference = frame if background is None else background
        engine = _choose_engine(preprocess, clf, slices, spec, reference, random_state)
        kwargs = {"chunk_size": chunk_size, "n_jobs": n_jobs, "progress": progress}
        from shap.utils._exceptions import ExplainerError

        try:
            contributions, base, margin = _compute(engine, preprocess, selected, **kwargs)
        except ExplainerError as err:
            if engine.method != "tree":
                raise
            # shap accepted the model but failed on it (e.g. its own additivity check).
            engine = _choose_engine(
                preprocess, clf, slices, spec, reference, random_state,
                reason=f"{type(err).__name__}: {err}",
            )  # fmt: skip
            contributions, base, margin = _compute(engine, preprocess, selected, **kwargs)
        _check_additivity(contributions, base, margin, clf)
        method = engine.method

    return Explanations(
        contributions=pd.DataFrame(contributions, index=index, columns=features),
        base_values=base,
        margin=margin,
        values=values,
        spec=spec,
        proxies=proxy_set,
        method=method,
        rows=positions,
    )
