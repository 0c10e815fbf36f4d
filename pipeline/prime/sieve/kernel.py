"""Segmented sieve of Eratosthenes on a bit-packed wheel-30, compiled with numba.

The algorithm is primesieve's (``src/Erat*.cpp``, ``PreSieve.cpp``), in a smaller form:

* **Bit-packed wheel-30.** One byte per 30 numbers, one bit per residue coprime to 30 (see
  :mod:`pipeline.prime.sieve.wheel`), so 2, 3 and 5 cost nothing and 10^10 numbers are 333 MB of
  sieve, walked in cache-sized *blocks* of ``2**BLOCK_LOG`` bytes.
* **Pre-sieve.** The multiples of the primes in ``PRESIEVE_GROUPS`` are not crossed off: each
  group's periodic pattern is copied (first group) or AND-ed (others) into the block.
* **Small primes** (many hits per cache-sized part of a block, ``2**SMALL_BLOCK_LOG`` bytes) are
  crossed off one part at a time, so their scattered writes hit the cache. The multiples
  ``p*m`` with ``m`` in one residue class mod 30 are every ``p``-th byte, always the same bit, so
  a prime keeps 8 offsets, one per class, all within ``p`` bytes of each other, and its loop
  crosses off all 8 per step of ``p`` bytes (primesieve's ``EratSmall``).
* **Medium primes** (a few hits per block) walk the wheel multiple by multiple, keeping their
  next byte and wheel index from block to block (``EratMedium``).
* **Large primes** (a few hits per block at most) sit in *buckets*, one per block ahead: a
  block only touches the primes that hit it. As in ``EratBig``, each bucket entry crosses off
  exactly one multiple and moves to the bucket of its next one (the current bucket again when it
  hits this block twice; that bucket is emptied until it stays empty), so the hot loop has no
  inner loop to mispredict. An entry is one uint64 (``p // 30``, byte offset, wheel index);
  buckets are linked chunks of one preallocated pool, a full chunk recognised by its end index,
  so the working set is a few sequential streams, not 2 million primes; this keeps windows near
  10^15 (sieving primes up to 3.2e7) fast. A prime joins when the sieve reaches its square.
* **First multiples** of the 2 million sieving primes near 10^15 are found once per window with
  a float division corrected by one (an integer division costs tens of cycles each).
* **Counting** uses popcount over 64-bit words; twin pairs are ``popcount(w & w >> 1 & mask)``;
  the largest gap and the edge primes come from the same pass, byte by byte only while the gap
  found so far is shorter than a word (:data:`pipeline.prime.sieve.wheel.WORD_SPAN_GAP`).
* **Tuplets** (``--tuplets`` only: a separate pass, so counting without them costs nothing):
  every triplet to sextuplet of primes >= 7 lies inside one byte (``30k + 7`` .. ``30k + 23``),
  so a word's tuplets are ``popcount(w & w >> 1 & ... & mask)`` and those of a masked edge byte
  a table look-up; tuplets across pieces (and with 5) are found when summaries merge.

A *window* ``[lo, hi)`` is sieved once; ``cuts`` split it into *pieces* that are summarised
separately (a piece never straddles a range boundary). The kernel never lists primes unless
asked (:func:`window_primes`, for ``--primes-out``). All arithmetic is int64, exact for
``hi <= 2**62 / 30``; the job limits ``hi`` to ``10**15 + 1``.

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

from pipeline.prime.sieve import wheel
from pipeline.prime.sieve.compiled import leading_zeros64, njit, popcount64, trailing_zeros64
from pipeline.prime.sieve.summary import Summary, merge
from pipeline.prime.tuning import (
    BLOCK_LOG,
    BUCKET_CHUNK,
    EDGE_PRIMES,
    LARGE_PRIME_BLOCKS,
    PRESIEVE_GROUPS,
    SMALL_BLOCK_LOG,
    SMALL_PRIME_HITS,
)

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

RESIDUES = wheel.RESIDUES
_WHEEL_MASK = wheel.WHEEL_MASK
_TO_COPRIME = wheel.TO_COPRIME
# Unsigned copies for the hot loops: numba checks every signed index for a negative value (a
# compare and a select per access, and it blocks other optimisations: 3x slower crossing-off),
# and it turns mixed uint64/int64 arithmetic into floats, so those loops are uint64 throughout.
_U_DELTA = wheel.WHEEL_DELTA.astype(np.uint64)
_U_CORRECTION = wheel.WHEEL_CORRECTION.astype(np.uint64)
_U_NEXT = wheel.WHEEL_NEXT.astype(np.uint64)
_RESIDUE_INDEX = wheel.RESIDUE_INDEX
_FROM_MASK = wheel.FROM_MASK.astype(np.uint64)
_BELOW_MASK = (0xFF ^ wheel.FROM_MASK).astype(np.uint64)
_ALL: Final[np.uint64] = np.uint64(0xFF)
_POP8 = wheel.POPCOUNT8
_LOW = wheel.LOW_BIT
_HIGH = wheel.HIGH_BIT
_TWINS8 = wheel.TWINS8
_GAP8 = wheel.GAP8
_GAP8_AFTER = wheel.GAP8_AFTER
_WORD_SPAN_GAP: Final[int] = wheel.WORD_SPAN_GAP
_TWIN_MASK: Final[np.uint64] = np.uint64(wheel.TWIN_WORD_MASK)
_TUPLETS8 = wheel.TUPLETS8
_T3_MASK: Final[np.uint64] = np.uint64(wheel.TUPLET_WORD_MASKS[0])
_T4_MASK: Final[np.uint64] = np.uint64(wheel.TUPLET_WORD_MASKS[1])
_T5_MASK: Final[np.uint64] = np.uint64(wheel.TUPLET_WORD_MASKS[2])
_T6_MASK: Final[np.uint64] = np.uint64(wheel.TUPLET_WORD_MASKS[3])
_EDGE: Final[int] = EDGE_PRIMES
#: The tuning constants, passed to the kernel as an argument: numba's cache is keyed on this
#: file only, so a constant frozen in from another module would survive a change to it.
_TUNING: Final[I64] = np.array(
    [BLOCK_LOG, SMALL_PRIME_HITS, LARGE_PRIME_BLOCKS, BUCKET_CHUNK, EDGE_PRIMES, SMALL_BLOCK_LOG],
    dtype=np.int64,
)
#: Primes not on the wheel, reported by the Python wrapper.
_WHEEL_PRIMES: Final[tuple[int, ...]] = (2, 3, 5)
#: The pre-sieved primes, restored in the first bytes where the pattern cleared them.
_PRESIEVED: Final[I64] = np.array(sorted(p for g in PRESIEVE_GROUPS for p in g), dtype=np.int64)


@functools.lru_cache(maxsize=1)
def _patterns() -> tuple[U8, I64, I64]:
    """All pre-sieve patterns concatenated, with each one's offset and period (once per process)."""
    parts = [wheel.presieve_pattern(group) for group in PRESIEVE_GROUPS]
    offsets = np.cumsum([0] + [p.size for p in parts[:-1]]).astype(np.int64)
    periods = np.array([p.size for p in parts], dtype=np.int64)
    return np.concatenate(parts), offsets, periods


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
    pattern, offsets, periods = _patterns()
    primes = base_primes(_sieving_limit(hi))
    block_log, small_hits, large_blocks, chunk, _, small_log = (int(t) for t in _TUNING)
    # small: p <= 2**small_log / small_hits; medium: below 2**block_log * large_blocks; large:
    # the rest up to isqrt(hi - 1) (see pipeline.prime.tuning)
    first = int(np.searchsorted(primes, _PRESIEVED[-1], side="right"))
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
        _PRESIEVED,
        out is not None,
        tuplets,
        np.zeros(0, dtype=np.int64) if out is None else out,
        _TUNING,
        stats,
        heads,
        tails,
        block,
        block.view(np.uint64),
        np.empty((mid - first) * 8, dtype=np.int64),
        np.empty(big - mid, dtype=np.int64),
        np.empty(big - mid, dtype=np.int64),
        np.empty(nchunks * chunk, dtype=np.uint64),
        np.full(nchunks, -1, dtype=np.int64),
        np.arange(nchunks - 1, -1, -1, dtype=np.int64),
        np.full(nslots, -1, dtype=np.int64),
        np.empty(_EDGE, dtype=np.int64),
    )
    return stats, heads, tails, int(found)


