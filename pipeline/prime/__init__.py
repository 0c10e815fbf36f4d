"""The prime job: a dask.delayed graph of segmented sieves over ranges of integers.

Modules: :mod:`~pipeline.prime.ranges` (input validation), :mod:`~pipeline.prime.sieve.wheel` and
:mod:`~pipeline.prime.sieve.kernel` (the compiled wheel-30 sieve of one window; numba set-up in
:mod:`~pipeline.prime.sieve.compiled`), :mod:`~pipeline.prime.sieve.summary` (associative merge of
per-piece summaries), :mod:`~pipeline.prime.graph` (the plan and the task graph),
:mod:`~pipeline.prime.job` (``run_prime``), :mod:`~pipeline.prime.report.result` and
:mod:`~pipeline.prime.report.text` (the report), :mod:`~pipeline.prime.tuning` (every tuning
constant).

Names are imported on first use (PEP 562), so importing a submodule (a worker unpickling a
sieve task) does not import the whole job.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.prime.job import run_prime
    from pipeline.prime.options import PrimeOptions
    from pipeline.prime.report.result import PrimeResult
    from pipeline.prime.report.text import render_prime
    from pipeline.prime.tuning import DEFAULT_SEGMENT_SIZE, MAX_END

_EXPORTS: dict[str, str] = {
    "DEFAULT_SEGMENT_SIZE": "pipeline.prime.tuning",
    "MAX_END": "pipeline.prime.tuning",
    "PrimeOptions": "pipeline.prime.options",
    "PrimeResult": "pipeline.prime.report.result",
    "render_prime": "pipeline.prime.report.text",
    "run_prime": "pipeline.prime.job",
}

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "MAX_END",
    "PrimeOptions",
    "PrimeResult",
    "render_prime",
    "run_prime",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline.prime' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
