"""The pre-sieve (:func:`pipeline.prime.sieve.presieve.presieve`) against plain arithmetic.

The patterns are AND-ed 4 per pass, each from its own phase, and a pass ends where the first of
its 4 patterns wraps, so the tests place blocks at phases where the patterns wrap inside the
block, and use pattern counts that leave the last pass with fewer than 4 patterns.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.prime.sieve import wheel
from pipeline.prime.sieve.presieve import PRESIEVED, patterns, presieve
from pipeline.prime.tuning import PRESIEVE_GROUPS


def expected_block(primes: list[int], kabs: int, n: int) -> np.ndarray:
    """Wheel bytes ``kabs .. kabs + n - 1`` with every multiple of ``primes`` cleared except the
    primes themselves, and 1 cleared."""
    out = np.full(n, 0xFF, dtype=np.uint8)
    for k in range(n):
        for j, s in enumerate(wheel.RESIDUES.tolist()):
            x = 30 * (kabs + k) + s
            if x == 1 or any(x % p == 0 and x != p for p in primes):
                out[k] &= 0xFF ^ (1 << j)
    return out


def test_the_groups_are_primes_between_7_and_163_each_once() -> None:
    flat = [p for group in PRESIEVE_GROUPS for p in group]
    assert sorted(flat) == [p for p in range(7, 164) if all(p % d for d in range(2, p))]
    assert PRESIEVED.tolist() == sorted(flat)


@pytest.mark.parametrize("groups", [16, 5, 3, 1])
@pytest.mark.parametrize("kabs", [0, 1, 5956, 6478, 10**9 + 12345])
def test_presieve_matches_the_multiples(groups: int, kabs: int) -> None:
    """The first ``groups`` patterns (the last pass holds fewer than 4 for 5, 3 and 1), at block
    positions where patterns wrap (5957 and 6479 are the first two periods)."""
    pattern, offsets, periods = patterns()
    primes = [p for group in PRESIEVE_GROUPS[:groups] for p in group]
    n = 20_000
    block = np.zeros(n + 8, dtype=np.uint8)
    presieve(block, n, kabs, pattern, offsets[:groups], periods[:groups], np.array(sorted(primes)))
    want = expected_block(primes, kabs, n)
    np.testing.assert_array_equal(block[:n], want)
    assert block[n:].tolist() == [0] * 8  # nothing written past n
    assert math.prod(PRESIEVE_GROUPS[0]) == periods[0]
