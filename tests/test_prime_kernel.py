"""The compiled wheel sieve and the summary merge against independent references.

The references are a plain segmented sieve of Eratosthenes on a Python bytearray and, near 10^15,
deterministic Miller-Rabin. Tiny kernel blocks (``_TUNING``, passed to the compiled kernel as an
argument) push every prime class (small, medium, bucketed large) across many block edges.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.prime.sieve import kernel
from pipeline.prime.sieve.kernel import base_primes, sieve_window, window_primes
from pipeline.prime.sieve.summary import Summary, merge, merge_all
from tests.conftest import examples


def reference_primes(lo: int, hi: int) -> list[int]:
    """Plain segmented sieve of Eratosthenes on a bytearray (independent of the code under test)."""
    if hi <= 2 or hi <= lo:
        return []
    root = math.isqrt(hi - 1)
    small = bytearray([1]) * (root + 1)
    small[0:2] = b"\0\0"
    for i in range(2, math.isqrt(root) + 1):
        if small[i]:
            small[i * i :: i] = bytes(len(range(i * i, root + 1, i)))
    flags = bytearray([1]) * (hi - lo)
    for p in (i for i in range(2, root + 1) if small[i]):
        first = max(p * p, -(-lo // p) * p)
        flags[first - lo :: p] = bytes(len(range(first, hi, p)))
    return [lo + i for i in range(hi - lo) if flags[i] and lo + i >= 2]


def reference_summary(lo: int, hi: int, primes: list[int]) -> Summary:
    """Twin pairs and the first largest gap computed by brute force."""
    gaps = [(b - a, a) for a, b in itertools.pairwise(primes)]
    best: tuple[int, int | None] = (0, None)
    for gap, after in gaps:
        if gap > best[0]:
            best = (gap, after)
    return Summary(
        lo,
        hi,
        count=len(primes),
        head=tuple(primes[:20]),
        tail=tuple(primes[-20:]),
        twin_pairs=sum(1 for gap, _ in gaps if gap == 2),
        max_gap=best[0],
        gap_after=best[1],
    )


#: (block log, small-prime hits, large-prime blocks, bucket chunk, edge primes, small-part log):
#: tiny blocks make medium and bucketed primes appear at small heights and cross many block and
#: part edges.
TINY = [(10, 1, 1, 16, 20, 8), (12, 4, 1, 16, 20, 10), (13, 2, 2, 64, 20, 13)]


@pytest.fixture(params=TINY, ids=lambda t: f"block2^{t[0]}")
def tiny_blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(kernel, "_TUNING", np.array(request.param, dtype=np.int64))
    yield


PI = [(10, 4), (100, 25), (1000, 168), (10**4, 1229), (10**5, 9592), (10**6, 78498)]
PI += [(10**7, 664579), (10**8, 5761455), (10**9, 50847534)]


@pytest.mark.parametrize(("n", "count"), PI)
def test_pi_of_powers_of_ten(n: int, count: int) -> None:
    (summary,) = sieve_window(0, n + 1, ())
    assert summary.count == count
    assert len(window_primes(0, n + 1)) == count if n <= 10**7 else True


def test_base_primes_small() -> None:
    assert base_primes(1).tolist() == []
    assert base_primes(2).tolist() == [2]
    assert base_primes(100).tolist() == reference_primes(0, 101)
    assert base_primes(100_000).tolist() == reference_primes(0, 100_001)


EDGES = [
    (0, 1), (0, 2), (0, 3), (1, 2), (2, 3), (0, 31), (31, 32), (29, 32), (7, 8), (8, 11),
    (0, 50), (0, 10**5), (10**6 - 500, 10**6 + 500), (104729, 104730), (999983, 999984),
]  # fmt: skip


@pytest.mark.parametrize(("lo", "hi"), EDGES)
def test_window_primes_edges(lo: int, hi: int) -> None:
    assert window_primes(lo, hi).tolist() == reference_primes(lo, hi)
    (summary,) = sieve_window(lo, hi, ())
    assert summary == reference_summary(lo, hi, reference_primes(lo, hi))


@settings(max_examples=examples(80), deadline=None)
@given(
    lo=st.integers(0, 3 * 10**6),
    width=st.integers(1, 40_000),
    cuts=st.lists(st.floats(0, 1), max_size=4),
)
def test_random_windows_and_cuts_match_reference(lo: int, width: int, cuts: list[float]) -> None:
    hi = lo + width
    inner = sorted({lo + 1 + int(c * (width - 1)) for c in cuts} - {hi}) if width > 1 else []
    pieces = sieve_window(lo, hi, inner)
    bounds = [lo, *inner, hi]
    expected = reference_primes(lo, hi)
    for piece, (a, b) in zip(pieces, itertools.pairwise(bounds), strict=True):
        assert piece == reference_summary(a, b, [p for p in expected if a <= p < b])


@pytest.mark.usefixtures("tiny_blocks")
@pytest.mark.parametrize(
    ("lo", "hi", "cuts"),
    [
        (0, 300_000, (3, 4, 6, 30, 31, 32, 99_991)),
        (50_000, 120_001, (65_536,)),
        (10**9 - 7, 10**9 + 250_003, (10**9 + 31, 10**9 + 122_880, 10**9 + 122_881)),
        (10**12 + 1, 10**12 + 100_000, ()),
    ],
)
def test_tiny_blocks_across_block_edges(lo: int, hi: int, cuts: tuple[int, ...]) -> None:
    """Segment, block, word and byte boundaries all fall inside pieces and on their edges."""
    expected = reference_primes(lo, hi)
    assert window_primes(lo, hi).tolist() == expected
    bounds = [lo, *cuts, hi]
    for piece, (a, b) in zip(sieve_window(lo, hi, cuts), itertools.pairwise(bounds), strict=True):
        assert piece == reference_summary(a, b, [p for p in expected if a <= p < b])


#: Sieving primes of every class for the tiny tunings: with 2**10-byte blocks 1031 is large, with
#: 2**13 small or medium (the test checks that each class is exercised by some tuning).
SQUARE_PRIMES = [503, 1031, 2053, 4099]


@pytest.mark.usefixtures("tiny_blocks")
@pytest.mark.parametrize("p", SQUARE_PRIMES)
@pytest.mark.parametrize("shift", [1, 0, -1], ids=["last-byte", "first-byte", "second-byte"])
def test_a_square_at_a_block_edge(p: int, shift: int) -> None:
    """A sieving prime joins in the block that holds its square, also when the square's byte is
    the last of one block or the first of the next (the window is placed so that it is), and
    with a piece boundary exactly at the square."""
    size = 1 << int(kernel._TUNING[0])
    k0 = p * p // 30 - size + shift  # the square's byte is at offset size - shift of the window
    lo, hi = 30 * k0, 30 * (k0 + size + 64)
    cuts = (p * p, p * p + 1)
    expected = reference_primes(lo, hi)
    assert p * p not in window_primes(lo, hi).tolist()
    bounds = [lo, *cuts, hi]
    for piece, (a, b) in zip(sieve_window(lo, hi, cuts), itertools.pairwise(bounds), strict=True):
        assert piece == reference_summary(a, b, [q for q in expected if a <= q < b])


def test_square_primes_cover_every_class() -> None:
    """Each prime class (small, medium, large) is met by :data:`SQUARE_PRIMES` in some tuning."""
    classes = set()
    for block_log, hits, large_blocks, _, _, small_log in TINY:
        for p in SQUARE_PRIMES:
            if p <= (1 << small_log) // hits:
                classes.add("small")
            elif p < (1 << block_log) * large_blocks:
                classes.add("medium")
            else:
                classes.add("large")
    assert classes == {"small", "medium", "large"}


def test_pieces_split_at_cuts() -> None:
    cuts = (5, 6, 100, 101, 1000)
    pieces = sieve_window(0, 5000, cuts)
    bounds = [0, *cuts, 5000]
    assert [(s.lo, s.hi) for s in pieces] == list(itertools.pairwise(bounds))
    for piece in pieces:
        assert piece == reference_summary(piece.lo, piece.hi, reference_primes(piece.lo, piece.hi))
    whole = merge_all(pieces)
    assert whole == reference_summary(0, 5000, reference_primes(0, 5000))


@pytest.mark.parametrize("step", [2, 3, 7, 97, 1000])
def test_summing_adjacent_intervals(step: int) -> None:
    """Counts, twins and gaps of adjacent intervals merge to the whole (primesieve's check)."""
    lo, hi = 0, 20_000
    parts = [sieve_window(a, min(a + step, hi), ())[0] for a in range(lo, hi, step)]
    assert sum(p.count for p in parts) == len(reference_primes(lo, hi))
    assert merge_all(parts) == reference_summary(lo, hi, reference_primes(lo, hi))


def test_primes_text() -> None:
    primes = np.array([2, 3, 10**15 - 11, 999_999_999_999_989], dtype=np.int64)
    assert kernel.primes_text(primes).tobytes() == b"2\n3\n999999999999989\n999999999999989\n"
    assert kernel.primes_text(np.zeros(0, dtype=np.int64)).tobytes() == b""


def test_twin_and_gap_across_a_seam() -> None:
    left = Summary.of(0, 12, [2, 3, 5, 7, 11])
    right = Summary.of(12, 30, [13, 17, 19, 23, 29])
    merged = merge(left, right)
    assert merged.twin_pairs == 4  # (3,5) (5,7) (11,13) (17,19)
    assert (merged.max_gap, merged.gap_after) == (6, 23)
    assert merge(Summary.of(0, 8, [3, 7]), Summary.of(8, 20, [11, 13])).gap_after == 3  # tie
    empty = Summary(30, 40)
    assert merge(merged, empty) == dataclasses.replace(merged, hi=40)
    assert merge(Summary(-5, 0), merged) == dataclasses.replace(merged, lo=-5)


def test_merge_is_associative_on_ties() -> None:
    parts = [Summary.of(a, a + 10, reference_primes(a, a + 10)) for a in range(0, 200, 10)]
    left = merge_all(parts)
    right = merge(merge_all(parts[:7]) or Summary(0, 0), merge_all(parts[7:]) or Summary(0, 0))
    assert left == right


def is_prime_miller_rabin(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24 (first 12 prime bases): independent oracle."""
    if n < 2:
        return False
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    if n in bases:
        return True
    if any(n % b == 0 for b in bases):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def test_narrow_range_near_1e15() -> None:
    hi = 10**15 + 1
    lo = hi - 3000
    summary = sieve_window(lo, hi, (lo + 1000,))
    expected = [n for n in range(lo, hi) if is_prime_miller_rabin(n)]
    assert merge_all(summary) == reference_summary(lo, hi, expected)
    assert expected[-1] == 999_999_999_999_989


@pytest.mark.usefixtures("tiny_blocks")
def test_buckets_near_1e15_across_blocks() -> None:
    """Near 10^15 the sieving primes reach 3.2e7: with tiny blocks nearly all are bucketed and
    the window spans several blocks; Miller-Rabin is the oracle."""
    hi = 10**15 - 10**9
    lo = hi - 70_000
    wheel = [n for n in range(lo, hi) if math.gcd(n, 30030) == 1]
    expected = [n for n in wheel if is_prime_miller_rabin(n)]
    assert window_primes(lo, hi).tolist() == expected
    cuts = (lo + 30_000, lo + 30_001)
    bounds = [lo, *cuts, hi]
    for piece, (a, b) in zip(sieve_window(lo, hi, cuts), itertools.pairwise(bounds), strict=True):
        assert piece == reference_summary(a, b, [p for p in expected if a <= p < b])


@settings(max_examples=examples(40), deadline=None)
@given(lo=st.integers(0, 10**7), width=st.integers(1, 20_000))
def test_plain_sieve_for_tiny_jobs_agrees(lo: int, width: int) -> None:
    """The numpy sieve of tiny jobs agrees with the reference and with the compiled kernel."""
    from pipeline.prime.sieve import plain

    expected = reference_primes(lo, lo + width)
    assert plain.plain_primes(lo, lo + width).tolist() == expected
    assert window_primes(lo, lo + width).tolist() == expected
    cut = lo + width // 2
    bounds = [lo, cut, lo + width] if lo < cut else [lo, lo + width]
    assert plain.summaries(plain.plain_primes(lo, lo + width), bounds) == sieve_window(
        lo, lo + width, bounds[1:-1]
    )
