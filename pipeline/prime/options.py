"""What a prime run is asked for: :class:`PrimeOptions`, validated when it is built.

The CLI, the Python API, the notebooks and the benchmarks build the same object; a bad value
fails with one :class:`~pipeline.errors.InputError` line before any range is read.

>>> PrimeOptions(ranges=["0:100"]).segment == DEFAULT_SEGMENT_SIZE
True
>>> PrimeOptions(segment_size=10)
Traceback (most recent call last):
...
pipeline.errors.InputError: segment_size must be between 30 and 1099511627776, got 10
>>> PrimeOptions(nth=10, ranges=["0:100"])
Traceback (most recent call last):
...
pipeline.errors.InputError: --nth and --range cannot be used together
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import InputError
from pipeline.prime.tuning import (
    DEFAULT_SEGMENT_SIZE,
    MAX_NTH,
    MAX_SEGMENT_SIZE,
    MIN_SEGMENT_SIZE,
)


@dataclass(frozen=True)
class PrimeOptions:
    """Every option of a prime run; checked when built (``InputError`` on a bad value).

    Parameters
    ----------
    segment_size
        Numbers per sieve task (:data:`~pipeline.prime.tuning.MIN_SEGMENT_SIZE` ..
        :data:`~pipeline.prime.tuning.MAX_SEGMENT_SIZE`); None for
        :data:`~pipeline.prime.tuning.DEFAULT_SEGMENT_SIZE`. Raised automatically to keep at
        most ``MAX_TASKS`` tasks.
    primes_out
        Also write every prime of the union, ascending, one per line, to this file.
    ranges
        ``"START:END"`` strings (the CLI's ``--range``), used instead of the ranges file.
    tuplets
        Also count twins, triplets, quadruplets, quintuplets and sextuplets as primesieve's
        ``-c2`` .. ``-c6`` do, per range and for the union.
    nth
        Find the ``nth`` prime (1 .. :data:`~pipeline.prime.tuning.MAX_NTH`) instead of sieving
        ranges: the report is that of the range ``[0, p_nth]``. Not with ``ranges`` (the CLI
        also refuses ``--path``) nor ``primes_out``.
    """

    segment_size: int | None = None
    primes_out: str | None = None
    ranges: Sequence[str] = ()
    tuplets: bool = False
    nth: int | None = None

    def __post_init__(self) -> None:
        size = self.segment
        if isinstance(size, bool) or not isinstance(size, int):
            raise InputError(f"segment_size must be an integer, got {size!r}")
        if not MIN_SEGMENT_SIZE <= size <= MAX_SEGMENT_SIZE:
            raise InputError(
                f"segment_size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}, "
                f"got {size}"
            )
        if isinstance(self.ranges, str):
            raise InputError(f"ranges must be a sequence of START:END, got {self.ranges!r}")
        object.__setattr__(self, "ranges", tuple(self.ranges))
        if self.nth is not None:
            self._check_nth(self.nth)

    def _check_nth(self, nth: int) -> None:
        if isinstance(nth, bool) or not isinstance(nth, int):
            raise InputError(f"--nth must be an integer, got {nth!r}")
        if not 1 <= nth <= MAX_NTH:
            raise InputError(
                f"--nth must be between 1 and {MAX_NTH:,} (the index of the largest prime "
                f"below 10^15), got {nth:,}"
            )
        if self.ranges:
            raise InputError("--nth and --range cannot be used together")
        if self.primes_out is not None:
            raise InputError("--nth and --primes-out cannot be used together")

    @property
    def segment(self) -> int:
        """The requested segment size (the default when none was given)."""
        return DEFAULT_SEGMENT_SIZE if self.segment_size is None else self.segment_size
