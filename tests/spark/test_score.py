"""rm.spark.score: the same list as rm.score, and every refusal before anything is scored."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels.errors import PolicyViolation, ReleaseError, SchemaError
from riskmodels.release import load_release
from riskmodels.scoring import verify_audit_log
from riskmodels.scoring._store import Store

PURPOSE = "prioritise_welfare_review"
#: The columns that must be the same, person by person, as rm.score's.
SAME = ["id", "person_id", "as_of", "score", "band", "rank", "status", "reasons"]


def _frame(spark, people, partitions=3):
    return spark.createDataFrame(people).repartition(partitions)


def _by_id(frame):
    return frame.sort_values("id").reset_index(drop=True)


def _values(column):
    return [None if pd.isna(v) else v for v in column.astype(object)]


def _poisoned(spark, people):
    """A DataFrame whose every row raises when a partition is evaluated: a refusal with
    it proves no partition was read."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    def boom(x):
        raise RuntimeError("a partition was evaluated")

    return _frame(spark, people).withColumn("age", F.udf(boom, T.DoubleType())("age"))


def test_the_list_equals_rm_scores_row_by_row(spark, bundle, people, fitted, tmp_path):
    model, _, _, _ = fitted
    odd = people.copy()
    # abstentions, each with its reason: beyond training's range, unseen, missing
    odd.loc[0, "age"] = model.profile_.features["age"].max + 5
    odd.loc[1, "wing"] = "D"
    odd.loc[2, "age"] = np.nan
    expected = rm.score(
        bundle, odd, purpose=PURPOSE, explain="flagged", audit_log=tmp_path / "pandas.jsonl"
    )
    store = f"sqlite:///{tmp_path / 'spark-monitoring.db'}"
    lists = rm.spark.score(
        bundle,
        _frame(spark, odd),
        purpose=PURPOSE,
        audit_log=tmp_path / "spark.jsonl",
        monitoring_store=store,
    )
    got = lists.toPandas()
    assert got.columns.tolist() == expected.frame.columns.tolist()
    want = _by_id(expected.frame)
    got = _by_id(got)
    assert (want["status"] == "insufficient_basis").sum() >= 3
    assert (want["status"] == "flagged").sum() > 0 and want["reasons"].notna().sum() > 5
    for column in ("score", "score_low", "score_high"):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy())
    for column in ["id", "person_id", "band", "status", "reasons"]:
        assert _values(got[column]) == _values(want[column]), column
    assert got["rank"].astype("Int64").equals(want["rank"].astype("Int64"))
    assert (pd.to_datetime(got["as_of"]) == pd.to_datetime(want["as_of"])).all()
    # the list on the driver: rm.score's order, notice and metadata, and its exports
    risk_list = rm.spark.to_risk_list(lists)
    assert risk_list.notice == expected.notice
    assert risk_list.metadata["counts"] == expected.metadata["counts"]
    assert risk_list.metadata["drift"] == expected.metadata["drift"]
    assert risk_list.frame["score"].dropna().is_monotonic_decreasing
    pd.testing.assert_series_equal(
        _by_id(risk_list.frame)["band"], want["band"], check_categorical=True
    )
    risk_list.to_parquet(tmp_path / "list.parquet")
    assert rm.RiskList.from_parquet(tmp_path / "list.parquet").notice == expected.notice
    # what was issued is in the monitoring store, as rm.score keeps it
    with Store(store) as kept:
        (run,) = kept.runs(load_release(bundle).release_id).itertuples()
        issued = kept.issued(run.list_id)
    assert (run.rows, run.flagged) == (len(want), (want["status"] == "flagged").sum())
    assert sorted(issued["id"]) == sorted(str(i) for i in want["id"])
    # one audit entry, with the counts rm.score records
    (mine,) = verify_audit_log(tmp_path / "spark.jsonl")
    theirs = verify_audit_log(tmp_path / "pandas.jsonl")[-1]
    for key in ("event", "purpose", "release_id", "rows_in", "scored", "abstained", "flagged"):
        assert mine[key] == theirs[key], key


def test_refusals_log_once_and_score_nobody(spark, bundle, people, tmp_path):
    log = tmp_path / "log.jsonl"
    with pytest.raises(PolicyViolation, match="prohibited"):
        rm.spark.score(bundle, _poisoned(spark, people), purpose="sentencing", audit_log=log)
    (entry,) = verify_audit_log(log)
    assert (entry["event"], entry["scored"]) == ("refused", 0)


