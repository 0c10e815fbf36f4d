"""mini-orchestrator: parallel batch jobs on Dask.

The public API is small: the ``run_*`` functions, their result dataclasses, the execution settings,
the error types and a few helpers for notebooks. Everything else is an implementation detail.

Names are imported on first use (PEP 562): a process-scheduler worker that only unpickles a prime
sieve task then never pays for importing pandas and the ingest job, and vice versa.

>>> from pipeline import ExecutionSettings
>>> ExecutionSettings(mode="sync").describe()
{'mode': 'sync', 'workers': 1}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.engine.execution import compute, session
    from pipeline.engine.settings import ExecutionSettings
    from pipeline.errors import ConfigurationError, InputError, PipelineError
    from pipeline.ingest import IngestOptions, IngestResult, parsed_frame, run_ingest
    from pipeline.ingest.convert.job import run_convert
    from pipeline.ingest.convert.result import ConvertResult
    from pipeline.loggen.generate import generate_logs
    from pipeline.prime import PrimeOptions, PrimeResult, run_prime
    from pipeline.prime.explore import PrimeGraph, prime_graph
    from pipeline.reporting.text import FailedInput, JobResult, render_json

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "ConfigurationError": "pipeline.errors",
    "InputError": "pipeline.errors",
    "PipelineError": "pipeline.errors",
    "ExecutionSettings": "pipeline.engine.settings",
    "compute": "pipeline.engine.execution",
    "session": "pipeline.engine.execution",
    "IngestOptions": "pipeline.ingest",
    "IngestResult": "pipeline.ingest",
    "parsed_frame": "pipeline.ingest",
    "run_ingest": "pipeline.ingest",
    "ConvertResult": "pipeline.ingest.convert.result",
    "run_convert": "pipeline.ingest.convert.job",
    "generate_logs": "pipeline.loggen.generate",
    "PrimeOptions": "pipeline.prime",
    "PrimeResult": "pipeline.prime",
    "run_prime": "pipeline.prime",
    "PrimeGraph": "pipeline.prime.explore",
    "prime_graph": "pipeline.prime.explore",
    "FailedInput": "pipeline.reporting.text",
    "JobResult": "pipeline.reporting.text",
    "render_json": "pipeline.reporting.text",
}

__all__ = [
    "ConfigurationError",
    "ConvertResult",
    "ExecutionSettings",
    "FailedInput",
    "IngestOptions",
    "IngestResult",
    "InputError",
    "JobResult",
    "PipelineError",
    "PrimeGraph",
    "PrimeOptions",
    "PrimeResult",
    "compute",
    "generate_logs",
    "parsed_frame",
    "prime_graph",
    "render_json",
    "run_convert",
    "run_ingest",
    "run_prime",
    "session",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
