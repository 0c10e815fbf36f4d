"""``--nth N``: the Nth prime, as primesieve ``-n`` finds it, with the job's parallel sieve.

Three steps, the first two decided before any task runs:

1. **Bounds.** Dusart's (2010) bounds on the Nth prime give ``lo <= p_N <= hi`` with
   ``hi - lo`` about ``0.1 N / ln N`` (0.02 % of ``p_N`` at ``N = 10^10``):
   ``p_N >= N (ln N + ln ln N - 1 + (ln ln N - 2.1) / ln N)`` for ``N >= 3`` and
   ``p_N <= N (ln N + ln ln N - 1 + (ln ln N - 2) / ln N)`` for ``N >= 688,383``; below that,
   Rosser's ``p_N < N (ln N + ln ln N)`` (``N >= 6``). A margin of ``BOUND_MARGIN`` absorbs the
   floating-point error, and ``hi`` never passes ``MAX_END`` (``N <= MAX_NTH``).
2. **Count.** One run of the job's graph over ``[0, lo - 1]`` and ``[lo, hi]`` cut into at most
   ``NTH_PIECES`` consecutive sub-ranges: the per-range counts say which sub-range holds the
   Nth prime and how many primes lie below it. The sieving is the same as ``--range 0:hi``.
3. **Locate.** One task lists the primes of that sub-range and picks the right one; its summary
   up to ``p_N`` is merged with those below, so the report is exactly the one of
   ``--range 0:p_N`` (with ``--tuplets`` too), plus the ``nth`` figure.

>>> nth_bounds(10**10)
(252074881894, 252118311471)
>>> 252_097_800_623 in range(*nth_bounds(10**10))
True
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Final

import numpy as np

from pipeline.engine.calls import call
from pipeline.engine.execution import compute_calls
from pipeline.engine.settings import ExecutionSettings
from pipeline.prime.graph import describe, graph_calls, plan
from pipeline.prime.options import PrimeOptions
from pipeline.prime.ranges import PrimeRange
from pipeline.prime.report.result import PrimeResult, RangeStats
from pipeline.prime.report.text import ordinal
from pipeline.prime.sieve.summary import Accumulator, Summary, counted, merge
from pipeline.prime.tuning import MAX_END

log = logging.getLogger(__name__)

#: Numbers added below the lower and above the upper bound: the bounds are computed in floating
#: point (about 1e-16 relative, i.e. under 1 near 10^15); any value >= 2 is safe, larger ones
#: only sieve a little more.
BOUND_MARGIN: Final[int] = 64
#: Most sub-ranges ``[lo, hi]`` is cut into. The located sub-range's primes are listed in one
#: task, so more sub-ranges mean a smaller list (``(hi - lo) / NTH_PIECES`` numbers: 10^8 at
#: ``MAX_NTH``, about 3 million primes) but a longer report of pieces. Legal range: >= 1.
NTH_PIECES: Final[int] = 1024
#: Fewest numbers in a sub-range: below this, listing is cheaper than more pieces. Legal: >= 1.
NTH_MIN_PIECE: Final[int] = 1 << 16


def nth_bounds(n: int) -> tuple[int, int]:
    """``(lo, hi)`` with ``lo <= p_n <= hi`` (module docstring), for ``1 <= n <= MAX_NTH``."""
    if n < 6:
        return 0, 11
    ln = math.log(n)
    lnln = math.log(ln)
    lower = n * (ln + lnln - 1 + (lnln - 2.1) / ln) if n >= 3 else 0.0
    dusart = n >= 688_383
    upper = n * (ln + lnln - 1 + (lnln - 2.0) / ln) if dusart else n * (ln + lnln)
    lo = max(0, math.floor(lower) - BOUND_MARGIN)
    hi = min(MAX_END, math.ceil(upper) + BOUND_MARGIN)
    return lo, hi


def run_nth(
    n: int, settings: ExecutionSettings, options: PrimeOptions, started: float
) -> PrimeResult:
    """The report of ``[0, p_n]`` with ``nth`` set; ``started`` is when the run began.

    ``options.nth`` has been validated; its segment size and ``tuplets`` apply.
    """
    lo, hi = nth_bounds(n)
    width = max(NTH_MIN_PIECE, -(-(hi - lo + 1) // NTH_PIECES))
    ranges = [PrimeRange(0, lo - 1)] if lo > 0 else []
    ranges += [PrimeRange(a, min(a + width, hi + 1) - 1) for a in range(lo, hi + 1, width)]
    job_plan = plan(ranges, options.segment, tuplets=options.tuplets)
    log.info("prime: the %s prime lies in [%d, %d] (Dusart's bounds)", ordinal(n), lo, hi)
    log.info("%s", describe(job_plan, len(ranges), settings.effective_workers))
    if job_plan.compiled and not _kernel_cached():
        log.info(
            "prime: compiling the sieve kernel with numba (once after installing or upgrading; "
            "about 10 s, cached for later runs)"
        )
    ((summaries, _),) = compute_calls(graph_calls(job_plan), settings=settings)
    below: Summary | None = None
    before = 0
    for index, s in enumerate(summaries):
        if before + s.count >= n:
            r = ranges[index]
            break
        before += s.count
        below = s if below is None else merge(below, s)
    else:  # pragma: no cover - the bounds are theorems
        raise AssertionError(f"the {ordinal(n)} prime is not in [{lo}, {hi}]")
    args = (r.start, r.end + 1, n - before, job_plan.compiled, options.tuplets)
    ((prime, last),) = compute_calls(call(locate_task, *args, name="prime-nth"), settings=settings)
    total = last if below is None else merge(below, last)
    whole = PrimeRange(0, prime)
    return PrimeResult(
        ranges=(RangeStats.from_summary(whole, counted(total, options.tuplets)),),
        total_primes=total.count,
        smallest=total.first,
        largest=total.last,
        first_primes=total.head,
        twin_pairs=total.twin_pairs,
        covered=prime + 1,
        mode=settings.resolved_mode,
        workers=settings.effective_workers,
        elapsed_s=round(time.perf_counter() - started, 6),
        segments=len(job_plan.tasks) + 1,
        tuplets=total.tuplets if options.tuplets else None,
        nth=n,
    )


def locate_task(lo: int, hi: int, k: int, compiled: bool, tuplets: bool) -> tuple[int, Summary]:
    """Task: the ``k``-th prime of ``[lo, hi)`` (1-based) and the summary of ``[lo, it]``."""
    if compiled:
        from pipeline.prime.sieve.kernel import window_primes

        primes = window_primes(lo, hi)
    else:
        from pipeline.prime.sieve.plain import plain_primes

        primes = plain_primes(lo, hi)
    prime = int(primes[k - 1])
    acc = Accumulator(lo, prime + 1, tuplets=tuplets)
    acc.add(np.ascontiguousarray(primes[:k]))
    return prime, acc.summary()


def _kernel_cached() -> bool:
    """Whether the compiled kernel is in numba's cache (checked without importing numba)."""
    from pipeline.prime.sieve import cache_dir

    return cache_dir.kernel_cached(Path(__file__).with_name("sieve") / "kernel.py", "_sieve")


__all__ = ["nth_bounds", "run_nth"]
