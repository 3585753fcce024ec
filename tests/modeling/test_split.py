"""Splits: temporal never trains on the future; grouped never shares a person."""

from __future__ import annotations

import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.errors import SchemaError


def test_temporal_split_never_puts_a_later_snapshot_in_train(sim):
    frame, spec, _ = sim(400, months=6)
    train, test = rm.split(frame, spec, method="temporal", test_size=0.3)
    assert train.snapshot_date.max() < test.snapshot_date.min()
    assert len(train) + len(test) == len(frame)
    assert test.attrs["riskmodels_split"]["method"] == "temporal"
    assert 0.2 <= len(test) / len(frame) <= 0.4


def test_temporal_gap_drops_training_rows_near_the_cutoff(sim):
    frame, spec, _ = sim(200, months=6)
    train, test = rm.split(frame, spec, method="temporal", test_size=0.3, gap_days=45)
    gap = test.snapshot_date.min() - train.snapshot_date.max()
    assert gap > pd.Timedelta(days=45)


def test_grouped_split_never_shares_a_person(sim):
    frame, spec, _ = sim(400)
    train, test = rm.split(frame, spec, method="grouped", test_size=0.25)
    assert not set(train.person_id) & set(test.person_id)
    assert len(train) + len(test) == len(frame)


def test_random_split_is_stratified(sim):
    frame, spec, _ = sim(400)
    train, test = rm.split(frame, spec, method="random")
    assert abs(train.incident.mean() - test.incident.mean()) < 0.01


def test_auto_picks_temporal_then_grouped_then_random(sim):
    frame, spec, _ = sim(200)
    assert rm.split(frame, spec)[1].attrs["riskmodels_split"]["method"] == "temporal"
    spec2 = spec.model_copy(update={"time": None})
    assert rm.split(frame, spec2)[1].attrs["riskmodels_split"]["method"] == "grouped"
    spec3 = spec.model_copy(update={"time": None, "person": None})
    assert rm.split(frame, spec3)[1].attrs["riskmodels_split"]["method"] == "random"


def test_bad_split_requests(sim):
    frame, spec, _ = sim(100)
    with pytest.raises(SchemaError, match="unknown split method"):
        rm.split(frame, spec, method="kfold")
    with pytest.raises(SchemaError, match="test_size"):
        rm.split(frame, spec, test_size=1.5)
    with pytest.raises(SchemaError, match="temporal split needs a time column"):
        rm.split(frame, spec.model_copy(update={"time": None}), method="temporal")
    with pytest.raises(SchemaError) as exc:
        rm.split(frame.drop(columns="age"), spec)
    assert exc.value.columns == ["age"]
