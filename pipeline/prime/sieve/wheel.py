"""Constant tables of the wheel-30 bit sieve (built once with numpy, frozen into the kernel).

The sieve array has one byte per 30 numbers: bit ``j`` of byte ``k`` stands for the number
``30*k + RESIDUES[j]``, the 8 residues coprime to 30 (2, 3 and 5 are never stored). Everything the
compiled kernel needs to walk multiples on that wheel, stamp the pre-sieve pattern and summarise a
byte is a small table computed here, in plain Python, so it can be read and checked by eye.

Walking multiples (primesieve's ``Wheel.hpp``): a prime ``p = 30*q + r`` (``r = RESIDUES[i]``)
crosses off ``p*m`` for ``m`` coprime to 30. With ``m = 30*t + s`` (``s = RESIDUES[j]``) the
number ``p*m`` lies in byte ``q*m + r*t + (r*s) // 30``, bit ``BIT[i, j]``. Stepping ``m`` to the
next residue (``+ DELTA[j]``) moves the byte by ``q*DELTA[j] + CORRECTION[i, j]``. The *wheel
index* ``w = 8*i + j`` (0..63) packs both classes, and the kernel looks the step up by ``w``.

>>> [int(r) for r in RESIDUES]
[1, 7, 11, 13, 17, 19, 23, 29]
>>> int(POPCOUNT8[0b10110000]), int(LOW_BIT[0b10110000]), int(HIGH_BIT[0b10110000])
(3, 4, 7)
"""

from __future__ import annotations

import itertools
from typing import Final

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

#: The numbers coprime to 30 in 0..29, one per bit of a sieve byte.
RESIDUES: Final[I64] = np.array([1, 7, 11, 13, 17, 19, 23, 29], dtype=np.int64)
#: Distance from ``RESIDUES[j]`` to the next residue coprime to 30 (29 -> 31).
DELTA: Final[I64] = np.array([6, 4, 2, 4, 2, 4, 6, 2], dtype=np.int64)
_POSITION: Final[dict[int, int]] = {int(r): j for j, r in enumerate(RESIDUES)}


def _wheel_tables() -> tuple[U8, I64, I64, I64]:
    """Per wheel index ``w = 8*i + j``: bit mask to AND, byte step factor, correction, next w."""
    mask = np.zeros(64, dtype=np.uint8)
    delta = np.zeros(64, dtype=np.int64)
    correction = np.zeros(64, dtype=np.int64)
    following = np.zeros(64, dtype=np.int64)
    for i, r in enumerate(RESIDUES.tolist()):
        for j, s in enumerate(RESIDUES.tolist()):
            w = 8 * i + j
            mask[w] = 0xFF ^ (1 << _POSITION[(r * s) % 30])
            delta[w] = DELTA[j]
            correction[w] = (r * (s + int(DELTA[j]))) // 30 - (r * s) // 30
            following[w] = 8 * i + (j + 1) % 8
    return mask, delta, correction, following


#: ``WHEEL_MASK[w]``: the byte mask that clears the bit of ``p*m`` (classes of ``w``).
#: ``WHEEL_DELTA[w]``, ``WHEEL_CORRECTION[w]``: the byte step to the next multiple is
#: ``q*WHEEL_DELTA[w] + WHEEL_CORRECTION[w]`` for ``p = 30*q + r``. ``WHEEL_NEXT[w]``: next index.
WHEEL_MASK, WHEEL_DELTA, WHEEL_CORRECTION, WHEEL_NEXT = _wheel_tables()

#: ``TO_COPRIME[x % 30]``: the smallest ``d >= 0`` with ``x + d`` coprime to 30.
TO_COPRIME: Final[I64] = np.array(
    [min(d for d in range(7) if (x + d) % 30 in _POSITION) for x in range(30)], dtype=np.int64
)
#: ``RESIDUE_INDEX[x]``: bit index of residue ``x`` (coprime to 30), else -1.
RESIDUE_INDEX: Final[I64] = np.array([_POSITION.get(x, -1) for x in range(30)], dtype=np.int64)
#: ``FROM_MASK[x]``: the bits of a byte whose residue is ``>= x`` (x in 0..30).
FROM_MASK: Final[U8] = np.array(
    [sum(1 << j for j, r in enumerate(RESIDUES.tolist()) if r >= x) for x in range(31)],
    dtype=np.uint8,
)


