"""Scoring fixtures on top of the shared ones in tests/conftest.py."""

from __future__ import annotations

import pytest

from riskmodels.policy import Policy


@pytest.fixture(scope="session")
def flag_bundle(fitted, card, waivers, tmp_path_factory, release_maker):
    """A bundle whose policy scores a drifted batch and flags it (``on_drift: flag``)."""
    model, evidence, _, _ = fitted
    d = Policy.default().to_dict()
    d["drift"]["on_drift"] = "flag"
    out = tmp_path_factory.mktemp("releases") / "sim-flag"
    release_maker(model, evidence, card, Policy.from_dict(d), out, waivers, valid_for_days=90)
    return out


@pytest.fixture
def people(fitted):
    """Unlabelled people to score: the test snapshot without target or protected columns."""
    _, _, _, test = fitted
    return test.drop(columns=["incident", "sex"]).reset_index(drop=True)
