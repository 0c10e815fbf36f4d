"""Segmented sieve of Eratosthenes on a bit-packed wheel-30, compiled with numba: the driver.

The algorithm is primesieve's (``src/Erat*.cpp``, ``PreSieve.cpp``), in a smaller form, split
like primesieve's files by the size class of the sieving primes:

* **Bit-packed wheel-30** (:mod:`~pipeline.prime.sieve.wheel`). One byte per 30 numbers, one bit
  per residue coprime to 30, so 2, 3 and 5 cost nothing and 10^10 numbers are 333 MB of sieve,
  walked in cache-sized *blocks* of ``2**BLOCK_LOG`` bytes.
* **Pre-sieve** (:mod:`~pipeline.prime.sieve.presieve`): the primes of ``PRESIEVE_GROUPS``
  are stamped from periodic patterns instead of crossed off.
* **Small and medium primes** (:mod:`~pipeline.prime.sieve.crossing`, ``EratSmall`` and
  ``EratMedium``): many hits per block, 8 crossings per step of ``p`` bytes in cache-sized parts;
  a few hits per block, multiple by multiple along the wheel.
* **Large primes** (:mod:`~pipeline.prime.sieve.buckets`, ``EratBig``): at most a few hits per
  block, kept in buckets so a block only touches the primes that hit it.
* **Counting and summaries** (:mod:`~pipeline.prime.sieve.counting`): popcounts over 64-bit
  words per piece, or the primes listed for ``--primes-out``.

This module is the Python wrapper (:func:`sieve_window`, :func:`window_primes`: allocate every
array, split the sieving primes into their classes) and the compiled driver :func:`_sieve`, which
walks the blocks and calls each class in turn. A *window* ``[lo, hi)`` is sieved once; ``cuts``
split it into *pieces* that are summarised separately (a piece never straddles a range
boundary). All arithmetic is int64, exact for ``hi <= 2**62 / 30``; the job limits ``hi`` to
``10**15 + 1``.

numba's cache is keyed on the file of each compiled function: :func:`_sieve`'s cached machine
code includes the functions it calls from the other modules, but numba only checks this file.
So the tuning constants reach the kernel as an argument (``_TUNING``), never frozen in from
another module, and :func:`pipeline.prime.sieve.cache_dir.drop_stale` retires the whole cached
kernel when any sieve module changes.

>>> window_primes(0, 50).tolist()
[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
>>> s = sieve_window(0, 100, ())[0]
>>> s.count, s.twin_pairs, s.max_gap, s.gap_after
(25, 8, 8, 89)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve.buckets import join_large, sweep_bucket
from pipeline.prime.sieve.compiled import njit
from pipeline.prime.sieve.counting import list_block, primes_text, summarise_block
from pipeline.prime.sieve.crossing import cross_medium, cross_small, small_classes, wheel_start
from pipeline.prime.sieve.presieve import PRESIEVED, patterns, presieve
from pipeline.prime.sieve.summary import Summary, merge
from pipeline.prime.tuning import (
    BLOCK_LOG,
    BUCKET_CHUNK,
    EDGE_PRIMES,
    LARGE_PRIME_BLOCKS,
    SMALL_BLOCK_LOG,
    SMALL_PRIME_HITS,
)

__all__ = ["base_primes", "primes_text", "sieve_window", "window_primes"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]

_EDGE: Final[int] = EDGE_PRIMES
#: The tuning constants, passed to the kernel as an argument: numba's cache is keyed on this
#: file only, so a constant frozen in from another module would survive a change to it.
_TUNING: Final[I64] = np.array(
    [BLOCK_LOG, SMALL_PRIME_HITS, LARGE_PRIME_BLOCKS, BUCKET_CHUNK, EDGE_PRIMES, SMALL_BLOCK_LOG],
    dtype=np.int64,
)
#: Primes not on the wheel, reported by the Python wrapper.
_WHEEL_PRIMES: Final[tuple[int, ...]] = (2, 3, 5)


@functools.lru_cache(maxsize=2)
def base_primes(limit: int) -> I64:
    """All primes ``<= limit``, ascending: the sieving primes (cached per process).

    A plain odd-only sieve: ``limit`` is at most ``isqrt(MAX_END)`` (3.2e7, a 16 MB array), so
    computing it in each worker process once costs less than shipping it to every task.

    >>> base_primes(30).tolist()
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    """
    if limit < 2:
        return np.zeros(0, dtype=np.int64)
    odd = np.ones((limit - 1) // 2 + 1, dtype=np.bool_)  # odd[i] <-> 2*i + 1
    _odd_sieve(odd)
    primes = np.concatenate(([2], 2 * np.flatnonzero(odd) + 1)).astype(np.int64)
    primes.flags.writeable = False
    return primes


@njit
def _odd_sieve(odd: npt.NDArray[np.bool_]) -> None:
    """Clear ``odd[i]`` (standing for ``2*i + 1``) for every odd composite; ``odd[0]`` is 1."""
    odd[0] = False
    i = 1
    while (2 * i + 1) * (2 * i + 1) < 2 * odd.size:
        if odd[i]:
            p = 2 * i + 1
            for k in range(p * p // 2, odd.size, p):
                odd[k] = False
        i += 1


def sieve_window(lo: int, hi: int, cuts: Sequence[int], *, tuplets: bool = False) -> list[Summary]:
    """Summaries of the primes in each piece ``[cuts[i], cuts[i+1])`` of ``[lo, hi)``.

    ``cuts`` are boundaries strictly inside the window, ascending. One summary per piece, in
    order; the primes are never listed. With ``tuplets`` the summaries count them too.
    """
    bounds = np.array([lo, *cuts, hi], dtype=np.int64)
    if hi <= lo or np.any(np.diff(bounds) <= 0):
        raise ValueError(f"bad window [{lo}, {hi}) with cuts {list(cuts)}")
    stats, heads, tails, _ = _run(lo, hi, bounds, tuplets, None)
    # plain lists: a window may hold 100,000 pieces, and numpy indexing is slow per piece; only
    # the edge primes that exist are converted (pieces of small ranges hold a few primes)
    edges, rows = bounds.tolist(), stats.tolist()
    shown_all = np.minimum(stats[:, 0], _EDGE)
    columns = np.arange(_EDGE)
    firsts = heads[columns < shown_all[:, None]].tolist()
    lasts = tails[columns >= _EDGE - shown_all[:, None]].tolist()
    summaries = []
    at = 0
    for index, (count, twins, gap, after, _, t3, t4, t5, t6) in enumerate(rows):
        a, b = edges[index], edges[index + 1]
        shown = min(count, _EDGE)
        piece = Summary(
            a,
            b,
            count=count,
            head=tuple(firsts[at : at + shown]),
            tail=tuple(lasts[at : at + shown]),
            twin_pairs=twins,
            max_gap=gap if count >= 2 else 0,
            gap_after=after if count >= 2 else None,
            tuplets=(t3, t4, t5, t6) if tuplets else None,
        )
        at += shown
        if a < 6:  # 2, 3 and 5 are not on the wheel
            small = Summary.of(a, b, [p for p in _WHEEL_PRIMES if a <= p < b], tuplets=tuplets)
            piece = merge(small, piece)
        summaries.append(piece)
    return summaries


def window_primes(lo: int, hi: int) -> I64:
    """Every prime in ``[lo, hi)``, ascending (``--primes-out`` and tests: memory grows)."""
    if hi <= lo:
        return np.zeros(0, dtype=np.int64)
    width = hi - lo
    # Brun-Titchmarsh (Montgomery-Vaughan): at most 2y/log(y) primes in any interval of length y.
    capacity = 2 * width // max(int(math.log(width)), 1) + 64 if width > 64 else width
    out = np.empty(capacity, dtype=np.int64)
    bounds = np.array([lo, hi], dtype=np.int64)
    *_, found = _run(lo, hi, bounds, False, out)
    small = np.array([p for p in _WHEEL_PRIMES if lo <= p < hi], dtype=np.int64)
    return np.concatenate((small, out[: int(found)]))


def _sieving_limit(hi: int) -> int:
    """``isqrt(hi - 1)`` rounded up to a power of two: the windows of a job share a few limits,
    so the per-process cache of :func:`base_primes` hits (the kernel ignores primes above
    ``isqrt(hi - 1)``)."""
    return 1 << max(math.isqrt(hi - 1), 1).bit_length()


def _run(
    lo: int, hi: int, bounds: I64, tuplets: bool, out: I64 | None
) -> tuple[I64, I64, I64, int]:
    """Allocate everything :func:`_sieve` needs, split the sieving primes into their classes
    and sieve; ``(stats, heads, tails, found)`` as :func:`_sieve` fills them.

    With ``out`` the primes are listed into it instead of summarised.
    """
    pattern, offsets, periods = patterns()
    primes = base_primes(_sieving_limit(hi))
    block_log, small_hits, large_blocks, chunk, _, small_log = (int(t) for t in _TUNING)
    # small: p <= 2**small_log / small_hits; medium: below 2**block_log * large_blocks; large:
    # the rest up to isqrt(hi - 1) (see pipeline.prime.tuning)
    first = int(np.searchsorted(primes, PRESIEVED[-1], side="right"))
    stop = max(first, int(np.searchsorted(primes, math.isqrt(hi - 1), side="right")))
    small_max = (1 << small_log) // small_hits
    mid = min(max(first, int(np.searchsorted(primes, small_max, side="right"))), stop)
    large_min = (1 << block_log) * large_blocks
    big = min(max(mid, int(np.searchsorted(primes, large_min, side="left"))), stop)
    nlarge = stop - big
    max_step = 6 * (int(primes[stop - 1]) // 30) + 7 if nlarge else 0
    nslots = 1
    while nslots < (max_step >> block_log) + 2:
        nslots *= 2
    # every prime is in one bucket; each bucket has one partly filled chunk and at most one empty
    # one, and the chunk being emptied is freed only after its entries moved on
    nchunks = nlarge // chunk + 2 * nslots + 2 if nlarge else 0
    small, small_bounds = small_classes(primes[first:mid])
    npieces = bounds.size - 1
    block = np.empty(1 << block_log, dtype=np.uint8)
    stats = np.zeros((npieces, 9), dtype=np.int64)
    heads = np.zeros((npieces, _EDGE), dtype=np.int64)
    tails = np.zeros((npieces, _EDGE), dtype=np.int64)
    found = _sieve(
        lo,
        hi,
        bounds,
        primes,
        np.array([first, mid, big, stop, nslots], dtype=np.int64),
        pattern,
        offsets,
        periods,
        PRESIEVED,
        out is not None,
        tuplets,
        np.zeros(0, dtype=np.int64) if out is None else out,
        _TUNING,
        stats,
        heads,
        tails,
        block,
        block.view(np.uint64),
        small,
        small_bounds,
        small_bounds[:8].copy(),
        np.empty(mid - first, dtype=np.int64),
        np.empty(mid - first, dtype=np.int64),
        np.empty(big - mid, dtype=np.int64),
        np.empty(big - mid, dtype=np.int64),
        np.empty(nchunks * chunk, dtype=np.uint64),
        np.full(nchunks, -1, dtype=np.int64),
        np.arange(nchunks - 1, -1, -1, dtype=np.int64),
        np.full(nslots, -1, dtype=np.int64),
        np.empty(_EDGE, dtype=np.int64),
    )
    return stats, heads, tails, int(found)


# --- the compiled driver --------------------------------------------------------------------------


@njit
def _sieve(
    lo: int,
    hi: int,
    bounds: I64,
    primes: I64,
    layout: I64,
    pattern: U8,
    pattern_offsets: I64,
    pattern_periods: I64,
    presieved: I64,
    extract: bool,
    tuplets: bool,
    out: I64,
    tuning: I64,
    stats: I64,
    heads: I64,
    tails: I64,
    block: U8,
    words: U64,
    small: I64,
    small_bounds: I64,
    small_joined: I64,
    small_off: I64,
    small_w: I64,
    medium_off: I64,
    medium_w: I64,
    pool: U64,
    chunk_next: I64,
    free: I64,
    slot_end: I64,
    scratch: I64,
) -> int:
    """Sieve ``[lo, hi)`` block by block; summarise each piece, or list the primes into ``out``.

    Fills, per piece, ``stats``, ``heads`` and ``tails`` as
    :func:`pipeline.prime.sieve.counting.summarise_block` describes (only numbers on the wheel,
    i.e. without 2, 3, 5); returns the number of primes written to ``out``. Every array is
    allocated by :func:`_run`, which also splits the sieving primes into classes (``layout``):
    numba compiles each numpy function a kernel calls as a function of its own, so a kernel
    that only indexes arrays compiles several times faster.
    """
    block_log = tuning[0]
    chunk = tuning[3]
    small_log = tuning[5]
    first, mid, big, stop = layout[0], layout[1], layout[2], layout[3]
    size = block.size
    k0 = lo // 30
    nbytes = (hi - 1) // 30 - k0 + 1
    nblocks = (nbytes + size - 1) >> block_log
    found = 0
    wheel_start(lo, small, 0, mid - first, small_off, small_w)
    wheel_start(lo, primes, mid, big - mid, medium_off, medium_w)
    nfree = free.size
    next_large = big
    medium_active = 0
    piece = 0  # first piece not finished before the current block
    for b in range(nblocks):
        start = b * size  # byte offset of the block in the window
        n = min(size, nbytes - start)
        kabs = k0 + start
        block_end = 30 * (kabs + n)  # numbers below this are in this block or earlier
        presieve(block, n, kabs, pattern, pattern_offsets, pattern_periods, presieved)
        cross_small(
            block,
            n,
            start,
            block_end,
            small,
            small_bounds,
            small_joined,
            small_off,
            small_w,
            small_log,
        )
        medium_active = cross_medium(
            block, n, start, block_end, primes, mid, big - mid, medium_active, medium_off, medium_w
        )
        next_large, nfree = join_large(
            lo,
            nbytes,
            b,
            start,
            block_end,
            block_log,
            chunk,
            primes,
            next_large,
            stop,
            nfree,
            pool,
            chunk_next,
            free,
            slot_end,
        )
        nfree = sweep_bucket(
            block, b, nblocks, block_log, chunk, nfree, pool, chunk_next, free, slot_end
        )
        # the block is sieved: bytes [0, n) hold the wheel numbers 30*kabs .. block_end - 1
        if extract:
            found = list_block(block, n, kabs, lo, hi, out, found)
        else:
            piece = summarise_block(
                block, words, n, kabs, bounds, piece, tuplets, stats, heads, tails, scratch
            )
    return found
