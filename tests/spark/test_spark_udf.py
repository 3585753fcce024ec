"""The registered model through mlflow.pyfunc.spark_udf: scores for a named purpose,
refuses without one. Each Spark batch is one rm.score call (its own audit entry)."""

from __future__ import annotations

import pytest

from riskmodels.scoring import verify_audit_log
from riskmodels.tracking import register

PURPOSE = "prioritise_welfare_review"
#: The risk list's columns as Spark types (a spark_udf struct holds primitives only: the
#: date as text).
LIST = (
    "id long, person_id long, as_of string, score double, band string, rank long, "
    "status string, reasons string, reviewed_by string, decision string, "
    "agrees_with_flag string, rationale string"
)


@pytest.fixture(scope="module")
def registered(bundle, tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        # executors read the store from the environment, as mlflow.pyfunc does
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        yield register(bundle, "sim-spark")


def _udf(spark, registered, **params):
    import mlflow.pyfunc

    return mlflow.pyfunc.spark_udf(
        spark, registered.model_uri, result_type=LIST, env_manager="local", params=params or None
    )


@pytest.mark.slow  # registering a model and starting its workers: about 25 s
def test_spark_udf_scores_for_a_purpose_and_refuses_without(spark, registered, people, site):
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(people.head(200)).coalesce(1)
    inputs = F.struct(*[F.col(c) for c in frame.columns])
    before = len(verify_audit_log(site.audit_log)) if site.audit_log.exists() else 0
    scored = frame.select(_udf(spark, registered, purpose=PURPOSE)(inputs).alias("r"))
    rows = scored.select("r.*").toPandas()
    assert len(rows) == 200
    assert set(rows["status"]) <= {"flagged", "not_flagged", "insufficient_basis"}
    with pytest.raises(Exception, match="purpose"):
        frame.select(_udf(spark, registered)(inputs).alias("r")).collect()
    events = [e["event"] for e in verify_audit_log(site.audit_log)[before:]]
    assert events[0] == "score" and events[-1] == "refused"


@pytest.mark.slow  # shares the registered model above
def test_spark_score_takes_a_registry_uri(spark, registered, people, tmp_path):
    import riskmodels as rm

    frame = spark.createDataFrame(people.head(300)).repartition(2)
    lists = rm.spark.score(
        registered.model_uri, frame, purpose=PURPOSE, explain="none", audit_log=tmp_path / "l"
    )
    assert lists.count() == 300
    (entry,) = verify_audit_log(tmp_path / "l")
    assert (entry["event"], entry["rows_in"]) == ("score", 300)
