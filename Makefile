# Two commands on a fresh machine: `make run` and `make test`. Both install first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export DO_NOT_TRACK := 1

.PHONY: setup run test test-fast bench lint format clean

setup: $(STAMP)

$(STAMP): requirements/constraints.txt pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip==$$(grep '^pip==' requirements/constraints.txt | cut -d= -f3)"
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e '.[server,dev]'
	touch $(STAMP)

run: setup
	$(BIN)/compliance demo

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not rgw and not slow" -x

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
