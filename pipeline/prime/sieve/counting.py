"""Summaries and listings of a sieved block: counting by popcount, as primesieve's counting does.

Once a block is sieved, its set bits are the primes (wheel-30: byte ``k`` bit ``j`` is
``30*k + RESIDUES[j]``, :mod:`pipeline.prime.sieve.wheel`). A block may hold parts of several
*pieces* (the intervals summarised separately); :func:`summarise_block` adds each part to its
piece's :class:`~pipeline.prime.sieve.summary.Summary` row, never listing the primes:

* **Counting** uses popcount over 64-bit words; twin pairs are ``popcount(w & w >> 1 & mask)``
  (:data:`pipeline.prime.sieve.wheel.TWIN_WORD_MASK`); the largest gap and the edge primes come
  from the same pass, byte by byte only while the piece's first primes are being recorded or
  the gap found so far is shorter than a word (:data:`pipeline.prime.sieve.wheel.WORD_SPAN_GAP`):
  after that a gap inside a word cannot beat it, and only the word's first and last primes
  matter (``cttz``/``ctlz``).
* **Tuplets** (``--tuplets`` only: a separate pass, so counting without them costs nothing):
  every triplet to sextuplet of primes >= 7 lies inside one byte (``30k + 7`` .. ``30k + 23``),
  so a word's tuplets are ``popcount(w & w >> 1 & ... & mask)`` and those of a masked edge byte
  a table look-up; tuplets across pieces (and with 5) are found when summaries merge.
* **Listing** (``--primes-out``, :func:`list_block`) walks the set bits; :func:`primes_text`
  formats them.

A piece's row of ``stats`` is ``[count, twins, max_gap, gap_after, last, triplets,
quadruplets, quintuplets, sextuplets]``; its first and last ``EDGE_PRIMES`` primes go to
``heads`` and ``tails`` (right-aligned).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve import wheel
from pipeline.prime.sieve.compiled import leading_zeros64, njit, popcount64, trailing_zeros64

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]

RESIDUES = wheel.RESIDUES
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


@njit
def list_block(block: U8, n: int, kabs: int, lo: int, hi: int, out: I64, found: int) -> int:
    """Append the primes in ``[lo, hi)`` of ``block[:n]`` (wheel bytes from ``kabs``) to
    ``out[found:]``; the new ``found``."""
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
    return found


@njit
def summarise_block(
    block: U8,
    words: U64,
    n: int,
    kabs: int,
    bounds: I64,
    piece: int,
    tuplets: bool,
    stats: I64,
    heads: I64,
    tails: I64,
    scratch: I64,
) -> int:
    """Add ``block[:n]`` (wheel bytes from ``kabs``) to the summaries of the pieces
    ``[bounds[i], bounds[i+1])`` it overlaps, from ``piece`` on; the first piece not finished
    in this block (where the next block goes on)."""
    npieces = bounds.size - 1
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
    return piece


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
