"""Published text says only what is true: every capability a card, an ATRS record or a
gate reason claims must exist in the library.

Each claim is a pattern in the published text and a check of the capability it claims.
The check runs whenever the pattern appears, so a sentence written ahead of its feature
(such as "monitoring flags reviewers who agree with 98% of flags" before any monitoring
exists) fails here.
"""

from __future__ import annotations

import html
import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from riskmodels.cards import ModelCard
from riskmodels.policy import Policy

ROOT = Path(__file__).resolve().parents[2]


def _has(module: str, *names: str) -> bool:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return all(hasattr(mod, n) for n in names)


def _risk_list_has_decision_columns() -> bool:
    from riskmodels.scoring import DECISION_COLUMNS

    return {"decision", "agrees_with_flag", "rationale"} <= set(DECISION_COLUMNS)


#: (what is claimed, pattern in published text, is the capability there?)
CLAIMS: tuple[tuple[str, re.Pattern[str], Callable[[], bool]], ...] = (
    (
        "monitoring of outcomes, reviews or drift over time",
        re.compile(r"\bmonitor(?:s|ed|ing)?\b|\bdashboard\b|\bsuspend", re.I),
        lambda: _has("riskmodels.monitoring"),
    ),
    ("Spark scoring", re.compile(r"\bspark\b", re.I), lambda: _has("riskmodels.spark")),
    (
        "an append-only, hash-chained audit log of scoring runs",
        re.compile(r"audit log", re.I),
        lambda: _has("riskmodels.scoring", "verify_audit_log", "append_entry"),
    ),
    (
        "release bundles verified by hash before use",
        re.compile(r"hash-verified|verified release", re.I),
        lambda: _has("riskmodels.release", "load_release"),
    ),
    (
        "signed approvals",
        re.compile(r"\bsign(?:ed|ature)", re.I),
        lambda: _has("riskmodels.release", "add_approval", "generate_signing_key"),
    ),
    (
        "plain-language reason codes",
        re.compile(r"plain-language reasons|reason codes", re.I),
        lambda: _has("riskmodels.explain", "explain"),
    ),
    (
        "risk lists with columns for the reviewer's decision",
        re.compile(r"column[s]? (?:in which|for) the (?:member of staff|reviewer)", re.I),
        _risk_list_has_decision_columns,
    ),
    (
        "MLflow tracking",
        re.compile(r"\bmlflow\b", re.I),
        lambda: _has("riskmodels.tracking", "log_assessment"),
    ),
    (
        "a measured rate of reviewer agreement",
        re.compile(r"\d+(?:\.\d+)?% of (?:flags|cases|reviews)", re.I),
        lambda: _has("riskmodels.monitoring", "report"),
    ),
)


def unsupported_claims(text: str, claims: tuple = CLAIMS) -> list[str]:
    """The claims in ``text`` whose capability the library does not have."""
    return [what for what, pattern, present in claims if pattern.search(text) and not present()]


def _strings(obj: object) -> list[str]:
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return [obj] if isinstance(obj, str) else []


def _texts_of(card: ModelCard) -> dict[str, str]:
    atrs = card.to_atrs()
    report = card.fairness_report()
    page = re.sub(
        r"<style>.*?</style>|<[^>]+>|data:image/png;base64,[A-Za-z0-9+/=]+",
        " ",
        card.to_html(),
        flags=re.S,
    )
    return {
        "markdown": card.to_markdown(),
        "html": html.unescape(page),
        "json": "\n".join(_strings(json.loads(card.to_json()))),
        "atrs.markdown": atrs.markdown,
        "atrs.json": "\n".join(_strings(atrs.data)),
        "fairness_report": report["markdown"],
    }


def test_the_check_catches_a_claim_written_ahead_of_its_capability():
    # the same patterns, judged against a library without the capability (as it was
    # when the ATRS record first claimed monitoring)
    absent = tuple(
        (what, pattern, lambda: _has("riskmodels.not_built_yet")) for what, pattern, _ in CLAIMS
    )
    sentence = "Monitoring flags reviewers who agree with 98% of flags over 50 cases."
    found = unsupported_claims(sentence, absent)
    assert "monitoring of outcomes, reviews or drift over time" in found
    assert "a measured rate of reviewer agreement" in found
    assert unsupported_claims("Scores are written to an audit log.", absent) != []
    # and against this library: every capability named here exists
    assert unsupported_claims("Every scoring run is written to an append-only audit log.") == []


@pytest.fixture(scope="module")
def gated_card(fitted, full_context):
    model, evidence, _ = fitted
    policy = Policy.default()
    card = ModelCard.build(model, evidence, full_context, policy=policy)
    return card.with_gates(policy.check(evidence, model=model, context=card.context))


def test_a_built_card_claims_only_what_exists(gated_card, bare_card):
    for card in (gated_card, bare_card):
        for form, text in _texts_of(card).items():
            assert unsupported_claims(text) == [], form


def test_gate_reasons_claim_only_what_exists(gated_card):
    for gate in gated_card.data["gate"]["gates"]:
        assert unsupported_claims(gate["reason"]) == [], gate["name"]


@pytest.mark.parametrize("name", ["self-harm", "violence"])
def test_published_reference_files_claim_only_what_exists(name):
    folder = ROOT / "model_cards" / name
    files = [
        folder / "model_card.md",
        folder / "atrs.md",
        ROOT / "fairness" / "reports" / f"{name}.md",
    ]
    texts = {p.name: p.read_text(encoding="utf-8") for p in files}
    for p in (folder / "model_card.json", folder / "atrs.json"):
        texts[p.name] = "\n".join(_strings(json.loads(p.read_text(encoding="utf-8"))))
    for file, text in texts.items():
        assert unsupported_claims(text) == [], file
