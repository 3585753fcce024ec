"""MLflow tracking: one run per assessment, with evidence and card as artifacts."""

from riskmodels.tracking._mlflow import DEFAULT_TRACKING_URI, log_assessment

__all__ = ["DEFAULT_TRACKING_URI", "log_assessment"]
