"""One module per card section, each ``build(inputs, sdc) -> dict`` of top-level card keys.

Sections read typed inputs (:class:`CardInputs`) and ask the objects that own a fact for it
(the calibration scheme from ``RiskModel.calibration_info_``, the headline metrics from
``modeling._evidence.HEADLINE``, the group-adequacy rule from ``FairnessPolicy.adequate``,
flagged proxies from ``ProxyScan.flagged_features``, the gate roll-up from
``GateReport``). Templates only format what the sections return. :mod:`.review` is built
last, from the other sections.
"""

from riskmodels.cards.sections import (
    calibration,
    data,
    explanations,
    factors,
    fairness,
    governance,
    intended_use,
    lifecycle,
    model,
    performance,
    review,
)
from riskmodels.cards.sections._inputs import CardInputs

#: The section builders, in reading order.
BUILDERS = (
    model,
    intended_use,
    factors,
    performance,
    calibration,
    fairness,
    explanations,
    data,
    governance,
    lifecycle,
)

__all__ = ["BUILDERS", "CardInputs", "review"]
