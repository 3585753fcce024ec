"""DatasetSpec: construction, YAML round trip and validation reporting every problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.errors import SchemaError


def make_spec(**overrides) -> rm.DatasetSpec:
    data = dict(
        name="toy",
        target="incident",
        target_description="Incident in the next 90 days",
        id="record_id",
        time="snapshot_date",
        person="person_id",
        features=[
            dict(name="age", kind="numeric", description="Age", min=18, max=100, unit="years"),
            dict(
                name="regime",
                kind="categorical",
                description="Regime",
                categories=["open", "closed"],
            ),
            dict(name="previous_self_harm", kind="binary", description="Previous self-harm"),
        ],
        protected=[dict(name="sex", description="Sex", categories=["F", "M"])],
    )
    data.update(overrides)
    return rm.DatasetSpec.from_dict(data)


def make_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": [1, 2, 3, 4],
            "person_id": [10, 10, 11, 12],
            "snapshot_date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-01-01", "2024-01-01"]
            ),
            "incident": [0, 1, 0, 1],
            "age": [25.0, 25.5, 40.0, np.nan],
            "regime": ["open", "closed", "open", None],
            "previous_self_harm": [0, 1, 0, 1],
            "sex": ["F", "F", "M", "M"],
        }
    )


def problem_for(err: SchemaError, column: str) -> str:
    found = [p.found for p in err.problems if p.column == column]
    assert found, f"no problem reported for {column!r}: {err}"
    return found[0]


def test_valid_frame_passes_and_is_not_modified():
    spec, frame = make_spec(), make_frame()
    before = frame.copy()
    out = spec.validate(frame)
    pd.testing.assert_frame_equal(out, before)
    pd.testing.assert_frame_equal(frame, before)


def test_yaml_round_trip(tmp_path):
    spec = make_spec(baseline_features=["age"])
    path = tmp_path / "spec.yaml"
    spec.to_yaml(path)
    assert rm.DatasetSpec.from_yaml(path) == spec


@pytest.mark.parametrize(
    "column",
    [
        "incident",
        "record_id",
        "snapshot_date",
        "person_id",
        "age",
        "regime",
        "previous_self_harm",
        "sex",
    ],
)
def test_missing_column_is_named(column):
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(make_frame().drop(columns=column))
    assert "missing" in problem_for(exc.value, column)


def test_wrong_dtype():
    frame = make_frame().assign(age=["25", "x", "40", "50"])
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    assert "numeric" in problem_for(exc.value, "age")


def test_out_of_range():
    frame = make_frame().assign(age=[25.0, 12.0, 140.0, 30.0])
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    found = [p.found for p in exc.value.problems if p.column == "age"]
    assert any("below the minimum" in f for f in found)
    assert any("above the maximum" in f for f in found)


def test_unseen_category():
    frame = make_frame().assign(regime=["open", "semi", "open", "closed"])
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    assert "semi" in problem_for(exc.value, "regime")


def test_non_binary_target():
    frame = make_frame().assign(incident=[0, 1, 2, 1])
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    assert "not binary" in problem_for(exc.value, "incident")


def test_nan_in_target_and_id():
    frame = make_frame().assign(incident=[0, 1, np.nan, 1], record_id=[1, np.nan, 3, 4])
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    assert "missing target" in problem_for(exc.value, "incident")
    assert "missing id" in problem_for(exc.value, "record_id")


def test_duplicate_ids_within_snapshot():
    frame = make_frame().assign(record_id=[1, 1, 1, 4])  # rows 0 and 2 share a snapshot
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    assert "1 duplicate id" in problem_for(exc.value, "record_id")


def test_same_id_in_different_snapshots_is_fine():
    frame = make_frame().assign(record_id=[1, 1, 3, 4])  # rows 0, 1 differ in date
    make_spec().validate(frame)


def test_empty_frame():
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(make_frame().iloc[:0])
    assert any("0 rows" in p.found for p in exc.value.problems)


def test_several_problems_reported_together():
    frame = (
        make_frame()
        .drop(columns="sex")
        .assign(
            age=[25.0, 12.0, 40.0, 30.0],
            regime=["open", "semi", "open", "open"],
            incident=[0, 1, 3, 1],
        )
    )
    with pytest.raises(SchemaError) as exc:
        make_spec().validate(frame)
    assert set(exc.value.columns) >= {"sex", "age", "regime", "incident"}
    message = str(exc.value)
    for col in ("sex", "age", "regime", "incident"):
        assert repr(col) in message
    assert "Hint:" in message


def test_scoring_frame_needs_no_target_or_protected():
    frame = make_frame().drop(columns=["incident", "sex"])
    make_spec().validate(frame, require_target=False, require_protected=False)


def test_string_dtypes_accepted():
    frame = make_frame().astype({"regime": "string", "sex": "category"})
    make_spec().validate(frame)


def test_protected_attribute_as_feature_needs_justification():
    feats = make_spec().model_dump()["features"] + [
        dict(name="sex", kind="categorical", description="Sex")
    ]
    with pytest.raises(SchemaError, match="justification"):
        make_spec(features=feats)
    feats[-1]["justification"] = "Women's estate has a different regime; reviewed by ethics board"
    spec = make_spec(features=feats)
    assert "sex" in spec.feature_names


def test_unknown_key_and_bad_kind_are_schema_errors(tmp_path):
    with pytest.raises(SchemaError) as exc:
        make_spec(colour="red")
    assert exc.value.columns == ["colour"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ntarget: y\ntarget_description: d\nid: i\n"
        "features:\n  - {name: a, kind: ordinal, description: A}\n"
    )
    with pytest.raises(SchemaError, match="kind"):
        rm.DatasetSpec.from_yaml(bad)


def test_from_yaml_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SchemaError, match="cannot read"):
        rm.DatasetSpec.from_yaml(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SchemaError, match="not valid YAML"):
        rm.DatasetSpec.from_yaml(tmp_path / "broken.yaml")


def test_non_dataframe_input():
    with pytest.raises(SchemaError, match="DataFrame"):
        make_spec().validate([[1, 2]])


# --------------------------------------------------------------------------- batch column
def test_batch_column_is_read_and_required():
    spec = make_spec(batch="regime")
    assert spec.batch == "regime"
    # a feature already: listed once
    assert spec.columns().count("regime") == 1
    site = make_spec(batch="site")
    assert site.columns(target=False, protected=False)[-1] == "site"
    with pytest.raises(SchemaError) as info:
        site.validate(make_frame(), require_target=False, require_protected=False)
    assert "missing" in problem_for(info.value, "site")
    site.validate(make_frame().assign(site="A"), require_target=False, require_protected=False)


@pytest.mark.parametrize(
    ("batch", "words"),
    [
        ("incident", "cannot also be the target"),
        ("record_id", "cannot also be the id"),
        ("snapshot_date", "cannot also be the time"),
        ("person_id", "cannot also be the person"),
        ("sex", "protected attribute"),
        ("", "at least 1 character"),
    ],
)
def test_batch_column_cannot_take_another_role(batch, words):
    with pytest.raises(SchemaError, match=words):
        make_spec(batch=batch)


def test_batch_column_round_trips_through_yaml(tmp_path):
    spec = make_spec(batch="regime")
    text = spec.to_yaml(tmp_path / "spec.yaml")
    assert "batch: regime" in text
    assert rm.DatasetSpec.from_yaml(tmp_path / "spec.yaml") == spec
    # a spec without one writes no key: files written before it existed are unchanged
    assert "batch" not in make_spec().to_yaml()
