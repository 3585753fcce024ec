"""Every result type has the same four JSON forms (to_json/from_json, save/load), each a
lossless round trip; a file that is not the type's JSON is refused with SchemaError."""

from __future__ import annotations

import pytest

from riskmodels.data import TrainingProfile
from riskmodels.errors import SchemaError
from riskmodels.fairness import FairnessAudit, ProxyScan
from riskmodels.metrics import PerformanceReport


@pytest.fixture(scope="module")
def results(fitted):
    model, evidence, _, _ = fitted
    assert evidence.fairness is not None and evidence.proxies is not None
    return {
        PerformanceReport: evidence.performance,
        FairnessAudit: evidence.fairness,
        ProxyScan: evidence.proxies,
        TrainingProfile: model.profile_,
    }


@pytest.mark.parametrize(
    "cls", [PerformanceReport, FairnessAudit, ProxyScan, TrainingProfile], ids=lambda c: c.__name__
)
def test_text_and_file_round_trips_are_lossless(results, cls, tmp_path):
    obj = results[cls]
    text = obj.to_json()
    again = cls.from_json(text)
    assert type(again) is cls
    assert again.to_json() == text
    assert again.to_dict() == obj.to_dict()
    path = tmp_path / f"{cls.__name__}.json"
    obj.save(path)
    assert cls.load(path).to_json() == text
    with pytest.raises(SchemaError, match=cls.__name__):
        cls.from_json("not json {")
