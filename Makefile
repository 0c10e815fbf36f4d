# Quick start: `make demo`, `make test`, and `make check` for the edit loop. Each creates .venv
# when missing and reinstalls only when pyproject.toml changed (stamp files), so reruns are fast.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test check static kernel-cache bench notebook clean

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

# Tests run on two xdist workers, a test file per worker at a time (--dist loadfile), so a module's
# fixtures are built once. The bench extra too: tests/test_benchmarks.py runs every benchmark.
PYTEST_PARALLEL := -n 2 --dist loadfile

test: $(VENV)/.stamp-test $(VENV)/.stamp-bench
	$(MAKE) --no-print-directory -j2 --output-sync=target static kernel-cache
	$(PY) -m pytest $(PYTEST_PARALLEL)

# The fast edit loop: lint, types, import contracts and every test that starts no process
# (-m "not subprocess"), with property tests drawing a tenth of their examples.
check: $(VENV)/.stamp-test $(VENV)/.stamp-bench
	$(MAKE) --no-print-directory -j2 --output-sync=target static kernel-cache
	MINI_ORCH_QUICK_TESTS=1 $(PY) -m pytest -q $(PYTEST_PARALLEL) -m "not subprocess"

# Lint, types (mypy --strict over pipeline/, tests/, benchmarks/) and the import contracts.
static: $(VENV)/.stamp-test $(VENV)/.stamp-bench
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

# numba's cache of the prime kernel, filled beside the static checks: on a fresh checkout mypy
# and the compilation each take a core for about 25 s.
kernel-cache: $(VENV)/.stamp-test
	$(PY) -m tests.kernel_cache

bench: $(VENV)/.stamp-bench
	$(PY) -m benchmarks

notebook: $(VENV)/.stamp-notebooks
	$(PY) -m jupyter lab notebooks/

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
