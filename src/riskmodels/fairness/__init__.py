"""Fairness audit engine: group metrics with CIs, disparities, proxies and mitigation.

* :func:`audit` -> :class:`FairnessAudit`: per-group rates, AUC and calibration with
  percentile bootstrap CIs, disparities against a reference group, intersections. Built
  from count tensors (one ``np.bincount`` pass) and a multinomial bootstrap over cells.
* :func:`proxy_scan` -> :class:`ProxyScan`: how well the features predict each protected
  attribute, jointly (cross-validated AUC) and one by one (Cramér's V).
* :func:`rates_at_thresholds`: selection rate, TPR, FPR, FNR and PPV at candidate thresholds,
  overall and by group, each with its exact interval (one count pass per threshold).
* :func:`outcomes_by_score`: observed outcome rate at each level of an ordinal score.
* :func:`mitigate` -> :class:`MitigatedModel`: fairlearn's exponentiated gradient or
  threshold optimizer around any model exposing ``spec`` and ``make_estimator()``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from riskmodels import fairness
>>> rng = np.random.default_rng(1)
>>> score = rng.random(2000)
>>> y = (rng.random(2000) < score).astype(int)
>>> sex = pd.Series(rng.choice(["F", "M"], 2000), name="sex")
>>> a = fairness.audit(y, score, sex, threshold=0.5, n_boot=200, random_state=0)
>>> sorted(a.disparities["metric"].unique()) == sorted(fairness.DISPARITY_METRICS)
True
"""

from riskmodels.fairness._audit import (
    BY_GROUP_COLUMNS,
    CALIBRATION_COLUMNS,
    DISPARITY_COLUMNS,
    DISPARITY_METRICS,
    FairnessAudit,
    Gap,
    audit,
)
from riskmodels.fairness._engine import CALIBRATION_BINS, METRICS, N_SCORE_BINS
from riskmodels.fairness._mitigate import CONSTRAINTS, METHODS, MitigatedModel, mitigate
from riskmodels.fairness._ordinal import outcomes_by_score
from riskmodels.fairness._plots import ErrorRateDisplay, GroupCalibrationDisplay
from riskmodels.fairness._proxy import N_QUANTILES, ProxyScan, cramers_v, proxy_scan
from riskmodels.fairness._thresholds import (
    THRESHOLD_COLUMNS,
    THRESHOLD_METRICS,
    rates_at_thresholds,
)

__all__ = [
    "BY_GROUP_COLUMNS",
    "CALIBRATION_BINS",
    "CALIBRATION_COLUMNS",
    "CONSTRAINTS",
    "DISPARITY_COLUMNS",
    "DISPARITY_METRICS",
    "METHODS",
    "METRICS",
    "N_QUANTILES",
    "N_SCORE_BINS",
    "THRESHOLD_COLUMNS",
    "THRESHOLD_METRICS",
    "ErrorRateDisplay",
    "FairnessAudit",
    "Gap",
    "GroupCalibrationDisplay",
    "MitigatedModel",
    "ProxyScan",
    "audit",
    "cramers_v",
    "mitigate",
    "outcomes_by_score",
    "proxy_scan",
    "rates_at_thresholds",
]
