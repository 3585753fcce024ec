"""Spark in local mode against pandas on one machine: rm.spark.score and rm.spark.audit.

Scoring: ``rm.spark.score`` of N rows read from Parquet by a ``local[2]`` session
(driver checks, executor verification, spec and drift pass, scoring pass, rank, audit
entry; no explanations) against ``rm.score`` of the same N rows from the same Parquet file.
``BENCH_SPARK_ROWS`` overrides the 1,000,000 rows.

Audit: ``rm.spark.audit`` of M rows generated in Spark (scores rounded to 3 decimals, two
attributes) against ``rm.fairness.audit`` of the same rows as pandas/numpy arrays, 200
bootstrap replicates each. ``BENCH_SPARK_AUDIT_ROWS`` overrides the 10,000,000 rows.

Both are informative (no target): on one 2-core machine Spark is expected to lose; what
is measured is by how much, and so what a cluster must win back (docs/scale.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import riskmodels as rm
from _runner import Result
from bench_scoring import PURPOSE, _setup, _tile
from riskmodels.release import load_release

SCORE_ROWS = int(os.environ.get("BENCH_SPARK_ROWS", 1_000_000))
AUDIT_ROWS = int(os.environ.get("BENCH_SPARK_AUDIT_ROWS", 10_000_000))


def _session():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("riskmodels-bench")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_spark_score() -> list[Result]:
    root, people, _ = _setup()
    release = load_release(root / "release")
    spec = release.spec
    path = Path(tempfile.mkdtemp(prefix="bench_spark_")) / "people.parquet"
    rows = _tile(people, SCORE_ROWS, spec.id, person_col=spec.person)
    rows.to_parquet(path, coerce_timestamps="us")  # Spark reads microseconds, not nanoseconds
    spark = _session()
    # two tasks per core: one Parquet file of this size is read as a single partition
    frame = spark.read.parquet(str(path)).repartition(4).cache()
    frame.count()
    log = root / "spark_log.jsonl"
    t_pandas = _timed(
        lambda: rm.score(release, path, purpose=PURPOSE, explain="none", audit_log=log)
    )

    def spark_list() -> None:
        lists = rm.spark.score(release, frame, purpose=PURPOSE, explain="none", audit_log=log)
        # the whole list, ranked, as rm.score returns it (written nowhere)
        lists.write.format("noop").mode("overwrite").save()
        lists.unpersist()

    # the first run in a fresh session starts Python workers, imports the libraries and
    # loads the release in each; the second shows the cost per row
    t_cold = _timed(spark_list)
    t_spark = _timed(spark_list)
    return [
        Result(
            name=f"rm.spark.score, local[2] ({SCORE_ROWS:,} rows from Parquet, hgb, "
            "no explanations)",
            ours=SCORE_ROWS / t_spark,
            anchor=SCORE_ROWS / t_pandas,
            anchor_name="rm.score (pandas, same Parquet file)",
            unit="rows/s",
            notes=f"informative; {frame.rdd.getNumPartitions()} partitions, input cached; "
            f"second run in the session (the first, with worker start-up: {t_cold:.1f} s, "
            f"{SCORE_ROWS / t_cold:,.0f} rows/s); pandas one run",
        )
    ]


def bench_spark_audit() -> list[Result]:
    from pyspark.sql import functions as F

    spark = _session()
    frame = (
        spark.range(AUDIT_ROWS)
        .withColumn("score", F.round(F.pow(F.rand(1), F.lit(3.0)), 3))
        .withColumn("incident", (F.rand(2) < F.col("score")).cast("int"))
        .withColumn("sex", F.when(F.rand(3) < 0.3, "F").otherwise("M"))
        .withColumn(
            "wing",
            F.element_at(F.array(*[F.lit(w) for w in "ABCD"]), 1 + (F.col("id") % 4).cast("int")),
        )
        .drop("id")
        .cache()
    )
    frame.count()
    kw = dict(threshold=0.3, n_boot=200, random_state=0)
    t_spark = _timed(
        lambda: rm.spark.audit(
            frame, y_true="incident", y_score="score", sensitive=["sex", "wing"], **kw
        )
    )
    local = frame.toPandas()
    y = local["incident"].to_numpy()
    s = local["score"].to_numpy(dtype=float)
    groups = local[["sex", "wing"]].astype("category")
    del local
    t_pandas = _timed(lambda: rm.fairness.audit(y, s, groups, **kw))
    frame.unpersist()
    return [
        Result(
            name=f"rm.spark.audit, local[2] ({AUDIT_ROWS:,} rows, 2 attributes, scores to "
            "3 decimals, 200 replicates)",
            ours=t_spark,
            anchor=t_pandas,
            anchor_name="rm.fairness.audit (numpy arrays already in memory)",
            unit="s",
            notes="informative; ours: one Spark group-by over cached rows, then the cells "
            "expanded into the engine on the driver; the anchor needs every row in one "
            "process's memory",
        )
    ]


BENCHMARKS = [bench_spark_score, bench_spark_audit]


if __name__ == "__main__":
    for bench in BENCHMARKS:
        for r in bench():
            print(
                f"{r.name}: ours {r.ours:,.3g} {r.unit}, {r.anchor_name} {r.anchor:,.3g} "
                f"{r.unit}, ratio {r.ratio:.2f}. {r.notes}"
            )
