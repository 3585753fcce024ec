"""riskmodels: predictive risk analytics with ethics guardrails.

Risk models whose predictions reach people only as decision support: every model is
wrapped in evidence (performance with CIs, a fairness audit, explanations), documented in
a model card, checked against a written policy and approved before it may score anyone.
"""

from riskmodels import (
    cards,
    datasets,
    errors,
    explain,
    fairness,
    metrics,
    policy,
    release,
    scoring,
    tracking,
)
from riskmodels.cards import CardContext, ModelCard
from riskmodels.data import (
    DataQualityReport,
    DatasetSpec,
    FeatureSpec,
    ProtectedAttribute,
    check_quality,
)
from riskmodels.modeling import Evidence, RiskModel, split
from riskmodels.policy import GateReport, Policy
from riskmodels.release import Release, approve, load_release
from riskmodels.scoring import RiskList, score, verify_audit_log

__version__ = "0.1.0"

__all__ = [
    "CardContext",
    "DataQualityReport",
    "DatasetSpec",
    "Evidence",
    "FeatureSpec",
    "GateReport",
    "ModelCard",
    "Policy",
    "ProtectedAttribute",
    "Release",
    "RiskList",
    "RiskModel",
    "__version__",
    "approve",
    "cards",
    "check_quality",
    "datasets",
    "errors",
    "explain",
    "fairness",
    "load_release",
    "metrics",
    "policy",
    "release",
    "score",
    "scoring",
    "split",
    "tracking",
    "verify_audit_log",
]
