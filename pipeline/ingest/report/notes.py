"""The notes of an ingest report that come from how the inputs were read: formats without a
latency or a time field, lines with fields after their format's last one (detection,
:mod:`pipeline.ingest.detect`), a time filter that kept no request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.aggregate.timeline import iso_utc
from pipeline.ingest.formats.presets import LogFormat

_EXTRA_FIELDS_NOTE: Final[str] = (
    "lines read as {0!r} carry more fields after the format's last one (ignored); if they hold "
    "a latency, pass your server's format string, e.g. --log-format '<log_format string>'"
)

_EXTRA_NUMBER_NOTE: Final[str] = (
    "lines read as {0!r} end with one more number: it may be a latency in microseconds (%D) or "
    "in seconds (%T), or a size in bytes (%O), so it is not read; if it is a latency, pass your "
    "server's format string, e.g. --log-format '{1}'"
)

#: The format strings the trailing-number note suggests (Apache's, with ``%D``).
_WITH_D: Final[dict[str, str]] = {
    "common": '%h %l %u %t "%r" %>s %b %D',
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D',
}


def extra_note(name: str, extra: str) -> str:
    """The note on lines read as ``name`` that carry more fields (``extra``: ``"number"`` when
    that is one bare number, which detection never guesses as a latency)."""
    base = name.rsplit(":", 1)[-1]  # a wrapped format: the preset inside
    if extra == "number" and base in _WITH_D:
        return _EXTRA_NUMBER_NOTE.format(name, _WITH_D[base])
    return _EXTRA_FIELDS_NOTE.format(name)


def format_notes(formats: Sequence[LogFormat]) -> list[str]:
    """Plain-language remarks the report carries (which figures a format cannot give)."""
    formats = list(dict.fromkeys(formats))  # one per file read: 10,000 small files, a few formats
    notes = []
    for name in sorted({fmt.name for fmt in formats if not fmt.has_latency}):
        notes.append(
            f"format {name!r} has no latency field: its requests are counted but are not in "
            "the latency statistics"
        )
    for name in sorted({fmt.name for fmt in formats if not fmt.has_time}):
        if any(fmt.has_time for fmt in formats):
            notes.append(f"format {name!r} has no time field: its requests are not in the timeline")
    for name in sorted({fmt.name for fmt in formats if fmt.time_without_offset}):
        notes.append(f"format {name!r} writes times without a UTC offset: they are read as UTC")
    return notes


def filter_note(total: Partial, filters: Filters) -> list[str]:
    """When ``--since``/``--until`` left no request: the time range of the lines filtered out
    (a ``--since`` meant in local time shows at once against a log in UTC). Not when another
    filter may be what removed the lines in the window."""
    span = total.filtered_time
    if not filters.by_time or total.parsed or span is None:
        return []
    first, last, count = span
    since = filters.since_ms if filters.since_ms is not None else first
    until = filters.until_ms if filters.until_ms is not None else last + 1
    outside = last < since or first >= until
    if not outside and replace(filters, since_ms=None, until_ms=None).active:
        return []
    timed = " with a time" if count < total.filtered else ""
    if count == 1:
        where = f"the only parsed line{timed} was at {iso_utc(first)}"
    else:
        where = (
            f"all {count:,} parsed lines{timed} were between {iso_utc(first)} and {iso_utc(last)}"
        )
    return [f"--since/--until kept no request: {where} (UTC); a time without an offset is UTC"]
