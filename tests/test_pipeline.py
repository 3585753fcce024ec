"""`riskmodels run pipeline.yaml`: the example pipeline end to end on real files, and a
pipeline file's problems each named by key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cli_runner import runner
from riskmodels._pipeline import load_pipeline
from riskmodels.cli import app
from riskmodels.errors import SchemaError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of examples/ (the run writes its output folder beside the pipeline file)."""
    dst = tmp_path / "examples"
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("pipeline_output"))
    return dst


def test_example_pipeline_stops_at_approval_then_approves_and_scores(example, site, mlflow_store):
    res = runner.invoke(app, ["run", str(example / "pipeline.yaml")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = example / "pipeline_output"
    assert "Stopped before approval" in res.output and "gap 90 days" in res.output
    assert (out / "card" / "model_card.html").is_file() and (out / "gates.json").is_file()
    assert (out / "candidate.check.json").is_file()  # `riskmodels approve` can go on
    assert not (out / "release").exists()

    # The approvers add themselves, their keys and the waivers they sign, and scoring.
    cfg = yaml.safe_load((example / "pipeline.yaml").read_text())
    gates = json.loads((out / "gates.json").read_text())["gates"]
    waivers = {
        g["name"]: "accepted for a test on synthetic data" for g in gates if g["status"] != "pass"
    }
    cfg["approval"] = {
        "author": "A. Author",
        "approvers": [
            {"name": "R. Reviewer", "signing_key": str(site.key("reviewer"))},
            {"name": "S. Second", "signing_key": str(site.key("second"))},
        ],
        "waivers": waivers,
    }
    cfg["scoring"] = {
        "purpose": "prioritise_welfare_review",
        "out": "risk_list.xlsx",
        "split_by": "establishment",
    }
    (example / "approved.yaml").write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["run", str(example / "approved.yaml")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "approved" in res.output and "R. Reviewer, S. Second" in res.output
    assert "one sheet per establishment" in res.output
    assert (out / "risk_list.xlsx").is_file() and (out / "release" / "release.json").is_file()
    people = pd.read_csv(example / "people_to_score.csv")
    listed = pd.read_excel(out / "risk_list.xlsx", sheet_name=None)
    assert sum(len(f) for name, f in listed.items() if name != "About") >= len(people)
    res = runner.invoke(app, ["verify-release", str(out / "release")])
    assert res.exit_code == 0, res.output
    _every_step_is_tracked(mlflow_store, out)

    # a release is never overwritten: the same run again is refused, on one line, before
    # any work (the candidate beside the release stays the one it was made from)
    before = (out / "candidate.check.json").stat().st_mtime_ns
    res = runner.invoke(app, ["run", str(example / "approved.yaml")])
    assert res.exit_code == 2 and "ReleaseError" in res.stderr and "never overwritten" in res.stderr
    assert (out / "candidate.check.json").stat().st_mtime_ns == before


def test_waivers_missing_from_the_file_refuse_approval_with_a_hint_in_its_terms(
    example, site, tmp_path
):
    cfg = yaml.safe_load((example / "pipeline.yaml").read_text())
    cfg["model"]["n_boot"] = 50
    cfg["approval"] = {
        "author": "A. Author",
        "approvers": [{"name": "R. Reviewer", "signing_key": str(site.key("reviewer"))}],
    }
    (example / "no_waivers.yaml").write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["run", str(example / "no_waivers.yaml")])
    assert res.exit_code == 2
    assert "GateFailed" in res.stderr and "under approval.waivers" in res.stderr
    assert not (example / "pipeline_output" / "release").exists()


def _write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_every_problem_in_a_pipeline_file_is_named_by_its_key(tmp_path):
    (tmp_path / "spec.yaml").write_text("x")
    cfg = {
        "spec": "spec.yaml",
        "data": {"train": "data.csv"},
        "output": "out",
        "model": {"estimator": "forest", "n_boot": 10},
        "split": {"gap_days": -1, "test_sise": 0.2},
        "scoring": {"purpose": "p", "out": "list.txt"},
    }
    with pytest.raises(SchemaError) as info:
        load_pipeline(_write(tmp_path, cfg))
    keys = set(info.value.columns)
    assert {"model.estimator", "model.n_boot", "split.gap_days", "split.test_sise"} <= keys
    assert "scoring" in keys  # .txt is no risk-list format
    assert "unknown key" in str(info.value) and "examples/pipeline.yaml" in str(info.value)

    # valid keys, then the files: relative to the pipeline file, each named
    cfg = {"spec": "spec.yaml", "data": {"train": "data.csv", "score": "p.csv"}, "output": "o"}
    with pytest.raises(SchemaError) as info:
        load_pipeline(_write(tmp_path, cfg))
    assert info.value.columns == ["data.train", "data.score"]
    assert "relative to the pipeline file" in str(info.value)

    cfg["scoring"] = {"purpose": "prioritise_welfare_review"}
    del cfg["data"]["score"]
    with pytest.raises(SchemaError, match=r"needs the people to score in data\.score"):
        load_pipeline(_write(tmp_path, cfg))


def _every_step_is_tracked(uri: str, out: Path) -> None:
    """The approved run logged train, check and approve for its candidate, and a score run
    for its release, in the session's MLflow store ($MLFLOW_TRACKING_URI)."""
    import mlflow

    from riskmodels._io import sha256_file

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("riskmodels").experiment_id
    candidate = json.loads((out / "candidate.check.json").read_text())["content_sha256"]
    runs = client.search_runs(
        [exp], filter_string=f"tags.`riskmodels.candidate_sha256` = '{candidate}'"
    )
    assert {"train", "check", "approve"} <= {r.data.tags["riskmodels.step"] for r in runs}
    release_id = sha256_file(out / "release" / "release.json")
    scored = client.search_runs(
        [exp],
        filter_string=f"tags.`riskmodels.release_id` = '{release_id}' and "
        "tags.`riskmodels.step` = 'score'",
    )
    assert len(scored) == 1
