"""The dask.delayed graph of the prime job: one base-primes task, one task per segment, trees.

Union semantics with minimal work: the ranges (inclusive) become half-open intervals whose union
is computed as disjoint intervals, and only the union is sieved, once. Each union interval is cut
into segments of ``segment_size`` numbers, and every segment is further split at each range
boundary that falls inside it, so a segment task returns one summary per *piece* and every piece
lies entirely inside or outside each range. Per-range statistics are the ordered merge of the
pieces inside the range; the top-level (union) statistics are the ordered merge of all pieces.
Overlapping or identical ranges therefore cost no extra sieving, and a twin pair split between two
ranges is found at the seam of the global merge.

Graph shape::

    base_primes(isqrt(max end)) --> sieve_segment x S --> merge_within tree per range (fan-in 8)
                                                     \\-> merge_within tree over everything

No task returns primes; the graph is built here and computed by :mod:`pipeline.prime.job` through
:func:`pipeline.execution.compute`, which alone picks the scheduler.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask

from pipeline.prime.kernel import base_primes, sieve_segment
from pipeline.prime.ranges import PrimeRange
from pipeline.prime.summary import merge_within
from pipeline.prime.tuning import MAX_END, REDUCE_FANIN


@dataclass(frozen=True)
class Segment:
    """One sieve task's interval ``[lo, hi)`` and the range boundaries strictly inside it."""

    lo: int
    hi: int
    cuts: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """Everything decided before any task runs: the union, the segments, the sieve limit."""

    union: tuple[tuple[int, int], ...]
    segments: tuple[Segment, ...]
    base_limit: int

    @property
    def covered(self) -> int:
        """How many integers the union of the ranges contains."""
        return sum(hi - lo for lo, hi in self.union)


def plan(ranges: Sequence[PrimeRange], segment_size: int) -> Plan:
    """Cut the union of ``ranges`` into segments of at most ``segment_size`` numbers.

    >>> p = plan([PrimeRange(0, 9), PrimeRange(5, 24)], segment_size=10)
    >>> p.union, [(s.lo, s.hi, s.cuts) for s in p.segments]
    (((0, 25),), [(0, 10, (5,)), (10, 20, ()), (20, 25, ())])
    """
    intervals = sorted((r.start, r.end + 1) for r in ranges)
    union: list[tuple[int, int]] = []
    for lo, hi in intervals:
        if union and lo <= union[-1][1]:
            union[-1] = (union[-1][0], max(union[-1][1], hi))
        else:
            union.append((lo, hi))
    boundaries = sorted({b for r in ranges for b in (r.start, r.end + 1)})
    segments: list[Segment] = []
    for lo, hi in union:
        for a in range(lo, hi, segment_size):
            b = min(a + segment_size, hi)
            inner = boundaries[
                bisect.bisect_right(boundaries, a) : bisect.bisect_left(boundaries, b)
            ]
            segments.append(Segment(a, b, tuple(inner)))
    return Plan(tuple(union), tuple(segments), math.isqrt(max(r.end for r in ranges)))


def build_graph(ranges: Sequence[PrimeRange], job_plan: Plan) -> tuple[list[Any], Any]:
    """Delayed summaries: one per range (input order) and one for the union.

    The base primes are one delayed task passed to every segment task, so they are computed once
    and shipped to the workers (a few hundred kB for 10^11; 15 MB at the 10^15 limit).
    """
    base = dask.delayed(base_primes, pure=True)(
        job_plan.base_limit, dask_key_name=f"prime-base-primes-{job_plan.base_limit}"
    )
    segments = [
        dask.delayed(sieve_segment, pure=True)(
            s.lo, s.hi, s.cuts, base, dask_key_name=f"prime-segment-{s.lo}-{s.hi}"
        )
        for s in job_plan.segments
    ]
    per_range = []
    for index, r in enumerate(ranges):
        lo, hi = r.start, r.end + 1
        inside = [
            t for s, t in zip(job_plan.segments, segments, strict=True) if s.lo < hi and lo < s.hi
        ]
        per_range.append(_tree(lo, hi, inside, f"prime-range-{index}"))
    union = _tree(0, MAX_END + 2, segments, "prime-union")
    return per_range, union


def _tree(lo: int, hi: int, parts: list[Any], name: str) -> Any:
    """Reduce ``parts`` (in order) with ``merge_within`` in a tree of fan-in ``REDUCE_FANIN``."""
    level = 0
    while True:
        parts = [
            dask.delayed(merge_within, pure=True)(
                lo,
                hi,
                *parts[i : i + REDUCE_FANIN],
                dask_key_name=f"{name}-L{level}-{i // REDUCE_FANIN}",
            )
            for i in range(0, max(len(parts), 1), REDUCE_FANIN)
        ]
        level += 1
        if len(parts) == 1:
            return parts[0]
