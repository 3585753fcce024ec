"""Performance metrics and their confidence intervals, computed from count tables.

Exact point metrics (:func:`roc_auc`, :func:`average_precision`, :func:`brier`,
:func:`brier_skill`, :func:`ece`, :func:`calibration_slope_intercept`, :func:`oe_ratio`,
:func:`reliability_curve`, :func:`confusion_at_threshold`, :func:`roc_curve_points`), and
:func:`performance_report`, which puts them all in a :class:`PerformanceReport` of
:class:`Estimate` values with confidence intervals. The count core
(:func:`auc_from_counts`, :func:`multinomial_resample`, :func:`quantile_bins`, ...) and the
one interval rule (:func:`proportion_interval`: exact intervals for rates;
:func:`percentile_interval`: the bootstrap for everything else) are shared with the
fairness audit. :func:`venn_abers` gives each person's score a range (Venn-Abers).
"""

from riskmodels.metrics._counts import (
    auc_from_counts,
    exact_bins,
    multinomial_resample,
    quantile_bins,
    safe_ratio,
)
from riskmodels.metrics._intervals import percentile_interval, proportion_interval
from riskmodels.metrics._net_benefit import decision_curve, net_benefit
from riskmodels.metrics._performance import (
    average_precision,
    brier,
    brier_skill,
    calibration_slope_intercept,
    confusion_at_threshold,
    ece,
    oe_ratio,
    reliability_curve,
    roc_auc,
    roc_curve_points,
)
from riskmodels.metrics._report import (
    Estimate,
    PerformanceReport,
    performance_report,
    roc_auc_ci,
)
from riskmodels.metrics._venn_abers import VennAbers, venn_abers

__all__ = [
    "Estimate",
    "PerformanceReport",
    "VennAbers",
    "auc_from_counts",
    "average_precision",
    "brier",
    "brier_skill",
    "calibration_slope_intercept",
    "confusion_at_threshold",
    "decision_curve",
    "ece",
    "exact_bins",
    "multinomial_resample",
    "net_benefit",
    "oe_ratio",
    "percentile_interval",
    "performance_report",
    "proportion_interval",
    "quantile_bins",
    "reliability_curve",
    "roc_auc",
    "roc_auc_ci",
    "roc_curve_points",
    "safe_ratio",
    "venn_abers",
]
