"""Fixtures for policy tests: a small simulated panel, a fitted model and its evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.policy import Policy

REPO = Path(__file__).resolve().parents[2]


def simulate(n_people: int = 1500, months: int = 4, seed: int = 0):
    """A panel with a known logistic outcome; ``wing`` "D" is allowed but never occurs."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n_people), months)
    month = np.tile(np.arange(months), n_people)
    n = person.size
    age = np.repeat(rng.uniform(18, 70, n_people), months) + month / 12
    ideation = rng.random(n) < 0.08
    prior = np.repeat(rng.random(n_people) < 0.15, months)
    wing = rng.choice(["A", "B", "C"], n)
    sex = np.repeat(rng.choice(["F", "M"], n_people, p=[0.3, 0.7]), months)
    logit = -2.6 + 2.0 * ideation + 1.5 * prior - 0.03 * (age - 40) + 0.4 * (wing == "C")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
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
        }
    )
    spec = rm.DatasetSpec(
        name="sim",
        target="incident",
        target_description="Incident in 90 days",
        id="record_id",
        time="snapshot_date",
        person="person_id",
        features=[
            rm.FeatureSpec(name="age", kind="numeric", description="Age", min=18, max=90),
            rm.FeatureSpec(name="ideation", kind="binary", description="Current ideation"),
            rm.FeatureSpec(name="prior", kind="binary", description="Previous self-harm"),
            rm.FeatureSpec(
                name="wing", kind="categorical", description="Wing", categories=["A", "B", "C", "D"]
            ),
        ],
        protected=[rm.ProtectedAttribute(name="sex", description="Sex")],
    )
    return frame, spec


@pytest.fixture(scope="session")
def fitted():
    """``(model, evidence, train, test)``: a calibrated logistic model and its evidence."""
    frame, spec = simulate()
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    evidence = model.assess(test, n_boot=200, explain=False)
    return model, evidence, train, test


@pytest.fixture
def policy() -> Policy:
    return Policy.default()


@pytest.fixture
def policy_dict(policy: Policy) -> dict:
    return policy.to_dict()


class Card:
    """The model-card interface approve() and check() rely on."""

    def __init__(self, complete: bool = True) -> None:
        self.complete = complete

    def to_json(self) -> str:
        return '{"title": "card"}'

    def to_markdown(self) -> str:
        return "# Model card\n"

    def to_html(self) -> str:
        return "<h1>Model card</h1>"


@pytest.fixture
def card_factory():
    return Card
