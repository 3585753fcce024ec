"""Fixtures for model-card tests: a small simulated panel, a fitted model and its evidence.

The panel has a rare ethnic group so that the audit has small cells for statistical
disclosure control to suppress.
"""

from __future__ import annotations

import pytest

import riskmodels as rm
from riskmodels.cards import CardContext

FIXED_TIME = "2025-01-01T00:00:00+00:00"


FULL_CONTEXT = {
    "owner_organisation": "Example Prison Service",
    "owner_team": "Safer Custody Analytics",
    "senior_responsible_owner": "Director of Safer Custody",
    "contact": "safer.custody@example.org",
    "intended_use": "Prioritise welfare check-ins by safer custody teams.",
    "intended_users": ["Safer custody teams"],
    "permitted_uses": ["Ordering the weekly welfare review list"],
    "prohibited_uses": ["Sentencing", "Any restriction of a person"],
    "out_of_scope_uses": ["Youth custody"],
    "decision_process": "The list is one input to the weekly safety meeting.",
    "human_review": "A custody manager reviews every flag and records a decision.",
    "appeal_route": "Through the prisoner complaints process.",
    "dpia_reference": "DPIA-2025-001",
    "eqia_reference": "EqIA-2025-004",
    "ethical_considerations": ["Scores must not reach wing staff as labels."],
    "caveats": ["Synthetic data only."],
}


@pytest.fixture(scope="session")
def fitted(simulator):
    """``(model, evidence, test_frame)`` for a logistic model on the simulated panel."""
    from threadpoolctl import threadpool_limits

    frame, spec = simulator(
        intercept=-3.0, female_share=0.2, ethnicity=True, age_max=80, wing_d=False
    )
    train, test = rm.split(frame, spec)
    # One BLAS thread: the proxy scan's small logistic fits are many times slower with
    # oversubscribed BLAS threads on a busy machine (seen: 3 s -> 160 s).
    with threadpool_limits(1):
        model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
        evidence = model.assess(test, n_boot=100, explain=300)
    return model, evidence, test


@pytest.fixture(scope="session")
def fixed_time() -> str:
    return FIXED_TIME


@pytest.fixture
def full_context_dict() -> dict:
    """Every owner field filled in (a fresh copy for each test, which may change it)."""
    return {k: (list(v) if isinstance(v, list) else v) for k, v in FULL_CONTEXT.items()}


@pytest.fixture(scope="session")
def full_context() -> CardContext:
    return CardContext(**FULL_CONTEXT)


@pytest.fixture(scope="session")
def schema_validator():
    """A jsonschema validator for the card schema shipped in the package."""
    import jsonschema

    from riskmodels.cards import ModelCard

    schema = ModelCard.json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="session")
def card(fitted, full_context):
    """A complete card (every owner field filled in), built at a fixed time."""
    from riskmodels.cards import ModelCard

    model, evidence, _ = fitted
    return ModelCard.build(model, evidence, full_context, generated_at=FIXED_TIME)


@pytest.fixture(scope="session")
def bare_card(fitted):
    """A card built without any context: every owner field is missing."""
    from riskmodels.cards import ModelCard

    model, evidence, _ = fitted
    return ModelCard.build(model, evidence, None, generated_at=FIXED_TIME)
