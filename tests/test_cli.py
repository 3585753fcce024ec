"""The CLI end to end on real files: validate, train, check, approve, score, verify."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import riskmodels as rm
from riskmodels.cli import app

runner = CliRunner(env={"COLUMNS": "240"})


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    frame, spec = rm.datasets.make_prison_incidents(
        n_people=2500, outcome="violence", months=4, seed=3
    )
    frame.to_parquet(d / "data.parquet")
    spec.to_yaml(d / "spec.yaml")
    latest = frame[frame.snapshot_date == frame.snapshot_date.max()]
    latest.drop(columns=[spec.target]).to_csv(d / "people.csv", index=False)
    return d


def test_validate_reports_bad_data_with_exit_code(files):
    ok = invoke("validate", files / "data.parquet", "--spec", files / "spec.yaml")
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = pd.read_parquet(files / "data.parquet").drop(columns="age")
    bad.to_csv(files / "bad.csv", index=False)
    res = invoke("validate", files / "bad.csv", "--spec", files / "spec.yaml")
    assert res.exit_code == 2 and "SchemaError" in res.output and "'age'" in res.output


def test_train_check_approve_score_verify(files):
    cand, rel = files / "candidate", files / "release"
    res = invoke(
        "train",
        "--data",
        files / "data.parquet",
        "--spec",
        files / "spec.yaml",
        "--out",
        cand,
        "--estimator",
        "logistic",
        "--n-boot",
        "200",
    )
    assert res.exit_code == 0, res.output
    model, evidence = rm.release.load_candidate(cand)
    assert evidence.model_version == model.version_

    res = invoke("check", "--candidate", cand)
    # a synthetic model without an owner's card context cannot pass documentation
    assert res.exit_code == 1 and "documentation.card" in res.output

    res = invoke("approve", "--candidate", cand, "--reviewer", "R", "--author", "R", "--out", rel)
    assert res.exit_code == 2 and not rel.exists()

    gates = rm.Policy.default().check(evidence, model=model)
    waivers = [
        f"--waiver={g.name}=test on synthetic data"
        for g in gates
        if g.status != "pass" and g.name not in ("evidence.model_match",)
    ]
    waivers.append("--waiver=documentation.card=test on synthetic data")
    res = invoke(
        "approve",
        "--candidate",
        cand,
        "--reviewer",
        "Reviewer",
        "--author",
        "Author",
        "--out",
        rel,
        *waivers,
    )
    assert res.exit_code == 0, res.output
    assert invoke("verify-release", rel).exit_code == 0

    out = files / "list.csv"
    res = invoke(
        "score",
        "--release",
        rel,
        "--input",
        files / "people.csv",
        "--purpose",
        "sentencing",
        "--out",
        out,
    )
    assert res.exit_code == 2 and "PolicyViolation" in res.output and not out.exists()
    res = invoke(
        "score",
        "--release",
        rel,
        "--input",
        files / "people.csv",
        "--purpose",
        "prioritise_welfare_review",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    listed = pd.read_csv(out, comment="#")
    assert {"score", "band", "status", "reviewed_by", "decision"} <= set(listed.columns)
    res = invoke("verify-audit-log", rel / "audit_log.jsonl")
    assert res.exit_code == 0 and "1 scoring run" in res.output

    res = invoke("card", "--model", rel, "--out", files / "card")
    assert res.exit_code == 0, res.output
    card = json.loads((files / "card" / "model_card.json").read_text())
    assert card["complete"] is False


def test_tampered_candidate_is_refused(files, tmp_path):
    import shutil

    cand = tmp_path / "cand"
    shutil.copytree(files / "candidate", cand)
    (cand / "evidence.json").write_text((cand / "evidence.json").read_text() + " ")
    res = invoke("check", "--candidate", cand)
    assert res.exit_code == 2 and "ReleaseError" in res.output
