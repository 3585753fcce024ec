# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench cards clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/riskmodels demo

# The whole suite, slow statistical checks included (CI runs this).
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests --doctest-modules src/riskmodels

# Everything but the tests marked slow, for quick iteration.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" tests --doctest-modules src/riskmodels

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Regenerate the reference models' cards (model_cards/) and fairness reports (fairness/reports/).
cards: $(STAMP)
	$(BIN)/python scripts/make_cards.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
