"""A local Spark session for the Spark adapters' tests: two cores, few shuffle
partitions, no UI. Skipped, with the reason printed, where Java or pyspark is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest


def _why_no_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'riskmodels[spark]')"
    java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin"))
    java = java or shutil.which("java")
    if java is None:
        return "Java is not installed (Spark needs Java 17)"
    if subprocess.run([java, "-version"], capture_output=True, check=False).returncode != 0:
        return f"{java} -version fails"
    return None


@pytest.fixture(scope="session")
def spark():
    reason = _why_no_spark()
    if reason is not None:
        print(f"\nSKIPPED tests/spark: {reason}")
        pytest.skip(reason)
    # executors run the interpreter running the tests (the one riskmodels is installed in)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("riskmodels-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def people(fitted):
    """Unlabelled people to score: the test snapshot without target or protected columns."""
    _, _, _, test = fitted
    return test.drop(columns=["incident", "sex"]).reset_index(drop=True)
