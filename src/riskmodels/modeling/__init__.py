"""RiskModel, estimator presets, splits, calibration and Evidence."""

from riskmodels.modeling._evidence import Evidence
from riskmodels.modeling._model import RiskModel, frame_sha256
from riskmodels.modeling._presets import PRESETS, build_pipeline, build_preprocessor
from riskmodels.modeling._split import split

__all__ = [
    "PRESETS",
    "Evidence",
    "RiskModel",
    "build_pipeline",
    "build_preprocessor",
    "frame_sha256",
    "split",
]
