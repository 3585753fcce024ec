"""Spark adapters: the same guardrails and the same code per partition, at any scale.

:func:`score` runs :func:`riskmodels.score`'s per-chunk scoring in every partition
(``mapInPandas`` over Arrow batches) after the release, purpose, data and drift are
checked over the whole Spark DataFrame; :func:`audit` builds the fairness audit's counts
in one Spark aggregation and hands them to :func:`riskmodels.fairness.audit`'s engine.

pyspark is an optional dependency (``pip install riskmodels[spark]``): importing this
package does not import it; calling either function without it raises
:class:`~riskmodels.errors.DependencyError`. See ``docs/scale.md``.
"""

from __future__ import annotations

from riskmodels.spark._audit import audit
from riskmodels.spark._score import score, to_risk_list

__all__ = ["audit", "score", "to_risk_list"]
