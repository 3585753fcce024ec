"""score(): the governed path to a risk list, and every refusal writing nothing."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from riskmodels._io import sha256_file
from riskmodels.errors import PolicyViolation, ReleaseError, SchemaError
from riskmodels.modeling import frame_sha256
from riskmodels.policy import Policy
from riskmodels.release import load_release
from riskmodels.scoring import DECISION_COLUMNS, RiskList, score, verify_audit_log

PURPOSE = "prioritise_welfare_review"


def _score(release, frame, **kw):
    kw.setdefault("purpose", PURPOSE)
    kw.setdefault("explain", "none")
    return score(release, frame, **kw)


def _clock_at(monkeypatch, when):
    # the testing hook for the system clock (not public API, unreachable from the CLI)
    monkeypatch.setattr("riskmodels._clock.now", lambda: when)


def _valid(bundle):
    release = load_release(bundle)
    return release.approved_at, release.valid_until


def _unchanged(bundle, before):
    after = {p.name for p in bundle.iterdir()}
    assert after == before, "a refused run must write nothing"


# ---------------------------------------------------------------------- the list
def test_risk_list_columns_and_metadata(bundle_copy, people, fitted):
    model, evidence, _, _ = fitted
    rl = _score(bundle_copy, people)
    assert isinstance(rl, RiskList) and len(rl) == len(people)
    f = rl.frame
    assert list(f.columns) == [
        "id",
        "person_id",  # the spec's person column travels onto the list
        "as_of",
        "score",
        "score_low",
        "score_high",
        "band",
        "rank",
        "status",
        "reasons",
        *DECISION_COLUMNS,
    ]
    # every input row once, highest score first, unscored rows last
    assert sorted(f["id"].tolist()) == sorted(people["record_id"].tolist())
    by_id = people.set_index("record_id")
    assert (f["person_id"].to_numpy() == by_id.loc[f["id"], "person_id"].to_numpy()).all()
    scored = f["score"].notna()
    assert f["score"][scored].is_monotonic_decreasing
    assert not scored[scored.idxmin() :].any() or scored.all()  # no score after a NaN
    assert f["rank"][scored].is_monotonic_increasing  # rank 1 first, ties share a rank
    assert set(f["status"]) <= {"flagged", "not_flagged", "insufficient_basis"}
    assert ((f["status"] == "insufficient_basis") == ~scored).all()
    assert ((f["status"] == "flagged") == (f["score"] >= evidence.threshold)).all()
    assert f[list(DECISION_COLUMNS)].isna().all().all()
    # each range contains the score; bands follow the policy's cut points (a score on a
    # cut in the higher band), and a range crossing a cut is never given one band
    s, lo, hi = (f.loc[scored, c].to_numpy() for c in ("score", "score_low", "score_high"))
    assert ((lo <= s) & (s <= hi)).all() and (hi > lo).any()
    policy = Policy.default()
    cuts = policy.bands.resolve(evidence.threshold)
    labels = np.asarray(policy.bands.labels, dtype=object)
    band_lo = labels[np.searchsorted(cuts, lo, side="right")]
    band_hi = labels[np.searchsorted(cuts, hi, side="right")]
    expected = np.where(band_lo == band_hi, band_lo, band_lo + " to " + band_hi)
    assert (f.loc[scored, "band"].to_numpy(dtype=object) == expected).all()
    assert (band_lo != band_hi).any(), "the fixture should have ranges that cross a cut"
    # the flag is a band edge: no flagged person in the lowest band
    flagged = f["status"] == "flagged"
    assert flagged.any() and (f.loc[flagged, "band"] != policy.bands.labels[0]).all()
    # rank 1 is the highest score; ties share a rank
    top = f.loc[f["rank"] == 1, "score"]
    assert (top == f["score"].max()).all()
    assert f.loc[scored].sort_values("rank")["score"].is_monotonic_decreasing
    m = rl.metadata
    assert m["model_name"] == model.display_name and m["model_version"] == model.version_
    generated = dt.datetime.fromisoformat(m["generated_at"])
    assert m["purpose"] == PURPOSE and abs(dt.datetime.now(dt.UTC) - generated).days == 0
    assert m["valid_until"] == load_release(bundle_copy).valid_until.isoformat()
    assert m["approved_by"] == "R. Reviewer, S. Second" and m["card"].startswith("card.md")
    assert m["counts"]["rows"] == len(people)
    assert m["counts"]["scored"] == int(scored.sum())
    assert "does not replace, a human decision" in rl.notice
    for prohibited in (
        "sentencing",
        "parole decisions",
        "automated restrictions",
        "disciplinary decisions",
    ):
        assert prohibited in rl.notice
    assert "prioritise welfare review" in rl.notice
    assert rl.top(5)["rank"].tolist() == sorted(rl.top(5)["rank"].tolist())
    assert "DECISION SUPPORT ONLY" in rl._repr_html_() and "flagged" in repr(rl)


def test_scores_equal_the_models_to_the_last_bit(bundle, people, fitted, tmp_path):
    model, _, _, _ = fitted
    expected = model._predict_proba(people)
    for chunk_size in (100_000, 257):
        rl = _score(bundle, people, chunk_size=chunk_size, audit_log=tmp_path / "log.jsonl")
        ok = rl.frame["score"].notna().to_numpy()
        assert ok.mean() > 0.95
        # the list is sorted by score: compare person by person
        pos = pd.Index(people["record_id"]).get_indexer(rl.frame["id"])
        np.testing.assert_array_equal(rl.frame["score"].to_numpy()[ok], expected[pos][ok])
    release = load_release(bundle)
    rl2 = _score(release, people, audit_log=tmp_path / "log.jsonl")
    assert rl2.frame.equals(rl.frame)


def test_rows_outside_the_training_data_get_no_score(bundle, people, fitted, tmp_path):
    model, _, _, _ = fitted
    prof = model.profile_.features["age"]
    odd = people.copy()
    odd.loc[0, "age"] = prof.max + 5  # within the spec's range, beyond training's
    odd.loc[1, "wing"] = "D"  # allowed by the spec, never seen in training
    odd.loc[2, "age"] = np.nan  # training had no missing ages
    rl = _score(bundle, odd, audit_log=tmp_path / "log.jsonl")
    # back in input order, to read the three planted rows
    f = rl.frame.set_index("id").loc[odd["record_id"]].reset_index()
    assert f["status"].tolist()[:3] == ["insufficient_basis"] * 3
    assert f["score"].isna().tolist()[:3] == [True] * 3
    assert f["rank"].isna().tolist()[:3] == [True] * 3
    assert "outside training range" in f.loc[0, "reasons"]
    assert "wing=D not seen in training" in f.loc[1, "reasons"]
    assert "age is missing" in f.loc[2, "reasons"]
    assert f["reasons"].str.startswith("No score:").tolist()[:3] == [True] * 3
    assert f["score"].notna().tolist()[3:6] == [True] * 3
    assert rl.counts["insufficient_basis"] == 3 + int(
        (people["age"].iloc[3:] > prof.max).sum() + (people["age"].iloc[3:] < prof.min).sum()
    )


# ---------------------------------------------------------------------- refusals
def test_prohibited_purpose_is_refused_and_writes_nothing(bundle_copy, people):
    before = {p.name for p in bundle_copy.iterdir()}
    with pytest.raises(PolicyViolation, match="prohibited") as info:
        _score(bundle_copy, people, purpose="parole_decisions")
    for permitted in Policy.default().permitted_purposes:
        assert permitted in str(info.value)
    _unchanged(bundle_copy, before)


def test_unknown_purpose_is_refused_and_writes_nothing(bundle_copy, people):
    before = {p.name for p in bundle_copy.iterdir()}
    for purpose in ("find_troublemakers", "", None):
        with pytest.raises(PolicyViolation, match="not a permitted purpose") as info:
            _score(bundle_copy, people, purpose=purpose)
        for permitted in Policy.default().permitted_purposes:
            assert permitted in str(info.value)
    _unchanged(bundle_copy, before)


def test_missing_column_is_a_schema_error_and_writes_nothing(bundle_copy, people):
    before = {p.name for p in bundle_copy.iterdir()}
    with pytest.raises(SchemaError) as info:
        _score(bundle_copy, people.drop(columns=["ideation"]))
    assert "ideation" in info.value.columns
    _unchanged(bundle_copy, before)


def test_drifted_batch_is_refused_naming_the_feature(bundle_copy, people):
    before = {p.name for p in bundle_copy.iterdir()}
    drifted = people.assign(wing="C")
    with pytest.raises(PolicyViolation, match="wing") as info:
        _score(bundle_copy, drifted)
    assert "age" not in str(info.value) and info.value.purpose == PURPOSE
    _unchanged(bundle_copy, before)


def test_drifted_batch_is_flagged_when_the_policy_says_so(flag_bundle, people, tmp_path):
    rl = _score(flag_bundle, people.assign(wing="C"), audit_log=tmp_path / "log.jsonl")
    assert rl.metadata["drift_flagged"] == ["wing"]
    assert rl.metadata["drift"]["wing"]["status"] == "drifted"
    assert "WARNING" in rl.notice and "wing" in rl.notice
    assert verify_audit_log(tmp_path / "log.jsonl")[0]["drift"] == ["wing"]


def test_small_batches_are_judged_against_chance(bundle, people, fitted, tmp_path):
    model, _, _, _ = fitted
    small = people.sample(25, random_state=1)
    rl = _score(bundle, small, audit_log=tmp_path / "log.jsonl")
    drift = rl.metadata["drift"]
    # a PSI beyond the bound by chance alone: tested, and not significant
    assert drift["age"]["psi"] > Policy.default().drift.psi_refuse
    assert drift["age"]["p_value"] > Policy.default().drift.significance
    assert drift["age"]["status"] == "stable"
    assert rl.metadata["drift_flagged"] == []
    # PSI summed over chunks is the PSI of the whole batch
    rl = _score(bundle, people, chunk_size=333, audit_log=tmp_path / "log.jsonl")
    whole = model.profile_.psi(people)
    for name, value in whole.items():
        assert rl.metadata["drift"][name]["psi"] == pytest.approx(value, abs=1e-6)


def test_tampered_release_is_refused_and_writes_nothing(bundle_copy, people):
    with open(bundle_copy / "card.md", "a", encoding="utf-8") as fh:
        fh.write("edited\n")
    before = {p.name for p in bundle_copy.iterdir()}
    with pytest.raises(ReleaseError) as info:
        _score(bundle_copy, people)
    assert info.value.reason == "tampered"
    _unchanged(bundle_copy, before)


def test_a_loaded_release_is_reverified(bundle_copy, people, tmp_path):
    release = load_release(bundle_copy)
    data = bytearray((bundle_copy / "model.skops").read_bytes())
    data[-10] ^= 0xFF
    (bundle_copy / "model.skops").write_bytes(bytes(data))
    log = tmp_path / "log.jsonl"
    with pytest.raises(ReleaseError) as info:
        _score(release, people, audit_log=log)
    assert info.value.reason == "tampered"
    (entry,) = verify_audit_log(log)
    assert (entry["event"], entry["reason"], entry["scored"]) == ("refused", "tampered", 0)


def test_expired_release_is_refused_and_writes_nothing(bundle_copy, people, monkeypatch):
    before = {p.name for p in bundle_copy.iterdir()}
    _clock_at(monkeypatch, _valid(bundle_copy)[1] + dt.timedelta(days=1))
    with pytest.raises(ReleaseError) as info:
        _score(bundle_copy, people)
    assert info.value.reason == "expired"
    _unchanged(bundle_copy, before)


def test_bad_arguments(bundle, people):
    with pytest.raises(SchemaError) as info:
        _score(bundle, people, explain="some", chunk_size=0)
    assert info.value.columns == ["explain", "chunk_size"]
    with pytest.raises(SchemaError):
        _score(bundle, [1, 2, 3])


# ---------------------------------------------------------------------- audit log
def test_each_run_appends_one_chained_entry(bundle_copy, people, tmp_path, site):
    log = tmp_path / "site" / "audit_log.jsonl"
    for purpose in ("prioritise_welfare_review", "research_evaluation"):
        rl = _score(bundle_copy, people, purpose=purpose, audit_log=log)
    assert not (bundle_copy / "audit_log.jsonl").exists()  # the site's log, not the bundle's
    entries = verify_audit_log(log)
    assert [e["seq"] for e in entries] == [0, 1]
    assert [e["purpose"] for e in entries] == ["prioritise_welfare_review", "research_evaluation"]
    e = entries[-1]
    assert e["rows_in"] == len(people) and e["scored"] + e["abstained"] == len(people)
    at = dt.datetime.fromisoformat(e["at"])
    assert e["user"] and abs(dt.datetime.now(dt.UTC) - at) < dt.timedelta(hours=1)
    assert e["approved_by"] == ["R. Reviewer", "S. Second"]
    assert e["approval_keys"] == load_release(bundle_copy).approval_fingerprints
    assert e["input_sha256"] == frame_sha256(
        people, ["record_id", "snapshot_date", "person_id", "age", "ideation", "prior", "wing"]
    )
    assert e["output_sha256"] == rl.metadata["output_sha256"]
    assert e["release_id"] == load_release(bundle_copy).release_id
    assert rl.metadata["audit_entry"] == 1


def test_parquet_input_is_streamed_with_the_same_result(bundle, people, tmp_path):
    path = tmp_path / "people.parquet"
    people.to_parquet(path, row_group_size=400)
    log = tmp_path / "log.jsonl"
    from_file = _score(bundle, path, chunk_size=500, audit_log=log)
    from_frame = _score(bundle, people, audit_log=log)
    pd.testing.assert_frame_equal(from_file.frame, from_frame.frame)
    assert from_file.metadata["input_sha256"] == sha256_file(path)
    assert verify_audit_log(log)[0]["input"] == "people.parquet"
    # protected attributes are not read from the file: scoring does not need them
    with_sex = tmp_path / "with_sex.parquet"
    people.assign(sex="F").to_parquet(with_sex)
    assert "sex" not in _score(bundle, with_sex, audit_log=log).frame.columns


def test_parquet_problems_are_reported(bundle, people, tmp_path):
    missing = tmp_path / "missing.parquet"
    people.drop(columns=["wing"]).to_parquet(missing)
    with pytest.raises(SchemaError) as info:
        _score(bundle, missing, audit_log=tmp_path / "log.jsonl")
    assert info.value.columns == ["wing"]
    dupes = tmp_path / "dupes.parquet"
    pd.concat([people, people.head(3)]).to_parquet(dupes)
    with pytest.raises(SchemaError, match="duplicate"):
        _score(bundle, dupes, chunk_size=1000, audit_log=tmp_path / "log.jsonl")
    bad = tmp_path / "bad.parquet"
    people.assign(age=people["age"] + 100).to_parquet(bad)
    with pytest.raises(SchemaError, match="above the maximum"):
        _score(bundle, bad, chunk_size=1000, audit_log=tmp_path / "log.jsonl")
    # three refusals, each logged with nothing scored
    entries = verify_audit_log(tmp_path / "log.jsonl")
    assert [(e["event"], e["error"], e["scored"]) for e in entries] == [
        ("refused", "SchemaError", 0)
    ] * 3


def test_flagged_rows_get_plain_language_reasons(bundle, people, tmp_path):
    rl = _score(bundle, people, explain="flagged", audit_log=tmp_path / "log.jsonl")
    f = rl.frame
    flagged = f["status"] == "flagged"
    assert flagged.any()
    assert f.loc[flagged, "reasons"].notna().mean() > 0.9
    assert f.loc[flagged & f["reasons"].notna(), "reasons"].str.contains("raises risk").all()
    assert f.loc[f["status"] == "not_flagged", "reasons"].isna().all()
    assert f.loc[f["status"] == "insufficient_basis", "reasons"].str.startswith("No score").all()
    assert "SHAP" in rl.metadata["reasons"]
    everyone = _score(bundle, people, explain="all", audit_log=tmp_path / "log.jsonl")
    scored = everyone.frame["score"].notna()
    assert everyone.frame.loc[scored, "reasons"].notna().sum() > flagged.sum()
    # the same rows get the same reasons whether or not the others are explained
    both = flagged & f["reasons"].notna()
    assert (everyone.frame.loc[both, "reasons"] == f.loc[both, "reasons"]).all()


def test_categorical_columns_score_like_text_columns(bundle, people, tmp_path):
    as_text = _score(bundle, people, audit_log=tmp_path / "log.jsonl")
    as_category = _score(
        bundle,
        people.assign(wing=people["wing"].astype("category")),
        audit_log=tmp_path / "log.jsonl",
    )
    pd.testing.assert_frame_equal(as_text.frame, as_category.frame)
    assert as_text.metadata["drift"] == as_category.metadata["drift"]


def test_a_loaded_release_altered_in_memory_cannot_score(bundle_copy, people):
    release = load_release(bundle_copy)
    text = Policy.default().to_yaml()
    assert "  - research_evaluation" in text
    # a caller swaps in a policy that permits a new purpose, and breaks the model
    release.policy = Policy.from_text(
        text.replace("  - research_evaluation", "  - research_evaluation\n  - custom_purpose", 1)
    )
    assert "custom_purpose" in release.policy.permitted_purposes
    release.model.estimator_ = None
    with pytest.raises(PolicyViolation):
        _score(release, people, purpose="custom_purpose")
    # scoring reloads the model from disk, so the swapped estimator is never used
    assert len(_score(release, people).frame) == len(people)


def test_a_clock_before_the_approval_is_refused(bundle_copy, people, monkeypatch):
    _clock_at(monkeypatch, _valid(bundle_copy)[0] - dt.timedelta(days=3650))
    with pytest.raises(ReleaseError) as info:
        _score(bundle_copy, people)
    assert info.value.reason == "expired"


def test_a_refused_purpose_is_in_the_audit_log_as_refused(bundle, people, tmp_path):
    log = tmp_path / "log.jsonl"
    with pytest.raises(PolicyViolation):
        _score(bundle, people, purpose="parole_decisions", audit_log=log)
    _score(bundle, people, audit_log=log)
    refused, ok = verify_audit_log(log)
    assert refused["event"] == "refused" and refused["purpose"] == "parole_decisions"
    assert refused["error"] == "PolicyViolation" and refused["scored"] == 0
    assert "prohibited" in refused["message"] and refused["user"] and refused["at"]
    assert refused["release_id"] == ok["release_id"] == load_release(bundle).release_id
    assert ok["event"] == "score"


def test_the_notice_and_the_enforcement_read_the_same_policy(bundle, people):
    rl = _score(bundle, people)
    policy = load_release(bundle).policy
    for p in policy.prohibited_purposes:
        assert p.replace("_", " ") in rl.notice
    assert rl.metadata["prohibited_purposes"] == policy.prohibited_purposes
    assert "R. Reviewer and S. Second" in rl.notice


def test_a_development_release_scores_only_for_development_and_says_so(
    fitted, card, waivers, people, tmp_path, release_maker
):
    from riskmodels.scoring._score import DEVELOPMENT_MARK

    model, evidence, _, _ = fitted
    d = Policy.default().to_dict()
    d.update(environment="development", permitted_purposes=["development_testing"])
    out = tmp_path / "dev"
    from riskmodels.release import approve

    approve(
        model, evidence, card, Policy.from_dict(d), reviewer="R. Reviewer",
        author="A. Author", waivers=waivers, out=out,
    )  # fmt: skip
    with pytest.raises(PolicyViolation):
        _score(out, people, purpose=PURPOSE)
    rl = _score(out, people, purpose="development_testing")
    assert rl.notice.startswith(DEVELOPMENT_MARK) and rl.metadata["environment"] == "development"
    csv = tmp_path / "dev.csv"
    rl.to_csv(csv)
    # the mark travels with the CSV (in the file or its sidecar), whatever the layout
    texts = [p.read_text(encoding="utf-8") for p in tmp_path.glob("dev.csv*")]
    assert any(DEVELOPMENT_MARK.strip() in t for t in texts)


def test_the_same_person_twice_in_one_snapshot_is_refused_with_their_id(bundle, people, tmp_path):
    twice = people.copy()
    twice.loc[1, "person_id"] = twice.loc[0, "person_id"]
    twice.loc[1, "snapshot_date"] = twice.loc[0, "snapshot_date"]
    with pytest.raises(SchemaError, match="more than one row") as info:
        _score(bundle, twice, audit_log=tmp_path / "log.jsonl")
    assert info.value.columns == ["person_id"]
    assert str(twice.loc[0, "person_id"]) in str(info.value)


def test_split_by_is_checked_before_anyone_is_scored(bundle_copy, people, tmp_path):
    log = tmp_path / "log.jsonl"
    rl = _score(bundle_copy, people.head(6), split_by="person_id", audit_log=log)
    assert rl.split_by == "person_id" and rl.metadata["split_by"] == "person_id"
    rl.to_csv(tmp_path / "lists")
    assert len(list((tmp_path / "lists").glob("*.csv"))) == rl.frame["person_id"].nunique()
    for column, hint in (("sex", "protected attributes never travel"), ("wing", "split by one")):
        with pytest.raises(SchemaError, match=hint) as info:
            _score(bundle_copy, people.head(6), split_by=column, audit_log=log)
        assert info.value.columns == ["split_by"]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in entries] == ["score", "refused", "refused"]


def test_the_list_says_how_its_threshold_was_chosen(bundle_copy, people, tmp_path):
    rl = _score(bundle_copy, people.head(5))
    assert rl.metadata["threshold_choice"].startswith("the lowest training score")
    rl.to_csv(tmp_path / "l.csv")
    about = (tmp_path / "l.about.txt").read_text(encoding="utf-8")
    assert "How it was chosen: the lowest training score" in " ".join(about.split())
