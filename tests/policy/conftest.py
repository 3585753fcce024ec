"""Policy fixtures on top of the shared ones in tests/conftest.py."""

from __future__ import annotations

import pytest

from riskmodels.policy import Policy


@pytest.fixture
def policy() -> Policy:
    return Policy.default()


@pytest.fixture
def policy_dict(policy: Policy) -> dict:
    return policy.to_dict()


@pytest.fixture
def card_factory(card):
    return type(card)