@njit
def primes_text(primes: I64) -> U8:
    """The decimal text of ``primes``, one per line, as ASCII bytes (fast ``--primes-out``)."""
    out = np.empty(primes.size * 17, dtype=np.uint8)
    n = 0
    digits = np.empty(20, dtype=np.uint8)
    for value in primes:
        k = 0
        while True:
            digits[k] = 48 + value % 10
            value //= 10
            k += 1
            if value == 0:
                break
        for t in range(k - 1, -1, -1):
            out[n] = digits[t]
            n += 1
        out[n] = 10
        n += 1
    return out[:n]


# --- the compiled kernel -------------------------------------------------------------------------


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
    words: npt.NDArray[np.uint64],
    small_off: I64,
    medium_off: I64,
    medium_w: I64,
    pool: npt.NDArray[np.uint64],
    chunk_next: I64,
    free: I64,
    slot_end: I64,
    scratch: I64,
) -> int:
    """Sieve ``[lo, hi)`` block by block; summarise each piece, or list the primes into ``out``.

    Fills, per piece, ``stats`` ``[count, twins, max_gap, gap_after, last, triplets,
    quadruplets, quintuplets, sextuplets]`` (the tuplets only with ``tuplets``; only numbers on
    the wheel, i.e. without 2, 3, 5), its first and last ``_EDGE`` primes in ``heads`` and
    ``tails`` (right-aligned); returns the number of primes written to ``out``. Every array is
    allocated by :func:`_run`, which also splits the sieving primes into classes (``layout``):
    numba compiles each numpy function a kernel calls as a function of its own, so a kernel
    that only indexes arrays compiles several times faster.
    """
    block_log = tuning[0]
    chunk = tuning[3]
    small_log = tuning[5]
    first, mid, big, stop, nslots = layout[0], layout[1], layout[2], layout[3], layout[4]
    size = block.size
    k0 = lo // 30
    nbytes = (hi - 1) // 30 - k0 + 1
    nblocks = (nbytes + size - 1) >> block_log
    npieces = bounds.size - 1
    found = 0

    # Small primes: 8 next offsets each (bytes from the window start until active).
    nsmall = mid - first
    for a in range(nsmall):
        p = primes[first + a]
        m0 = _first_multiplier(lo, p)
        for j in range(8):
            m = m0 + (RESIDUES[j] - m0) % 30
            small_off[a * 8 + j] = p * m // 30 - k0
    # Medium primes: next offset and wheel index.
    nmedium = big - mid
    for a in range(nmedium):
        p = primes[mid + a]
        m0 = _first_multiplier(lo, p)
        m = m0 + _TO_COPRIME[m0 % 30]
        medium_off[a] = p * m // 30 - k0
        medium_w[a] = 8 * _RESIDUE_INDEX[p % 30] + _RESIDUE_INDEX[m % 30]
    # Large primes: a bucket per block ahead (circular), each a list of chunks from one pool
    # (``pool``, ``chunk_next``, the stack of free chunks ``free``). An entry is one uint64:
    # q = p // 30 (high 32 bits), byte offset in its block, wheel index. slot_end[s]: pool index
    # where bucket s's next entry goes (in its newest chunk), -1 if empty.
    nfree = free.size
    next_large = big

    small_active = 0
    medium_active = 0
    piece = 0  # first piece not finished before the current block
    for b in range(nblocks):
        start = b * size  # byte offset of the block in the window
        n = min(size, nbytes - start)
        kabs = k0 + start
        block_end = 30 * (kabs + n)  # numbers below this are in this block or earlier

        # pre-sieve: copy the first pattern, AND the others
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

        # small primes
        while (
            small_active < nsmall
            and primes[first + small_active] * primes[first + small_active] < block_end
        ):
            for j in range(8):
                small_off[small_active * 8 + j] -= start
            small_active += 1
        # small primes, one L1-sized part of the block at a time; each prime's 8 multiples in a
        # span of p bytes are crossed off together (the 8 offsets stay within p of each other)
        s1 = 0
        while s1 < n:
            s1 = min(s1 + (1 << small_log), n)
            u1 = np.uint64(s1)
            for a in range(small_active):
                i8 = 8 * _RESIDUE_INDEX[primes[first + a] % 30]
                p = np.uint64(primes[first + a])
                a8 = a * 8
                o0 = np.uint64(small_off[a8])
                o1 = np.uint64(small_off[a8 + 1])
                o2 = np.uint64(small_off[a8 + 2])
                o3 = np.uint64(small_off[a8 + 3])
                o4 = np.uint64(small_off[a8 + 4])
                o5 = np.uint64(small_off[a8 + 5])
                o6 = np.uint64(small_off[a8 + 6])
                o7 = np.uint64(small_off[a8 + 7])
                m0 = _WHEEL_MASK[i8]
                m1 = _WHEEL_MASK[i8 + 1]
                m2 = _WHEEL_MASK[i8 + 2]
                m3 = _WHEEL_MASK[i8 + 3]
                m4 = _WHEEL_MASK[i8 + 4]
                m5 = _WHEEL_MASK[i8 + 5]
                m6 = _WHEEL_MASK[i8 + 6]
                m7 = _WHEEL_MASK[i8 + 7]
                top = max(max(max(o0, o1), max(o2, o3)), max(max(o4, o5), max(o6, o7)))
                while top < u1:
                    block[o0] &= m0
                    block[o1] &= m1
                    block[o2] &= m2
                    block[o3] &= m3
                    block[o4] &= m4
                    block[o5] &= m5
                    block[o6] &= m6
                    block[o7] &= m7
                    o0 += p
                    o1 += p
                    o2 += p
                    o3 += p
                    o4 += p
                    o5 += p
                    o6 += p
                    o7 += p
                    top += p
                if o0 < u1:
                    block[o0] &= m0
                    o0 += p
                if o1 < u1:
                    block[o1] &= m1
                    o1 += p
                if o2 < u1:
                    block[o2] &= m2
                    o2 += p
                if o3 < u1:
                    block[o3] &= m3
                    o3 += p
                if o4 < u1:
                    block[o4] &= m4
                    o4 += p
                if o5 < u1:
                    block[o5] &= m5
                    o5 += p
                if o6 < u1:
                    block[o6] &= m6
                    o6 += p
                if o7 < u1:
                    block[o7] &= m7
                    o7 += p
                small_off[a8] = np.int64(o0)
                small_off[a8 + 1] = np.int64(o1)
                small_off[a8 + 2] = np.int64(o2)
                small_off[a8 + 3] = np.int64(o3)
                small_off[a8 + 4] = np.int64(o4)
                small_off[a8 + 5] = np.int64(o5)
                small_off[a8 + 6] = np.int64(o6)
                small_off[a8 + 7] = np.int64(o7)
        for a in range(small_active * 8):
            small_off[a] -= n

        # medium primes
        while (
            medium_active < nmedium
            and primes[mid + medium_active] * primes[mid + medium_active] < block_end
        ):
            medium_off[medium_active] -= start
            medium_active += 1
        un = np.uint64(n)
        for a in range(medium_active):
            uq = np.uint64(primes[mid + a] // 30)
            uo = np.uint64(medium_off[a])
            uw = np.uint64(medium_w[a])
            while uo < un:
                block[uo] &= _WHEEL_MASK[uw]
                uo += uq * _U_DELTA[uw] + _U_CORRECTION[uw]
                uw = _U_NEXT[uw]
            medium_off[a] = np.int64(uo - un)
            medium_w[a] = np.int64(uw)

        # large primes: join when the sieve reaches their square, then the bucket of this block
        while next_large < stop and primes[next_large] * primes[next_large] < block_end:
            p = primes[next_large]
            next_large += 1
            m0 = _first_multiplier(lo, p)
            m = m0 + _TO_COPRIME[m0 % 30]
            o = p * m // 30 - k0 - start
            if o >= nbytes - start:
                continue
            w = 8 * _RESIDUE_INDEX[p % 30] + _RESIDUE_INDEX[m % 30]
            slot = (b + (o >> block_log)) & (nslots - 1)
            x = slot_end[slot]
            if x < 0:
                nfree -= 1
                x = free[nfree] * chunk
                chunk_next[x // chunk] = -1
            pool[x] = np.uint64(((p // 30) << 32) | ((o & (size - 1)) << 6) | w)
            x += 1
            if x & (chunk - 1) == 0:  # full: link a fresh chunk in front
                nfree -= 1
                chunk_next[free[nfree]] = x // chunk - 1
                x = free[nfree] * chunk
            slot_end[slot] = x
        # EratBig: cross off one multiple per entry, move the entry to the bucket of its next
        # multiple; an entry that hits this block again lands in this bucket and is seen in the
        # next round of the outer loop.
        current = b & (nslots - 1)
        ublocks_left = np.uint64(nblocks - b)
        ub = np.uint64(b)
        uslots = np.uint64(nslots - 1)
        ulog = np.uint64(block_log)
        uoffset = np.uint64(size - 1)
        u6 = np.uint64(6)
        u32 = np.uint64(32)
        u63 = np.uint64(63)
        uchunk = np.uint64(chunk - 1)
        while slot_end[current] >= 0:
            end = slot_end[current]
            slot_end[current] = -1
            c = end // chunk  # the newest chunk (possibly empty)
            while c >= 0:
                for e in range(np.uint64(c * chunk), np.uint64(end)):
                    entry = pool[e]
                    uq = entry >> u32
                    uo = (entry >> u6) & uoffset
                    uw = entry & u63
                    block[uo] &= _WHEEL_MASK[uw]
                    uo += uq * _U_DELTA[uw] + _U_CORRECTION[uw]
                    ahead = uo >> ulog
                    if ahead >= ublocks_left:
                        continue  # past the window
                    slot = (ub + ahead) & uslots
                    x = slot_end[slot]
                    if x < 0:
                        nfree -= 1
                        x = free[nfree] * chunk
                        chunk_next[x // chunk] = -1
                    ux = np.uint64(x)
                    pool[ux] = (uq << u32) | ((uo & uoffset) << u6) | _U_NEXT[uw]
                    ux += np.uint64(1)
                    if ux & uchunk == 0:
                        nfree -= 1
                        chunk_next[free[nfree]] = np.int64(ux) // chunk - 1
                        ux = np.uint64(free[nfree] * chunk)
                    slot_end[slot] = np.int64(ux)
                following = chunk_next[c]
                free[nfree] = c
                nfree += 1
                c = following
                end = c * chunk + chunk

        # the block is sieved: bytes [0, n) hold the wheel numbers 30*kabs .. block_end - 1
        if extract:
            first_byte = max(lo // 30 - kabs, 0)
            last_byte = min((hi - 1) // 30 - kabs, n - 1)
            for i in range(first_byte, last_byte + 1):
                v = block[i]
                while v:
                    j = _LOW[v]
                    number = 30 * (kabs + i) + RESIDUES[j]
                    if lo <= number < hi:
                        out[found] = number
                        found += 1
                    v &= v - np.uint8(1)
            continue
        while piece < npieces:
            a_lo, a_hi = bounds[piece], bounds[piece + 1]
            first_byte = a_lo // 30 - kabs
            last_byte = (a_hi - 1) // 30 - kabs
            if first_byte >= n:
                break
            i0 = max(first_byte, 0)
            i1 = min(last_byte, n - 1)
            mask_lo = _FROM_MASK[a_lo % 30] if first_byte >= 0 else _ALL
            mask_hi = _BELOW_MASK[(a_hi - 1) % 30 + 1] if last_byte < n else _ALL
            _scan(block, words, i0, i1, mask_lo, mask_hi, kabs, stats, heads, piece)
            _tail(block, i0, i1, mask_lo, mask_hi, kabs, tails, scratch, piece)
            if tuplets:
                _tuplets(block, words, i0, i1, mask_lo, mask_hi, stats, piece)
            if last_byte < n:
                piece += 1
            else:
                break
    return found


@njit
def _first_multiplier(lo: int, p: int) -> int:
    """``max(p, ceil(lo / p))``: the first multiplier to cross off (``p*p`` at the earliest).

    A float division (exact enough below 2**53, then corrected by one) instead of an integer
    division, which costs tens of cycles for each of the 2 million sieving primes per window.
    """
    m: int = np.int64(np.float64(lo) / np.float64(p))  # floor or ceil of lo / p
    if m * p < lo:
        m += 1
    return max(m, p)


@njit
def _scan(
    block: U8,
    words: npt.NDArray[np.uint64],
    i0: int,
    i1: int,
    mask_lo: np.uint64,
    mask_hi: np.uint64,
    kabs: int,
    stats: I64,
    heads: I64,
    piece: int,
) -> None:
    """Add block bytes ``i0..i1`` (inclusive, edge bytes masked) to the summary of ``piece``."""
    count, twins, gap = stats[piece, 0], stats[piece, 1], stats[piece, 2]
    after, last = stats[piece, 3], stats[piece, 4]
    head = heads[piece]
    edge = head.size
    i = i0
    while i <= i1 and (i == i0 or i & 7):
        v = np.uint64(block[i])
        if i == i0:
            v &= mask_lo
        if i == i1:
            v &= mask_hi
        if count < edge:
            _head(v, kabs + i, count, head)
        count, twins, gap, after, last = _add_byte(v, kabs + i, count, twins, gap, after, last)
        i += 1
    while i + 8 <= i1:
        w = words[i >> 3]
        if w:
            if count < edge or gap < _WORD_SPAN_GAP:
                for t in range(8):
                    v = np.uint64(block[i + t])
                    if count < edge:
                        _head(v, kabs + i + t, count, head)
                    count, twins, gap, after, last = _add_byte(
                        v, kabs + i + t, count, twins, gap, after, last
                    )
            else:
                low = np.int64(trailing_zeros64(w))
                nxt = 30 * (kabs + i + (low >> 3)) + RESIDUES[low & 7]
                step = nxt - last
                if step == 2:
                    twins += 1
                if step > gap:
                    gap, after = step, last
                count += np.int64(popcount64(w))
                twins += np.int64(popcount64(w & (w >> np.uint64(1)) & _TWIN_MASK))
                high = 63 - np.int64(leading_zeros64(w))
                last = 30 * (kabs + i + (high >> 3)) + RESIDUES[high & 7]
        i += 8
    while i <= i1:
        v = np.uint64(block[i])
        if i == i1:
            v &= mask_hi
        if count < edge:
            _head(v, kabs + i, count, head)
        count, twins, gap, after, last = _add_byte(v, kabs + i, count, twins, gap, after, last)
        i += 1
    stats[piece, 0], stats[piece, 1], stats[piece, 2] = count, twins, gap
    stats[piece, 3], stats[piece, 4] = after, last


@njit
def _tuplets(
    block: U8,
    words: npt.NDArray[np.uint64],
    i0: int,
    i1: int,
    mask_lo: np.uint64,
    mask_hi: np.uint64,
    stats: I64,
    piece: int,
) -> None:
    """Add the tuplets inside bytes ``i0..i1`` (inclusive, edge bytes masked) to ``piece``.

    Whole aligned words by shifted ANDs and popcounts, the rest byte by byte from the table.
    """
    t3, t4, t5, t6 = stats[piece, 5], stats[piece, 6], stats[piece, 7], stats[piece, 8]
    u1, u2, u3, u4, u5 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4), np.uint64(5)
    i = i0
    while i <= i1:
        if i != i0 and i & 7 == 0 and i + 8 <= i1:
            w = words[i >> 3]
            if w:
                x = w & (w >> u1) & (w >> u2)
                t3 += np.int64(popcount64(x & _T3_MASK))
                x &= w >> u3
                t4 += np.int64(popcount64(x & _T4_MASK))
                x &= w >> u4
                t5 += np.int64(popcount64(x & _T5_MASK))
                x &= w >> u5
                t6 += np.int64(popcount64(x & _T6_MASK))
            i += 8
            continue
        v = np.uint64(block[i])
        if i == i0:
            v &= mask_lo
        if i == i1:
            v &= mask_hi
        t3 += np.int64(_TUPLETS8[0, v])
        t4 += np.int64(_TUPLETS8[1, v])
        t5 += np.int64(_TUPLETS8[2, v])
        t6 += np.int64(_TUPLETS8[3, v])
        i += 1
    stats[piece, 5], stats[piece, 6], stats[piece, 7], stats[piece, 8] = t3, t4, t5, t6


@njit
def _add_byte(
    v: np.uint64,
    k: int,
    count: int,
    twins: int,
    gap: int,
    after: int,
    last: int,
) -> tuple[int, int, int, int, int]:
    """Account for the primes of one masked wheel byte ``v`` (numbers ``30*k + RESIDUES``).

    Scalars only: numba counts references to every array passed to a function, which costs
    more than the work here, done for millions of bytes.
    """
    if v == 0:
        return count, twins, gap, after, last
    base = 30 * k
    nxt = base + RESIDUES[_LOW[v]]
    if count > 0:
        step = nxt - last
        if step == 2:
            twins += 1
        if step > gap:
            gap, after = step, last
    if _GAP8[v] > gap:
        gap, after = np.int64(_GAP8[v]), base + _GAP8_AFTER[v]
    twins += _TWINS8[v]
    count += _POP8[v]
    last = base + RESIDUES[_HIGH[v]]
    return count, twins, gap, after, last


@njit
def _head(v: np.uint64, k: int, count: int, head: I64) -> None:
    """Record the primes of byte ``v`` as the piece's first primes while fewer than wanted."""
    h = count
    x = v
    while x and h < head.size:
        head[h] = 30 * k + RESIDUES[_LOW[x]]
        h += 1
        x &= x - np.uint64(1)


@njit
def _tail(
    block: U8,
    i0: int,
    i1: int,
    mask_lo: np.uint64,
    mask_hi: np.uint64,
    kabs: int,
    tails: I64,
    scratch: I64,
    piece: int,
) -> None:
    """Append the last (up to ``_EDGE``) primes of bytes ``i0..i1`` to the piece's tail."""
    edge = tails.shape[1]
    found = scratch  # descending
    n = 0
    i = i1
    while i >= i0 and n < edge:
        v = np.uint64(block[i])
        if i == i1:
            v &= mask_hi
        if i == i0:
            v &= mask_lo
        while v and n < edge:
            j = _HIGH[v]
            found[n] = 30 * (kabs + i) + RESIDUES[j]
            n += 1
            v ^= np.uint8(1 << j)
        i -= 1
    if n == 0:
        return
    row = tails[piece]
    for t in range(edge - n):  # shift the old tail left by n
        row[t] = row[t + n]
    for t in range(n):
        row[edge - 1 - t] = found[t]