def test_a_tampered_bundle_is_refused_before_any_partition(spark, bundle_copy, people, tmp_path):
    with open(bundle_copy / "card.md", "a", encoding="utf-8") as fh:
        fh.write("edited\n")
    with pytest.raises(ReleaseError) as info:
        rm.spark.score(
            bundle_copy, _poisoned(spark, people), purpose=PURPOSE, audit_log=tmp_path / "l"
        )
    assert info.value.reason == "tampered"


def test_a_bundle_not_signed_by_the_sites_keys_is_refused(spark, bundle, people, tmp_path):
    strangers = tmp_path / "trust_store"
    strangers.mkdir()
    with pytest.raises(ReleaseError) as info:
        rm.spark.score(
            bundle,
            _poisoned(spark, people),
            purpose=PURPOSE,
            trust_store=strangers,
            audit_log=tmp_path / "l",
        )
    assert info.value.reason == "unapproved"


def test_a_drifted_batch_is_refused_before_any_row_is_scored(spark, bundle, people, tmp_path):
    log = tmp_path / "log.jsonl"
    with pytest.raises(PolicyViolation, match="wing") as info:
        rm.spark.score(
            bundle, _frame(spark, people.assign(wing="C")), purpose=PURPOSE, audit_log=log
        )
    assert "age" not in str(info.value)
    assert [e["event"] for e in verify_audit_log(log)] == ["refused"]


def test_spec_problems_and_duplicates_across_partitions(spark, bundle, people, tmp_path):
    with pytest.raises(SchemaError) as info:
        rm.spark.score(
            bundle,
            _frame(spark, people.drop(columns=["ideation"])),
            purpose=PURPOSE,
            audit_log=tmp_path / "l",
        )
    assert "ideation" in info.value.columns
    twice = pd.concat([people, people.head(3)], ignore_index=True)
    with pytest.raises(SchemaError, match="3 duplicate id"):
        rm.spark.score(bundle, _frame(spark, twice, 4), purpose=PURPOSE, audit_log=tmp_path / "l")


def test_split_by_is_checked_first(spark, bundle, people, tmp_path):
    with pytest.raises(SchemaError, match="split_by"):
        rm.spark.score(
            bundle,
            _poisoned(spark, people),
            purpose=PURPOSE,
            split_by="sex",
            audit_log=tmp_path / "l",
        )


def test_executors_verify_what_they_receive(bundle):
    from riskmodels.spark._score import _executor_release, _raise_refusal, _ship, _tally_batches

    release = load_release(bundle)
    good = _ship(release, PURPOSE, None)
    assert _executor_release(good).release_id == release.release_id
    edited = dict(good.bundle, **{"card.md": good.bundle["card.md"] + b"edited\n"})
    with pytest.raises(ReleaseError) as info:
        _executor_release(
            _ship(release, PURPOSE, None).__class__(
                "run-2", good.release_id, PURPOSE, edited, good.trust
            )
        )
    assert info.value.reason == "tampered"
    with pytest.raises(ReleaseError) as info:
        _executor_release(good.__class__("run-3", good.release_id, PURPOSE, good.bundle, {}))
    assert info.value.reason == "unapproved"
    # in a partition, the refusal is a row the driver raises as the same error
    untrusted = good.__class__("run-5", good.release_id, PURPOSE, good.bundle, {})
    (row,) = _tally_batches(types.SimpleNamespace(value=untrusted), iter([pd.DataFrame()]))
    with pytest.raises(ReleaseError, match="Spark executor") as info:
        _raise_refusal(json.loads(row["refused"].iloc[0]), PURPOSE)
    assert info.value.reason == "unapproved"
    with pytest.raises(PolicyViolation):
        _executor_release(
            good.__class__("run-4", good.release_id, "sentencing", good.bundle, good.trust)
        )


def test_importing_riskmodels_spark_does_not_import_pyspark():
    code = "import riskmodels as rm; rm.spark.score; import sys; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_pyspark_the_error_names_the_extra():
    # a fresh interpreter in which pyspark cannot be imported
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import riskmodels as rm\n"
        "try:\n"
        "    rm.spark.audit(None, y_true='y', y_score='s', sensitive=['a'], threshold=0.5)\n"
        "except rm.errors.DependencyError as err:\n"
        "    print(isinstance(err, ImportError), 'riskmodels[spark]' in str(err))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True True"
