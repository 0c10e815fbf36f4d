"""Small per-interval summaries of the primes in ``[lo, hi)`` and their associative merge.

A sieve task never returns its primes: it returns a :class:`Summary` per piece of its segment
(count, the first and last few primes, twin pairs and the largest gap inside). Two summaries of
disjoint intervals, the first entirely below the second, merge in O(1): the only facts that cross
the seam are ``(a.last, b.first)``, which is a twin pair when they differ by 2 and a gap candidate
``b.first - a.last``. Merging is associative with the empty summary as identity, so the job can
reduce summaries in any tree shape and still get the answer of one sequential pass.

With tuplets (``--tuplets``: primesieve's triplets to sextuplets, whose members lie at most 16
apart and are consecutive primes), the seam also carries every tuplet with members on both
sides; they are found among the last primes of ``a`` and the first of ``b`` (a tuplet has at
most 6 members, so the ``EDGE_PRIMES`` kept at each end are plenty). A tuplet is matched by the
differences of consecutive summarised primes, so a prime missing between them (a hole of the
union) breaks it, as it must.

>>> a = Summary.of(0, 10, [2, 3, 5, 7])
>>> b = Summary.of(10, 20, [11, 13, 17, 19])
>>> m = merge(a, b)
>>> m.count, m.twin_pairs, m.max_gap, m.gap_after
(8, 4, 4, 7)
>>> a = Summary.of(0, 12, [2, 3, 5, 7, 11], tuplets=True)
>>> merge(a, Summary.of(12, 20, [13, 17, 19], tuplets=True)).tuplets
(4, 2, 2, 0)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve.wheel import TUPLET_PATTERNS
from pipeline.prime.tuning import EDGE_PRIMES

#: Tuplet counts, triplets to sextuplets (twins are ``Summary.twin_pairs``).
Tuplets = tuple[int, int, int, int]
#: Each tuplet pattern as the differences of its consecutive members, with its class index.
TUPLET_DIFFS: tuple[tuple[int, tuple[int, ...]], ...] = tuple(
    (c, tuple(b - a for a, b in itertools.pairwise(offsets)))
    for c, patterns in enumerate(TUPLET_PATTERNS)
    for offsets in patterns
)
#: Most members of a tuplet on one side of a seam (a sextuplet has 6, at least one each side).
_SEAM_SIDE = max(len(d) for _, d in TUPLET_DIFFS)


@dataclass(frozen=True)
class Summary:
    """What a sieve task reports about the primes in the half-open interval ``[lo, hi)``.

    Attributes
    ----------
    lo, hi
        The interval covered. Merged summaries cover ``[a.lo, b.hi)`` even when the union of the
        inputs has holes (top-level totals merge pieces of different ranges).
    count
        Number of primes.
    head, tail
        The first and last ``EDGE_PRIMES`` primes, ascending (the same primes when few).
    twin_pairs
        Pairs ``(p, p + 2)`` with both members among the summarised primes.
    max_gap, gap_after
        Largest difference between consecutive summarised primes and the smaller prime of the
        first such pair; ``0`` and ``None`` with fewer than two primes.
    tuplets
        Triplets, quadruplets, quintuplets and sextuplets with all members among the summarised
        primes (primesieve's ``-c3`` .. ``-c6``); None when they were not counted.
    """

    lo: int
    hi: int
    count: int = 0
    head: tuple[int, ...] = ()
    tail: tuple[int, ...] = ()
    twin_pairs: int = 0
    max_gap: int = 0
    gap_after: int | None = None
    tuplets: Tuplets | None = None

    @property
    def first(self) -> int | None:
        """Smallest prime, or None when empty."""
        return self.head[0] if self.head else None

    @property
    def last(self) -> int | None:
        """Largest prime, or None when empty."""
        return self.tail[-1] if self.tail else None

    @classmethod
    def of(cls, lo: int, hi: int, primes: Iterable[int], *, tuplets: bool = False) -> Summary:
        """Summarise an explicit ascending list of primes (tests and tiny inputs)."""
        acc = Accumulator(lo, hi, tuplets=tuplets)
        acc.add(np.fromiter(primes, dtype=np.int64))
        return acc.summary()


def merge(a: Summary, b: Summary) -> Summary:
    """Combine summaries of two disjoint intervals, ``a`` entirely below ``b``.

    Ties in the largest gap keep the first (lowest) occurrence, so the result does not depend on
    how a sequence of summaries is grouped.
    """
    lo, hi = min(a.lo, b.lo), max(a.hi, b.hi)
    if a.count == 0 or b.count == 0:  # (not dataclasses.replace: 3x slower, 100,000s of merges)
        c = b if a.count == 0 else a
        return Summary(
            lo, hi, c.count, c.head, c.tail, c.twin_pairs, c.max_gap, c.gap_after, c.tuplets
        )
    tuplets = None
    if a.tuplets is not None and b.tuplets is not None:
        seam_tuplets = seam_tuplet_counts(a.tail, b.head)
        tuplets = _add4(_add4(a.tuplets, b.tuplets), seam_tuplets)
    a_last, b_first = a.tail[-1], b.head[0]
    seam = b_first - a_last
    gap, after = a.max_gap, a.gap_after
    if seam > gap:
        gap, after = seam, a_last
    if b.max_gap > gap:
        gap, after = b.max_gap, b.gap_after
    return Summary(
        lo=lo,
        hi=hi,
        count=a.count + b.count,
        head=(a.head + b.head)[:EDGE_PRIMES],
        tail=(a.tail + b.tail)[-EDGE_PRIMES:],
        twin_pairs=a.twin_pairs + b.twin_pairs + (1 if seam == 2 else 0),
        max_gap=gap,
        gap_after=after,
        tuplets=tuplets,
    )


def _add4(x: Tuplets, y: Tuplets) -> Tuplets:
    return (x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3])


def seam_tuplet_counts(left: Sequence[int], right: Sequence[int]) -> Tuplets:
    """Tuplets with members in both ``left`` and ``right`` (ascending primes, all of ``left``
    below ``right``): the last primes of one interval and the first of the next.

    >>> seam_tuplet_counts([5, 7], [11, 13, 17])
    (2, 1, 1, 0)
    >>> seam_tuplet_counts([7, 11, 13], [17, 19, 23])
    (2, 1, 2, 1)
    """
    left, right = list(left[-_SEAM_SIDE:]), list(right[:_SEAM_SIDE])
    seq = left + right
    n = len(left)
    counts = [0, 0, 0, 0]
    for c, diffs in TUPLET_DIFFS:
        k = len(diffs)
        # members seq[s] .. seq[s + k], at least one on each side: s < n <= s + k
        for s in range(max(0, n - k), min(n, len(seq) - k)):
            if all(seq[s + t + 1] - seq[s + t] == diffs[t] for t in range(k)):
                counts[c] += 1
    return (counts[0], counts[1], counts[2], counts[3])


def tuplet_counts(primes: npt.NDArray[np.int64]) -> Tuplets:
    """Tuplets among ascending ``primes`` (vectorised: runs of differences matching a pattern).

    >>> tuplet_counts(np.array([5, 7, 11, 13, 17, 19, 23, 29]))
    (5, 2, 3, 1)
    """
    diffs = np.diff(primes)
    counts = [0, 0, 0, 0]
    for c, pattern in TUPLET_DIFFS:
        k = len(pattern)
        if diffs.size < k:
            continue
        match = np.ones(diffs.size - k + 1, dtype=np.bool_)
        for t, d in enumerate(pattern):
            match &= diffs[t : diffs.size - k + 1 + t] == d
        counts[c] += int(np.count_nonzero(match))
    return (counts[0], counts[1], counts[2], counts[3])


def counted(s: Summary, tuplets: bool) -> Summary:
    """``s`` with zero tuplets when they were asked for but ``s`` has none: the empty summary
    of a range without primes, which no task produced (``reduce_pieces``'s ``Summary(0, 0)``)."""
    if tuplets and s.tuplets is None:
        return Summary(
            s.lo, s.hi, s.count, s.head, s.tail, s.twin_pairs, s.max_gap, s.gap_after, (0, 0, 0, 0)
        )
    return s


def merge_all(summaries: Iterable[Summary]) -> Summary | None:
    """Merge summaries given in ascending interval order; None for an empty input."""
    result: Summary | None = None
    for item in summaries:
        result = item if result is None else merge(result, item)
    return result


class Accumulator:
    """Builds a :class:`Summary` from ascending chunks of primes (one chunk per sieve block).

    Only the last prime of the previous chunk is carried over, so memory is one chunk at a time.
    """

    def __init__(self, lo: int, hi: int, *, tuplets: bool = False) -> None:
        self.lo, self.hi = lo, hi
        self.tuplets: Tuplets | None = (0, 0, 0, 0) if tuplets else None
        self.count = 0
        self.head: list[int] = []
        self.tail: list[int] = []
        self.twin_pairs = 0
        self.max_gap = 0
        self.gap_after: int | None = None

    def add(self, primes: npt.NDArray[np.int64]) -> None:
        """Account for the next ascending chunk of primes, all above the previous chunks."""
        n = int(primes.size)
        if n == 0:
            return
        if self.count:
            previous = self.tail[-1]
            seam = int(primes[0]) - previous
            self.twin_pairs += seam == 2
            if seam > self.max_gap:
                self.max_gap, self.gap_after = seam, previous
        if self.tuplets is not None:
            inside = tuplet_counts(primes)
            across = seam_tuplet_counts(self.tail, primes[:_SEAM_SIDE].tolist())
            self.tuplets = _add4(_add4(self.tuplets, inside), across)
        if n > 1:
            diffs = np.diff(primes)
            self.twin_pairs += int(np.count_nonzero(diffs == 2))
            at = int(np.argmax(diffs))
            if int(diffs[at]) > self.max_gap:
                self.max_gap, self.gap_after = int(diffs[at]), int(primes[at])
        if len(self.head) < EDGE_PRIMES:
            self.head.extend(primes[: EDGE_PRIMES - len(self.head)].tolist())
        self.tail = (self.tail + primes[-EDGE_PRIMES:].tolist())[-EDGE_PRIMES:]
        self.count += n

    def summary(self) -> Summary:
        """The summary of everything added so far."""
        return Summary(
            lo=self.lo,
            hi=self.hi,
            count=self.count,
            head=tuple(self.head),
            tail=tuple(self.tail),
            twin_pairs=self.twin_pairs,
            max_gap=self.max_gap,
            gap_after=self.gap_after,
            tuplets=self.tuplets,
        )
