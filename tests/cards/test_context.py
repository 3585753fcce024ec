"""CardContext: YAML loading, strictness, and what counts as missing."""

from __future__ import annotations

import pytest
import yaml

from riskmodels.cards import REQUIRED_FIELDS, CardContext, Risk
from riskmodels.errors import SchemaError


def test_from_yaml_reads_every_field(tmp_path, full_context_dict):
    path = tmp_path / "ctx.yaml"
    full_context_dict["risks"] = [{"risk": "Automation bias", "mitigation": "Training"}]
    path.write_text(yaml.safe_dump(full_context_dict), encoding="utf-8")
    ctx = CardContext.from_yaml(path)
    assert ctx.missing_fields() == []
    assert ctx.risks == [Risk(risk="Automation bias", mitigation="Training")]
    assert (
        CardContext.from_yaml(ctx.to_yaml(tmp_path / "again.yaml") and tmp_path / "again.yaml")
        == ctx
    )


def test_unknown_and_mistyped_keys_are_all_reported(tmp_path):
    path = tmp_path / "ctx.yaml"
    path.write_text("owner_team: A\nsenior_owner: B\nintended_users: {a: 1}\n", encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        CardContext.from_yaml(path)
    assert set(err.value.columns) == {"senior_owner", "intended_users"}
    assert "known keys are" in str(err.value)


@pytest.mark.parametrize(
    ("text", "found"),
    [("- a list\n", "expected a mapping"), ("a: [unclosed\n", "not valid YAML")],
)
def test_malformed_files_raise_schema_error(tmp_path, text, found):
    path = tmp_path / "ctx.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match=found):
        CardContext.from_yaml(path)


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(SchemaError, match="cannot read"):
        CardContext.from_yaml(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert CardContext.from_yaml(tmp_path / "empty.yaml").missing_fields() == list(REQUIRED_FIELDS)


def test_blank_answers_count_as_missing():
    ctx = CardContext(owner_team="  ", caveats=["", "  "], prohibited_uses="Sentencing")
    missing = ctx.missing_fields()
    assert "owner_team" in missing and "caveats" in missing
    assert "prohibited_uses" not in missing and ctx.prohibited_uses == ["Sentencing"]


def test_template_lists_every_field():
    text = CardContext.template()
    for name in CardContext.model_fields:
        assert f"\n{name}:" in text
    assert sum(line.endswith("(required)") for line in text.splitlines()) == len(REQUIRED_FIELDS)
    assert CardContext(**yaml.safe_load(text)).missing_fields() == list(REQUIRED_FIELDS)
