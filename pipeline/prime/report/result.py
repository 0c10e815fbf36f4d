"""The prime job's result: per-range and union statistics, and their JSON form.

``to_dict()`` follows the schema of the prime issue exactly (keys may be added, never renamed):
all counts and bounds are JSON integers, densities are floats, ``max_gap`` is ``null`` for a
range with fewer than two primes. ``tuplets`` (per range and at the top level) and ``nth`` are
present only when asked for (``--tuplets``, ``--nth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.prime.ranges import PrimeRange
from pipeline.prime.sieve.summary import Summary, Tuplets
from pipeline.reporting.text import FailedInput

#: The JSON names of the tuplet counts, twins first (``Summary.twin_pairs``), then the
#: ``Summary.tuplets`` classes in order.
TUPLET_NAMES: tuple[str, ...] = ("twins", "triplets", "quadruplets", "quintuplets", "sextuplets")


def tuplets_dict(twins: int, tuplets: Tuplets) -> dict[str, int]:
    """The ``tuplets`` object of the JSON report.

    >>> tuplets_dict(8, (8, 2, 3, 1))
    {'twins': 8, 'triplets': 8, 'quadruplets': 2, 'quintuplets': 3, 'sextuplets': 1}
    """
    return dict(zip(TUPLET_NAMES, (twins, *tuplets), strict=True))


@dataclass(frozen=True)
class RangeStats:
    """Statistics of one input range ``[start, end]`` (inclusive)."""

    name: str | None
    start: int
    end: int
    count: int
    smallest: int | None
    largest: int | None
    twin_pairs: int
    max_gap: int | None
    gap_after: int | None
    tuplets: Tuplets | None = None

    @property
    def density(self) -> float:
        """Primes per integer of the range: ``count / (end - start + 1)``."""
        return self.count / (self.end - self.start + 1)

    @classmethod
    def from_summary(cls, r: PrimeRange, s: Summary) -> RangeStats:
        """Per-range statistics from the merged summary of the range's pieces."""
        has_gap = s.count >= 2
        return cls(
            name=r.name,
            start=r.start,
            end=r.end,
            count=s.count,
            smallest=s.first,
            largest=s.last,
            twin_pairs=s.twin_pairs,
            max_gap=s.max_gap if has_gap else None,
            gap_after=s.gap_after if has_gap else None,
            tuplets=s.tuplets,
        )

    def to_dict(self) -> dict[str, Any]:
        """The range's entry of the ``ranges`` list in the JSON report."""
        gap = None if self.max_gap is None else {"gap": self.max_gap, "after": self.gap_after}
        entry: dict[str, Any] = {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "count": self.count,
            "density": self.density,
            "smallest": self.smallest,
            "largest": self.largest,
            "twin_pairs": self.twin_pairs,
            "max_gap": gap,
        }
        if self.tuplets is not None:
            entry["tuplets"] = tuplets_dict(self.twin_pairs, self.tuplets)
        return entry


@dataclass(frozen=True)
class PrimeResult:
    """What :func:`pipeline.prime.job.run_prime` returns.

    Top-level figures are over the *union* of the ranges (a prime in two overlapping ranges counts
    once; a twin pair counts when both members lie in the union). ``covered`` is the number of
    integers in the union, so ``total_primes / covered`` is the overall density.
    ``output_errors`` holds one message per output file that could not be written (the CLI
    prints the report, then each message, and exits 2). ``tuplets`` (triplets to sextuplets of
    the union) is set with ``--tuplets``; ``nth`` is N with ``--nth N``, whose prime is
    ``largest`` (the one range is then ``[0, p_N]``).
    """

    ranges: tuple[RangeStats, ...]
    total_primes: int
    smallest: int | None
    largest: int | None
    first_primes: tuple[int, ...]
    twin_pairs: int
    covered: int
    mode: str
    workers: int
    elapsed_s: float
    segments: int
    primes_out: str | None = None
    output_errors: tuple[str, ...] = ()
    tuplets: Tuplets | None = None
    nth: int | None = None

    @property
    def failed_inputs(self) -> tuple[FailedInput, ...]:
        """Always empty: a bad ranges file is an input error, not a partial failure."""
        return ()

    @property
    def density(self) -> dict[str, float]:
        """Overall (union) density and min/max/mean over the per-range densities."""
        densities = [r.density for r in self.ranges]
        return {
            "overall": self.total_primes / self.covered,
            "min": min(densities),
            "max": max(densities),
            "mean": sum(densities) / len(densities),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (schema of the prime issue).

        A :class:`RangeStats` object listed several times (identical input ranges share one)
        is converted once, and its entry is the same dict each time.
        """
        entries: dict[int, dict[str, Any]] = {}  # a range listed many times: one entry
        for r in self.ranges:
            if id(r) not in entries:
                entries[id(r)] = r.to_dict()
        document: dict[str, Any] = {
            "feature": "prime",
            "ranges": [entries[id(r)] for r in self.ranges],
            "total_primes": self.total_primes,
            "smallest": self.smallest,
            "largest": self.largest,
            "first_primes": list(self.first_primes),
            "density": self.density,
            "twin_pairs": self.twin_pairs,
        }
        if self.tuplets is not None:
            document["tuplets"] = tuplets_dict(self.twin_pairs, self.tuplets)
        if self.nth is not None:
            document["nth"] = {"n": self.nth, "prime": self.largest}
        document["execution"] = {
            "mode": self.mode,
            "workers": self.workers,
            "elapsed_s": self.elapsed_s,
            "segments": self.segments,
        }
        if self.primes_out is not None:
            document["primes_out"] = self.primes_out
        return document
