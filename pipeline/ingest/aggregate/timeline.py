"""The per-interval timeline of a run: requests, 5xx and latency percentiles per time bucket.

Partials count requests per UTC minute (:data:`~pipeline.ingest.aggregate.partial.MINUTE_MS`), so
the bucket can be chosen once the whole time range is known: ``auto`` picks the smallest of
:data:`BUCKETS` that gives at most :data:`MAX_AUTO_ROWS` rows (``1d`` when even that gives more).
Bucket starts are multiples of the bucket length since the Unix epoch (UTC). Every bucket from
the first to the last is a row, empty ones included (0 requests, null latencies). Percentiles
per bucket are exact (numpy's ``linear`` method on the bucket's latencies) unless the bucket had
more distinct latencies than :data:`~pipeline.ingest.aggregate.limits.TIMELINE_LATENCY` keeps
exactly.

>>> choose_bucket(0, 3 * 3_600_000, "auto")
'1m'
>>> choose_bucket(0, 2 * 86_400_000, "auto")
'15m'
>>> iso_utc(1_700_000_000_123), iso_utc(1_700_000_000_000)
('2023-11-14T22:13:20.123Z', '2023-11-14T22:13:20Z')
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline.errors import InputError
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.distribution import KEYED, Distributions, combine, summaries
from pipeline.ingest.aggregate.partial import MINUTE_MS

#: Bucket names and their length in minutes, smallest first.
BUCKETS: Final[dict[str, int]] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
BUCKET_CHOICES: Final[tuple[str, ...]] = ("auto", *BUCKETS)

#: Rows an ``auto`` bucket may produce: enough detail for a plot, small enough for a report.
MAX_AUTO_ROWS: Final[int] = 300

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


def check_bucket(bucket: str) -> str:
    """Validate ``--bucket``."""
    if bucket not in BUCKET_CHOICES:
        raise InputError(f"--bucket must be one of {', '.join(BUCKET_CHOICES)}, got {bucket!r}")
    return bucket


def choose_bucket(first_ms: int, last_ms: int, requested: str) -> str:
    """The bucket to use for a time range (``requested`` unless it is ``auto``)."""
    if requested != "auto":
        return requested
    for name, minutes in BUCKETS.items():
        length = minutes * MINUTE_MS
        if last_ms // length - first_ms // length + 1 <= MAX_AUTO_ROWS:
            return name
    return "1d"


def iso_utc(millis: int) -> str:
    """UTC ms since the epoch as ``YYYY-MM-DDTHH:MM:SS[.fff]Z``, the year always four digits
    (``strftime("%Y")`` writes year 1 as ``1`` with glibc).

    >>> iso_utc(-62_135_596_800_000), iso_utc(253_402_300_799_999)
    ('0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z')
    """
    moment = _EPOCH + timedelta(milliseconds=millis)
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    return f"{text}.{millis % 1000:03d}Z" if millis % 1000 else f"{text}Z"


def timeline_rows(
    first_ms: int, last_ms: int, bucket: str, requests: pd.Series, latency: Distributions
) -> tuple[list[dict[str, Any]], bool]:
    """One row per bucket from the first to the last request, and whether every bucket's
    percentiles are exact.

    ``requests`` counts by ``(minute, status_class)``; ``latency`` per ``minute`` slot.
    """
    length = BUCKETS[bucket]
    start = first_ms // MINUTE_MS // length
    stop = last_ms // MINUTE_MS // length
    size = stop - start + 1
    totals = np.zeros(size, dtype=np.int64)
    errors = np.zeros(size, dtype=np.int64)
    if len(requests):
        minute = np.asarray(requests.index.get_level_values("minute"), dtype=np.int64)
        klass = np.asarray(requests.index.get_level_values("status_class"), dtype=np.int64)
        slot = minute // length - start
        counts = requests.to_numpy(dtype=np.int64)
        np.add.at(totals, slot, counts)
        np.add.at(errors, slot[klass == 5], counts[klass == 5])
    spec = limits.TIMELINE_LATENCY
    per_slot = summaries(combine(latency, spec, lambda frame: frame["minute"] // length), KEYED)
    rows = []
    for index in range(size):
        p50 = p95 = None
        if start + index in per_slot:
            stats = per_slot[start + index][0]
            p50, p95 = stats["median"], stats["p95"]
        rows.append(
            {
                "start": iso_utc((start + index) * length * MINUTE_MS),
                "requests": int(totals[index]),
                "status_5xx": int(errors[index]),
                "latency_p50": p50,
                "latency_p95": p95,
            }
        )
    return rows, all(exact for _, exact in per_slot.values())
