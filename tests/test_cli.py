"""The CLI end to end on real files: validate, train, check, approve, score, verify."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

import riskmodels as rm
from cli_runner import runner
from riskmodels.cli import app


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


def test_train_check_approve_score_verify(files, site, mlflow_store):
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
        "--gap-days",
        "30",
    )
    assert res.exit_code == 0, res.output
    model, evidence = rm.release.load_candidate(cand)
    assert evidence.split["gap_days"] == 30
    assert evidence.model_version == model.version_

    res = invoke("check", "--candidate", cand)
    # a synthetic model without an owner's card context cannot pass documentation
    assert res.exit_code == 1 and "documentation.card" in res.output
    assert "senior_responsible_owner" in res.output  # the card's missing fields, named

    res = invoke("approve", "--candidate", cand, "--reviewer", "R", "--author", "R", "--out", rel)
    assert res.exit_code == 2 and not rel.exists()

    gates = rm.Policy.default().check(evidence, model=model)
    waivers = [
        f"--waiver={g.name}=test on synthetic data"
        for g in gates
        if g.status != "pass" and g.name not in ("evidence.model_match",)
    ]
    waivers.append("--waiver=documentation.card=test on synthetic data")
    args = ["--candidate", cand, "--reviewer", "R. Reviewer", "--author", "A. Author"]
    res = invoke("approve", *args, "--out", rel, "--signing-key", site.key("reviewer"))
    # gates neither passing nor waived: the refusal's hint in CLI form, one line on stderr
    assert res.exit_code == 2 and "GateFailed" in res.stderr and not rel.exists()
    assert "--waiver" in res.stderr and "waivers={" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = invoke("approve", *args, "--out", rel, *waivers)  # production: needs a key
    assert res.exit_code == 2 and "must be signed" in res.output and not rel.exists()
    assert "--signing-key KEY" in res.stderr
    res = invoke("approve", *args, "--out", rel, "--signing-key", site.key("reviewer"), *waivers)
    assert res.exit_code == 0, res.output
    res = invoke("verify-release", rel)  # one approval of the two the policy requires
    assert res.exit_code == 2 and "1 valid approval" in res.output
    res = invoke(
        "add-approval",
        "--release",
        rel,
        "--reviewer",
        "S. Second",
        "--signing-key",
        site.key("second"),
    )
    assert res.exit_code == 0, res.output
    res = invoke("verify-release", rel)
    assert res.exit_code == 0 and "R. Reviewer, S. Second" in res.output

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
    # one sheet per establishment, and a summary of what went where
    xlsx = files / "list.xlsx"
    res = invoke(
        "score", "--release", rel, "--input", files / "people.csv",
        "--purpose", "prioritise_welfare_review", "--out", xlsx, "--split-by", "establishment",
        "--no-track",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "establishment=" in res.output and "one sheet per establishment" in res.output
    from openpyxl import load_workbook

    people = pd.read_csv(files / "people.csv")
    sheets = load_workbook(xlsx, read_only=True).sheetnames
    assert len(sheets) == people["establishment"].nunique() + 1  # + the About sheet
    res = invoke("audit-log", "verify")  # the site's log ($RISKMODELS_AUDIT_LOG)
    assert res.exit_code == 0 and "refused" in res.output and "sentencing" in res.output
    res = invoke("audit-log", "anchor")
    assert res.exit_code == 0 and len(res.output.split()[0]) == 64

    _steps_are_tracked_and_linked(mlflow_store, cand, rel, listed)

    res = invoke("card", "--model", rel, "--out", files / "card")
    assert res.exit_code == 0, res.output
    card = json.loads((files / "card" / "model_card.json").read_text())
    assert card["complete"] is False


def _steps_are_tracked_and_linked(uri, cand, rel, listed):
    """train -> check -> approve -> score: one run each in the session's store
    ($MLFLOW_TRACKING_URI), each continuing the one before; --no-track logged nothing."""
    import mlflow

    from riskmodels._io import sha256_file
    from riskmodels.release._candidate import candidate_id

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("riskmodels").experiment_id
    candidate, release_id = candidate_id(cand), sha256_file(rel / "release.json")
    by_candidate = client.search_runs(
        [exp], filter_string=f"tags.`riskmodels.candidate_sha256` = '{candidate}'"
    )
    runs = {r.data.tags["riskmodels.step"]: r for r in by_candidate}
    assert set(runs) == {"train", "check", "approve"}
    scored = client.search_runs(
        [exp],
        filter_string=f"tags.`riskmodels.release_id` = '{release_id}' and "
        "tags.`riskmodels.step` = 'score'",
    )
    assert len(scored) == 1  # the refused run and the --no-track run left none
    chain = [runs["train"], runs["check"], runs["approve"], scored[0]]
    for earlier, later in itertools.pairwise(chain):
        assert later.data.tags["riskmodels.parent_run_id"] == earlier.info.run_id
    assert runs["check"].data.tags["riskmodels.gates"]
    assert scored[0].data.params["purpose"] == "prioritise_welfare_review"
    assert scored[0].data.metrics["rows"] == len(listed)


def test_tampered_candidate_is_refused(files, tmp_path):
    import shutil

    cand = tmp_path / "cand"
    shutil.copytree(files / "candidate", cand)
    (cand / "evidence.json").write_text((cand / "evidence.json").read_text() + " ")
    res = invoke("check", "--candidate", cand)
    assert res.exit_code == 2 and "ReleaseError" in res.output


def test_approve_refuses_a_candidate_changed_after_check(files, tmp_path, site):
    import shutil

    cand = tmp_path / "cand"
    shutil.copytree(files / "candidate", cand)
    args = ["--candidate", cand, "--reviewer", "R. Reviewer", "--author", "A. Author"]
    key = ["--signing-key", site.key("reviewer")]
    res = invoke("approve", *args, "--out", tmp_path / "rel", *key)
    assert res.exit_code == 2 and "riskmodels check" in res.output  # never checked
    invoke("check", "--candidate", cand)
    assert (tmp_path / "cand.check.json").is_file()
    # someone swaps in another (validly re-hashed) candidate after the check
    shutil.rmtree(cand)
    model, evidence = rm.release.load_candidate(files / "candidate")
    model.threshold_ = 0.5
    rm.release.save_candidate(model, evidence, cand)
    res = invoke("approve", *args, "--out", tmp_path / "rel", *key)
    assert res.exit_code == 2 and "changed since it was checked" in res.output
    assert not (tmp_path / "rel").exists()


def test_keys_new_writes_a_private_key_only_its_owner_can_read(tmp_path):
    import os

    res = invoke("keys", "new", "--name", "Ann Approver", "--out", tmp_path)
    assert res.exit_code == 0 and "SHA256:" in res.output
    assert oct(os.stat(tmp_path / "Ann Approver.key").st_mode & 0o777) == "0o600"
    assert (tmp_path / "Ann Approver.pem").is_file()
    res = invoke("keys", "new", "--name", "Ann Approver", "--out", tmp_path)
    assert res.exit_code == 2  # never overwritten


# ---------------------------------------------------------------- errors, help, validate


def run(*args: str):
    """Invoke without re-raising: the app itself must turn errors into one line."""
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(res) -> str:
    """The single non-empty line the app wrote to stderr (asserted single)."""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in res.output
    return lines[0]


@pytest.fixture(scope="module")
def bad_files(files, tmp_path_factory):
    """Broken inputs, one per error path."""
    d = tmp_path_factory.mktemp("bad")
    spec = (files / "spec.yaml").read_text()
    (d / "spec_typo.yaml").write_text(spec + "\nfeaturs: []\n")
    (d / "policy.yaml").write_text("name: p\ndecision_support_only: false\n")
    (d / "pipeline_typo.yaml").write_text(
        f"spec: {files / 'spec.yaml'}\ndata:\n  train: nowhere.csv\noutput: out\nmodle: {{}}\n"
    )
    (d / "not_yaml.yaml").write_text("spec: [unclosed\n")
    # five events in all: too few to fit a model, a serious data-quality problem
    few = pd.read_parquet(files / "data.parquet")
    target = rm.DatasetSpec.from_yaml(files / "spec.yaml").target
    few[target] = (few.index < 5).astype(int)
    few.to_csv(d / "few_events.csv", index=False)
    (d / "pipeline_few_events.yaml").write_text(
        f"spec: {files / 'spec.yaml'}\ndata:\n  train: few_events.csv\noutput: out\n"
    )
    (d / "pipeline_nofile.yaml").write_text(
        f"spec: {files / 'spec.yaml'}\ndata:\n  train: nowhere.csv\noutput: out\n"
    )
    return d


#: (arguments, text the one line must contain, exit code); "{files}" and "{bad}" are
#: replaced by the fixtures' folders.
ERROR_PATHS = [
    (["validate", "{files}/nowhere.csv", "--spec", "{files}/spec.yaml"], "nowhere.csv", 2),
    (["validate", "{files}/data.parquet", "--spec", "{bad}/spec_typo.yaml"], "featurs", 2),
    (["validate", "{files}/people.csv", "--spec", "{files}/spec.yaml"], "--unlabelled", 2),
    (["check-policy", "{bad}/policy.yaml"], "PolicyError", 2),
    (["verify-release", "{files}/no_release"], "ReleaseError", 2),
    (["check", "--candidate", "{files}/no_candidate"], "no_candidate", 2),
    (["run", "{bad}/nowhere.yaml"], "cannot read it", 2),
    (["run", "{bad}/not_yaml.yaml"], "not valid YAML", 2),
    (["run", "{bad}/pipeline_typo.yaml"], "'modle': Extra inputs are not permitted", 2),
    (["run", "{bad}/pipeline_nofile.yaml"], "'data.train': file not found", 2),
    (["card", "--model", "{files}/no_release", "--out", "{bad}/card"], "ReleaseError", 2),
    # the library's `allow=[...]` hint as the option (train) or the key (run) that does it
    (["train", "--data", "{bad}/few_events.csv", "--spec", "{files}/spec.yaml", "--out",
      "{bad}/cand"], "pass --allow too_few_events", 2),
    (["run", "{bad}/pipeline_few_events.yaml"], "under model.allow in the pipeline file", 2),
    (["train", "--data", "{files}/nowhere.csv", "--spec", "{files}/spec.yaml", "--out",
      "{bad}/cand"], "nowhere.csv", 2),
    (["score", "--release", "{files}/no_release", "--input", "{files}/people.csv",
      "--purpose", "prioritise_welfare_review", "--out", "{bad}/l.csv"], "ReleaseError", 2),
    (["add-approval", "--release", "{files}/no_release", "--reviewer", "R",
      "--signing-key", "{bad}/no.key"], "ReleaseError", 2),
    (["monitor", "--release", "{files}/no_release", "--out", "{bad}/m.html"], "ReleaseError", 2),
    (["record-reviews", "--release", "{files}/no_release", "--list", "{files}/people.csv"],
     "ReleaseError", 2),
    (["record-outcomes", "--release", "{files}/no_release", "--data", "{files}/nowhere.csv"],
     "nowhere.csv", 2),
    (["reinstate", "--release", "{files}/no_release", "--reviewer", "R", "--signing-key",
      "{bad}/no.key", "--reason", "r"], "ReleaseError", 2),
    (["register", "--release", "{files}/no_release", "--name", "x"], "ReleaseError", 2),
    (["audit-log", "verify", "{bad}/nowhere.jsonl"], "does not exist", 2),
    (["audit-log", "anchor", "{bad}/nowhere.jsonl"], "does not exist", 2),
    # an OSError (here: a folder inside a file) is the user's to fix, not a bug
    (["keys", "new", "--name", "K", "--out", "{files}/data.parquet/keys"], "data.parquet", 2),
]  # fmt: skip


def _fill(args: list[str], files, bad) -> list[str]:
    return [a.format(files=files, bad=bad) for a in args]


@pytest.mark.parametrize(("args", "says", "code"), ERROR_PATHS, ids=lambda v: str(v)[:40])
def test_an_error_is_one_line_on_stderr_and_debug_shows_the_traceback(
    files, bad_files, args, says, code
):
    argv = _fill(args, files, bad_files)
    res = run(*argv)
    assert res.exit_code == code
    assert says in one_error_line(res)
    res = run("--debug", *argv)
    assert res.exit_code == code
    assert "Traceback (most recent call last)" in res.stderr
    assert res.stderr.rstrip().splitlines()[-1].startswith("error: ")


#: The CLI's own refusals of an option (nothing was raised below it: no traceback).
USAGE_PATHS = [
    (["score", "--release", "r", "--input", "{files}/people.csv", "--purpose", "p",
      "--out", "{bad}/list.txt"], "must end in one of"),
    (["approve", "--candidate", "{files}/candidate", "--reviewer", "R", "--author", "A",
      "--out", "{bad}/rel", "--waiver", "no-equals-sign"], "must be GATE=REASON"),
    (["approve", "--candidate", "{bad}/never_checked", "--reviewer", "R", "--author", "A",
      "--out", "{bad}/rel"], "riskmodels check --candidate"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "says"), USAGE_PATHS, ids=lambda v: str(v)[:30])
def test_a_refused_option_is_one_line_on_stderr(files, bad_files, args, says):
    res = run(*_fill(args, files, bad_files))
    assert res.exit_code == 2
    assert says in one_error_line(res)


def test_an_unexpected_error_exits_1_and_asks_for_debug():
    """A bug (any exception that is not riskmodels') exits 1 with one line; --debug shows
    where. A command of its own on the same command group raises one."""
    import typer

    from riskmodels.cli import _Group, _main

    bug = typer.Typer(cls=_Group)
    bug.callback()(_main)

    @bug.command()
    def divide() -> None:
        print(1 / 0)

    res = runner.invoke(bug, ["divide"])
    assert res.exit_code == 1
    line = one_error_line(res)
    assert "ZeroDivisionError" in line and "--debug" in line and "bug" in line
    res = runner.invoke(bug, ["--debug", "divide"])
    assert res.exit_code == 1 and "Traceback" in res.stderr and "1 / 0" in res.stderr


def _commands(group, prefix=()):
    """Every command's path, sub-groups' commands included (typer loads those lazily)."""
    import typer.core

    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*prefix, name), cmd
        if isinstance(cmd, typer.core.TyperGroup):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help_with_an_example():
    import typer

    root = typer.main.get_command(app)
    names = [path for path, _ in _commands(root)]
    assert ("run",) in names and ("audit-log", "verify") in names and len(names) >= 20
    for path in [(), *names]:
        res = invoke(*path, "--help")
        assert res.exit_code == 0, path
        assert "Example" in res.output and "$ riskmodels" in res.output, path


def test_validate_prints_the_data_quality_report(files):
    res = invoke("validate", files / "data.parquet", "--spec", files / "spec.yaml")
    assert res.exit_code == 0
    assert "labelled (training)" in res.output and "events in" in res.output
    assert "missing values:" in res.output and "people" in res.output
    res = invoke("validate", files / "people.csv", "--spec", files / "spec.yaml", "--unlabelled")
    assert res.exit_code == 0, res.output
    assert "unlabelled (scoring)" in res.output and "1 snapshot date(s)" in res.output
    assert "missing values:" in res.output and "events in" not in res.output


def test_validate_exits_1_on_data_train_would_refuse(files, bad_files):
    res = invoke("validate", bad_files / "few_events.csv", "--spec", files / "spec.yaml")
    assert res.exit_code == 1
    assert "serious" in res.output and "--allow too_few_events" in res.output


def test_library_hints_are_rewritten_as_options():
    from riskmodels.cli import cli_hint

    said = cli_hint(
        "Improve the model, or have the reviewer waive a gate with a written reason: "
        "approve(..., waivers={'gate.name': 'why it is acceptable'})."
    )
    assert "--waiver" in said and "waivers=" not in said
    assert "--trust-store" in cli_hint("name one with trust_store= or $X")
    said = cli_hint("give the key (approve(..., signing_key=...); create one with `keys new`)")
    assert said == "give the key (--signing-key KEY; create one with `keys new`)"


def test_a_usage_error_stays_typer_s_own_not_a_bug():
    """A missing option is typer's to report (usage, exit 2), never turned into a 'bug'."""
    res = run("train", "--data", "x.csv")
    assert res.exit_code == 2 and "Missing option" in res.output and "bug" not in res.output
