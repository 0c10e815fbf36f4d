"""The package's layout promises: a light module imports no heavy library it does not need.

The import contracts (``lint-imports``, pyproject's ``[tool.importlinter]``) fix which package
may import which; this file checks what importing one module costs at run time: the packages'
``__init__`` files import their names on first use (PEP 562), so importing a leaf does not load
the whole job with dask and pandas. Each module is imported in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

HEAVY = ("dask", "distributed", "pandas", "pyarrow", "numba", "click", "bokeh")

#: Module -> the heavy packages it may import (what it needs), everything else in HEAVY it may not.
LIGHT: dict[str, tuple[str, ...]] = {
    "pipeline": (),
    "pipeline.errors": (),
    "pipeline.registry": (),
    "pipeline.engine.settings": (),
    "pipeline.reporting.text": (),
    "pipeline.reporting.outputs": (),
    "pipeline.reporting.units": (),
    "pipeline.ingest": (),
    "pipeline.ingest.formats.presets": (),
    "pipeline.ingest.aggregate.latency": (),
    "pipeline.ingest.inputs.stream": (),
    "pipeline.ingest.aggregate.templates": ("pyarrow",),
    "pipeline.prime": (),
    "pipeline.prime.feature": (),
    "pipeline.prime.options": (),
    "pipeline.prime.ranges": (),
    "pipeline.prime.sieve.summary": (),
    "pipeline.engine.execution": ("dask",),
}

_SCRIPT = """
import importlib, sys
importlib.import_module(sys.argv[1])
print(" ".join(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))))
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("module", sorted(LIGHT))
def test_importing_a_module_loads_only_what_it_needs(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, module, *HEAVY],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(done.stdout.split())
    assert loaded <= set(LIGHT[module]), f"importing {module} loads {sorted(loaded)}"
