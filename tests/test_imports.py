"""Quick to start: importing riskmodels, its public API and the CLI's --help load no heavy
library; each of those is imported by the function that needs it.

Every check runs in a fresh interpreter, since this test process has imported everything
long ago. The assertions are about which modules are loaded, not about timings (those are
in bench/bench_startup.py), so they hold on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import riskmodels as rm

#: Imported only inside the functions that use them (each costs tenths of a second to
#: seconds): explanations, tracking, plots, card templates, mitigation, model files,
#: risk-list exports.
HEAVY = ("shap", "mlflow", "matplotlib", "jinja2", "fairlearn", "skops", "pyarrow", "openpyxl")
#: What `riskmodels --help` must also do without: the scientific stack (importing
#: scikit-learn alone takes longer than the CLI's start-up budget).
SCIENTIFIC = ("numpy", "pandas", "scipy", "sklearn")

_REPORT = "import json, sys; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def _loaded(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_REPORT}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def baseline() -> set[str]:
    """What scikit-learn itself imports (1.9 imports pandas, and pandas pyarrow): those
    are not ours to defer."""
    return _loaded("import sklearn")


def test_import_riskmodels_is_light():
    loaded = _loaded("import riskmodels")
    assert "riskmodels" in loaded
    assert not loaded & {*HEAVY, *SCIENTIFIC}, sorted(loaded & {*HEAVY, *SCIENTIFIC})


def test_whole_public_api_loads_no_heavy_library(baseline):
    # Every public name, and the functions whose libraries are deferred (resolving a
    # function does not import its library; calling it does).
    code = (
        "from riskmodels import *\n"
        "import riskmodels as rm\n"
        "rm.explain.explain, rm.fairness.mitigate, rm.fairness.audit\n"
        "rm.tracking.log_assessment, rm.ModelCard.build, rm.RiskList.to_excel\n"
        "import riskmodels.cards._render, riskmodels.data, riskmodels.modeling"
    )
    loaded = _loaded(code)
    assert {"sklearn", "pandas", "riskmodels"} <= loaded  # the API really was loaded
    deferred = set(HEAVY) - baseline
    # Guard against a vacuous test: most heavy libraries are not scikit-learn's.
    assert {"shap", "mlflow", "matplotlib", "jinja2", "fairlearn"} <= deferred
    assert not loaded & deferred, sorted(loaded & deferred)


def test_cli_help_loads_neither_heavy_nor_scientific_libraries():
    code = (
        "from riskmodels.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code"
    )
    loaded = _loaded(code)
    assert {"typer", "rich"} <= loaded
    assert not loaded & {*HEAVY, *SCIENTIFIC}, sorted(loaded & {*HEAVY, *SCIENTIFIC})


def test_cli_help_lists_the_commands():
    proc = subprocess.run(
        [sys.executable, "-m", "riskmodels.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    for command in ("demo", "train", "approve", "score", "card"):
        assert command in proc.stdout


def test_lazy_names_are_the_public_api():
    assert set(rm.__all__) == {*rm._LAZY_ATTRS, *rm._SUBMODULES, "__version__"}
    for name in rm.__all__:
        assert getattr(rm, name) is not None
        assert name in dir(rm)
    assert rm.RiskModel is rm.modeling.RiskModel
    assert rm.score is rm.scoring.score
    assert rm.explain.explain.__module__ == "riskmodels.explain._explain"
    from riskmodels import Policy, RiskModel

    assert Policy is rm.policy.Policy and RiskModel is rm.RiskModel


def test_unknown_names_still_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        rm.not_a_name  # noqa: B018
    with pytest.raises(ImportError):
        from riskmodels import not_a_name  # noqa: F401
    assert not hasattr(rm, "__wrapped__")
