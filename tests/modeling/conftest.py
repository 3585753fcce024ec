"""Modelling tests use the shared simulated panel (tests/conftest.py)."""

from __future__ import annotations

import functools

import pytest


@pytest.fixture(scope="session")
def sim(simulator):
    """Factory: ``sim(n_people, months, seed) -> (frame, spec, true_p)``."""
    return functools.partial(
        simulator, intercept=-3.0, female_share=0.2, age_max=80, wing_d=False, return_p=True
    )
