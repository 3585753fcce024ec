"""Fixtures for model-card tests: a small simulated panel, a fitted model and its evidence.

The panel has a rare ethnic group so that the audit has small cells for statistical
disclosure control to suppress.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.cards import CardContext

FIXED_TIME = "2025-01-01T00:00:00+00:00"


def simulate(n_people: int = 1500, months: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n_people), months)
    month = np.tile(np.arange(months), n_people)
    n = person.size
    age = np.repeat(rng.uniform(18, 70, n_people), months) + month / 12
    ideation = rng.random(n) < 0.08
    prior = np.repeat(rng.random(n_people) < 0.15, months)
    wing = rng.choice(["A", "B", "C"], n)
    sex = np.repeat(rng.choice(["F", "M"], n_people, p=[0.2, 0.8]), months)
    ethnicity = np.repeat(
        rng.choice(["White", "Black", "Asian", "Other"], n_people, p=[0.75, 0.13, 0.1, 0.02]),
        months,
    )
    logit = -3.0 + 2.0 * ideation + 1.5 * prior - 0.03 * (age - 40) + 0.4 * (wing == "C")
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(int)
    frame = pd.DataFrame(
        {
            "record_id": np.arange(n),
            "person_id": person,
            "snapshot_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(month * 30, unit="D"),
            "incident": y,
            "age": age,
            "ideation": ideation.astype(int),
            "prior": prior.astype(int),
            "wing": wing,
            "sex": sex,
            "ethnicity": ethnicity,
        }
    )
    spec = rm.DatasetSpec(
        name="sim",
        description="Simulated panel for tests.",
        target="incident",
        target_description="Incident in 90 days",
        id="record_id",
        time="snapshot_date",
        person="person_id",
        features=[
            rm.FeatureSpec(
                name="age", kind="numeric", description="Age", min=18, max=80, unit="years"
            ),
            rm.FeatureSpec(name="ideation", kind="binary", description="Current ideation"),
            rm.FeatureSpec(name="prior", kind="binary", description="Previous self-harm"),
            rm.FeatureSpec(
                name="wing", kind="categorical", description="Wing", categories=["A", "B", "C"]
            ),
        ],
        protected=[
            rm.ProtectedAttribute(name="sex", description="Sex"),
            rm.ProtectedAttribute(name="ethnicity", description="Ethnic group"),
        ],
        baseline_features=["age", "prior"],
    )
    return frame, spec


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
def fitted():
    """``(model, evidence, test_frame)`` for a logistic model on the simulated panel."""
    from threadpoolctl import threadpool_limits

    frame, spec = simulate()
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
