"""ModelCard: sections in every format, numbers equal to the evidence, completeness."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

import riskmodels as rm
from riskmodels._json import round_floats as pub
from riskmodels.cards import TO_BE_COMPLETED, CardContext, ModelCard
from riskmodels.errors import SchemaError

SECTION_TITLES = {
    "model_details": "Model details",
    "intended_use": "Intended use",
    "prohibited_uses": "Prohibited and out-of-scope uses",
    "factors": "Factors: protected characteristics and proxies",
    "metrics": "Performance",
    "calibration": "Calibration",
    "fairness": "Fairness",
    "explanations": "Explanations",
    "data": "Training and evaluation data",
    "limitations": "Limitations",
    "ethical_considerations": "Ethical considerations",
    "gate": "Policy gate report",
    "lifecycle": "Lifecycle",
}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def dec(x: float) -> str:
    return f"{x:.3f}"


# ---------------------------------------------------------------------- sections
def test_every_section_in_every_format(card):
    md, html, data = card.to_markdown(), card.to_html(), json.loads(card.to_json())
    assert card.sections == list(SECTION_TITLES)
    for i, (key, title) in enumerate(SECTION_TITLES.items(), start=1):
        assert f"## {i}. {title}" in md, key
        assert f'<h2 id="{key}">{i}. {title}</h2>' in html, key
        assert key in data, key
    atrs = card.to_atrs()
    for heading in ("Tier 1", "Tier 2.1", "Tier 2.2", "Tier 2.3", "Tier 2.4", "Tier 2.5"):
        assert f"## {heading}" in atrs.markdown
    assert {"tier_1", "tier_2"} <= set(json.loads(atrs.json))


def test_markdown_states_decision_support_and_label_bias(card):
    md = card.to_markdown()
    assert "**Decision support only.**" in md
    assert "recorded incidents are not all incidents" in md
    assert "Chouldechova 2017" in md and "COMPAS" in md
    assert "monotone" in md  # explanations describe the uncalibrated model


# ---------------------------------------------------------------------- numbers
def test_headline_metrics_equal_the_evidence(card, fitted):
    _, evidence, _ = fitted
    data = json.loads(card.to_json())
    md, html = card.to_markdown(), card.to_html()
    rows = {r["metric"]: r for r in data["metrics"]["rows"]}
    assert set(rows) >= {"auc", "brier_skill", "calibration_slope", "tpr", "fpr", "ppv"}
    for metric, row in rows.items():
        for side, est in (
            ("model", evidence.metric(metric)),
            ("baseline", evidence.metric(metric, baseline=True)),
        ):
            got = row[side]
            for field in ("value", "lo", "hi"):
                expected = getattr(est, field)
                if math.isnan(expected):
                    assert got[field] is None
                else:
                    assert got[field] == pub(expected), (metric, side, field)
            assert got["n"] == est.n and got["status"] == est.status
    auc = evidence.metric("auc")
    text = f"{dec(auc.value)} ({dec(auc.lo)}–{dec(auc.hi)})"
    assert text in md and dec(auc.value) in html and f"({dec(auc.lo)}–{dec(auc.hi)})" in html
    tpr = evidence.metric("tpr")
    assert f"{pct(tpr.value)} ({100 * tpr.lo:.1f}–{100 * tpr.hi:.1f}%)" in md
    assert data["metrics"]["n"] == evidence.n and data["metrics"]["n_events"] == evidence.n_events
    assert data["metrics"]["threshold"] == pub(evidence.threshold)


def test_a_group_row_equals_the_audit(card, fitted):
    _, evidence, _ = fitted
    bg = evidence.fairness.by_group
    ref = bg[(bg["attribute"] == "sex") & (bg["group"] == "M")].iloc[0]
    data = json.loads(card.to_json())
    table = next(t for t in data["fairness"]["tables"] if t["attribute"] == "sex")
    row = next(r for r in table["rows"] if r["group"] == "M")
    assert (row["n"], row["n_pos"], row["n_neg"]) == (ref["n"], ref["n_pos"], ref["n_neg"])
    assert row["reference"] == bool(ref["is_reference"])
    for m in ("base_rate", "selection_rate", "tpr", "fpr", "ppv", "auc", "oe_ratio"):
        assert row["metrics"][m] == pub(
            {"value": ref[m], "lo": ref[f"{m}_lo"], "hi": ref[f"{m}_hi"]}
        ), m
    md_row = next(
        line for line in card.to_markdown().splitlines() if line.startswith("| M (ref.) |")
    )
    assert f"| {ref['n']:,} | {ref['n_pos']:,} |" in md_row
    assert f"{pct(ref['fpr'])} ({100 * ref['fpr_lo']:.1f}–{100 * ref['fpr_hi']:.1f}%)" in md_row
    assert f"{dec(ref['auc'])} ({dec(ref['auc_lo'])}–{dec(ref['auc_hi'])})" in md_row


def test_calibration_and_proxies_come_from_the_evidence(card, fitted):
    _, evidence, _ = fitted
    data = card.data
    slope = evidence.metric("calibration_slope")
    assert data["calibration"]["model"]["calibration_slope"]["value"] == pub(slope.value)
    bins = evidence.performance.reliability["uniform"]
    shown = [b for b in data["calibration"]["model"]["bins"] if b["count"] is not None]
    assert [b["count"] for b in shown] == [c for c in bins["count"] if c >= 10]
    joint = {j["attribute"]: j["auc"] for j in data["factors"]["proxies"]["joint"]}
    assert joint == pub(
        dict(zip(evidence.proxies.joint["attribute"], evidence.proxies.joint["auc"], strict=True))
    )


# ---------------------------------------------------------------------- completeness
def test_missing_context_makes_the_card_incomplete(bare_card):
    assert bare_card.complete is False
    from riskmodels.cards import REQUIRED_FIELDS

    assert bare_card.missing_fields == list(REQUIRED_FIELDS)
    md, html = bare_card.to_markdown(), bare_card.to_html()
    assert md.count(TO_BE_COMPLETED) >= len(REQUIRED_FIELDS)
    assert "**Card status: incomplete.** 16 field(s)" in md
    assert "Senior responsible owner (section 1, Model details)" in md
    assert html.count(f'<span class="todo">{TO_BE_COMPLETED}</span>') >= len(REQUIRED_FIELDS)
    data = json.loads(bare_card.to_json())
    assert data["complete"] is False
    assert [m["field"] for m in data["missing_fields"]] == list(REQUIRED_FIELDS)
    assert data["model_details"]["owner"]["senior_responsible_owner"] is None


def test_one_missing_field_is_listed(fitted, full_context_dict, fixed_time):
    model, evidence, _ = fitted
    full_context_dict.pop("appeal_route")
    full_context_dict["caveats"] = ["   "]  # blank text is no answer
    card = ModelCard.build(model, evidence, full_context_dict, generated_at=fixed_time)
    assert not card.complete
    assert card.missing_fields == ["appeal_route", "caveats"]
    assert "How to challenge a decision (section 2, Intended use)" in card.to_markdown()


def test_full_context_makes_a_complete_card(card, full_context):
    assert card.complete and card.missing_fields == []
    md = card.to_markdown()
    assert "**Card status:** complete" in md and TO_BE_COMPLETED not in md.split("## 9.")[0]
    assert full_context.appeal_route in md
    assert all(u in md for u in full_context.prohibited_uses)


def test_the_policy_and_its_gate_reach_the_card(fitted, full_context, fixed_time, schema_validator):
    model, evidence, _ = fitted
    from riskmodels.policy import Policy

    policy = Policy.default()
    built = ModelCard.build(model, evidence, full_context, policy=policy, generated_at=fixed_time)
    gate = policy.check(evidence, model=model, context=built.context)
    card = built.with_gates(gate)
    assert not built.data["gate"]["available"]  # with_gates leaves the built card as it is
    assert card.data["model_details"] == built.data["model_details"]
    fair = card.data["fairness"]["criterion"]
    assert fair["name"] == policy.fairness.criterion and fair["source"] == "policy"
    md = card.to_markdown()
    assert "prioritises **calibration within groups**" in md
    assert policy.fairness.criterion_rationale.split()[0] in md
    assert [g["name"] for g in card.data["gate"]["gates"]] == gate.names
    assert "`documentation.card` | pass" in md  # the context is complete
    assert not list(schema_validator.iter_errors(json.loads(card.to_json())))
    assert all(f"`{p}`" in md for p in policy.prohibited_purposes)
    # without a policy the card says the criterion is not stated
    bare = ModelCard.build(model, evidence, full_context, generated_at=fixed_time)
    assert bare.data["fairness"]["criterion"]["name"] is None
    assert "Not stated: no policy was given" in bare.to_markdown()


def test_release_metadata_fills_the_lifecycle(fitted, full_context, fixed_time):
    model, evidence, _ = fitted
    manifest = {
        "approval": {
            "reviewer": "A. Reviewer",
            "author": "B. Author",
            "approved_at": "2025-01-02T00:00:00+00:00",
            "valid_until": "2025-07-01T00:00:00+00:00",
            "waivers": {},
        },
        "policy": {"name": "default", "version": "1.0"},
    }
    card = ModelCard.build(
        model,
        evidence,
        full_context,
        release=manifest,
        mlflow_run_id="abc123",
        generated_at=fixed_time,
    )
    life = card.data["lifecycle"]
    assert life["valid_until"] == "2025-07-01T00:00:00+00:00"
    assert life["release"]["reviewer"] == "A. Reviewer"
    assert life["mlflow_run_id"] == "abc123"
    assert "reviewer: A. Reviewer" in card.to_markdown()


# ---------------------------------------------------------------------- arguments
def test_evidence_of_another_model_is_refused(fitted, fixed_time):
    model, evidence, test = fitted
    other = rm.RiskModel(
        model.spec, estimator="logistic", random_state=1, calibration="sigmoid"
    ).fit(test)
    with pytest.raises(SchemaError, match="Evidence and model do not match"):
        ModelCard.build(other, evidence, None, generated_at=fixed_time)


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_bad_sdc_threshold_is_refused(fitted, bad):
    model, evidence, _ = fitted
    with pytest.raises(SchemaError, match="sdc_threshold"):
        ModelCard.build(model, evidence, None, sdc_threshold=bad)


def test_unknown_context_key_is_refused(fitted):
    model, evidence, _ = fitted
    with pytest.raises(SchemaError) as err:
        ModelCard.build(model, evidence, {"owner_team": "x", "ownr": "typo"})
    assert err.value.columns == ["ownr"]


def test_timestamps_are_fixed_when_asked(fitted, monkeypatch):
    model, evidence, _ = fitted
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    card = ModelCard.build(model, evidence, None)
    assert card.data["generated_at"] == "2025-01-01T00:00:00+00:00"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    card = ModelCard.build(model, evidence, None, generated_at="2030-05-06T07:08:09+00:00")
    assert card.data["lifecycle"]["generated_at"] == "2030-05-06T07:08:09+00:00"


def test_repr_names_the_state(bare_card, card):
    assert "incomplete (16 missing)" in repr(bare_card)
    assert re.search(r"ModelCard\('sim-logistic', version '[0-9a-f]+', complete\)", repr(card))


def test_context_from_yaml_path(fitted, tmp_path, fixed_time, full_context):
    model, evidence, _ = fitted
    path = tmp_path / "context.yaml"
    full_context.to_yaml(path)
    card = ModelCard.build(model, evidence, path, generated_at=fixed_time)
    assert card.complete and CardContext.from_yaml(path) == full_context


def test_card_of_a_release_shows_approval_and_waivers(
    fitted, full_context, tmp_path, schema_validator, release_maker
):
    from riskmodels.policy import Policy
    from riskmodels.release import load_release

    model, evidence, _ = fitted
    policy = Policy.default()
    built = ModelCard.build(model, evidence, full_context, policy=policy)
    gate = policy.check(evidence, model=model, context=built.context)
    waivers = {g.name: "Accepted for a test release." for g in gate if g.status != "pass"}
    release_maker(
        model,
        evidence,
        built,
        policy,
        tmp_path / "release",
        waivers,
        reviewer="A. Reviewer",
        author="B. Author",
    )
    release = load_release(tmp_path / "release")
    # the card inside the bundle already carries the gates and the waivers given
    inside = ModelCard.from_json((tmp_path / "release" / "card.json").read_text("utf-8"))
    assert {g["name"] for g in inside.data["gate"]["gates"] if g["waiver"]} == set(waivers)
    assert {w["gate"] for w in inside.data["review"]["waivers"]["recorded"]} == set(waivers)
    card = ModelCard.build(
        release.model,
        release.evidence,
        full_context,
        policy=release.policy,
        release=release,
    ).with_gates(release.gates)
    life = card.data["lifecycle"]
    assert life["release"]["reviewer"] == "A. Reviewer"
    assert life["release"]["release_id"] == release.release_id
    assert life["valid_until"] == release.manifest["approval"]["valid_until"]
    waived = {g["name"] for g in card.data["gate"]["gates"] if g["waiver"]}
    assert waived == set(waivers)
    assert "(waived)" in card.to_markdown() and "reviewer: A. Reviewer" in card.to_markdown()
    assert not list(schema_validator.iter_errors(json.loads(card.to_json())))


def test_explanations_come_from_the_evidence(card, fitted):
    _, evidence, _ = fitted
    imp = evidence.importance
    rows = card.data["explanations"]["importance"]
    assert [r["feature"] for r in rows] == list(imp["feature"])
    assert [r["mean_abs"] for r in rows] == pub(list(imp["mean_abs"]))
    assert "importance" in card.figures
    top = imp.iloc[0]
    md = card.to_markdown()
    assert f"{dec(top['mean_abs'])} ({dec(top['lo'])}–{dec(top['hi'])})" in md
    assert "How reason codes are formed" in md and "uncalibrated" in md


def test_the_card_and_the_gates_use_one_adequacy_rule(fitted, full_context, schema_validator):
    from riskmodels.policy import Policy

    model, evidence, _ = fitted
    policy = Policy.default()
    gate = policy.check(evidence, model=model)
    card = ModelCard.build(model, evidence, full_context, policy=policy).with_gates(gate)
    bg = evidence.fairness.by_group
    judged_by_gates = dict(
        zip(
            zip(bg["attribute"], bg["group"], strict=True),
            policy.fairness.adequate(bg),
            strict=True,
        )
    )
    shown = {
        (t["attribute"], r["group"]): r["adequate"]
        for t in card.data["fairness"]["tables"]
        for r in t["rows"]
    }
    assert shown == {k: bool(v) for k, v in judged_by_gates.items()}
    # the audit alone would judge some groups the policy calls too small: the card follows
    # the policy, and says which rule it used
    assert (bg["adequate"].astype(bool) & ~policy.fairness.adequate(bg)).any()
    rule = card.data["fairness"]["adequacy"]
    assert rule == {"source": "policy", "min_rows": 100, "min_events": 20, "min_nonevents": 20}
    assert "the policy's rule, the one its gates use" in card.to_markdown()
    assert not list(schema_validator.iter_errors(json.loads(card.to_json())))


# ---------------------------------------------------------------------- one-way flow, JSON
def test_a_card_is_built_once_and_given_its_gates(fitted, full_context, fixed_time, tmp_path):
    from riskmodels.errors import SchemaError
    from riskmodels.policy import GateReport, Policy

    model, evidence, _ = fitted
    policy = Policy.default()
    card = ModelCard.build(model, evidence, full_context, policy=policy, generated_at=fixed_time)
    assert card.data["review"]["gate_status"] is None
    assert "No decision can be asked for yet" in card.to_markdown()
    report = policy.check(evidence, model=model, context=card.context)
    gated = card.with_gates(report, {"fairness.group_adequacy": "small groups accepted"})
    review = gated.data["review"]
    assert (
        review["gate_status"] == report.status and gated.data["gate"]["summary"] == report.summary()
    )
    assert [g["name"] for g in review["attention"]] == [
        g.name for g in report if g.status != "pass"
    ]
    assert len(review["watch"]) == 3
    assert review["waivers"]["recorded"] == [
        {"gate": "fairness.group_adequacy", "reason": "small groups accepted"}
    ]
    # the old two-way calls fail with the way forward
    with pytest.raises(SchemaError, match="with_gates"):
        ModelCard.build(model, evidence, full_context, gate=report)
    with pytest.raises(SchemaError, match="GateReport"):
        card.with_gates(report.to_dict())
    other = dataclasses.replace(report, model_version="0" * 12)
    with pytest.raises(SchemaError, match="model version"):
        card.with_gates(other)
    # one JSON encoding: text round trips, files through save/load
    back = ModelCard.from_json(gated.to_json())
    assert back.to_json() == gated.to_json() and back.context == gated.context
    assert back.to_atrs().json == gated.to_atrs().json
    gated.save(tmp_path / "card")
    assert ModelCard.load(tmp_path / "card").to_json() == gated.to_json()
    report.save(tmp_path / "gates.json")
    assert GateReport.load(tmp_path / "gates.json") == report
    with pytest.raises(SchemaError, match="model card document"):
        ModelCard.from_dict({"schema": "something else"})


def test_the_model_sentence_follows_the_recorded_calibration_scheme():
    from riskmodels.cards.sections.model import estimator_text
    from riskmodels.modeling._model import HOLDOUT_FROM, HOLDOUT_SHARE

    held = estimator_text(
        "hgb",
        "isotonic",
        {"scheme": "held_out", "holdout_share": HOLDOUT_SHARE, "grouped_by_person": True},
    )
    assert f"a held-out {HOLDOUT_SHARE:.0%}" in held and f"{HOLDOUT_FROM:,}" in held
    assert "isotonic regression" in held and "fitted on fitted" not in held
    folds = estimator_text("logistic", "sigmoid", {"scheme": "cross_validated", "folds": 5})
    assert folds.endswith("fitted on 5-fold out-of-fold predictions.")
    # a model saved before calibration_info_ existed: its recorded sentence, not a guess
    old = estimator_text("hgb", "sigmoid", {}, "held-out 20% calibration set")
    assert old.endswith("(held-out 20% calibration set).")
    assert estimator_text("hgb", None, {}).endswith("without a separate calibration step.")
