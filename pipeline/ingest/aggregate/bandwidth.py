"""Bandwidth: bytes per 5-minute interval, mergeable by adding, and the 95th-percentile figure.

Burstable ("95th percentile") billing cuts time into 5-minute intervals, takes the bytes sent in
each, drops the top 5% and bills the largest one left. With ``n`` intervals from the first to
the last request (empty ones count as 0), :func:`p95_bps` is the ``ceil(0.95 n)``-th smallest
interval total, times 8 bits over the 300 seconds of an interval.

A partial keeps its interval totals sparse (non-empty intervals only: a block of a log covers a
few minutes, so a handful of intervals), as two sorted ``int64`` arrays; merging concatenates
and adds equal intervals, so any merge order or tree gives the same totals. The number kept is
bounded by :data:`~pipeline.ingest.aggregate.limits.BANDWIDTH_INTERVALS`; a merge that would
keep more coarsens the partial to one total per UTC day (``slot_s`` 86,400), for good: the daily
figures stay exact and ``p95_bps`` is no longer known (the report gives null and says why),
never a wrong figure.

Only requests with a time are placed in intervals and days; the total of every request's bytes
is ``requests.bytes_sent``.

>>> part = bandwidth_of(np.array([0, 1_000, 600_000]), np.array([10, 5, 7]))
>>> part.slots.tolist(), part.totals.tolist()
([0, 2], [15, 7])
>>> p95_bps(part)  # intervals 0, 1, 2 hold 15, 0, 7 bytes: the 3rd smallest is 15
0.4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.ingest.aggregate import limits

#: Seconds per interval of the 95th-percentile figure (the billing convention).
INTERVAL_S: Final[int] = 300

#: Seconds per UTC day: the slot of a partial that outgrew its interval cap.
DAY_S: Final[int] = 86_400

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Bandwidth:
    """Bytes per time slot of ``slot_s`` seconds (UTC, counted from the epoch).

    Attributes
    ----------
    slots
        Sorted, distinct slot numbers (``millis // (1000 * slot_s)``) that hold a request.
    totals
        Bytes sent in each slot (same length as ``slots``).
    slot_s
        :data:`INTERVAL_S`, or :data:`DAY_S` once the intervals passed the cap.
    dropped_days
        True once, in days, the days older than the
        :data:`~pipeline.ingest.aggregate.limits.PANEL_DAYS` most recent were dropped.
    """

    slots: Ints
    totals: Ints
    slot_s: int = INTERVAL_S
    dropped_days: bool = False

    @property
    def exact(self) -> bool:
        """True while the 5-minute intervals are kept (``p95_bps`` is known)."""
        return self.slot_s == INTERVAL_S


def empty_bandwidth() -> Bandwidth:
    """No request at all."""
    return Bandwidth(np.zeros(0, np.int64), np.zeros(0, np.int64))


def bandwidth_of(millis: Ints, sizes: Ints, cap: int | None = None) -> Bandwidth:
    """Interval totals of one partition's timed requests (UTC ms, and their sizes)."""
    slots = np.asarray(millis, dtype=np.int64) // (1000 * INTERVAL_S)
    return _fit(_summed(slots, np.asarray(sizes, dtype=np.int64), INTERVAL_S), cap)


def merge_bandwidth(parts: Sequence[Bandwidth], cap: int | None = None) -> Bandwidth:
    """The totals of several partials together (associative and commutative)."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return empty_bandwidth()
    slot_s = max(part.slot_s for part in parts)
    coarse = [_coarsened(part, slot_s) for part in parts]
    slots = np.concatenate([part.slots for part in coarse])
    totals = np.concatenate([part.totals for part in coarse])
    merged = _summed(slots, totals, slot_s)
    if any(part.dropped_days for part in parts):
        merged = Bandwidth(merged.slots, merged.totals, slot_s, True)
    return _fit(merged, cap)


def by_day(part: Bandwidth) -> list[tuple[int, int]]:
    """``(day number since the epoch, bytes)`` per UTC day with a request, in order."""
    days = _coarsened(part, DAY_S)
    return list(zip(days.slots.tolist(), days.totals.tolist(), strict=True))


def p95_bps(part: Bandwidth) -> float | None:
    """The 95th-percentile bandwidth in bits per second (see the module docstring); None when
    no request had a time or the intervals were coarsened to days."""
    if not part.exact or not len(part.slots):
        return None
    n = int(part.slots[-1] - part.slots[0]) + 1
    rank = (95 * n + 99) // 100  # ceil(0.95 n) in integers (0.95 * n in floats can overshoot)
    empty = n - len(part.slots)
    if rank <= empty:
        return 0.0
    ordered = np.sort(part.totals)
    return int(ordered[rank - empty - 1]) * 8 / INTERVAL_S


def _summed(slots: Ints, totals: Ints, slot_s: int) -> Bandwidth:
    """Totals added per distinct slot, slots in order."""
    if not len(slots):
        return Bandwidth(np.zeros(0, np.int64), np.zeros(0, np.int64), slot_s)
    distinct, number = np.unique(slots, return_inverse=True)
    summed = np.zeros(len(distinct), dtype=np.int64)
    np.add.at(summed, number, totals)  # int64: exact (a float bincount rounds past 2**53)
    return Bandwidth(distinct.astype(np.int64), summed, slot_s)


def _coarsened(part: Bandwidth, slot_s: int) -> Bandwidth:
    """``part`` in slots of ``slot_s`` seconds (a multiple of its own)."""
    if slot_s == part.slot_s:
        return part
    coarse = _summed(part.slots // (slot_s // part.slot_s), part.totals, slot_s)
    return Bandwidth(coarse.slots, coarse.totals, slot_s, part.dropped_days)


def _fit(part: Bandwidth, cap: int | None) -> Bandwidth:
    """Days instead of intervals when more than ``cap`` intervals are held; in days, only the
    :data:`~pipeline.ingest.aggregate.limits.PANEL_DAYS` most recent (the oldest dropped
    whatever the merge order: a day a partial drops has that many later days in the run)."""
    cap = limits.BANDWIDTH_INTERVALS if cap is None else cap
    if len(part.slots) > cap:
        part = _coarsened(part, DAY_S)
    if part.slot_s == DAY_S and len(part.slots) > limits.PANEL_DAYS:
        keep = slice(len(part.slots) - limits.PANEL_DAYS, None)
        return Bandwidth(part.slots[keep], part.totals[keep], DAY_S, True)
    return part
