"""Shared fixtures for the governed-path tests (policy, release, scoring): one simulated
panel, one fitted model with its evidence, and one approved bundle per session; tests
that change a bundle work on a copy."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.policy import Policy
from riskmodels.release import TRUST_STORE_ENV, add_approval, approve, generate_signing_key
from riskmodels.scoring import AUDIT_LOG_ENV


def simulate(
    n_people: int = 1500,
    months: int = 4,
    seed: int = 0,
    *,
    intercept: float = -2.6,
    female_share: float = 0.3,
    ethnicity: bool = False,
    age_max: float = 90,
    wing_d: bool = True,
    return_p: bool = False,
):
    """A panel with a known logistic outcome, shared by every test folder.

    ``wing_d`` allows a wing "D" in the spec that never occurs; ``ethnicity`` adds a
    protected attribute with a rare group (small cells for disclosure control);
    ``return_p`` also returns the true event probabilities.
    """
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n_people), months)
    month = np.tile(np.arange(months), n_people)
    n = person.size
    age = np.repeat(rng.uniform(18, 70, n_people), months) + month / 12
    ideation = rng.random(n) < 0.08
    prior = np.repeat(rng.random(n_people) < 0.15, months)
    wing = rng.choice(["A", "B", "C"], n)
    sex = np.repeat(rng.choice(["F", "M"], n_people, p=[female_share, 1 - female_share]), months)
    columns = {}
    protected = [rm.ProtectedAttribute(name="sex", description="Sex")]
    if ethnicity:
        groups = ["White", "Black", "Asian", "Other"]
        columns["ethnicity"] = np.repeat(
            rng.choice(groups, n_people, p=[0.75, 0.13, 0.1, 0.02]), months
        )
        protected.append(rm.ProtectedAttribute(name="ethnicity", description="Ethnic group"))
    logit = intercept + 2.0 * ideation + 1.5 * prior - 0.03 * (age - 40) + 0.4 * (wing == "C")
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
            **columns,
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
                name="age", kind="numeric", description="Age", min=18, max=age_max, unit="years"
            ),
            rm.FeatureSpec(name="ideation", kind="binary", description="Current ideation"),
            rm.FeatureSpec(name="prior", kind="binary", description="Previous self-harm"),
            rm.FeatureSpec(
                name="wing",
                kind="categorical",
                description="Wing",
                categories=["A", "B", "C", "D"] if wing_d else ["A", "B", "C"],
            ),
        ],
        protected=protected,
    )
    return (frame, spec, p) if return_p else (frame, spec)


@pytest.fixture(scope="session")
def simulator():
    """The shared :func:`simulate` (sub-folder conftests cannot import this module)."""
    return simulate


class Card:
    """The model-card interface approve() relies on: a context (the documentation gate
    reads it), ``with_gates`` (the bundle's card gets the report) and three renderings.
    One card serves releases of several test models, which a real ModelCard refuses."""

    def __init__(self, complete: bool = True) -> None:
        from riskmodels.cards import REQUIRED_FIELDS, CardContext

        self.complete = complete
        self.context = CardContext(**{f: "test" for f in REQUIRED_FIELDS} if complete else {})
        self.gates = None

    def with_gates(self, report, waivers=None) -> Card:
        out = Card(self.complete)
        out.gates = (report, dict(waivers or {}))
        return out

    def to_json(self) -> str:
        return '{"title": "card"}'

    def to_markdown(self) -> str:
        return "# Model card\n"

    def to_html(self) -> str:
        return "<h1>Model card</h1>"


@dataclasses.dataclass(frozen=True)
class Site:
    """A scoring site in temporary folders: a trust store, an audit log, and the private
    keys of the people in the tests (only the site's keys are in its trust store)."""

    root: Path
    trust_store: Path
    audit_log: Path
    keys: Path

    def key(self, who: str) -> Path:
        return self.keys / f"{who}.key"


#: Key holders: file stem -> name. The trust store names each public key after its holder.
PEOPLE = {
    "reviewer": "R. Reviewer",
    "second": "S. Second",
    "author": "A. Author",
    "mallory": "M. Mallory",  # has a key, but not in the site's trust store
}


@pytest.fixture(scope="session", autouse=True)
def site(tmp_path_factory):
    """Every test runs at a site of its own: $RISKMODELS_TRUST_STORE and
    $RISKMODELS_AUDIT_LOG point into a temporary folder (never the user's own)."""
    root = tmp_path_factory.mktemp("site")
    keys, store = root / "keys", root / "trust_store"
    store.mkdir()
    for stem, name in PEOPLE.items():
        generate_signing_key(keys / f"{stem}.key", keys / f"{stem}.pem")
        if stem != "mallory":
            shutil.copy(keys / f"{stem}.pem", store / f"{name}.pem")
    saved = {k: os.environ.get(k) for k in (TRUST_STORE_ENV, AUDIT_LOG_ENV)}
    os.environ[TRUST_STORE_ENV] = str(store)
    os.environ[AUDIT_LOG_ENV] = str(root / "audit" / "audit_log.jsonl")
    yield Site(root, store, root / "audit" / "audit_log.jsonl", keys)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory):
    """Runs that commands or tests log without naming a store go to a temporary one
    ($MLFLOW_TRACKING_URI), never to ./mlflow.db of the folder the tests run in."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    yield uri
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved


@pytest.fixture(scope="session")
def release_maker(site):
    """``make(model, evidence, card, policy, out, waivers, **kw)``: approve signed by
    R. Reviewer and co-signed by S. Second (the default policy needs two approvals)."""

    def make(model, evidence, card, policy, out, waivers, *, second=True, **kw):
        kw.setdefault("reviewer", "R. Reviewer")
        kw.setdefault("author", "A. Author")
        release = approve(
            model,
            evidence,
            card,
            policy,
            waivers=waivers,
            out=out,
            signing_key=site.key("reviewer"),
            **kw,
        )
        if second and policy.environment == "production":
            release = add_approval(out, signing_key=site.key("second"), reviewer="S. Second")
        return release

    return make


@pytest.fixture(scope="session")
def fitted():
    """``(model, evidence, train, test)``: a calibrated logistic model and its evidence."""
    frame, spec = simulate()
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    evidence = model.assess(test, n_boot=200, explain=False)
    return model, evidence, train, test


@pytest.fixture(scope="session")
def card():
    return Card()


@pytest.fixture(scope="session")
def waivers(fitted, card):
    """A written reason for every gate that does not pass (what a reviewer signs)."""
    model, evidence, _, _ = fitted
    report = Policy.default().check(evidence, model=model, context=card.context)
    return {
        g.name: f"accepted by the test reviewer: {g.reason}" for g in report if g.status != "pass"
    }


@pytest.fixture(scope="session")
def bundle(fitted, card, waivers, tmp_path_factory, release_maker):
    """An approved release bundle with two trusted approvals (do not modify: copy it with
    ``bundle_copy``)."""
    model, evidence, _, _ = fitted
    out = tmp_path_factory.mktemp("releases") / "sim-v1"
    release_maker(model, evidence, card, Policy.default(), out, waivers, valid_for_days=90)
    return out


@pytest.fixture
def bundle_copy(bundle, tmp_path):
    """A fresh copy of the approved bundle that a test may change."""
    dst = tmp_path / "bundle"
    shutil.copytree(bundle, dst)
    return dst
