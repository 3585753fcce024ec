"""Drift judged against the population a batch should come from: genuine batches of any
size pass, batches from one establishment pass, a real shift is refused and said.

The rates are measured by simulation on the synthetic prison data: a profile of the
training split of one population (seed 0) judges batches drawn from another population
of the same generator (seed 1), i.e. other people from the training population. Most
batches are judged directly on their bin counts, vectorised over batches (the same
functions ``score`` uses); a handful of real ``score`` calls run end to end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.data import TrainingProfile
from riskmodels.data._profile import BatchCounts, judge_drift
from riskmodels.errors import PolicyViolation
from riskmodels.policy import Policy
from riskmodels.release import load_release
from riskmodels.scoring._score import _drift

PURPOSE = "prioritise_welfare_review"
POLICY = Policy.default()
DRIFT = POLICY.drift


@pytest.fixture(scope="module")
def profiles():
    """Profiles of a training split (20,000 people, 12 monthly snapshots, about 160,000
    rows): with the spec's batch column (establishment) and without one."""
    frame, spec = rm.datasets.make_prison_incidents(n_people=20_000, seed=0)
    train, _ = rm.split(frame, spec)
    without = spec.model_copy(update={"batch": None})
    return TrainingProfile.from_frame(train, spec), TrainingProfile.from_frame(train, without)


@pytest.fixture(scope="module")
def population(profiles):
    """Other people of the training population (seed 1, about 240,000 rows), with each
    feature's bin per row and each row's batch group, computed once."""
    frame, _ = rm.datasets.make_prison_incidents(n_people=20_000, seed=1)
    with_batch, _ = profiles
    codes = {name: p.bin_index(frame[name]) for name, p in with_batch.features.items()}
    groups = with_batch.batch.index(frame["establishment"])
    return frame, codes, groups


