"""Segmented sieve of Eratosthenes on a wheel-30 byte array, in pure numpy.

Why this shape: a numpy sieve is limited by two costs, the bytes it touches per crossing-off and
the Python overhead per numpy call. The *wheel-30* representation keeps one byte for each of the 8
residues coprime to 30 in every run of 30 numbers (byte ``8*k + j`` is ``30*k + RESIDUES[j]``), so
2, 3 and 5 never cost a write and there are 8/30 bytes per number instead of 1/2 for odd-only.
Multiples ``p*m`` of a sieving prime with ``m`` in one residue class mod 30 land on one byte column
every ``p`` wheel turns, i.e. an arithmetic progression of step ``8*p`` bytes: 8 progressions per
prime. The segment is walked in cache-sized blocks (``BLOCK_BYTES``), and primes are treated by size
class, as primesieve does:

* the tiniest primes (``PRESIEVE_GROUPS``) are never crossed off: a pre-computed periodic pattern is
  copied (first group) and AND-ed (later groups) into the block;
* *small* primes, with at least ``SLICE_MIN_HITS`` hits per column and block, are crossed off with
  one fancy assignment per prime and block on a 2-D strided view of the block whose columns are
  the prime's 8 progressions (:class:`_Grid`; plain slices before the prime's square is reached);
* *bucket* primes, which hit a block rarely, are grouped in bands of similar size; all their hit
  positions in the block are generated in one broadcast expression and cleared with one fancy-index
  assignment (positions past the block are clipped onto a pad byte), so their Python cost is per
  band, not per prime.

A sieve task never lists its primes: each block is summarised from its bytes (count, twin pairs,
largest gap, first and last primes; see :func:`_summarise_turns`), which costs a few passes over
the block instead of an int64 array of every prime.

Each prime's next offset is carried from block to block, so start positions are computed once per
segment. All arithmetic is int64; with ``end <= MAX_END = 1e15`` no intermediate exceeds ~1e15.

>>> [int(p) for p in segment_primes(0, 50, base_primes(7))]
[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from pipeline.prime.summary import Accumulator, Summary, merge, merge_all
from pipeline.prime.tuning import (
    BAND_RATIO,
    BLOCK_BYTES,
    EDGE_PRIMES,
    PRESIEVE_GROUPS,
    SLICE_MIN_HITS,
)

I64 = npt.NDArray[np.int64]

#: The residues mod 30 coprime to 30, ascending: byte column j of a wheel turn holds RESIDUES[j].
RESIDUES: Final[tuple[int, ...]] = (1, 7, 11, 13, 17, 19, 23, 29)
_RES: Final[I64] = np.array(RESIDUES, dtype=np.int64)
#: residue mod 30 -> its byte column (only defined for residues coprime to 30).
_COLUMN: Final[I64] = np.zeros(30, dtype=np.int64)
_COLUMN[_RES] = np.arange(8)
#: For a prime residue a = p % 30 and column j: (a * RESIDUES[j]) // 30 and the byte column of
#: (a * RESIDUES[j]) % 30 (rows for residues not coprime to 30 are unused).
_CARRY: Final[I64] = (np.arange(30)[:, None] * _RES[None, :]) // 30
_PRODUCT_COLUMN: Final[I64] = _COLUMN[(np.arange(30)[:, None] * _RES[None, :]) % 30]
_ON_WHEEL: Final[npt.NDArray[np.bool_]] = np.zeros(30, dtype=np.bool_)
_ON_WHEEL[_RES] = True
_PRESIEVED: Final[tuple[int, ...]] = tuple(p for group in PRESIEVE_GROUPS for p in group)
_MAX_PRESIEVED: Final[int] = max(_PRESIEVED)
#: For a packed wheel turn (bit j = column j): the residue of its lowest / highest set bit.
_LOW_RES: Final[I64] = np.array(
    [RESIDUES[(m & -m).bit_length() - 1] if m else 0 for m in range(256)], dtype=np.int64
)
_HIGH_RES: Final[I64] = np.array(
    [RESIDUES[m.bit_length() - 1] if m else 0 for m in range(256)], dtype=np.int64
)


def base_primes(limit: int) -> I64:
    """All primes ``<= limit``, ascending (the sieving primes of every segment).

    A plain odd-only sieve over the whole interval: ``limit`` is at most ``isqrt(MAX_END)``
    (about 3.2e7, a 16 MB array), so segmentation would only add code.

    >>> base_primes(30).tolist()
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    """
    if limit < 2:
        return np.zeros(0, dtype=np.int64)
    odd = np.ones((limit - 1) // 2 + 1, dtype=np.bool_)  # odd[i] <-> 2*i + 1
    odd[0] = False
    for i in range(1, (math.isqrt(limit) - 1) // 2 + 1):
        if odd[i]:
            p = 2 * i + 1
            odd[p * p // 2 :: p] = False
    return np.concatenate(([2], 2 * np.flatnonzero(odd) + 1)).astype(np.int64)


def sieve_segment(lo: int, hi: int, cuts: Sequence[int], primes: I64) -> tuple[Summary, ...]:
    """Sieve task: summaries of the primes in each piece ``[cuts[i], cuts[i+1])`` of ``[lo, hi)``.

    ``cuts`` are the range boundaries strictly inside the segment; the segment is split there so
    each range (and the union) can be reduced from whole pieces. ``primes`` must contain every
    prime up to ``isqrt(hi - 1)``. Returns one summary per piece, ascending; never the primes:
    each block is summarised straight from its wheel bytes (see :func:`_summarise`).
    """
    spans = list(itertools.pairwise([lo, *cuts, hi]))
    pieces = [Summary(a, b) for a, b in spans]
    for k0, block in iter_blocks(lo, hi, primes):
        block_lo, block_hi = 30 * k0, 30 * (k0 + block.size // 8)
        for i, (a, b) in enumerate(spans):
            if a < block_hi and block_lo < b:
                part = _summarise(block, k0, max(a, block_lo), min(b, block_hi))
                pieces[i] = merge(pieces[i], part)
    return tuple(replace(s, lo=a, hi=b) for s, (a, b) in zip(pieces, spans, strict=True))


def segment_primes(lo: int, hi: int, primes: I64) -> I64:
    """All primes in ``[lo, hi)`` as one array (for ``--primes-out`` and tests; memory grows)."""
    chunks = list(iter_primes(lo, hi, primes))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def iter_primes(lo: int, hi: int, primes: I64) -> Iterator[I64]:
    """Yield the primes in ``[lo, hi)`` ascending, one block's worth (an int64 array) at a time."""
    for k0, block in iter_blocks(lo, hi, primes):
        found = _numbers(np.flatnonzero(block), k0)
        yield _with_wheel_primes(found, lo, hi) if k0 == 0 else found


