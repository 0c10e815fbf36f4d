"""Exact latency statistics of a multiset given as distinct values and their counts.

Percentiles replicate numpy's default ``linear`` method on the expanded data without expanding
it; mean and sample standard deviation use a two-pass formula over the distinct values
(numerically stable).

>>> import numpy as np
>>> stats = latency_summary(np.array([1.0, 2.0, 10.0]), np.array([2, 1, 1]))
>>> stats["median"], stats["max"], stats["count"]
(1.5, 10.0, 4)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np

#: Percentiles reported besides the median, as (key, percent).
PERCENTILES: Final[tuple[tuple[str, int], ...]] = (("p90", 90), ("p95", 95), ("p99", 99))

#: The keys of every latency block, in report order.
LATENCY_KEYS: Final[tuple[str, ...]] = (
    "count",
    "mean",
    "median",
    "min",
    "max",
    "std",
    "p90",
    "p95",
    "p99",
)


def latency_summary(values: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Exact statistics of the multiset where ``values[i]`` occurs ``counts[i]`` times.

    ``median`` and the percentiles equal ``numpy.median`` / ``numpy.percentile`` (``linear``) of
    the expanded data; ``std`` has ``ddof=1`` and is None below 2 values; everything but
    ``count`` is None when there are no values.

    >>> latency_summary(np.array([5.0]), np.array([1]))["std"] is None
    True
    """
    values = np.asarray(values, dtype=np.float64)
    keep = (np.asarray(counts) > 0) & ~np.isnan(values)  # NaN: a request without a latency
    values = values[keep]
    counts = np.asarray(counts, dtype=np.int64)[keep]
    total = int(counts.sum())
    stats: dict[str, Any] = dict.fromkeys(LATENCY_KEYS)
    stats["count"] = total
    if total == 0:
        return stats
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    cumulative = np.cumsum(counts)
    mean = float(np.dot(values, counts) / total)
    stats["mean"] = mean
    stats["min"] = float(values[0])
    stats["max"] = float(values[-1])
    if total > 1:
        deviation = values - mean
        stats["std"] = float(np.sqrt(np.dot(deviation * deviation, counts) / (total - 1)))

    def at(rank: int) -> np.float64:
        found: np.float64 = values[int(np.searchsorted(cumulative, rank, side="right"))]
        return found

    stats.update(ranked(at, total))
    return stats


def ranked(at: Callable[[int], np.float64], total: int) -> dict[str, float]:
    """``median`` and :data:`PERCENTILES` of ``total`` values from ``at(rank)``, the value at a
    0-based rank of the sorted values: numpy's ``linear`` method, operation for operation."""
    middle = total // 2
    median = at(middle) if total % 2 else (at(middle - 1) + at(middle)) / np.float64(2)
    out = {"median": float(median)}
    for key, percent in PERCENTILES:
        out[key] = _percentile(at, total, percent)
    return out


def wanted_ranks(total: int) -> list[int]:
    """The 0-based ranks :func:`ranked` reads for ``total`` values (``total`` >= 1).

    >>> wanted_ranks(10)
    [4, 5, 8, 9]
    """
    seen: set[int] = set()

    def record(rank: int) -> np.float64:
        seen.add(rank)
        zero: np.float64 = np.float64(0)
        return zero

    ranked(record, total)
    return sorted(seen)


def _percentile(at: Any, total: int, percent: int) -> float:
    """numpy's ``linear`` percentile, operation for operation, from a rank lookup."""
    virtual = np.float64(total - 1) * (np.float64(percent) / np.float64(100))
    below = np.floor(virtual)
    gamma = virtual - below
    lower = int(below)
    if virtual >= total - 1:
        return float(at(total - 1))
    a, b = at(lower), at(lower + 1)
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)
