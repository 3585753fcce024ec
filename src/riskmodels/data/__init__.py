"""Dataset specs, validation, data-quality profiling and datasets."""

from riskmodels.data import datasets
from riskmodels.data._profile import FeatureProfile, TrainingProfile
from riskmodels.data._quality import DataQualityReport, check_quality
from riskmodels.data._read import read_frame
from riskmodels.data._spec import DatasetSpec, FeatureSpec, ProtectedAttribute

__all__ = [
    "DataQualityReport",
    "DatasetSpec",
    "FeatureProfile",
    "FeatureSpec",
    "ProtectedAttribute",
    "TrainingProfile",
    "check_quality",
    "datasets",
    "read_frame",
]