def _counts(codes: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Bin counts of each batch (a row of ``rows``) in one bincount."""
    r = rows.shape[0]
    cells = codes[rows] + k * np.arange(r)[:, None]
    return np.bincount(cells.ravel(), minlength=r * k).reshape(r, k)


def _judge(profile, frame, codes, rows):
    """Statuses (batches x features) of batches that share one reference: the rows of
    ``rows`` (positions in ``frame``), judged as ``score`` judges them."""
    first = profile.compare(profile.count(frame.iloc[rows[0]]))
    names = [f for f in profile.features if f != first.exempt]
    psi = np.empty((rows.shape[0], len(names)))
    g = np.empty_like(psi)
    for j, name in enumerate(names):
        k = len(profile.features[name].labels) + 1
        psi[:, j], g[:, j] = first.statistics(name, _counts(codes[name], rows, k))
    _, status = judge_drift(
        psi,
        g,
        n=rows.shape[1],
        null=[first.features[f].null for f in names],
        scale=first.scale,
        psi_warn=DRIFT.psi_warn,
        psi_refuse=DRIFT.psi_refuse,
        significance=DRIFT.significance,
    )
    return status, names


def _snapshot_batches(frame, where, n, count, rng):
    """``count`` batches of ``n`` people from one monthly snapshot each (one row per
    person, drawn without replacement), among the rows where ``where`` holds; the loop
    runs over snapshots, the batches of one snapshot are drawn together."""
    month = frame["snapshot_date"].to_numpy()
    snapshots = [np.flatnonzero(where & (month == m)) for m in np.unique(month)]
    snapshots = [s for s in snapshots if len(s) >= n]
    if not snapshots:
        return None
    per = np.bincount(rng.integers(0, len(snapshots), count), minlength=len(snapshots))
    out = []
    for rows, r in zip(snapshots, per, strict=True):
        if r:
            out.append(rows[np.argsort(rng.random((r, len(rows))), axis=1)[:, :n]])
    return np.vstack(out)


# ---------------------------------------------------------------------- false alarms
def test_random_batches_from_the_training_population_pass(profiles, population):
    """Random batches of 30 to 100,000 rows (drawn with replacement from the other
    population's rows), judged against the whole training data (no batch column).

    Measured: refused in 1 of 2,000 batches of 30 rows, 1 of 2,000 of 100, 0 of 1,000 of
    1,000, 0 of 300 of 10,000 and 0 of 100 of 100,000 (2 of 5,400, 0.04%; the bound is
    1%, the policy's family-wise false-alarm rate 0.1%).
    """
    _, without = profiles
    frame, codes, _ = population
    rng = np.random.default_rng(0)
    for n, count in [(30, 2_000), (100, 2_000), (1_000, 1_000), (10_000, 300), (100_000, 100)]:
        rows = rng.integers(0, len(frame), size=(count, n))
        status, _ = _judge(without, frame, codes, rows)
        refused = (status == 2).any(axis=1).mean()
        assert refused <= 0.01, f"{refused:.2%} of batches of {n:,} rows refused"


@pytest.mark.slow
def test_random_batches_pass_against_their_establishments(profiles, population):
    """The same with the batch column: each batch is compared with the training rows of
    its establishments in its own proportions, so every batch has its own reference and
    is judged by the scoring path itself (``_drift``), one at a time.

    Measured: refused in 0 of 200 batches of 30 rows, 0 of 200 of 200, 0 of 100 of
    5,000 and 0 of 30 of 100,000 (the bound is 1%).
    """
    with_batch, _ = profiles
    frame, codes, groups = population
    n_groups = len(with_batch.batch.groups) + 1
    rng = np.random.default_rng(1)
    for n, count in [(30, 200), (200, 200), (5_000, 100), (100_000, 30)]:
        refused = 0
        for rows in rng.integers(0, len(frame), size=(count, n)):
            tally = BatchCounts(
                n,
                np.bincount(groups[rows], minlength=n_groups),
                {
                    f: np.bincount(codes[f][rows], minlength=len(p.labels) + 1)
                    for f, p in with_batch.features.items()
                },
                {f: 0.0 for f, p in with_batch.features.items() if p.kind == "numeric"},
            )
            refused += bool(_drift(tally, with_batch, POLICY).drifted)
        assert refused <= 0.01 * count, f"{refused} of {count} batches of {n:,} rows refused"


@pytest.mark.slow
def test_one_establishment_batches_pass(profiles, population):
    """Batches of the people of one establishment at one snapshot (30, 100, 300 or 1,000
    people, where the establishment holds that many), 200 per establishment and size,
    for all 16 establishments, each compared with its establishment's training rows.

    Measured: refused in 3 of 11,000 batches (0.03%; at most 2 of the 200 batches of
    one establishment and size: High Security 1, 30 people; the bound is 1%, for every
    establishment). Against the whole training data instead (no batch column), every
    establishment's batches of 30 people are refused (100%).
    """
    with_batch, without = profiles
    frame, codes, _ = population
    establishment = frame["establishment"].astype(str).to_numpy()
    rng = np.random.default_rng(2)
    total = refused_total = 0
    for value in sorted(set(establishment)):
        judged = refused = 0
        for n in (30, 100, 300, 1_000):
            rows = _snapshot_batches(frame, establishment == value, n, 200, rng)
            if rows is not None:
                status, _ = _judge(with_batch, frame, codes, rows)
                judged += len(rows)
                refused += (status == 2).any(axis=1).sum()
        assert judged >= 400 and refused <= 0.01 * judged, f"{value}: {refused} of {judged}"
        total += judged
        refused_total += refused
    assert total > 10_000 and refused_total <= 0.01 * total
    local = _snapshot_batches(frame, establishment == "Local 1", 300, 50, rng)
    status, _ = _judge(without, frame, codes, local)
    assert (status == 2).any(axis=1).mean() > 0.9


# ---------------------------------------------------------------------- power
def _plant(frame: pd.DataFrame, shift: str, rng: np.random.Generator) -> pd.DataFrame:
    if shift == "age +10 years":
        return frame.assign(age=frame["age"] + 10)
    column = shift.removesuffix(" 50% missing")
    return frame.assign(**{column: frame[column].where(rng.random(len(frame)) < 0.5)})


SHIFTS = [
    "age +10 years",
    "age 50% missing",
    "days_in_custody 50% missing",
    "legal_status 50% missing",
    "previous_self_harm 50% missing",
]


@pytest.mark.parametrize("shift", SHIFTS)
def test_a_planted_shift_is_refused_from_200_rows(profiles, population, shift):
    """500 batches of 200 rows with a planted shift, against the whole training data
    (random people) and against one establishment (200 people of Local 1 at one
    snapshot): the planted feature is refused, and no other.

    Measured: the planted feature refused in 500 of 500 batches for every shift and
    both references (100%; the bound is 95%), another feature in none.
    """
    with_batch, without = profiles
    frame, _, _ = population
    rng = np.random.default_rng(3)
    shifted = _plant(frame, shift, rng)
    feature = shift.split(" ")[0]
    local = (frame["establishment"] == "Local 1").to_numpy()
    cases = [
        (without, rng.integers(0, len(frame), size=(500, 200))),
        (with_batch, _snapshot_batches(frame, local, 200, 500, rng)),
    ]
    for profile, rows in cases:
        codes = {name: p.bin_index(shifted[name]) for name, p in profile.features.items()}
        status, names = _judge(profile, shifted, codes, rows)
        drifted = status == 2
        assert drifted[:, names.index(feature)].mean() >= 0.95
        others = np.delete(drifted, names.index(feature), axis=1)
        assert others.any(axis=1).mean() <= 0.01


# ---------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def prison_release(tmp_path_factory, release_maker, card):
    """An approved release of a logistic model of the synthetic prison data (its spec
    names establishment as the batch column), and the test snapshots to score."""
    frame, spec = rm.datasets.make_prison_incidents(n_people=5_000, months=6, seed=0)
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
    report = POLICY.check(evidence, model=model, context=card.context)
    waivers = {g.name: f"test reviewer: {g.reason}" for g in report if g.status != "pass"}
    out = tmp_path_factory.mktemp("releases") / "prison-v1"
    release_maker(model, evidence, card, POLICY, out, waivers, valid_for_days=90)
    people = test.drop(columns=[spec.target, *spec.protected_names]).reset_index(drop=True)
    return out, people, train.drop(columns=[spec.target, *spec.protected_names])


def _score(release, frame, **kw):
    return rm.score(release, frame, purpose=PURPOSE, explain="none", **kw)


def test_score_lets_genuine_batches_through(prison_release, tmp_path):
    release, people, train = prison_release
    log = tmp_path / "log.jsonl"
    last = people[people["snapshot_date"] == people["snapshot_date"].max()]
    batches = {
        "30 people from training": train.sample(30, random_state=0),
        "30 people": people.sample(30, random_state=1),
        "Women's 1": last[last["establishment"] == "Women's 1"],
        "Local 1": last[last["establishment"] == "Local 1"],
        "everyone": people,
    }
    for what, batch in batches.items():
        rl = _score(release, batch, audit_log=log)
        assert rl.metadata["drift_flagged"] == [], what
        assert len(rl) == len(batch)
    drift = rl.metadata["drift"]
    assert drift["establishment"]["status"] == "stable"
    assert "batch column" in drift["establishment"]["change"]
    one = _score(release, batches["Women's 1"], audit_log=log)
    assert one.metadata["drift_reference"].startswith(
        'the training rows of establishment "Women\'s 1"'
    )


def test_score_refuses_a_real_shift_saying_what_changed(prison_release, tmp_path):
    release, people, _ = prison_release
    batch = people.sample(200, random_state=2)
    with pytest.raises(PolicyViolation) as info:
        _score(release, batch.assign(age=batch["age"] + 10), audit_log=tmp_path / "log.jsonl")
    text = str(info.value)
    assert "Scoring refused" in text and "What to do" in text
    mean = f"{batch['age'].mean() + 10:.1f}"
    assert f"in age (mean {mean} vs " in text and "establishment" in text
    assert "days_in_custody" not in text
    gone = batch.copy()
    gone.loc[gone.sample(frac=0.5, random_state=3).index, "days_in_custody"] = np.nan
    with pytest.raises(PolicyViolation, match=r"days_in_custody \(.*50% of rows missing vs 0%"):
        _score(release, gone, audit_log=tmp_path / "log.jsonl")


def test_score_judges_chunks_like_the_whole_batch(prison_release, tmp_path):
    release, people, _ = prison_release
    batch = people.sample(1_000, random_state=4)
    whole = _score(release, batch, audit_log=tmp_path / "log.jsonl")
    chunked = _score(release, batch, chunk_size=77, audit_log=tmp_path / "log.jsonl")
    assert chunked.metadata["drift"] == whole.metadata["drift"]
    assert chunked.metadata["drift_reference"] == whole.metadata["drift_reference"]
    profile = load_release(release).profile
    for name, psi in profile.psi(batch).items():
        assert whole.metadata["drift"][name]["psi"] == pytest.approx(psi, abs=1e-6)
