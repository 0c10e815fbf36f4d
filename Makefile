# Quick start: `make demo`, `make test`, and `make check` for the edit loop. Each creates .venv
# when missing and reinstalls only when pyproject.toml changed (stamp files), so reruns are fast.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test check lint typecheck pytest bench notebook clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# One stamp per extra: .venv/.stamp-base (runtime only), .venv/.stamp-test, .venv/.stamp-bench, ...
$(VENV)/.stamp-base: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.stamp-%: pyproject.toml | $(PY)
	$(PIP) install -e '.[$*]'
	touch $@

demo: $(VENV)/.stamp-base
	$(PY) cli.py ingest
	$(PY) cli.py prime

# the bench extra too: tests/test_benchmarks.py runs every benchmark against its peers
test: $(VENV)/.stamp-test $(VENV)/.stamp-bench
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# The fast edit loop: lint, types, import contracts, the doctests and the docs tests (seconds).
check: $(VENV)/.stamp-test
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q pipeline cli.py tests/test_docs.py

bench: $(VENV)/.stamp-bench
	$(PY) -m benchmarks

notebook: $(VENV)/.stamp-notebooks
	$(PY) -m jupyter lab notebooks/

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
