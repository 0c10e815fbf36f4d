# Two-command quick start: `make demo` and `make test`. Both create .venv when missing and
# reinstall only when pyproject.toml changed (stamp files), so repeated runs are fast.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck pytest bench notebook clean

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

bench: $(VENV)/.stamp-bench
	$(PY) -m benchmarks

notebook: $(VENV)/.stamp-notebooks
	$(PY) -m jupyter lab notebooks/

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
