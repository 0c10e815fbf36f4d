"""Pre-sieve: the multiples of the tiniest sieving primes stamped from periodic patterns.

The algorithm is primesieve's ``PreSieve.cpp``. On the wheel-30 bit sieve (one byte per 30
numbers, :mod:`pipeline.prime.sieve.wheel`) the multiples of a prime ``p`` repeat every ``p``
bytes, so those of a group of primes repeat every ``prod(group)`` bytes. Each group of
``PRESIEVE_GROUPS`` is one such pattern, built once per process; a block is the AND of 4
patterns, then AND-ed with the next 4, and so on (sequential byte loops that LLVM vectorises),
which replaces the crossings of the primes 7 .. 163, the ones that hit a block most often
(crossing off ``p`` one multiple at a time costs a byte write per ``p / 8`` bytes, a pass one
vectorised AND per byte for the primes of 4 patterns together).

Why groups instead of one pattern: the period of all 33 primes would be astronomically large;
primesieve's 16 groups of 2 or 3 primes keep each pattern between 6 kB and 10 kB, 125 kB in
all, so the patterns stay in the L2 cache with the block (see
:data:`pipeline.prime.tuning.PRESIEVE_GROUPS` for the trade-off). The patterns clear the
pre-sieved primes themselves, so :func:`presieve` sets their bits again in the first block, and
clears 1 (not a prime).

>>> pattern, offsets, periods = patterns()
>>> periods.tolist() == [int(np.prod(group)) for group in PRESIEVE_GROUPS]
True
>>> PRESIEVED.tolist()[:4], PRESIEVED.tolist()[-1]
([7, 11, 13, 17], 163)
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve import wheel
from pipeline.prime.sieve.compiled import njit
from pipeline.prime.tuning import PRESIEVE_GROUPS

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

_RESIDUE_INDEX = wheel.RESIDUE_INDEX
#: The pre-sieved primes, ascending: restored in the first bytes where the pattern cleared them.
PRESIEVED: Final[I64] = np.array(sorted(p for g in PRESIEVE_GROUPS for p in g), dtype=np.int64)


@functools.lru_cache(maxsize=1)
def patterns() -> tuple[U8, I64, I64]:
    """All pre-sieve patterns concatenated, with each one's offset and period (once per process)."""
    parts = [wheel.presieve_pattern(group) for group in PRESIEVE_GROUPS]
    offsets = np.cumsum([0] + [p.size for p in parts[:-1]]).astype(np.int64)
    periods = np.array([p.size for p in parts], dtype=np.int64)
    return np.concatenate(parts), offsets, periods


@njit
def presieve(
    block: U8,
    n: int,
    kabs: int,
    pattern: U8,
    pattern_offsets: I64,
    pattern_periods: I64,
    presieved: I64,
) -> None:
    """Fill ``block[:n]`` (wheel bytes from ``kabs`` on) with the pre-sieved patterns.

    The patterns are taken 4 at a time, each from its phase ``kabs % period``: the first 4 are
    AND-ed into the block (overwriting it), the next 4 AND-ed onto it, and so on, so the block
    streams through the cache once per 4 patterns (a pass with fewer repeats its last pattern);
    the pre-sieved primes that fall in the block get their bits back, and 1 is cleared.
    """
    count = pattern_periods.size
    for g in range(0, count, 4):
        a, b = g, min(g + 1, count - 1)
        c, d = min(g + 2, count - 1), min(g + 3, count - 1)
        pa, pb = kabs % pattern_periods[a], kabs % pattern_periods[b]
        pc, pd = kabs % pattern_periods[c], kabs % pattern_periods[d]
        i = 0
        while i < n:
            run = min(
                min(n - i, pattern_periods[a] - pa),
                min(pattern_periods[b] - pb, pattern_periods[c] - pc),
            )
            run = min(run, pattern_periods[d] - pd)
            # unsigned indices: no negative-index check, so LLVM vectorises the loops
            ui = np.uint64(i)
            ua, ub = np.uint64(pattern_offsets[a] + pa), np.uint64(pattern_offsets[b] + pb)
            uc, ud = np.uint64(pattern_offsets[c] + pc), np.uint64(pattern_offsets[d] + pd)
            if g == 0:
                for t in range(np.uint64(run)):
                    block[ui + t] = (
                        pattern[ua + t] & pattern[ub + t] & pattern[uc + t] & pattern[ud + t]
                    )
            else:
                for t in range(np.uint64(run)):
                    block[ui + t] &= (
                        pattern[ua + t] & pattern[ub + t] & pattern[uc + t] & pattern[ud + t]
                    )
            i += run
            pa = (pa + run) % pattern_periods[a]
            pb = (pb + run) % pattern_periods[b]
            pc = (pc + run) % pattern_periods[c]
            pd = (pd + run) % pattern_periods[d]
    for p in presieved:
        at = p // 30 - kabs
        if 0 <= at < n:
            block[at] |= np.uint8(1 << _RESIDUE_INDEX[p % 30])
    if kabs == 0:
        block[0] &= np.uint8(0xFE)  # 1 is not prime
