"""The per-interval timeline of a run: requests, 5xx and latency percentiles per time bucket.

Partials count requests per UTC minute (:data:`~pipeline.ingest.aggregate.partial.MINUTE_MS`) in
slots that grow with the time they cover (:data:`~pipeline.ingest.aggregate.partial.SLOT_MINUTES`),
so the bucket can be chosen once the whole time range is known: ``auto`` picks the smallest of
:data:`BUCKETS` that gives at most :data:`MAX_AUTO_ROWS` rows. The report, not the time span,
bounds the timeline: the buckets go on past ``1d`` to ``7d``, ``30d``, ``365d``, ``3650d`` and
``36500d``, and ``36500d`` (100 days short of a century) gives at most 101 rows over the whole
range the report can write (years 0001 to 9999), so ``auto`` never exceeds 300 rows. An explicit
bucket is used as asked when it can be built from the partials' slots (a multiple of the slot)
and gives at most :data:`~pipeline.ingest.aggregate.limits.TIMELINE_SLOTS` rows; otherwise it is
raised to the smallest bucket that can, with a note (:func:`fit_bucket`).

Bucket starts are multiples of the bucket length since the Unix epoch (UTC): a ``7d`` bucket
starts on a Thursday, a ``365d`` one is not a calendar year; a bucket that begins before year 1
shows :data:`FIRST_TIME_MS` as its start. Every bucket from the first to the
last is a row, empty ones included (0 requests, null latencies). Percentiles per bucket are exact
(numpy's ``linear`` method on the bucket's latencies) unless the bucket had more distinct
latencies than :data:`~pipeline.ingest.aggregate.limits.TIMELINE_LATENCY` keeps exactly.

>>> choose_bucket(0, 3 * 3_600_000, "auto")
'1m'
>>> choose_bucket(0, 2 * 86_400_000, "auto")
'15m'
>>> choose_bucket(-62_135_596_800_000, 253_402_300_799_999, "auto")
'36500d'
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
from pipeline.ingest.parsing.convert import MIN_TIME_MS

#: Bucket names and their length in minutes, smallest first. The ones past ``1d`` exist so that a
#: timeline spanning centuries (a stray year-0001 or year-9999 time) stays a few hundred rows.
BUCKETS: Final[dict[str, int]] = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "1h": 60,
    "1d": 1440,
    "7d": 7 * 1440,
    "30d": 30 * 1440,
    "365d": 365 * 1440,
    "3650d": 3650 * 1440,
    "36500d": 36500 * 1440,
}
BUCKET_CHOICES: Final[tuple[str, ...]] = ("auto", *BUCKETS)

#: Rows an ``auto`` bucket may produce: enough detail for a plot, small enough for a report.
MAX_AUTO_ROWS: Final[int] = 300

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: 0001-01-01T00:00:00Z in ms since the epoch, the earliest time a line can have (parsing
#: refuses earlier ones): a bucket that begins before it (a ``7d`` or coarser bucket holding a
#: time of year 1) shows it as its start.
FIRST_TIME_MS: Final[int] = MIN_TIME_MS


def check_bucket(bucket: str) -> str:
    """Validate ``--bucket``."""
    if bucket not in BUCKET_CHOICES:
        raise InputError(f"--bucket must be one of {', '.join(BUCKET_CHOICES)}, got {bucket!r}")
    return bucket


def bucket_rows(first_ms: int, last_ms: int, minutes: int) -> int:
    """Buckets of ``minutes`` from the one holding ``first_ms`` to the one holding ``last_ms``.

    >>> bucket_rows(59_999, 60_000, 1), bucket_rows(-1, 0, 1440)
    (2, 2)
    """
    length = minutes * MINUTE_MS
    return last_ms // length - first_ms // length + 1


def choose_bucket(first_ms: int, last_ms: int, requested: str) -> str:
    """The bucket to use for a time range (``requested`` unless it is ``auto``): the smallest
    giving at most :data:`MAX_AUTO_ROWS` rows, the coarsest when none does (a span beyond the
    years 0001 to 9999)."""
    if requested != "auto":
        return requested
    for name, minutes in BUCKETS.items():
        if bucket_rows(first_ms, last_ms, minutes) <= MAX_AUTO_ROWS:
            return name
    return next(reversed(BUCKETS))


def fit_bucket(first_ms: int, last_ms: int, bucket: str, slot_minutes: int) -> str:
    """``bucket``, or the smallest coarser one that can be built from slots of ``slot_minutes``
    (a multiple of it) and gives at most ``TIMELINE_SLOTS`` rows (the most an explicit
    ``--bucket`` gives); the coarsest when none can.

    Partials keep slots of 5 days past 1 day (the slot must divide both 30d and 365d), so a
    ``7d`` bucket over more than about 13.7 years is raised to ``30d``:

    >>> fit_bucket(0, 86_400_000 * 6_000, "7d", 5 * 1440)
    '30d'
    >>> fit_bucket(0, 86_400_000 * 6_000, "1d", 5 * 1440)
    '30d'
    >>> fit_bucket(0, 3_600_000, "1m", 1)
    '1m'
    """
    names = list(BUCKETS)
    for name in names[names.index(bucket) :]:
        minutes = BUCKETS[name]
        fits = bucket_rows(first_ms, last_ms, minutes) <= limits.TIMELINE_SLOTS
        if minutes % slot_minutes == 0 and fits:
            return name
    return names[-1]


def duration_name(minutes: int) -> str:
    """A slot or bucket length as the report writes it.

    >>> duration_name(7200), duration_name(60), duration_name(15)
    ('5d', '1h', '15m')
    """
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


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
                "start": iso_utc(max((start + index) * length * MINUTE_MS, FIRST_TIME_MS)),
                "requests": int(totals[index]),
                "status_5xx": int(errors[index]),
                "latency_p50": p50,
                "latency_p95": p95,
            }
        )
    return rows, all(exact for _, exact in per_slot.values())
