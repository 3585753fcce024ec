# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv on first use
# and installs the exact versions in requirements.lock, so every machine runs what CI ran.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The second environment: the lowest versions pyproject.toml allows (requirements-oldest.lock).
OLD := .venv-oldest
OLD_STAMP := $(OLD)/.installed
# uv installs from the lock files (and writes them); pinned so the lock format is stable.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# Resolve for every platform and Python >= 3.11, from the dependencies in pyproject.toml
# (with the spark extra: `make test` runs the Spark tests in local mode).
COMPILE := $(UV) pip compile pyproject.toml --extra dev --extra spark --universal --python-version 3.11 --quiet
PYTEST_ARGS := -q -p no:cacheprovider

.PHONY: demo test test-fast test-oldest lint bench cards docs lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

$(OLD_STAMP): requirements-oldest.lock pyproject.toml | $(STAMP)
	test -x $(OLD)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(OLD)
	$(UV) pip install --quiet --python $(OLD)/bin/python -r requirements-oldest.lock
	$(UV) pip install --quiet --python $(OLD)/bin/python --no-deps -e .
	touch $(OLD_STAMP)

demo: $(STAMP)
	$(BIN)/riskmodels demo

# The whole suite, slow statistical checks included, and every notebook executed (nbmake;
# CI runs this).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests --doctest-modules src/riskmodels --nbmake notebooks

# Everything but the tests marked slow, for quick iteration.
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not slow" tests --doctest-modules src/riskmodels

# The tests not marked slow under the lowest versions pyproject.toml declares (CI runs this
# too): the declared minimums are tested, not hoped for.
test-oldest: $(OLD_STAMP)
	$(OLD)/bin/python -m pytest $(PYTEST_ARGS) -m "not slow" tests --doctest-modules src/riskmodels

# Regenerate both lock files from pyproject.toml (newest and lowest allowed versions).
lock: $(STAMP)
	$(COMPILE) --extra crosscheck -o requirements.lock
	$(COMPILE) --resolution lowest-direct -o requirements-oldest.lock

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

# The documentation site (mkdocs.yml): strict, so a broken link or anchor fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# Regenerate the reference models' cards (model_cards/) and fairness reports (fairness/reports/).
cards: $(STAMP)
	$(BIN)/python scripts/make_cards.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(OLD) build *.egg-info src/*.egg-info .pytest_cache
