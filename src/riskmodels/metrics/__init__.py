"""Performance metrics and bootstrap confidence intervals, computed from count tables."""

from riskmodels.metrics._counts import (
    auc_from_counts,
    exact_bins,
    multinomial_resample,
    quantile_bins,
    safe_ratio,
)

__all__ = [
    "auc_from_counts",
    "exact_bins",
    "multinomial_resample",
    "quantile_bins",
    "safe_ratio",
]
