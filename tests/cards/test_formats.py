"""JSON (against the shipped schema), ATRS record, and save()."""

from __future__ import annotations

import json
from pathlib import Path

from riskmodels.cards import CARD_FILES, ModelCard


def test_json_validates_against_the_shipped_schema(card, bare_card, schema_validator):
    for c in (card, bare_card):
        errors = sorted(schema_validator.iter_errors(json.loads(c.to_json())), key=str)
        assert not errors, [e.message for e in errors[:5]]
    assert ModelCard.json_schema()["$id"] == card.data["schema"]


def test_schema_rejects_a_broken_card(card, schema_validator):
    data = json.loads(card.to_json())
    data["complete"] = True
    data["missing_fields"] = [{"field": "contact", "label": "Contact", "section": "model_details"}]
    assert not schema_validator.is_valid(data)  # complete with missing fields
    data = json.loads(card.to_json())
    del data["fairness"]
    assert not schema_validator.is_valid(data)
    data = json.loads(card.to_json())
    data["fairness"]["tables"][0]["rows"][0]["n"] = "<10"  # counts are integers or null
    assert not schema_validator.is_valid(data)


def test_json_is_plain_and_finite(card):
    text = card.to_json()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == card.data


def test_atrs_record_fills_what_is_known_and_lists_the_rest(card, bare_card):
    full = card.to_atrs()
    data = json.loads(full.json)
    assert data["tier_1"]["name"] == card.data["model_details"]["name"]
    assert data["tier_1"]["contact_email"] == card.context.contact
    owner = data["tier_2"]["owner_and_responsibility"]
    assert owner["senior_responsible_owner"] == card.context.senior_responsible_owner
    # ATRS-only fields the full card context leaves out are still to be completed
    assert "tier_1.website" in full.missing and "tier_2.tool_specification.phase" in full.missing
    assert "tier_1.description" in data["auto_filled"]
    assert (
        data["tier_2"]["tool_specification"]["models"][0]["version"]
        == card.data["model_details"]["version"]
    )
    assert "To be completed by the owner" in full.markdown
    assert full["json"] == full.json and full["tier_1"] == data["tier_1"]
    bare = bare_card.to_atrs()
    assert not bare.complete
    assert {
        "tier_1.contact_email",
        "tier_2.owner_and_responsibility.organisation",
        "tier_2.risks_mitigations_and_impact_assessments.dpia",
    } <= set(bare.missing)
    assert bare.markdown.count("To be completed by the owner") >= len(bare.missing)


def test_save_writes_every_format_with_relative_figures(card, tmp_path):
    written = card.save(tmp_path / "out")
    for name in CARD_FILES.values():
        assert (tmp_path / "out" / name).is_file()
    md = (tmp_path / "out" / "model_card.md").read_text(encoding="utf-8")
    links = [
        line.split("](", 1)[1].split(")", 1)[0] for line in md.splitlines() if line.startswith("![")
    ]
    assert links and all(not Path(link).is_absolute() for link in links)
    for link in links:
        assert (tmp_path / "out" / link).is_file()
    assert str(tmp_path) not in "".join(
        p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("*.*")
    )
    assert {k for k in written if k.startswith("figure:")} == {f"figure:{k}" for k in card.figures}
    # to_markdown() alone links no file
    assert "![" not in card.to_markdown() and "see the HTML version" in card.to_markdown()


def test_figures_are_deterministic(fitted, full_context, fixed_time):
    model, evidence, _ = fitted
    a = ModelCard.build(model, evidence, full_context, generated_at=fixed_time)
    b = ModelCard.build(model, evidence, full_context, generated_at=fixed_time)
    assert a.to_json() == b.to_json()
    assert {k: f.png for k, f in a.figures.items()} == {k: f.png for k, f in b.figures.items()}
    assert a.to_html() == b.to_html()


def test_published_reference_cards_validate(schema_validator):
    root = Path(__file__).resolve().parents[2] / "model_cards"
    cards = sorted(root.glob("*/model_card.json"))
    assert {p.parent.name for p in cards} == {"self-harm", "violence"}
    for path in cards:
        data = json.loads(path.read_text(encoding="utf-8"))
        errors = [e.message for e in schema_validator.iter_errors(data)]
        assert not errors, (path.parent.name, errors[:5])
        html = (path.parent / "model_card.html").read_text(encoding="utf-8")
        assert "http://" not in html and "https://" not in html
