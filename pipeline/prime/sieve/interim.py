"""The numpy sieve a first run uses while the compiled kernel builds (issue 26, "the first run").

Why: numba compiles the kernel once after installing (about 10 s of one core), and a user who
waits that long for ``prime --range 0:2e9`` thinks it hangs. So on a first run
:mod:`pipeline.prime.sieve.warmup` compiles the kernel in a background process, and the tasks
that start before it is ready sieve here instead; both give the same summaries, so the switch is
invisible except in speed.

The algorithm is a smaller cousin of the compiled one, vectorised with numpy (about 2 ns per
number at 10^9 against the kernel's 0.5, and against :mod:`pipeline.prime.sieve.plain`'s 5-10):

* **odd numbers only**, one bool each, in chunks of ``CHUNK`` odd numbers (a few MB: the strided
  writes of one prime stay in the L2/L3 cache);
* **pre-sieve**: the multiples of 3, 5, 7, 11 and 13 are a periodic pattern (15,015 odd numbers)
  tiled into each chunk by :func:`numpy.resize` instead of crossed off;
* **one slice assignment per sieving prime** from 17 up, its first odd multiple in the chunk
  computed for all primes at once with numpy.

Each piece is summarised chunk by chunk with :class:`~pipeline.prime.sieve.summary.Accumulator`,
so memory stays a chunk whatever the window. Sieving primes come from
:func:`pipeline.prime.sieve.plain.plain_primes` (no numba: importing numba alone costs more than
a small window).

>>> [s.count for s in summaries(0, 100, [50])]
[15, 10]
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve.plain import plain_primes
from pipeline.prime.sieve.summary import Accumulator, Summary

I64 = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

#: Odd numbers per chunk: 2**22 bools (4 MB, 8.4 million numbers). Smaller chunks pay the Python
#: loop over the sieving primes more often (about 0.3 us per prime per chunk); larger ones leave
#: the cache. Legal range: >= 1.
CHUNK = 2**22
#: The primes stamped from a pattern (odd, ascending); their product (15,015) is its period.
PRESIEVED: tuple[int, ...] = (3, 5, 7, 11, 13)
_PERIOD = math.prod(PRESIEVED)


@functools.lru_cache(maxsize=1)
def _pattern() -> Flags:
    """``_pattern()[j]``: whether ``2*j + 1`` has no factor in ``PRESIEVED`` (period 15,015)."""
    numbers = 2 * np.arange(_PERIOD, dtype=np.int64) + 1
    keep = np.ones(_PERIOD, dtype=np.bool_)
    for p in PRESIEVED:
        keep &= numbers % p != 0
    return keep


@functools.lru_cache(maxsize=2)
def _sieving_primes(limit: int) -> I64:
    """The odd primes above ``PRESIEVED`` up to ``limit`` (cached: the chunks of a job share it)."""
    primes = plain_primes(0, limit + 1)
    return primes[primes > PRESIEVED[-1]]


def odd_chunk(lo: int, hi: int) -> I64:
    """Every prime in ``[lo, hi)``, ascending; one chunk's worth (any width is correct)."""
    if hi <= max(lo, 2):
        return np.zeros(0, dtype=np.int64)
    start = lo | 1  # first odd number >= lo
    n = (hi - start + 1) // 2  # odd numbers start, start + 2, ... below hi
    if n <= 0:
        return np.array([2], dtype=np.int64) if lo <= 2 < hi else np.zeros(0, dtype=np.int64)
    phase = (start // 2) % _PERIOD  # start = 2*j + 1 with j = start // 2
    flags = np.resize(np.roll(_pattern(), -phase), n)
    primes = _sieving_primes(math.isqrt(hi - 1))
    if primes.size:
        first = np.maximum(primes * primes, -(-start // primes) * primes)
        first += primes * (first % 2 == 0)  # odd multiples only
        offsets = (first - start) // 2
        for p, at in zip(primes.tolist(), offsets.tolist(), strict=True):
            if at >= n:
                continue
            flags[at::p] = False
    found = np.flatnonzero(flags).astype(np.int64, copy=False)  # in place: a quarter less time
    found *= 2
    found += start
    extra = [q for q in (2, *PRESIEVED) if lo <= q < hi]
    if start == 1:
        found = found[1:]  # 1 is not prime
    if extra:
        found = np.union1d(np.array(extra, dtype=np.int64), found)
    return found


def summaries(
    lo: int, hi: int, cuts: Sequence[int], tuplets: bool = False, chunk: int = CHUNK
) -> list[Summary]:
    """Summaries of the pieces ``[cuts[i], cuts[i+1])`` of ``[lo, hi)``, as
    :func:`pipeline.prime.sieve.kernel.sieve_window` returns them (``chunk`` odd numbers at a
    time)."""
    bounds = [lo, *cuts, hi]
    pieces = []
    for a, b in itertools.pairwise(bounds):
        acc = Accumulator(a, b, tuplets=tuplets)
        for c in range(a, b, 2 * chunk):
            acc.add(odd_chunk(c, min(c + 2 * chunk, b)))
        pieces.append(acc.summary())
    return pieces
