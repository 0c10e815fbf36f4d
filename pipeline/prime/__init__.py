"""The prime job: a dask.delayed graph of segmented sieves over the ranges in a JSON file.

Modules: :mod:`~pipeline.prime.ranges` (input validation), :mod:`~pipeline.prime.kernel` (numpy
wheel sieve of one segment), :mod:`~pipeline.prime.summary` (associative merge of per-piece
summaries), :mod:`~pipeline.prime.graph` (the task graph), :mod:`~pipeline.prime.job`
(``run_prime``), :mod:`~pipeline.prime.result` and :mod:`~pipeline.prime.render` (the report),
:mod:`~pipeline.prime.tuning` (every tuning constant).
"""

from __future__ import annotations

from pipeline.prime.job import run_prime
from pipeline.prime.render import render_prime
from pipeline.prime.result import PrimeResult
from pipeline.prime.tuning import DEFAULT_SEGMENT_SIZE, MAX_END

__all__ = ["DEFAULT_SEGMENT_SIZE", "MAX_END", "PrimeResult", "render_prime", "run_prime"]