def _byte_tables() -> tuple[U8, U8, U8, U8, U8, I64]:
    """Per byte value: popcount, lowest and highest bit, twin pairs inside, largest inner gap."""
    pop = np.zeros(256, dtype=np.uint8)
    low = np.zeros(256, dtype=np.uint8)
    high = np.zeros(256, dtype=np.uint8)
    twins = np.zeros(256, dtype=np.uint8)
    gap = np.zeros(256, dtype=np.uint8)
    gap_after = np.zeros(256, dtype=np.int64)
    for v in range(1, 256):
        bits = [j for j in range(8) if v >> j & 1]
        numbers = [int(RESIDUES[j]) for j in bits]
        pop[v], low[v], high[v] = len(bits), bits[0], bits[-1]
        twins[v] = sum(1 for a, b in itertools.pairwise(numbers) if b - a == 2)
        for a, b in itertools.pairwise(numbers):
            if b - a > gap[v]:
                gap[v], gap_after[v] = b - a, a
    return pop, low, high, twins, gap, gap_after


POPCOUNT8, LOW_BIT, HIGH_BIT, TWINS8, GAP8, GAP8_AFTER = _byte_tables()

#: Largest distance between two primes stored in one 64-bit word (``30*k + 1`` to
#: ``30*(k+7) + 29``): once a summary's largest gap reaches it, gaps inside a word cannot beat it
#: and the kernel summarises whole words with popcounts instead of byte by byte.
WORD_SPAN_GAP: Final[int] = 30 * 7 + 29 - 1
#: Per byte, bits 2, 4 and 7: ``v & (v >> 1)`` has them set for the twin pairs (11, 13),
#: (17, 19) and (29, 31 of the next byte).
TWIN_WORD_MASK: Final[int] = 0x9494949494949494

#: primesieve's k-tuplets (``-c3`` .. ``-c6``) as offsets from their smallest prime, one row per
#: class: triplets, quadruplets, quintuplets, sextuplets (twins are ``TWIN_WORD_MASK``'s pairs).
TUPLET_PATTERNS: Final[tuple[tuple[tuple[int, ...], ...], ...]] = (
    ((0, 2, 6), (0, 4, 6)),
    ((0, 2, 6, 8),),
    ((0, 2, 6, 8, 12), (0, 4, 6, 10, 12)),
    ((0, 4, 6, 10, 12, 16),),
)


def _tuplet_table() -> U8:
    """``TUPLETS8[c, v]``: tuplets of class ``c`` (0: triplets .. 3: sextuplets) whose members
    are all among the numbers of byte value ``v``.

    For members >= 7 every tuplet lies inside one byte (``30*k + 7`` .. ``30*k + 23``), which is
    why the kernel can count them byte by byte (or word by word, ``TUPLET_WORD_MASKS``).
    """
    table = np.zeros((len(TUPLET_PATTERNS), 256), dtype=np.uint8)
    for v in range(256):
        numbers = {int(RESIDUES[j]) for j in range(8) if v >> j & 1}
        for c, patterns in enumerate(TUPLET_PATTERNS):
            table[c, v] = sum(
                1 for n in numbers for offsets in patterns if all(n + d in numbers for d in offsets)
            )
    return table


TUPLETS8: Final[U8] = _tuplet_table()
#: Per tuplet class, the bits where ``w & w >> 1 & ... & w >> (k - 1)`` (k members) marks a
#: tuplet of a 64-bit word: bits 1..4 of each byte for triplets (7, 11, 13) .. (17, 19, 23),
#: bit 2 for the quadruplet (11, 13, 17, 19), bits 1-2 for the quintuplets, bit 1 for the
#: sextuplet (7 .. 23). A tuplet's bits are consecutive, so k-fold ANDs of shifts find them.
TUPLET_WORD_MASKS: Final[tuple[int, ...]] = (
    0x1E1E1E1E1E1E1E1E,
    0x0404040404040404,
    0x0606060606060606,
    0x0202020202020202,
)


def presieve_pattern(primes: tuple[int, ...]) -> U8:
    """The periodic sieve bytes with every multiple of ``primes`` (all > 5) cleared.

    The period is ``prod(primes)`` bytes: byte ``k`` of any segment equals
    ``pattern[k % period]``. The primes themselves are cleared too (the kernel restores them).
    """
    period = int(np.prod(primes))
    pattern = np.full(period, 0xFF, dtype=np.uint8)
    for p in primes:
        for j, s in enumerate(RESIDUES.tolist()):
            # numbers 30*k + s divisible by p: k = (-s) * 30^-1 (mod p)
            k = (-s * pow(30, -1, p)) % p
            pattern[k::p] &= np.uint8(0xFF ^ (1 << j))
    return pattern
