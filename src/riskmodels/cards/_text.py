"""The card's fixed plain-language text: statements, limitations and metric meanings.

Kept apart from the code that assembles a card so that reviewers of the wording (and of
its sources) can read it in one place.
"""

from __future__ import annotations

__all__ = [
    "CANNOT_KNOW",
    "CRITERIA",
    "DECISION_SUPPORT_STATEMENT",
    "LABEL_BIAS",
    "METRIC_LABELS",
    "METRIC_TEXT",
    "STANDING_PROHIBITIONS",
    "TRADEOFF",
]

DECISION_SUPPORT_STATEMENT = (
    "This model is decision support only. Its scores help people decide whom to check on "
    "or offer support to first; they never make or replace a decision about a person. "
    "Every output must be reviewed by a person with the authority and competence to "
    "disagree with it, who records what they decided and why (UK GDPR Articles 22A-22D; "
    "Data Protection Act 2018 ss.50A-50D). The library has no code path that turns a "
    "score into an action: operational scores come only from an approved release, for a "
    "purpose the release policy permits."
)

STANDING_PROHIBITIONS = (
    "Any decision based solely on the score, without meaningful human review.",
    "Any decision about liberty or punishment (sentencing, parole, disciplinary "
    "decisions, security categorisation), or any restriction applied without a person "
    "deciding.",
    "Different thresholds or treatment for different protected groups at decision time "
    "(possible direct discrimination under the Equality Act 2010).",
    "Scoring people outside the population and period the model was trained and "
    "evaluated on, or after the release's validity date.",
)

LABEL_BIAS = (
    "The model learns from recorded incidents, and recorded incidents are not all "
    "incidents. Self-harm that staff do not see and violence that is not reported or "
    "not adjudicated are missing from the labels, and recording practice differs between "
    "establishments, wings and groups of people. If one group's incidents are recorded "
    "more often (for example because it is watched more closely), the model learns to "
    "score that group higher, and the fairness audit, which uses the same recorded "
    "labels, cannot detect it."
)

CANNOT_KNOW = (
    "The model sees only the features listed under Model details, as recorded at the "
    "snapshot. It cannot know what happened after the snapshot, what a person says to "
    "staff, their state of mind beyond what is recorded, or anything about settings "
    "unlike its training data (new establishments, changed policies or recording "
    "practice). A score describes people with similar records; it is not a statement "
    "about what this person will do."
)

TRADEOFF = (
    "When the share of people with a recorded incident (the base rate) differs between "
    "groups, no risk score that is short of perfect can be calibrated within every group "
    "(a given score meaning the same risk for everyone) and also give every group the "
    "same false positive and false negative rates (Chouldechova 2017; Kleinberg, "
    "Mullainathan and Raghavan 2016). The COMPAS recidivism tool is the well-known "
    "example: its scores were calibrated across Black and white defendants, yet 45% of "
    "Black defendants who did not reoffend were labelled high risk against 23% of white "
    "defendants. A choice between these criteria has to be made, and written down."
)

CRITERIA = {
    "calibration_within_groups": (
        "calibration within groups",
        "A given score means the same risk whatever a person's group, so staff can read "
        "it the same way for everyone. The price is that error rates (people flagged "
        "without an incident, incidents missed) can differ between groups whose base "
        "rates differ; those differences are shown below and must be acknowledged by the "
        "reviewer, not hidden.",
    ),
    "equalised_odds": (
        "equal error rates (equalised odds)",
        "Groups get similar true and false positive rates. The price is that the same "
        "score can mean a different risk in different groups, so a score cannot be read "
        "the same way for everyone.",
    ),
    "equal_opportunity": (
        "equal true positive rates (equal opportunity)",
        "People who go on to have an incident are flagged at similar rates in every "
        "group. The price is that false positive rates and the meaning of a score can "
        "differ between groups.",
    ),
    "predictive_parity": (
        "equal positive predictive value (predictive parity)",
        "A flag means a similar chance of an incident in every group. The price is that "
        "error rates can differ between groups whose base rates differ.",
    ),
    "demographic_parity": (
        "equal flag rates (demographic parity)",
        "Every group is flagged at a similar rate. The price is that flags no longer "
        "track risk equally well in groups whose base rates differ.",
    ),
}
CRITERIA["equalized_odds"] = CRITERIA["equalised_odds"]
CRITERIA["error_rate_balance"] = (
    "balanced error rates",
    "Groups get similar false positive and false negative rates. The price is that the "
    "same score can mean a different risk in different groups, so a score cannot be read "
    "the same way for everyone.",
)

#: Label and meaning of each headline metric (``modeling._evidence.HEADLINE`` says which
#: metrics are headline and in what order; this only words them).
METRIC_TEXT: tuple[tuple[str, str, str], ...] = (
    (
        "auc",
        "AUC (ranking)",
        "Chance that a random person with an incident is scored above a random person "
        "without one: 0.5 is chance, 1 is perfect. Validated justice tools reach about 0.70.",
    ),
    (
        "average_precision",
        "Average precision",
        "Precision averaged over all thresholds; compare it with the base rate.",
    ),
    ("brier", "Brier score", "Mean squared error of the predicted risk; lower is better."),
    (
        "brier_skill",
        "Brier skill score",
        "Improvement over predicting the base rate for everyone: 0 is no better, higher is better.",
    ),
    (
        "ece_uniform",
        "Expected calibration error",
        "Average gap between predicted risk and observed share, over 10 bands of risk; "
        "lower is better.",
    ),
    (
        "calibration_slope",
        "Calibration slope",
        "1 is ideal; below 1 the predictions are too extreme, above 1 too timid "
        "(0.8-1.2 is acceptable, Van Calster et al. 2019).",
    ),
    (
        "calibration_intercept",
        "Calibration-in-the-large",
        "0 is ideal: on average the predicted risk neither over- nor under-states the "
        "observed risk (log-odds; within ±0.2 is acceptable).",
    ),
    (
        "oe_ratio",
        "Observed / expected incidents",
        "1 is ideal: as many incidents were recorded as the model predicted (0.8-1.25 "
        "is acceptable).",
    ),
    (
        "tpr",
        "True positive rate",
        "Share of people with an incident who were flagged (at the decision threshold).",
    ),
    (
        "fpr",
        "False positive rate",
        "Share of people without an incident who were flagged.",
    ),
    ("ppv", "Positive predictive value", "Share of flagged people who had an incident."),
)

#: Short names of group metrics, for table headings and the reviewer summary.
METRIC_LABELS = {
    "selection_rate": "Share flagged",
    "tpr": "True positive rate",
    "fpr": "False positive rate",
    "fnr": "False negative rate",
    "ppv": "Positive predictive value",
    "npv": "Negative predictive value",
    "auc": "AUC",
    "ece": "Calibration error",
    "base_rate": "Base rate",
    "oe_ratio": "Observed / expected",
}
