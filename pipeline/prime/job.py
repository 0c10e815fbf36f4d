"""``run_prime``: validate the ranges and options, build the sieve graph, compute, report.

Validation happens first (ranges file, ``segment_size``, the ``--primes-out`` file), then the graph
of :mod:`pipeline.prime.graph` is computed in one :func:`pipeline.execution.compute` call with the
caller's settings. With ``primes_out`` the union is sieved a second time, segment by segment in
ascending batches of a few tasks, and each batch's primes are appended to the file before the next
batch is computed, so at most ``workers`` segments of primes are in memory at once. (Writing
decimal text costs far more than sieving, so the second sieve pass is the simple honest choice.)
"""

from __future__ import annotations

import logging
import time
from typing import IO

import dask

from pipeline.errors import InputError
from pipeline.execution import ExecutionSettings, compute
from pipeline.prime.graph import Plan, build_graph, plan
from pipeline.prime.kernel import base_primes, segment_primes
from pipeline.prime.ranges import load_ranges
from pipeline.prime.result import PrimeResult, RangeStats
from pipeline.prime.summary import Summary
from pipeline.prime.tuning import DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE

log = logging.getLogger(__name__)


def run_prime(
    path: str,
    settings: ExecutionSettings,
    *,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    primes_out: str | None = None,
) -> PrimeResult:
    """Find the primes in every range of the JSON file at ``path``.

    Parameters
    ----------
    path
        Ranges file (see :mod:`pipeline.prime.ranges` for the format).
    settings
        Execution settings; the scheduler is chosen by :func:`pipeline.execution.compute`.
    segment_size
        Numbers per sieve task (``MIN_SEGMENT_SIZE`` .. ``MAX_SEGMENT_SIZE``).
    primes_out
        Also write every prime of the union, ascending, one per line, to this file.

    Examples
    --------
    >>> import json, tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     json.dump([[0, 100], [90, 120]], f)
    >>> result = run_prime(f.name, ExecutionSettings(mode="sync"))
    >>> result.total_primes, [r.count for r in result.ranges]
    (30, [25, 6])
    """
    if isinstance(segment_size, bool) or not isinstance(segment_size, int):
        raise InputError(f"segment_size must be an integer, got {segment_size!r}")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise InputError(
            f"segment_size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}, "
            f"got {segment_size}"
        )
    ranges = load_ranges(path)
    job_plan = plan(ranges, segment_size)
    out = _open_output(primes_out) if primes_out is not None else None
    started = time.perf_counter()
    per_range, union = build_graph(ranges, job_plan)
    log.info("prime: %d range(s), %d segment(s)", len(ranges), len(job_plan.segments))
    *range_summaries, total = compute(*per_range, union, settings=settings)
    if out is not None:
        with out:
            _write_primes(out, job_plan, settings)
    elapsed = time.perf_counter() - started
    total_summary: Summary = total
    return PrimeResult(
        ranges=tuple(
            RangeStats.from_summary(r, s) for r, s in zip(ranges, range_summaries, strict=True)
        ),
        total_primes=total_summary.count,
        smallest=total_summary.first,
        largest=total_summary.last,
        first_primes=total_summary.head,
        twin_pairs=total_summary.twin_pairs,
        covered=job_plan.covered,
        mode=settings.resolved_mode,
        workers=settings.effective_workers,
        elapsed_s=round(elapsed, 6),
        segments=len(job_plan.segments),
        primes_out=primes_out,
    )


def _open_output(primes_out: str) -> IO[str]:
    """Open the primes file up front so an unwritable path fails before any sieving."""
    try:
        return open(primes_out, "w", encoding="ascii")
    except OSError as exc:
        raise InputError(f"cannot write primes to {primes_out}: {exc.strerror or exc}") from None


def _write_primes(out: IO[str], job_plan: Plan, settings: ExecutionSettings) -> None:
    """Stream the union's primes to ``out`` in ascending batches of ``workers`` segments."""
    base = base_primes(job_plan.base_limit)
    batch = max(settings.effective_workers, 1)
    segments = job_plan.segments
    for first in range(0, len(segments), batch):
        tasks = [
            dask.delayed(segment_primes, pure=True)(s.lo, s.hi, base)
            for s in segments[first : first + batch]
        ]
        for primes in compute(*tasks, settings=settings):
            if primes.size:
                out.write("\n".join(map(str, primes.tolist())))
                out.write("\n")


__all__ = ["run_prime"]
