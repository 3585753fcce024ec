"""Release policies: permitted purposes, gate thresholds, and the gate report.

A :class:`Policy` is a YAML document (the default is ``fairness/policy.yaml``, every
threshold with its rationale and source). :meth:`Policy.check` turns evidence into a
:class:`GateReport`; :func:`riskmodels.approve` refuses a release while a gate is not
passed or waived, and :func:`riskmodels.score` refuses purposes the policy does not permit.
"""

from riskmodels.policy._check import needs_protected_at_scoring
from riskmodels.policy._gates import GATE_STATUSES, NON_WAIVABLE, Gate, GateReport
from riskmodels.policy._policy import REQUIRED_PROHIBITED, Bands, Policy

__all__ = [
    "GATE_STATUSES",
    "NON_WAIVABLE",
    "REQUIRED_PROHIBITED",
    "Bands",
    "Gate",
    "GateReport",
    "Policy",
    "needs_protected_at_scoring",
]
