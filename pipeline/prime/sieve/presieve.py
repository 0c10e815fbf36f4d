"""Pre-sieve: the multiples of the tiniest sieving primes stamped from periodic patterns.

The algorithm is primesieve's ``PreSieve.cpp``. On the wheel-30 bit sieve (one byte per 30
numbers, :mod:`pipeline.prime.sieve.wheel`) the multiples of a prime ``p`` repeat every ``p``
bytes, so those of a group of primes repeat every ``prod(group)`` bytes. Each group of
``PRESIEVE_GROUPS`` is one such pattern, built once per process; a block starts as a copy of the
first pattern and is AND-ed with the others (sequential byte loops that LLVM vectorises), which
replaces the crossings of the primes 7 .. 71, the ones that hit a block most often (crossing
off ``p`` one multiple at a time costs a byte write per ``p / 8`` bytes, a pattern one
vectorised AND per byte for all its primes together).

Why groups instead of one pattern: the period of all 16 primes would be astronomically large;
products of 3 to 5 primes keep each pattern between 20 kB and 320 kB (see
:data:`pipeline.prime.tuning.PRESIEVE_GROUPS` for the trade-off). The pattern clears the
pre-sieved primes themselves, so :func:`presieve` sets their bits again in the first block, and
clears 1 (not a prime).

>>> pattern, offsets, periods = patterns()
>>> periods.tolist() == [int(np.prod(group)) for group in PRESIEVE_GROUPS]
True
>>> PRESIEVED.tolist()[:4]
[7, 11, 13, 17]
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

    The first pattern is copied and the others AND-ed in, each from its phase ``kabs % period``;
    the pre-sieved primes that fall in the block get their bits back, and 1 is cleared.
    """
    for g in range(pattern_periods.size):
        period = pattern_periods[g]
        base = pattern_offsets[g]
        pos = kabs % period
        i = 0
        while i < n:
            run = min(n - i, period - pos)
            # unsigned indices: no negative-index check, so LLVM vectorises the loops
            ui = np.uint64(i)
            up = np.uint64(base + pos)
            if g == 0:
                for t in range(np.uint64(run)):
                    block[ui + t] = pattern[up + t]
            else:
                for t in range(np.uint64(run)):
                    block[ui + t] &= pattern[up + t]
            i += run
            pos = 0
    for p in presieved:
        at = p // 30 - kabs
        if 0 <= at < n:
            block[at] |= np.uint8(1 << _RESIDUE_INDEX[p % 30])
    if kabs == 0:
        block[0] &= np.uint8(0xFE)  # 1 is not prime
