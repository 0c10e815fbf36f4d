"""The small primes' crossing (:func:`pipeline.prime.sieve.crossing.cross_small`) at its edges.

Each residue class of ``p`` has its own copy of the loop with its own masks and byte distances,
and a prime's 8 crossings per step may be split by a part or block edge, so these tests drive
``cross_small`` block by block as the kernel does, with tiny blocks and parts, and compare every
byte with the multiples of each prime computed by plain arithmetic; the kernel-level tests
compare whole windows with the plain sieve.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.prime.sieve import kernel, wheel
from pipeline.prime.sieve.crossing import cross_small, small_classes, wheel_start
from pipeline.prime.sieve.kernel import window_primes
from pipeline.prime.sieve.plain import plain_primes

#: Two primes of each residue class mod 30 (1, 7, 11, 13, 17, 19, 23, 29), with several steps
#: per part for the smaller and fewer than one for the larger.
CLASS_PRIMES = [151, 181, 97, 127, 101, 131, 73, 103, 137, 167, 79, 109, 83, 113, 89, 149]


def expected_bytes(primes: list[int], k0: int, nbytes: int) -> np.ndarray:
    """The wheel bytes ``k0 .. k0 + nbytes - 1`` with the bit of every multiple ``p*m``
    (``m >= p`` coprime to 30) of each prime cleared: plain arithmetic, one multiple at a time."""
    out = np.full(nbytes, 0xFF, dtype=np.uint8)
    lo, hi = 30 * k0, 30 * (k0 + nbytes)
    for p in primes:
        for m in range(max(p, -(-lo // p)), (hi - 1) // p + 1):
            if math.gcd(m, 30) == 1:
                out[p * m // 30 - k0] &= 0xFF ^ (1 << int(wheel.RESIDUE_INDEX[p * m % 30]))
    return out


def crossed_bytes(
    primes: list[int], k0: int, nbytes: int, block_log: int, part_log: int
) -> tuple[np.ndarray, set[int]]:
    """The same bytes crossed off by ``cross_small`` block by block (blocks of ``2**block_log``
    bytes, parts of ``2**part_log``), and the multiplier classes a prime was left at when a block
    ended (the crossing a block edge split a step before)."""
    small, bounds = small_classes(np.array(sorted(primes), dtype=np.int64))
    joined = bounds[:8].copy()
    off = np.empty(small.size, dtype=np.int64)
    wheels = np.empty(small.size, dtype=np.int64)
    wheel_start(30 * k0, small, 0, small.size, off, wheels)
    size = 1 << block_log
    out = np.empty(nbytes, dtype=np.uint8)
    split_at: set[int] = set()
    for start in range(0, nbytes, size):
        n = min(size, nbytes - start)
        block = np.full(size, 0xFF, dtype=np.uint8)
        block_end = 30 * (k0 + start + n)
        cross_small(block, n, start, block_end, small, bounds, joined, off, wheels, part_log)
        out[start : start + n] = block[:n]
        for i in range(8):
            split_at.update(int(w) & 7 for w in wheels[bounds[i] : joined[i]])
    return out, split_at


@pytest.mark.parametrize("p", CLASS_PRIMES)
@pytest.mark.parametrize(("block_log", "part_log"), [(8, 6), (10, 8), (9, 9)])
def test_every_class_across_part_and_block_edges(p: int, block_log: int, part_log: int) -> None:
    """Each residue class, with the window start moved through a whole step of ``p`` bytes, so
    part and block edges fall before every one of a step's 8 crossings (the test checks that a
    block ended before each of them at least once)."""
    split_at: set[int] = set()
    for shift in range(p):
        k0 = 10**6 + shift
        got, left_at = crossed_bytes([p], k0, 3 * (1 << block_log) + 37, block_log, part_log)
        np.testing.assert_array_equal(got, expected_bytes([p], k0, got.size))
        split_at |= left_at
    assert split_at == set(range(8))


@pytest.mark.parametrize("shift", [1, 0, -1], ids=["last-byte", "first-byte", "second-byte"])
def test_primes_join_at_a_block_edge(shift: int) -> None:
    """Primes of several classes join the block that holds their square, also when that byte is
    the last of one block or the first of the next; the classes join independently of each
    other (each keeps its own count of joined primes)."""
    block_log = 8
    size = 1 << block_log
    for p in CLASS_PRIMES:
        k0 = p * p // 30 - 2 * size + shift  # the square is at byte 2 * size - shift
        primes = [q for q in CLASS_PRIMES if q * q < 30 * (k0 + 6 * size)]
        got, _ = crossed_bytes(primes, k0, 6 * size, block_log, 6)
        np.testing.assert_array_equal(got, expected_bytes(primes, k0, got.size))


#: Tunings where the small primes are the whole range 167 .. 2**13 / 2 (blocks of 2**13 bytes,
#: parts of 2**6 .. 2**9) and cross many part and block edges.
SMALL_TUNINGS = [(13, 2, 4, 64, 20, 6), (13, 2, 4, 64, 20, 9)]


@pytest.mark.parametrize("tuning", SMALL_TUNINGS, ids=lambda t: f"part2^{t[5]}")
@pytest.mark.parametrize("lo", [0, 5_000, 10**7 - 1000, 10**9 + 7])
def test_windows_with_tiny_parts_match_the_plain_sieve(
    tuning: tuple[int, ...], lo: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole windows through the kernel with tiny parts against the plain sieve, from the
    start (small primes joining one by one) and higher up (all joined)."""
    monkeypatch.setattr(kernel, "_TUNING", np.array(tuning, dtype=np.int64))
    hi = lo + 30 * (3 << tuning[0]) + 11
    assert window_primes(lo, hi).tolist() == plain_primes(lo, hi).tolist()
