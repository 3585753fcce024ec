"""riskmodels: predictive risk analytics with ethics guardrails.

Risk models whose predictions reach people only as decision support: every model is
wrapped in evidence (performance with CIs, a fairness audit, explanations), documented in
a model card, checked against a written policy and approved before it may score anyone.

The public names below are loaded on first use (PEP 562): ``import riskmodels`` itself
imports nothing heavy, so the command line (whose modules live in this package) starts
in a fraction of a second, and ``rm.RiskModel``, ``rm.fairness.audit``, ... behave
exactly as if they had been imported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from riskmodels._version import __version__

#: Where each public class or function is defined (its subpackage).
_LAZY_ATTRS = {
    "CardContext": "riskmodels.cards",
    "ModelCard": "riskmodels.cards",
    "DataQualityReport": "riskmodels.data",
    "DatasetSpec": "riskmodels.data",
    "FeatureSpec": "riskmodels.data",
    "ProtectedAttribute": "riskmodels.data",
    "check_quality": "riskmodels.data",
    "Evidence": "riskmodels.modeling",
    "RiskModel": "riskmodels.modeling",
    "split": "riskmodels.modeling",
    "GateReport": "riskmodels.policy",
    "Policy": "riskmodels.policy",
    "Release": "riskmodels.release",
    "add_approval": "riskmodels.release",
    "approve": "riskmodels.release",
    "load_release": "riskmodels.release",
    "RiskList": "riskmodels.scoring",
    "score": "riskmodels.scoring",
    "verify_audit_log": "riskmodels.scoring",
}

#: Public subpackages and modules (any other submodule is reachable the same way).
_SUBMODULES = (
    "cards",
    "datasets",
    "errors",
    "explain",
    "fairness",
    "metrics",
    "monitoring",
    "policy",
    "release",
    "scoring",
    "spark",
    "thresholds",
    "tracking",
)

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
    "add_approval",
    "approve",
    "cards",
    "check_quality",
    "datasets",
    "errors",
    "explain",
    "fairness",
    "load_release",
    "metrics",
    "monitoring",
    "policy",
    "release",
    "score",
    "scoring",
    "spark",
    "split",
    "thresholds",
    "tracking",
    "verify_audit_log",
]


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule, the first time it is asked for.

    Parameters
    ----------
    name : str
        A name from ``__all__`` or the name of a submodule (``rm.modeling``, ``rm.data``).

    Returns
    -------
    object
        The class, function or module; cached in the package namespace, so later lookups
        do not come back here.

    Raises
    ------
    AttributeError
        If ``name`` is neither a public name nor a submodule.
    """
    source = _LAZY_ATTRS.get(name)
    if source is not None:
        value = getattr(importlib.import_module(source), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):  # dunder probes (copy, pickle, doctest) are not modules
        try:
            # Importing a submodule also binds it as an attribute of this package.
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise  # the submodule exists but one of its own imports is missing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from riskmodels import (
        cards,
        datasets,
        errors,
        explain,
        fairness,
        metrics,
        monitoring,
        policy,
        release,
        scoring,
        spark,
        thresholds,
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
    from riskmodels.release import Release, add_approval, approve, load_release
    from riskmodels.scoring import RiskList, score, verify_audit_log
