"""Monitoring through the public API, on synthetic scenarios: a real SQLite store and audit
log in temporary folders, real returned lists (CSV and XLSX), signed reinstatements."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import riskmodels as rm
from riskmodels.errors import PolicyViolation, ReleaseError, SchemaError
from riskmodels.policy import Policy
from riskmodels.release import load_release

PURPOSE = "prioritise_welfare_review"


@pytest.fixture(scope="module")
def prison(tmp_path_factory, release_maker, card):
    """An approved release on the synthetic prison data, its latest snapshot of people
    (one row each) and their true labels and protected attributes."""
    frame, spec = rm.datasets.make_prison_incidents(n_people=4_000, months=4, seed=3)
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
    policy = Policy.default()
    report = policy.check(evidence, model=model, context=card.context)
    waivers = {g.name: f"test reviewer: {g.reason}" for g in report if g.status != "pass"}
    out = tmp_path_factory.mktemp("releases") / "prison-monitored"
    release_maker(model, evidence, card, policy, out, waivers, valid_for_days=90)
    last = test[test[spec.time] == test[spec.time].max()].reset_index(drop=True)
    people = last.drop(columns=[spec.target, *spec.protected_names])
    return out, spec, people, last


@pytest.fixture
def site_paths(tmp_path):
    return {"audit_log": tmp_path / "audit.jsonl", "store": tmp_path / "monitoring.db"}


def _score(release, people, paths, **kw):
    return rm.score(
        release,
        people,
        purpose=PURPOSE,
        explain="none",
        audit_log=paths["audit_log"],
        monitoring_store=paths["store"],
        **kw,
    )


def _returned_csv(rl, path, agree):
    """The list as staff return it: decisions on the first flagged rows."""
    rl.to_csv(path)
    text = ["id", "reviewed_by", "decision", "agrees_with_flag", "rationale"]
    back = pd.read_csv(path, dtype=dict.fromkeys(text, str))
    flagged = back.index[back["status"] == "flagged"][: len(agree)]
    back.loc[flagged, "reviewed_by"] = "officer 1"
    back.loc[flagged, "decision"] = [
        "support offered" if a else "disagree with flag" for a in agree
    ]
    back.loc[flagged, "agrees_with_flag"] = ["yes" if a else "no" for a in agree]
    back.to_csv(path, index=False)
    return path


def test_all_agreeing_reviews_raise_automation_bias_and_mixed_ones_do_not(
    prison, site_paths, tmp_path
):
    release, _, people, _ = prison
    _score(release, people, site_paths)  # the same people twice: two runs, one list
    rl = _score(release, people, site_paths)
    assert rl.counts["flagged"] >= 60
    kw = {"audit_log": site_paths["audit_log"], "store": site_paths["store"]}
    got = rm.monitoring.record_reviews(
        release, _returned_csv(rl, tmp_path / "same.csv", [True] * 60), **kw
    )
    assert got["reviewed"] == 60
    assert got["list_id"].startswith(rl.metadata["output_sha256"])
    r = rm.monitoring.report(release, **kw)
    assert r.status("agreement_with_flag") == "warn"
    agreement = r.indicators.query("indicator == 'agreement_with_flag' and period == 'all'")
    assert agreement[agreement.group == "all"]["value"].iloc[0] == 1.0
    coverage = r.indicators.query("indicator == 'review_coverage' and period == 'all'")
    assert coverage["n"].iloc[0] == rl.counts["flagged"]
    # the same list returned again, with mixed decisions, replaces the earlier ones
    mixed = [i % 3 != 0 for i in range(60)]
    rm.monitoring.record_reviews(release, _returned_csv(rl, tmp_path / "mixed.csv", mixed), **kw)
    again = rm.monitoring.report(release, **kw)
    assert again.status("agreement_with_flag") == "pass"
    row = again.indicators.query("indicator == 'agreement_with_flag' and group == 'all'")
    assert row["value"].iloc[0] == pytest.approx(40 / 60)
    assert row["lo"].iloc[0] < 40 / 60 < row["hi"].iloc[0]
    assert again.status("support_offered") == "info"


def test_a_returned_list_with_one_altered_score_stores_nothing(prison, site_paths, tmp_path):
    release, _, people, _ = prison
    rl = _score(release, people, site_paths)
    path = tmp_path / "list.xlsx"
    rl.to_excel(path)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    col = {name: i + 1 for i, name in enumerate(header)}
    for row in range(2, 40):  # decisions on some rows, as staff would
        ws.cell(row, col["decision"], "support offered")
        ws.cell(row, col["agrees_with_flag"], "yes")
    ws.cell(5, col["score"], ws.cell(5, col["score"]).value + 0.01)  # one altered score
    ws.cell(7, col["decision"], "lock them up")  # and a value outside the drop-down
    wb.save(path)
    kw = {"audit_log": site_paths["audit_log"], "store": site_paths["store"]}
    with pytest.raises(SchemaError) as info:
        rm.monitoring.record_reviews(release, path, **kw)
    assert set(info.value.columns) == {"score", "decision"}
    assert "1 score(s) differ" in str(info.value)
    r = rm.monitoring.report(release, **kw)
    coverage = r.indicators.query("indicator == 'review_coverage' and period == 'all'")
    assert coverage["value"].iloc[0] == 0.0  # nothing was stored
    # the same workbook without the two errors is accepted (XLSX read back exactly)
    ws.cell(5, col["score"], ws.cell(5, col["score"]).value - 0.01)
    ws.cell(7, col["decision"], "no action needed")
    wb.save(path)
    assert rm.monitoring.record_reviews(release, path, **kw)["reviewed"] == 38


def test_outcomes_before_the_window_has_passed_are_refused(prison, site_paths):
    release, spec, people, last = prison
    _score(release, people, site_paths)
    kw = {"audit_log": site_paths["audit_log"], "store": site_paths["store"]}
    early = last[[spec.person, spec.time, spec.target]].head(5).copy()
    early[spec.time] = pd.Timestamp(dt.date.today() - dt.timedelta(days=10))
    with pytest.raises(SchemaError, match="outcome window has not passed") as info:
        rm.monitoring.record_outcomes(release, early, **kw)
    assert info.value.columns == [spec.time]
    bad = last[[spec.person, spec.time, spec.target]].head(3).assign(**{spec.target: 2})
    with pytest.raises(SchemaError, match="other than 0 and 1"):
        rm.monitoring.record_outcomes(release, bad, **kw)


def test_planted_miscalibration_suspends_until_two_approvers_reinstate(prison, site_paths, site):
    release, spec, people, last = prison
    rl = _score(release, people, site_paths)
    kw = {"audit_log": site_paths["audit_log"], "store": site_paths["store"]}
    # outcomes drawn from the model's own scores (calibrated) except for one large group,
    # whose incidents are 2.5 times what the scores say
    scores = rl.frame.set_index("id")["score"].reindex(last[spec.id]).to_numpy()
    assert not np.isnan(scores).all()
    rng = np.random.default_rng(0)
    group = last["age_band"].astype(str) == last["age_band"].astype(str).mode()[0]
    p = np.where(group, np.minimum(1.0, 2.5 * scores), scores)
    outcomes = last[[spec.person, spec.time, *spec.protected_names]].copy()
    outcomes[spec.target] = (rng.random(len(p)) < np.nan_to_num(p)).astype(int)
    assert rm.monitoring.record_outcomes(release, outcomes, **kw)["rows"] == len(outcomes)
    r = rm.monitoring.report(release, **kw)
    oe = r.indicators.query("indicator == 'observed_expected' and period == 'all'")
    name = f"age_band={last['age_band'].astype(str).mode()[0]}"
    planted = oe[oe.group == name]
    assert planted["status"].iloc[0] == "fail"
    # the other age bands are calibrated (other attributes' groups mix in the planted one)
    others = oe[oe.group.str.startswith("age_band=") & (oe.group != name)]
    assert len(others) >= 3 and not (others["status"] == "fail").any()
    assert r.suspended and len(r.suspensions) >= 1
    auc = r.indicators.query("indicator == 'auc' and period == 'all'").iloc[0]
    assert auc["lo"] < auc["value"] < auc["hi"] and auc["n"] == rl.counts["scored"]
    shares = r.indicators.query("indicator == 'band_share' and period == 'all'")
    assert shares["value"].sum() == pytest.approx(1.0)
    log = rm.verify_audit_log(site_paths["audit_log"])
    assert any(e["event"] == "suspended" for e in log)
    with pytest.raises(ReleaseError, match="suspended by monitoring") as info:
        _score(release, people, site_paths)
    assert info.value.reason == "suspended"
    # a second report does not suspend twice
    assert len(rm.monitoring.report(release, **kw).suspensions) == len(r.suspensions)
    # the author's signature does not count; two trusted approvers do
    left = rm.monitoring.reinstate(
        release, signing_key=site.key("author"), reviewer="A. Author", reason="fixed", **kw
    )
    assert left == 2
    left = rm.monitoring.reinstate(
        release,
        signing_key=site.key("reviewer"),
        reviewer="R. Reviewer",
        reason="recalibrated group reviewed; data error in outcomes",
        **kw,
    )
    assert left == 1
    with pytest.raises(ReleaseError, match="1 so far"):
        _score(release, people, site_paths)
    left = rm.monitoring.reinstate(
        release, signing_key=site.key("second"), reviewer="S. Second", reason="agreed", **kw
    )
    assert left == 0
    assert len(_score(release, people, site_paths)) == len(people)
    events = [e["event"] for e in rm.verify_audit_log(site_paths["audit_log"])]
    assert events.count("reinstatement_signed") == 3


def test_a_drifted_population_raises_the_drift_indicator(prison, site_paths, tmp_path):
    release, _, people, _ = prison
    _score(release, people, site_paths)
    older = people.assign(age=people["age"] + 10)
    with pytest.raises(PolicyViolation):
        _score(release, older, site_paths)
    r = rm.monitoring.report(
        release, **{"audit_log": site_paths["audit_log"], "store": site_paths["store"]}
    )
    refused = r.indicators.query("indicator == 'runs_refused'")
    assert refused["status"].iloc[0] == "warn" and refused["value"].iloc[0] == 1
    assert "differs from the population" in refused["detail"].iloc[0]
    path = tmp_path / "dash.html"
    r.save(path)
    page = path.read_text(encoding="utf-8")
    assert "Runs refused" in page and "<script" not in page and "http" not in page
    r.save(tmp_path / "dash.json")
    data = json.loads((tmp_path / "dash.json").read_text())
    assert data["release_id"] == load_release(release).release_id


def test_the_cli_records_reviews_and_writes_the_dashboard(prison, site_paths, tmp_path):
    from typer.testing import CliRunner

    from riskmodels.cli import app

    release, _, people, _ = prison
    rl = _score(release, people, site_paths)
    returned = _returned_csv(rl, tmp_path / "back.csv", [True, False] * 10)
    site = ["--audit-log", site_paths["audit_log"], "--store", site_paths["store"]]

    def run(*args):
        out = CliRunner(env={"COLUMNS": "200"}).invoke(app, [str(a) for a in args])
        assert out.exit_code == 0, out.output
        return out.output

    assert "recorded 20 decision(s)" in run(
        "record-reviews", "--release", release, "--list", returned, *site
    )
    text = run("monitor", "--release", release, "--out", tmp_path / "m.html", *site)
    assert "in use" in text and (tmp_path / "m.html").exists() and (tmp_path / "m.json").exists()
    bad = CliRunner().invoke(
        app,
        [
            "monitor",
            "--release",
            str(release),
            "--out",
            str(tmp_path / "m.html"),
            "--period",
            "fortnight",
            *map(str, site),
        ],
    )
    assert bad.exit_code == 2 and "period" in bad.output
