"""Crossing off the small and medium sieving primes: primesieve's ``EratSmall`` and ``EratMedium``.

Both walk the multiples ``p*m`` (``m`` coprime to 30) of a prime on the wheel-30 bit sieve
(:mod:`pipeline.prime.sieve.wheel`); they differ in how often the prime hits a block, which
decides which loop is cheapest:

* **Small primes** (many hits per cache-sized part of a block, ``2**SMALL_BLOCK_LOG`` bytes).
  For a prime of residue class ``r`` (``p % 30``) the 8 multiples ``p*m`` of one *step* (``m``
  from ``30*t + 1`` to ``30*t + 29``) lie at byte distances from the step's first that depend on
  ``p // 30`` and ``r`` only, each with a bit mask that depends on ``r`` only. The primes are
  grouped by class and each class has its own copy of the loop (primesieve's ``switch``), so
  the masks are immediates: one pointer walks ``p`` bytes per step and crosses off 8 multiples
  with 8 ``andb $mask, d(%base, %i)`` and no table look-up. A prime keeps one offset and its
  wheel index, like a medium prime. The block is walked one part at a time so these scattered
  read-modify-writes hit the cache.
* **Medium primes** (a few hits per block) walk the wheel multiple by multiple: byte step and bit
  mask come from the wheel tables by *wheel index* (residue class of ``p`` and of ``m``), and
  the next byte and wheel index are kept from block to block.

Offsets are kept relative to the window start until a prime becomes *active* (the sieve
reaches its square), then relative to the current block; the hot loops are uint64 throughout:
numba checks every signed index for a negative value (a compare and a select per access, 3x
slower crossing-off) and turns mixed uint64/int64 arithmetic into floats.

>>> first_multiplier(100, 7), first_multiplier(10, 7)
(15, 7)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve import wheel
from pipeline.prime.sieve.compiled import njit

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

_RESIDUE_INDEX = wheel.RESIDUE_INDEX
_TO_COPRIME = wheel.TO_COPRIME
_WHEEL_MASK = wheel.WHEEL_MASK
_U_DELTA = wheel.WHEEL_DELTA.astype(np.uint64)
_U_CORRECTION = wheel.WHEEL_CORRECTION.astype(np.uint64)
_U_NEXT = wheel.WHEEL_NEXT.astype(np.uint64)
_U_RESIDUES = wheel.RESIDUES.astype(np.uint64)
#: ``_U_SPREAD[8*i + j]``: ``r*s // 30`` for ``r = RESIDUES[i]``, ``s = RESIDUES[j]``, the part of
#: the byte distance from a small prime's step start to its crossing of class ``j`` that does not
#: grow with ``q`` (see :func:`_cross_class`).
_U_SPREAD = (np.outer(wheel.RESIDUES, wheel.RESIDUES).ravel() // 30).astype(np.uint64)


@njit
def first_multiplier(lo: int, p: int) -> int:
    """``max(p, ceil(lo / p))``: the first multiplier to cross off (``p*p`` at the earliest).

    A float division (exact enough below 2**53, then corrected by one) instead of an integer
    division, which costs tens of cycles for each of the 2 million sieving primes per window.
    """
    m: int = np.int64(np.float64(lo) / np.float64(p))  # floor or ceil of lo / p
    if m * p < lo:
        m += 1
    return max(m, p)


@njit
def wheel_start(lo: int, primes: I64, first: int, count: int, offsets: I64, wheels: I64) -> None:
    """The first offset (bytes from the window's first byte) and wheel index of the primes
    ``primes[first:first + count]`` (small or medium), into ``offsets`` and ``wheels``."""
    k0 = lo // 30
    for a in range(count):
        p = primes[first + a]
        m0 = first_multiplier(lo, p)
        m = m0 + _TO_COPRIME[m0 % 30]
        offsets[a] = p * m // 30 - k0
        wheels[a] = 8 * _RESIDUE_INDEX[p % 30] + _RESIDUE_INDEX[m % 30]


def small_classes(small: I64) -> tuple[I64, I64]:
    """The small primes grouped by residue class mod 30 (ascending within each class), and the
    9 bounds of the classes: class ``i`` (``p % 30 == RESIDUES[i]``) is
    ``grouped[bounds[i]:bounds[i + 1]]``.

    >>> grouped, bounds = small_classes(np.array([73, 79, 83, 89, 97, 101, 103], dtype=np.int64))
    >>> grouped.tolist(), bounds.tolist()
    ([97, 101, 73, 103, 79, 83, 89], [0, 0, 1, 2, 4, 4, 5, 6, 7])
    """
    index = _RESIDUE_INDEX[small % 30]
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(9)).astype(np.int64)
    return small[order].astype(np.int64), bounds


@njit
def cross_small(
    block: U8,
    n: int,
    start: int,
    block_end: int,
    small: I64,
    bounds: I64,
    joined: I64,
    small_off: I64,
    small_w: I64,
    part_log: int,
) -> None:
    """Cross off the small primes' multiples in ``block[:n]`` (the block at byte ``start`` of
    the window, numbers below ``block_end``), one part of ``2**part_log`` bytes at a time.

    ``small`` holds the small primes by residue class (:func:`small_classes`, ``bounds``); the
    primes of class ``i`` crossed off so far are ``small[bounds[i]:joined[i]]``. Primes whose
    square is below ``block_end`` join first (their offsets become block-relative).
    """
    for i in range(8):
        while joined[i] < bounds[i + 1] and small[joined[i]] * small[joined[i]] < block_end:
            small_off[joined[i]] -= start
            joined[i] += 1
    end = 0
    while end < n:
        end = min(end + (1 << part_log), n)
        u1 = np.uint64(end)
        for i in range(8):
            _cross_class(block, small, bounds[i], joined[i], small_off, small_w, u1, i)
    for i in range(8):
        for a in range(bounds[i], joined[i]):
            small_off[a] -= n


@njit
def _cross_class(
    block: U8, small: I64, a0: int, a1: int, small_off: I64, small_w: I64, u1: np.uint64, i: int
) -> None:
    """Cross off the multiples below byte ``u1`` of the primes ``small[a0:a1]``, all of residue
    class ``i`` (primesieve's ``EratSmall::crossOff``, one ``case`` block of its switch).

    A prime ``p = 30*q + r`` crosses ``p*m`` for ``m = 30*t + s`` at byte
    ``t*p + q*s + r*s // 30``: within a *step* (one ``t``) the 8 crossings lie at fixed
    distances ``q*(s - 1) + r*s // 30`` from the first (``s = 1``), with masks fixed by the
    class. Whole steps are crossed 8 at a time from that first byte; the crossings before the
    first whole step and after the last walk the wheel one by one (as the medium primes do),
    and a prime keeps one offset and its wheel index from part to part.
    """
    w0 = 8 * i
    r = _U_RESIDUES[i]
    c1, c2, c3 = _U_SPREAD[w0 + 1], _U_SPREAD[w0 + 2], _U_SPREAD[w0 + 3]
    c4, c5, c6 = _U_SPREAD[w0 + 4], _U_SPREAD[w0 + 5], _U_SPREAD[w0 + 6]
    c7 = _U_SPREAD[w0 + 7]
    for a in range(a0, a1):
        q = np.uint64(small[a] // 30)
        uo = np.uint64(small_off[a])
        uw = np.uint64(small_w[a])
        while uo < u1:
            if uw & np.uint64(7) == 0:  # at a step's first crossing
                d7 = q * np.uint64(28) + c7
                if uo + d7 < u1:
                    d1 = q * np.uint64(6) + c1
                    d2 = q * np.uint64(10) + c2
                    d3 = q * np.uint64(12) + c3
                    d4 = q * np.uint64(16) + c4
                    d5 = q * np.uint64(18) + c5
                    d6 = q * np.uint64(22) + c6
                    up = np.uint64(30) * q + r
                    last = u1 - d7  # a step starting below it ends below u1
                    # one call per class, the class a constant but not a numba literal (which
                    # would compile _steps 8 times): LLVM inlines the 8 calls and folds each
                    # class's masks into immediates; the branch is the same for all of a0:a1
                    if i == 0:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(0))
                    elif i == 1:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(1))
                    elif i == 2:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(2))
                    elif i == 3:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(3))
                    elif i == 4:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(4))
                    elif i == 5:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(5))
                    elif i == 6:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(6))
                    else:
                        uo = _steps(block, uo, last, up, d1, d2, d3, d4, d5, d6, d7, np.int64(7))
                    if uo >= u1:
                        break
            block[uo] &= _WHEEL_MASK[uw]
            uo += q * _U_DELTA[uw] + _U_CORRECTION[uw]
            uw = _U_NEXT[uw]
        small_off[a] = np.int64(uo)
        small_w[a] = np.int64(uw)


@njit
def cross_medium(
    block: U8,
    n: int,
    start: int,
    block_end: int,
    primes: I64,
    mid: int,
    count: int,
    active: int,
    medium_off: I64,
    medium_w: I64,
) -> int:
    """Cross off the medium primes' multiples in ``block[:n]``, hit by hit along the wheel; the
    number of active primes after it (those whose square is below ``block_end`` join first)."""
    while active < count and primes[mid + active] * primes[mid + active] < block_end:
        medium_off[active] -= start
        active += 1
    un = np.uint64(n)
    for a in range(active):
        uq = np.uint64(primes[mid + a] // 30)
        uo = np.uint64(medium_off[a])
        uw = np.uint64(medium_w[a])
        while uo < un:
            block[uo] &= _WHEEL_MASK[uw]
            uo += uq * _U_DELTA[uw] + _U_CORRECTION[uw]
            uw = _U_NEXT[uw]
        medium_off[a] = np.int64(uo - un)
        medium_w[a] = np.int64(uw)
    return active


@njit
def _steps(
    block: U8,
    uo: np.uint64,
    last: np.uint64,
    up: np.uint64,
    d1: np.uint64,
    d2: np.uint64,
    d3: np.uint64,
    d4: np.uint64,
    d5: np.uint64,
    d6: np.uint64,
    d7: np.uint64,
    i: int,
) -> np.uint64:
    """Cross off whole steps of a class-``i`` prime from byte ``uo`` while ``uo < last``; the
    byte of the next step's first crossing."""
    w0 = 8 * i
    m0, m1, m2, m3 = _WHEEL_MASK[w0], _WHEEL_MASK[w0 + 1], _WHEEL_MASK[w0 + 2], _WHEEL_MASK[w0 + 3]
    m4, m5, m6 = _WHEEL_MASK[w0 + 4], _WHEEL_MASK[w0 + 5], _WHEEL_MASK[w0 + 6]
    m7 = _WHEEL_MASK[w0 + 7]
    while uo < last:
        block[uo] &= m0
        block[uo + d1] &= m1
        block[uo + d2] &= m2
        block[uo + d3] &= m3
        block[uo + d4] &= m4
        block[uo + d5] &= m5
        block[uo + d6] &= m6
        block[uo + d7] &= m7
        uo += up
    return uo