def iter_blocks(lo: int, hi: int, primes: I64) -> Iterator[tuple[int, npt.NDArray[np.bool_]]]:
    """Yield ``(k0, block)``: the sieved wheel bytes of ``[lo, hi)``, one block at a time.

    ``block[8*t + j]`` is True when ``30*(k0 + t) + RESIDUES[j]`` is a prime in ``[lo, hi)``
    (2, 3 and 5 are not on the wheel). The array is reused: use it before the next iteration.
    """
    if hi <= lo:
        return
    k_first, k_stop = lo // 30, -(-hi // 30)  # wheel turns covering [lo, hi)
    block_turns = BLOCK_BYTES // 8
    block_bytes = 8 * min(block_turns, k_stop - k_first)
    sieving = primes[(primes > _MAX_PRESIEVED) & (primes * primes < hi)]
    small_limit = block_turns // SLICE_MIN_HITS
    small = sieving[sieving <= small_limit]
    started = small * small <= 30 * k_first  # first multiple within 8*p bytes of the segment
    pad = 8 * int(small[-1]) if small.size else 0
    buffer = np.empty(BLOCK_BYTES + pad + 1, dtype=np.bool_)  # pad: 2-D rows, clipped hits
    grid = _Grid(small[started], k_first, block_bytes, buffer)
    late = _Sieving(small[~started], k_first, block_bytes, slices=True)
    large_limit = 30 * (block_bytes // 8)  # above it, a prime has <= 1 multiple per block
    medium = sieving[(sieving > small_limit) & (sieving <= large_limit)]
    bands = [_Sieving(b, k_first, block_bytes) for b in _bands(medium)]
    large = _Large(sieving[sieving > large_limit], k_first)
    for k0 in range(k_first, k_stop, block_turns):
        length = 8 * min(block_turns, k_stop - k0)
        block = buffer[:length]
        _presieve(block, k0)
        grid.sieve(length)
        for start, step in zip(late.offsets.ravel().tolist(), late.column_steps, strict=True):
            block[start::step] = False
        late.advance(length)
        for band in bands:
            band.scatter(buffer, length)
        large.sieve(buffer, k0, length)
        if 30 * k0 <= _MAX_PRESIEVED:
            _fix_first_turns(block, k0)
        if k0 <= lo // 30:
            block[: _flat_index(lo, k0)] = False
        if k0 + length // 8 >= k_stop:
            block[_flat_index(hi, k0) :] = False
        yield k0, block


class _Grid:
    """Small primes whose next multiples are known to lie within ``8*p`` bytes of a block start.

    The buffer is seen through one 2-D strided view per prime, of shape ``(rows, 8*p)``: row
    ``r`` starts at byte ``8*p*r``, so the prime's 8 progressions are 8 *columns* of the view and
    one fancy-index assignment ``view[:, offsets] = False`` crosses them all off (8 times fewer
    numpy calls than one slice per progression). The last row may run past the block into the
    buffer's pad; those writes are ignored.
    """

    def __init__(
        self, primes: I64, k0: int, block_bytes: int, buffer: npt.NDArray[np.bool_]
    ) -> None:
        self.steps: I64 = (8 * primes)[:, None]
        self.offsets: I64 = _first_offsets(primes, k0)
        self.views = [
            as_strided(buffer, shape=(-(-block_bytes // step), step), strides=(step, 1))
            for step in (8 * primes).tolist()
        ]

    def sieve(self, length: int) -> None:
        """Cross off the block, then move the offsets past its ``length`` bytes."""
        for view, columns in zip(self.views, self.offsets, strict=True):
            view[:, columns] = False
        self.offsets -= length
        self.offsets %= self.steps


class _Sieving:
    """Sieving primes of one size class with their next hit offset in the current block.

    ``offsets[c, i]`` is the byte offset (from the current block start) of the next multiple of
    ``primes[i]`` in its ``c``-th residue class of cofactors; ``steps[i] = 8 * primes[i]``. The
    prime index is the last (contiguous) axis, so every numpy expression over the ``(8, n)`` or
    ``(hits, 8, n)`` arrays broadcasts along long rows rather than along short ones.
    """

    def __init__(self, primes: I64, k0: int, block_bytes: int, *, slices: bool = False) -> None:
        self.steps: I64 = 8 * primes
        self.offsets: I64 = np.ascontiguousarray(_first_offsets(primes, k0).T)
        max_hits = -(-block_bytes // int(self.steps[0])) if primes.size else 0
        #: ``span[h, 0, i] = h * steps[i]``: hit ``h`` of a column, fixed for the whole segment.
        self.span: I64 = np.arange(max_hits, dtype=np.int64)[:, None, None] * self.steps
        self.hits: I64 = np.empty((max_hits, 8, primes.size), dtype=np.int64)
        self.column_steps: list[int] = np.tile(self.steps, 8).tolist() if slices else []

    def scatter(self, buffer: npt.NDArray[np.bool_], length: int) -> None:
        """Clear every hit in the block with one fancy assignment (past-the-end hits go to the
        pad byte ``buffer[length]``), then advance."""
        np.add(self.offsets, self.span, out=self.hits)
        np.minimum(self.hits, length, out=self.hits)
        buffer[self.hits.ravel()] = False
        self.advance(length)

    def advance(self, length: int) -> None:
        """Move every offset past a block of ``length`` bytes (now relative to the next block).

        The block's hits covered ``[offset, length)`` of each column, so an offset that falls
        inside the block moves to the next hit past it, ``(offset - length) mod step``.
        """
        self.offsets -= length
        np.remainder(self.offsets, self.steps, out=self.offsets, where=self.offsets < 0)


class _Large:
    """Sieving primes larger than a block's span of numbers: at most one multiple per block.

    Kept as 1-D arrays of each prime's next multiple (any cofactor); per block only the primes
    that hit are touched, and multiples that are not on the wheel (divisible by 2, 3 or 5) are
    dropped. This is the "rarely hits" path that keeps narrow ranges near 1e15 cheap, where
    millions of sieving primes each hit a block with small probability.
    """

    def __init__(self, primes: I64, k0: int) -> None:
        self.primes = primes
        start = np.maximum(primes * primes, 30 * k0)
        self.next: I64 = -(-start // primes) * primes

    def sieve(self, buffer: npt.NDArray[np.bool_], k0: int, length: int) -> None:
        """Clear this block's multiples (the block starts at turn ``k0``, ``length`` bytes)."""
        if not self.primes.size:
            return
        hit = self.next < 30 * (k0 + length // 8)
        multiples = self.next[hit]
        self.next[hit] += self.primes[hit]
        turns, residues = np.divmod(multiples, 30)
        on_wheel = _ON_WHEEL[residues]
        buffer[8 * (turns[on_wheel] - k0) + _COLUMN[residues[on_wheel]]] = False


def _first_offsets(primes: I64, k0: int) -> I64:
    """Byte offsets from wheel turn ``k0`` of the first multiple ``p*m >= max(p*p, 30*k0)`` of
    each prime with cofactor ``m`` in each residue class mod 30; shape ``(len(primes), 8)``.

    Divisions are done once per prime (1-D); the ``(n, 8)`` part is multiply-add and table
    look-ups, which matters at 1e15 where a narrow range has ~2 million sieving primes.
    """
    p = primes[:, None]
    m0 = np.maximum(primes, -(-(30 * k0) // primes))[:, None]
    q0, s0 = np.divmod(m0, 30)
    p_turns, p_res = np.divmod(p, 30)
    # m = 30 * (q0 + [r < s0]) + r is the first cofactor >= m0 with m % 30 == r, and
    # p * m = 30 * (p * (q0 + [r < s0]) + p_turns * r + (p_res * r) // 30) + (p_res * r) % 30.
    turn = p * (q0 + (s0 > _RES)) + p_turns * _RES + _CARRY[p_res[:, 0]] - k0
    offsets: I64 = 8 * turn + _PRODUCT_COLUMN[p_res[:, 0]]
    return offsets


def _bands(primes: I64) -> list[I64]:
    """Split bucket primes into bands where the largest is below ``BAND_RATIO`` times the smallest.

    Hits are generated as a dense ``(max_hits, 8, primes)`` array per band, sized for the band's
    smallest prime, so a band wastes at most ``1 - 1/BAND_RATIO`` of it on clipped positions.
    """
    bands: list[I64] = []
    i = 0
    while i < primes.size:
        j = int(np.searchsorted(primes, BAND_RATIO * primes[i], side="left"))
        if primes[i] > BLOCK_BYTES // 8:  # at most one hit per column: one band for the rest
            j = primes.size
        bands.append(primes[i:j])
        i = j
    return bands


@functools.cache
def _pattern(group: tuple[int, ...], block_bytes: int) -> npt.NDArray[np.bool_]:
    """Wheel bytes of one period (8 * prod(group) bytes) with the multiples of ``group`` cleared,
    tiled to one period plus a block so every block is one contiguous slice."""
    period = math.prod(group)
    keep = np.ones(8 * period, dtype=np.bool_)
    for q in group:
        inverse = pow(30, -1, q)
        for column, residue in enumerate(RESIDUES):
            turn = (-residue * inverse) % q  # 30 * turn + residue == 0 (mod q)
            keep[8 * turn + column :: 8 * q] = False
    return np.resize(keep, 8 * period + block_bytes)


def _presieve(block: npt.NDArray[np.bool_], k0: int) -> None:
    """Initialise ``block`` (starting at wheel turn ``k0``) from the pre-sieve patterns."""
    for n, group in enumerate(PRESIEVE_GROUPS):
        pattern = _pattern(group, BLOCK_BYTES)
        start = 8 * (k0 % math.prod(group))
        window = pattern[start : start + block.size]
        if n == 0:
            block[:] = window
        else:
            np.logical_and(block, window, out=block)


def _fix_first_turns(block: npt.NDArray[np.bool_], k0: int) -> None:
    """A block near 0: 1 is not prime; the pre-sieved primes themselves are."""
    if k0 == 0:
        block[0] = False
    for q in _PRESIEVED:
        index = 8 * (q // 30 - k0) + int(_COLUMN[q % 30])
        if 0 <= index < block.size:
            block[index] = True


def _flat_index(n: int, k0: int) -> int:
    """Index of the first wheel byte holding a number ``>= n`` in a block starting at turn k0."""
    return 8 * (n // 30 - k0) + int(np.searchsorted(_RES, n % 30, side="left"))


def _numbers(flat: I64, k0: int) -> I64:
    """The numbers held by wheel bytes ``flat`` of a block starting at turn ``k0``."""
    found: I64 = 30 * (k0 + (flat >> 3)) + _RES[flat & 7]
    return found


def _with_wheel_primes(found: I64, lo: int, hi: int) -> I64:
    """``found`` (primes of turn 0 onwards) preceded by those of 2, 3, 5 in ``[lo, hi)``."""
    wheel = np.array([p for p in (2, 3, 5) if lo <= p < hi], dtype=np.int64)
    return np.concatenate((wheel, found))


def _summarise(block: npt.NDArray[np.bool_], k0: int, lo: int, hi: int) -> Summary:
    """Summary of the primes of ``block`` (starting at turn ``k0``) in ``[lo, hi)``.

    Whole wheel turns go through :func:`_summarise_turns`, which never lists the primes; the at
    most two partial turns at the ends (and turn 0, home of 2, 3, 5 and the twins (3, 5), (5, 7))
    are listed and summarised exactly. Adjacent parts are merged, which accounts for the twin
    pairs and gaps across their seams.
    """
    a, b = _flat_index(lo, k0), _flat_index(hi, k0)
    a8 = min(max(-(-a // 8) * 8, 0 if k0 else 8), b)
    b8 = max(b // 8 * 8, a8)
    parts = [_summarise_exact(block, k0, a, a8, lo, hi)] if a < a8 or k0 == 0 else []
    if a8 < b8:
        parts.append(_summarise_turns(block, k0, a8, b8))
    if b8 < b:
        parts.append(_summarise_exact(block, k0, b8, b, lo, hi))
    return merge_all(parts) or Summary(lo, hi)


def _summarise_exact(
    block: npt.NDArray[np.bool_], k0: int, a: int, b: int, lo: int = 0, hi: int = 0
) -> Summary:
    """Summary of the wheel bytes ``block[a:b]`` from the listed primes (short or sparse parts).

    In the block of turn 0 it also counts those of 2, 3, 5 that lie in ``[lo, hi)``.
    """
    found = _numbers(np.flatnonzero(block[a:b]) + a, k0)
    if k0 == 0 and a < 8:
        found = _with_wheel_primes(found, lo, hi)
    acc = Accumulator(30 * k0 + 30 * (a // 8), 30 * k0 + 30 * -(-b // 8))
    acc.add(found)
    return acc.summary()


def _summarise_turns(block: npt.NDArray[np.bool_], k0: int, a: int, b: int) -> Summary:
    """Summary of the whole wheel turns ``block[a:b]`` (``a``, ``b`` multiples of 8, ``k0 > 0``
    or ``a >= 8``) without listing its primes.

    The turns are packed to one byte each (bit ``j`` = column ``j``). Count: ``count_nonzero``.
    Twins: within a turn only (11, 13) and (17, 19) are twins, i.e. bits 2&3 and 4&5; across
    turns (29, 31) is bit 7 of a turn and bit 0 of the next. Largest gap: between consecutive
    non-empty turns ``t < u`` the gap is ``30*(u - t)`` plus at most 28 either way, and a gap
    inside a turn is at most 28; so when the largest turn distance ``D`` is at least 2, only
    pairs with distance ``>= D - 1`` can hold the largest gap, and just those are evaluated.
    The first and last ``EDGE_PRIMES`` primes come from the first and last non-empty turns.
    """
    view = block[a:b]
    turns = np.packbits(view, bitorder="little")
    filled = np.flatnonzero(turns != 0)  # numpy's nonzero is ~5x faster on bool than on uint8
    if filled.size < 2 * EDGE_PRIMES:
        return _summarise_exact(block, k0, a, b)
    distance = np.diff(filled)
    widest = int(distance.max())
    if widest < 2:
        return _summarise_exact(block, k0, a, b)
    pairs = turns & (turns >> 1)
    twins = int(np.count_nonzero(pairs & 0x04)) + int(np.count_nonzero(pairs & 0x10))
    twins += int(np.count_nonzero(turns[:-1] & (turns[1:] << 7)))
    wide = np.flatnonzero(distance >= widest - 1)
    left, right = turns[filled[wide]], turns[filled[wide + 1]]
    gaps = 30 * distance[wide] + _LOW_RES[right] - _HIGH_RES[left]
    best = int(np.argmax(gaps))  # the first of equal gaps
    k = k0 + a // 8
    head_end = a + 8 * (int(filled[EDGE_PRIMES - 1]) + 1)
    tail_start = a + 8 * int(filled[-EDGE_PRIMES])
    return Summary(
        lo=30 * k,
        hi=30 * (k0 + b // 8),
        count=int(np.count_nonzero(view)),
        head=tuple(_numbers(np.flatnonzero(block[a:head_end]) + a, k0)[:EDGE_PRIMES].tolist()),
        tail=tuple(
            _numbers(np.flatnonzero(block[tail_start:b]) + tail_start, k0)[-EDGE_PRIMES:].tolist()
        ),
        twin_pairs=twins,
        max_gap=int(gaps[best]),
        gap_after=30 * (k + int(filled[wide[best]])) + int(_HIGH_RES[left[best]]),
    )
