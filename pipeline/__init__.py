"""mini-orchestrator: parallel batch jobs on Dask.

The public API is small: the ``run_*`` functions, their result dataclasses, the execution settings
and the error types. Everything else is an implementation detail.

>>> from pipeline import ExecutionSettings
>>> ExecutionSettings(mode="sync").describe()
{'mode': 'sync', 'workers': 1}
"""

from __future__ import annotations

from pipeline.errors import ConfigurationError, InputError, PipelineError
from pipeline.execution import ExecutionSettings, compute, session
from pipeline.prime import PrimeResult, run_prime
from pipeline.prime.explore import PrimeGraph, prime_graph
from pipeline.report import FailedInput, JobResult, render_json

__all__ = [
    "ConfigurationError",
    "ExecutionSettings",
    "FailedInput",
    "InputError",
    "JobResult",
    "PipelineError",
    "PrimeGraph",
    "PrimeResult",
    "compute",
    "prime_graph",
    "render_json",
    "run_prime",
    "session",
]
