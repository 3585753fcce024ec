"""Explanations of risk scores: global importance and per-person reasons in plain language.

SHAP values of a fitted pipeline's final classifier, computed in its transformed feature
space and summed back to the dataset spec's source columns. All values are in the
**log-odds of the uncalibrated pipeline**; the calibration applied to user-facing
probabilities is monotone, so a feature that raises the log-odds raises the calibrated
risk too, but contributions do not add up to the calibrated probability.

Examples
--------
>>> from riskmodels.explain import explain
>>> from riskmodels.explain._example import make_example
>>> pipeline, frame, spec = make_example()
>>> ex = explain(pipeline, frame, spec, background=frame)
>>> ex.global_importance().loc[0, "feature"]
'ideation'
"""

from riskmodels.explain._explain import ExplainerFallbackWarning, explain
from riskmodels.explain._explanations import Explanations

__all__ = ["ExplainerFallbackWarning", "Explanations", "explain"]
