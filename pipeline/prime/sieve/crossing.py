"""Crossing off the small and medium sieving primes: primesieve's ``EratSmall`` and ``EratMedium``.

Both walk the multiples ``p*m`` (``m`` coprime to 30) of a prime on the wheel-30 bit sieve
(:mod:`pipeline.prime.sieve.wheel`); they differ in how often the prime hits a block, which
decides which loop is cheapest:

* **Small primes** (many hits per cache-sized part of a block, ``2**SMALL_BLOCK_LOG`` bytes).
  The multiples ``p*m`` with ``m`` in one residue class mod 30 are every ``p``-th byte, always the
  same bit, so a prime keeps 8 offsets, one per class, all within ``p`` bytes of each other, and
  its loop crosses off all 8 per step of ``p`` bytes: no table look-up in the loop, and LLVM
  turns the 8 offsets into one induction variable. The block is walked one part at a time so
  these scattered read-modify-writes hit the cache.
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

_RESIDUES = wheel.RESIDUES
_RESIDUE_INDEX = wheel.RESIDUE_INDEX
_TO_COPRIME = wheel.TO_COPRIME
_WHEEL_MASK = wheel.WHEEL_MASK
_U_DELTA = wheel.WHEEL_DELTA.astype(np.uint64)
_U_CORRECTION = wheel.WHEEL_CORRECTION.astype(np.uint64)
_U_NEXT = wheel.WHEEL_NEXT.astype(np.uint64)


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
def small_start(lo: int, primes: I64, first: int, count: int, small_off: I64) -> None:
    """The 8 first offsets (bytes from the window's first byte) of the small primes
    ``primes[first:first + count]``, one per residue class of the multiplier."""
    k0 = lo // 30
    for a in range(count):
        p = primes[first + a]
        m0 = first_multiplier(lo, p)
        for j in range(8):
            m = m0 + (_RESIDUES[j] - m0) % 30
            small_off[a * 8 + j] = p * m // 30 - k0


@njit
def medium_start(
    lo: int, primes: I64, mid: int, count: int, medium_off: I64, medium_w: I64
) -> None:
    """The first offset (bytes from the window's first byte) and wheel index of the medium
    primes ``primes[mid:mid + count]``."""
    k0 = lo // 30
    for a in range(count):
        p = primes[mid + a]
        m0 = first_multiplier(lo, p)
        m = m0 + _TO_COPRIME[m0 % 30]
        medium_off[a] = p * m // 30 - k0
        medium_w[a] = 8 * _RESIDUE_INDEX[p % 30] + _RESIDUE_INDEX[m % 30]


@njit
def cross_small(
    block: U8,
    n: int,
    start: int,
    block_end: int,
    primes: I64,
    first: int,
    count: int,
    active: int,
    small_off: I64,
    part_log: int,
) -> int:
    """Cross off the small primes' multiples in ``block[:n]`` (the block at byte ``start`` of
    the window, numbers below ``block_end``); the number of active primes after it.

    Primes whose square is below ``block_end`` join first (their offsets become block-relative).
    """
    while active < count and primes[first + active] * primes[first + active] < block_end:
        for j in range(8):
            small_off[active * 8 + j] -= start
        active += 1
    end = 0
    while end < n:
        end = min(end + (1 << part_log), n)
        _cross_small_part(block, primes, first, active, small_off, np.uint64(end))
    for a in range(active * 8):
        small_off[a] -= n
    return active


@njit
def _cross_small_part(
    block: U8, primes: I64, first: int, active: int, small_off: I64, u1: np.uint64
) -> None:
    """Cross off the active small primes' multiples below byte ``u1`` (one part of a block)."""
    for a in range(active):
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
