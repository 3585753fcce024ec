"""MLflow tracking against a real SQLite store in a temp folder."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

import riskmodels as rm
from riskmodels.policy import Policy
from riskmodels.tracking import FAIRNESS_METRICS, log_assessment


@pytest.fixture(scope="module")
def assessed():
    frame, spec = rm.datasets.make_prison_incidents(n_people=800, months=3, seed=2)
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    return model, model.assess(test, n_boot=100, explain=False, fairness=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One store for the module (each new SQLite store costs seconds of migrations)."""
    return f"sqlite:///{tmp_path_factory.mktemp('tracking') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def reviewed(fitted):
    """The shared model and evidence (with a fairness audit), a real card and its gates."""
    model, evidence, _, _ = fitted
    policy = Policy.default()
    gates = policy.check(evidence, model=model)
    card = rm.ModelCard.build(model, evidence, None, policy=policy).with_gates(gates)
    return model, evidence, card, gates, policy


def test_run_records_params_metrics_and_evidence(assessed, store, tmp_path):
    import mlflow

    model, evidence = assessed
    uri = store
    run_id = log_assessment(model, evidence, tracking_uri=uri, experiment="test")
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.data.params["training_sha256"] == model.training_sha256_
    assert run.data.params["split_method"] == "temporal"
    auc = evidence.metric("auc")
    assert run.data.metrics["auc"] == pytest.approx(auc.value)
    assert run.data.metrics["auc_lo"] == pytest.approx(auc.lo)
    assert "baseline_auc" in run.data.metrics
    assert run.data.tags["riskmodels.decision_support_only"] == "true"
    local = client.download_artifacts(run_id, "evidence.json", str(tmp_path))
    assert rm.Evidence.load(local) == evidence
    # artifacts beside the database, not in ./mlruns of the working folder
    beside = Path(store.removeprefix("sqlite:///")).parent / "mlartifacts"
    assert run.info.artifact_uri.startswith(beside.as_uri())


def test_run_holds_fairness_card_gates_policy_and_tags(reviewed, store, tmp_path):
    import mlflow

    model, evidence, card, gates, policy = reviewed
    uri = store
    run_id = log_assessment(model, evidence, card=card, gate=gates, policy=policy, tracking_uri=uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags

    assert params["estimator"] == model.estimator_name
    assert params["threshold"] == str(evidence.threshold)
    assert params["spec_sha256"] == hashlib.sha256(model.spec.to_yaml().encode()).hexdigest()
    assert params["split_method"] == evidence.split["method"]

    # per-group fairness metrics with their CIs, named fairness/<attribute>/<group>/<metric>
    by_group = evidence.fairness.by_group
    row = by_group[by_group["n"] == by_group["n"].max()].iloc[0]
    prefix = f"fairness/{row['attribute']}/{row['group']}"
    for m in FAIRNESS_METRICS:
        for suffix in ("", "_lo", "_hi"):
            value = float(row[m + suffix])
            key = f"{prefix}/{m}{suffix}"
            if math.isnan(value):
                assert key not in metrics  # undefined: absent, never a number
            else:
                assert metrics[key] == pytest.approx(value)
    assert metrics[f"{prefix}/n"] == row["n"]
    assert metrics["brier_hi"] == pytest.approx(evidence.metric("brier").hi)

    assert tags["riskmodels.version"] == rm.__version__
    assert tags["riskmodels.training_sha256"] == model.training_sha256_
    assert tags["riskmodels.gates"] == gates.summary()
    assert {tags[f"riskmodels.gate.{g.name}"] for g in gates} == {g.status for g in gates}
    assert all(tags[f"riskmodels.gate.{g.name}"] == g.status for g in gates)

    artifacts = _artifact_paths(client, run_id)
    assert {
        "evidence.json",
        "spec.yaml",
        "policy.yaml",
        "fairness/by_group.csv",
        "fairness/long.csv",
        "fairness/disparities.csv",
        "gates/gates.json",
        "gates/gates.md",
        "card/model_card.md",
        "card/model_card.html",
        "card/model_card.json",
        "card/atrs.json",
        "card/atrs.md",
    } <= artifacts
    local = client.download_artifacts(run_id, "gates/gates.json", str(tmp_path))
    assert rm.GateReport.from_json(open(local, encoding="utf-8").read()) == gates


def _artifact_paths(client, run_id, path=None) -> set[str]:
    out = set()
    for f in client.list_artifacts(run_id, path):
        out |= _artifact_paths(client, run_id, f.path) if f.is_dir else {f.path}
    return out


def test_the_callers_mlflow_state_is_unchanged(assessed, store, tmp_path):
    import mlflow

    model, evidence = assessed
    theirs = f"sqlite:///{tmp_path / 'theirs.db'}"
    ours = store
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(theirs)
    try:
        experiment = mlflow.set_experiment("their-experiment")
        with mlflow.start_run() as active:
            run_id = log_assessment(model, evidence, tracking_uri=ours, experiment="ours")
            assert mlflow.get_tracking_uri() == theirs
            assert mlflow.active_run().info.run_id == active.info.run_id
            mlflow.log_metric("after", 1.0)  # still goes to their run, in their store
            # the experiment a new run would use is still theirs
            assert mlflow.tracking.fluent._get_experiment_id() == experiment.experiment_id
        assert mlflow.MlflowClient(theirs).get_run(active.info.run_id).data.metrics == {
            "after": 1.0
        }
        assert mlflow.MlflowClient(ours).get_run(run_id).info.status == "FINISHED"
    finally:
        mlflow.set_tracking_uri(before)


def test_mlflow_tracking_uri_is_honoured_and_the_default_is_sqlite_here(
    assessed, store, tmp_path, monkeypatch
):
    import mlflow

    model, evidence = assessed
    env_uri = store
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", env_uri)
    run_id = log_assessment(model, evidence)
    assert mlflow.MlflowClient(env_uri).get_run(run_id).info.status == "FINISHED"

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path / "env")
    run_id = log_assessment(model, evidence)
    assert (tmp_path / "env" / "mlflow.db").is_file()
    here = f"sqlite:///{tmp_path / 'env' / 'mlflow.db'}"
    assert mlflow.MlflowClient(here).get_run(run_id).info.status == "FINISHED"
