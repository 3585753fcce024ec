"""Train/test splits that match how a risk model will be used."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from riskmodels.data._spec import DatasetSpec
from riskmodels.errors import Problem, SchemaError

__all__ = ["split"]

SPLIT_ATTR = "riskmodels_split"
_METHODS = ("auto", "temporal", "grouped", "random")


def split(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    method: Literal["auto", "temporal", "grouped", "random"] = "auto",
    test_size: float = 0.25,
    *,
    gap_days: int = 0,
    random_state: int | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split labelled data into train and test sets.

    Parameters
    ----------
    frame : pandas.DataFrame
        Labelled data valid against ``spec``.
    spec : DatasetSpec
    method : {"auto", "temporal", "grouped", "random"}
        ``temporal`` trains on earlier snapshots and tests on later ones (the way a model
        is used: trained on the past, applied to the future); ``grouped`` never puts one
        person in both sets; ``random`` is a stratified random split. ``auto`` picks
        temporal if the spec has a time column, else grouped if it has a person column,
        else random.
    test_size : float, default 0.25
        Share of rows (temporal, random) or of people (grouped) in the test set.
    gap_days : int, default 0
        Temporal only: drop training snapshots within this many days of the test period,
        so that training outcomes (e.g. "incident in the next 90 days") cannot overlap
        the test period. Set it to the outcome horizon for a strict evaluation.
    random_state : int or None, default 0

    Returns
    -------
    train, test : pandas.DataFrame
        Both carry ``DataFrame.attrs["riskmodels_split"]`` describing the split; the
        evidence from ``RiskModel.assess`` records it.

    Examples
    --------
    >>> from riskmodels.data import DatasetSpec, FeatureSpec
    >>> spec = DatasetSpec(name="d", target="y", target_description="event", id="i",
    ...     person="p", features=[FeatureSpec(name="x", kind="numeric", description="x")])
    >>> df = pd.DataFrame({"i": range(8), "p": [1, 1, 2, 2, 3, 3, 4, 4],
    ...                    "y": [0, 1] * 4, "x": range(8)})
    >>> train, test = split(df, spec)
    >>> train.attrs["riskmodels_split"]["method"]
    'grouped'
    >>> set(train.p) & set(test.p)
    set()
    """
    problems = []
    if method not in _METHODS:
        problems.append(
            Problem("method", f"unknown split method {method!r}", f"use one of {list(_METHODS)}")
        )
    if not 0 < test_size < 1:
        problems.append(
            Problem("test_size", f"test_size={test_size} is not in (0, 1)", "use e.g. 0.25")
        )
    if method == "temporal" and spec.time is None:
        problems.append(
            Problem(
                "method",
                "temporal split needs a time column in the spec",
                "set `time:` in the spec or use method='grouped'/'random'",
            )
        )
    if method == "grouped" and spec.person is None:
        problems.append(
            Problem(
                "method",
                "grouped split needs a person column in the spec",
                "set `person:` in the spec or use method='random'",
            )
        )
    if problems:
        raise SchemaError(problems, context="Invalid split request")
    frame = spec.validate(frame)
    if method == "auto":
        method = "temporal" if spec.time else "grouped" if spec.person else "random"

    info: dict[str, object] = {"method": method, "test_size": test_size}
    if method == "temporal":
        t = pd.to_datetime(frame[spec.time])
        dates = np.sort(t.unique())
        # the earliest date whose later-or-equal snapshots hold about test_size of rows
        counts = t.value_counts().reindex(dates).to_numpy()
        tail = np.cumsum(counts[::-1])[::-1] / counts.sum()
        start_idx = int(np.nonzero(tail >= test_size)[0][-1])
        if start_idx == 0:
            raise SchemaError(
                Problem(
                    spec.time,
                    "all rows share one snapshot date; a temporal split needs at least two",
                    "use method='grouped' or 'random'",
                )
            )
        cutoff = pd.Timestamp(dates[start_idx])
        test_mask = (t >= cutoff).to_numpy()
        train_mask = (t < cutoff - pd.Timedelta(days=gap_days)).to_numpy()
        info.update(
            cutoff=str(cutoff.date()),
            gap_days=gap_days,
            train_window=[str(t[train_mask].min().date()), str(t[train_mask].max().date())],
            test_window=[str(cutoff.date()), str(t.max().date())],
        )
    elif method == "grouped":
        gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
        _train_idx, test_idx = next(gss.split(frame, groups=frame[spec.person]))
        test_mask = np.zeros(len(frame), dtype=bool)
        test_mask[test_idx] = True
        train_mask = ~test_mask
    else:
        idx = np.arange(len(frame))
        _, test_idx = train_test_split(
            idx, test_size=test_size, random_state=random_state, stratify=frame[spec.target]
        )
        test_mask = np.zeros(len(frame), dtype=bool)
        test_mask[test_idx] = True
        train_mask = ~test_mask
    train, test = frame[train_mask].copy(), frame[test_mask].copy()
    info.update(n_train=len(train), n_test=len(test))
    train.attrs[SPLIT_ATTR] = dict(info, role="train")
    test.attrs[SPLIT_ATTR] = dict(info, role="test")
    return train, test
