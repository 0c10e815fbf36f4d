"""The numpy wheel sieve and the summary merge against an independent reference sieve."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.prime import kernel
from pipeline.prime.kernel import base_primes, segment_primes, sieve_segment
from pipeline.prime.summary import Summary, merge, merge_all

BASE = base_primes(10**6)  # enough for every segment below 10^12


def reference_primes(lo: int, hi: int) -> list[int]:
    """Plain sieve of Eratosthenes with a Python list (independent of the code under test)."""
    if hi <= 2:
        return []
    flags = [True] * hi
    flags[0] = flags[1] = False
    for i in range(2, math.isqrt(hi - 1) + 1):
        if flags[i]:
            flags[i * i :: i] = [False] * len(range(i * i, hi, i))
    return [n for n in range(lo, hi) if flags[n]]


def reference_summary(lo: int, hi: int, primes: list[int]) -> Summary:
    """Twin pairs and the first largest gap computed by brute force."""
    gaps = [(b - a, a) for a, b in itertools.pairwise(primes)]
    best = (0, None)
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


PI = [(10, 4), (100, 25), (1000, 168), (10**4, 1229), (10**5, 9592), (10**6, 78498)]
PI += [(10**7, 664579), (10**8, 5761455), (10**9, 50847534)]


@pytest.mark.parametrize(("n", "count"), PI)
def test_pi_of_powers_of_ten(n: int, count: int) -> None:
    (summary,) = sieve_segment(0, n + 1, (), base_primes(math.isqrt(n)))
    assert summary.count == count


def test_base_primes_small() -> None:
    assert base_primes(1).tolist() == []
    assert base_primes(2).tolist() == [2]
    assert base_primes(100).tolist() == reference_primes(0, 101)


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 2),
        (2, 3),
        (0, 31),
        (31, 32),
        (29, 32),
        (7, 8),
        (8, 11),
        (0, 10**5),
        (10**6 - 500, 10**6 + 500),
        (104729, 104730),
        (999983, 999984),
    ],
)
def test_segment_primes_edges(lo: int, hi: int) -> None:
    assert segment_primes(lo, hi, BASE).tolist() == reference_primes(lo, hi)


@settings(max_examples=60, deadline=None)
@given(lo=st.integers(0, 3 * 10**6), width=st.integers(0, 40_000))
def test_random_ranges_match_reference(lo: int, width: int) -> None:
    expected = reference_primes(lo, lo + width)
    (summary,) = sieve_segment(lo, lo + width, (), BASE)
    assert summary == reference_summary(lo, lo + width, expected)


def test_blocks_and_bands_across_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks force every path (slices, bands, large primes) to cross many block edges."""
    monkeypatch.setattr(kernel, "BLOCK_BYTES", 64)
    monkeypatch.setattr(kernel, "SLICE_MIN_HITS", 2)
    lo, hi = 50_000, 120_000
    assert segment_primes(lo, hi, BASE).tolist() == reference_primes(lo, hi)
    monkeypatch.setattr(kernel, "BLOCK_BYTES", 2**12)
    assert segment_primes(0, 300_000, BASE).tolist() == reference_primes(0, 300_000)


def test_pieces_split_at_cuts() -> None:
    cuts = (5, 6, 100, 101, 1000)
    pieces = sieve_segment(0, 5000, cuts, BASE)
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
    parts = [sieve_segment(a, min(a + step, hi), (), BASE)[0] for a in range(lo, hi, step)]
    assert sum(p.count for p in parts) == len(reference_primes(lo, hi))
    assert merge_all(parts) == reference_summary(lo, hi, reference_primes(lo, hi))


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
    summary = sieve_segment(lo, hi, (lo + 1000,), base_primes(math.isqrt(hi)))
    expected = [n for n in range(lo, hi) if is_prime_miller_rabin(n)]
    assert merge_all(summary) == reference_summary(lo, hi, expected)
    assert expected[-1] == 999_999_999_999_989


@pytest.mark.parametrize("block_bytes", [2**12, 2**20])
def test_block_summaries_match_listed_primes(
    monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """The summaries built from packed wheel turns (never listing primes) equal summaries of the
    listed primes, for pieces cut mid-turn, across block edges, and with 2, 3, 5 in turn 0."""
    monkeypatch.setattr(kernel, "BLOCK_BYTES", block_bytes)
    for lo, hi, cuts in [
        (10**8 + 7, 10**8 + 2_000_003, (10**8 + 31, 10**8 + 600_001, 10**8 + 600_002)),
        (0, 500_000, (3, 4, 6, 30, 31, 32, 99_991)),
    ]:
        pieces = sieve_segment(lo, hi, cuts, BASE)
        for piece in pieces:
            listed = segment_primes(piece.lo, piece.hi, BASE).tolist()
            assert piece == reference_summary(piece.lo, piece.hi, listed)
