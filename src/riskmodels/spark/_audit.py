"""spark.audit(): the fairness audit's cells counted in Spark, the audit by the one engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmodels.errors import Problem, SchemaError
from riskmodels.spark._pyspark import require_pyspark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from riskmodels.fairness import FairnessAudit

__all__ = ["audit"]

#: The name of the cell count in the aggregated frame (never a user column: see _cells).
_N = "__riskmodels_n__"


def _cells(
    F: Any, frame: Any, y_true: str, y_score: str, sensitive: list[str], decimals: int | None
) -> pd.DataFrame:
    """One group-by over the attributes, the label and the score: the distinct cells and
    their row counts (as small as the number of distinct scores allows; ``decimals``
    bounds it)."""
    score = F.col(y_score).cast("double")
    if decimals is not None:
        score = F.round(score, decimals)
    keyed = frame.select(
        *[F.col(c) for c in sensitive], F.col(y_true).alias(y_true), score.alias(y_score)
    )
    return keyed.groupBy(*sensitive, y_true, y_score).agg(F.count(F.lit(1)).alias(_N)).toPandas()


def _expanded_attribute(values: pd.Series, repeat: np.ndarray) -> pd.Categorical:
    """One attribute's cell values, each repeated by its count, as a categorical with
    sorted categories (missing stays missing)."""
    codes, categories = pd.factorize(values, sort=True, use_na_sentinel=True)
    return pd.Categorical.from_codes(np.repeat(codes, repeat), categories=categories)


def audit(
    spark_df: DataFrame,
    *,
    y_true: str,
    y_score: str,
    sensitive: Sequence[str],
    threshold: float,
    n_boot: int = 1000,
    score_decimals: int | None = None,
    reference: str | Mapping[str, object] = "largest",
    intersections: bool = True,
    confidence: float = 0.95,
    min_group_size: int = 50,
    random_state: int | None = None,
) -> FairnessAudit:
    """The fairness audit of a Spark DataFrame's scores: one Spark aggregation, then
    :func:`riskmodels.fairness.audit`'s engine.

    The DataFrame is reduced in Spark to its distinct cells (attributes x label x score)
    with their counts; the engine's count tensor (attribute group x label x score bin)
    is built from these, so point estimates, intervals (for the same ``random_state``)
    and disparities equal ``rm.fairness.audit`` on the same rows. The driver holds one
    entry per distinct cell: with continuous scores that is up to the number of rows;
    ``score_decimals`` rounds scores first (4 decimals: at most 10,001 scores per group
    and label), and the audit is then that of the rounded scores.

    Parameters
    ----------
    spark_df : pyspark.sql.DataFrame
        One row per person (or person-period), with the columns named below.
    y_true, y_score : str
        The columns of observed outcomes (0/1) and of scores.
    sensitive : sequence of str
        The protected attributes' columns (missing values form a ``"missing"`` group).
    threshold : float
        The decision threshold: predicted positive iff ``score >= threshold``.
    n_boot : int, default 1000
        Bootstrap replicates (cells resampled, not rows: cost independent of n).
    score_decimals : int, optional
        Round scores to this many decimals in Spark before counting.
    reference, intersections, confidence, min_group_size, random_state
        As :func:`riskmodels.fairness.audit`.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    SchemaError
        A named column is missing, or the engine's input checks fail (listed at once).
    DependencyError
        pyspark is not installed.

    Examples
    --------
    >>> import riskmodels as rm
    >>> a = rm.spark.audit(scored, y_true="incident", y_score="score", sensitive=["sex"],
    ...                    threshold=0.2, n_boot=200, random_state=0)  # doctest: +SKIP
    >>> a.by_group[["group", "n", "tpr"]]  # doctest: +SKIP
    """
    from riskmodels.fairness import audit as fairness_audit

    F = require_pyspark()
    sensitive = list(sensitive)
    missing = [c for c in [y_true, y_score, *sensitive] if c not in spark_df.columns]
    if missing:
        raise SchemaError(
            [Problem(c, "column is missing", "name a column of the DataFrame") for c in missing],
            context="Invalid input to riskmodels.spark.audit",
        )
    cells = _cells(F, spark_df, y_true, y_score, sensitive, score_decimals)
    # the engine counts rows; each distinct cell stands for its count of identical rows
    # (the tensor, and so every estimate and replicate, depends on the counts only).
    # Attributes are expanded as sorted categoricals: the groups' order, and so the
    # bootstrap's draws, are those of rm.fairness.audit on the raw values.
    repeat = cells[_N].to_numpy(dtype=np.int64)
    groups = pd.DataFrame({c: _expanded_attribute(cells[c], repeat) for c in sensitive}, copy=False)
    return fairness_audit(
        np.repeat(cells[y_true].to_numpy(), repeat),
        np.repeat(cells[y_score].to_numpy(dtype=float), repeat),
        groups if len(sensitive) > 1 else groups[sensitive[0]],
        threshold=threshold,
        reference=reference,
        intersections=intersections,
        n_boot=n_boot,
        confidence=confidence,
        min_group_size=min_group_size,
        random_state=random_state,
    )
