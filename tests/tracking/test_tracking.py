"""MLflow tracking against a real SQLite store in a temp folder."""

from __future__ import annotations

import pytest

import riskmodels as rm
from riskmodels.tracking import log_assessment


@pytest.fixture(scope="module")
def assessed():
    frame, spec = rm.datasets.make_prison_incidents(n_people=800, months=3, seed=2)
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="logistic", random_state=0).fit(train)
    return model, model.assess(test, n_boot=100, explain=False, fairness=False)


def test_run_records_params_metrics_and_evidence(assessed, tmp_path):
    import mlflow

    model, evidence = assessed
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
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
    assert rm.Evidence.from_json(local) == evidence
