"""A small simulated panel with a known logistic outcome model, for modelling tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm


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
            rm.FeatureSpec(
                name="age", kind="numeric", description="Age", min=18, max=80, unit="years"
            ),
            rm.FeatureSpec(name="ideation", kind="binary", description="Current ideation"),
            rm.FeatureSpec(name="prior", kind="binary", description="Previous self-harm"),
            rm.FeatureSpec(
                name="wing", kind="categorical", description="Wing", categories=["A", "B", "C"]
            ),
        ],
        protected=[rm.ProtectedAttribute(name="sex", description="Sex")],
    )
    return frame, spec, p


@pytest.fixture(scope="session")
def sim():
    """Factory: ``sim(n_people, months, seed) -> (frame, spec, true_p)``."""
    return simulate
