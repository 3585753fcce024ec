"""riskmodels: predictive risk analytics with ethics guardrails.

Risk models whose predictions reach people only as decision support: every model is
wrapped in evidence (performance with CIs, a fairness audit, explanations), documented in
a model card, checked against a written policy and approved before it may score anyone.
"""

from riskmodels import datasets, errors, fairness, metrics
from riskmodels.data import (
    DataQualityReport,
    DatasetSpec,
    FeatureSpec,
    ProtectedAttribute,
    check_quality,
)
from riskmodels.modeling import Evidence, RiskModel, split

__version__ = "0.1.0"

__all__ = [
    "DataQualityReport",
    "DatasetSpec",
    "Evidence",
    "FeatureSpec",
    "ProtectedAttribute",
    "RiskModel",
    "__version__",
    "check_quality",
    "datasets",
    "errors",
    "fairness",
    "metrics",
    "split",
]
