"""A deliberately plain reference for issue 9 (log formats, times, timeline, filters).

Everything here is written from docs/formats.md and shares no code with
``pipeline.ingest``: one Python ``re.fullmatch`` per line with a hand-written pattern per format,
``json.loads`` per line with the alias table of docs/formats.md written out again,
``datetime.strptime`` and ``datetime.fromisoformat`` for times, ``float(Decimal(text) * factor)``
for latencies, plain loops and numpy over full lists for the statistics, plain Python for the
timeline buckets. It is slow and obvious on purpose. ``tests/test_ingest_formats.py`` compares
the job's report to it; the tests at the bottom of this file pin the reference itself on
hand-checked answers.

Readings of docs/formats.md where it leaves a corner open (said here so a reviewer can disagree):

* A time field given twice (``$msec`` and ``$time_iso8601``) is read from the first of the
  list of docs/formats.md ``$time_local``, ``$time_iso8601``, ``$msec``.
* ``$request_method`` written as ``-`` or empty (nginx's "no value"; ``escape=json`` writes
  empty values as ``""``) is the method ``-``, like a request line that is not one; a path is
  kept as written. In JSON lines, an empty method is a missing one (``-``).
* In an ``escape=json`` format read as a pasted nginx string, an empty ``$upstream_response_time``
  (``""``) is "no latency", like ``-``.
* With ``--bucket auto`` and no timed request kept, the timeline is ``1m`` with no rows (the
  smallest bucket giving at most 300 rows).
* ``requests_without_time`` counts kept requests without a time, JSON lines without a time key
  included; status classes in ``--status`` are case-insensitive (``2XX``).
* The note about fields after the last one of ``common``/``combined`` (main since b29a38d, not in
  docs/formats.md) is worded as main words it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypedDict, cast

import numpy as np
import pytest

from tests.test_ingest_reference import LINE as DEFAULT_LINE
from tests.test_ingest_reference import (
    REF_EXACT_KEYS,
    ref_agents,
    ref_cap,
    ref_histogram,
    ref_stats,
    ref_template,
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_LATENCY_MS = Decimal(10) ** 9
MAX_BYTES = 10**15
#: The times a report can show: years 0001 to 9999 in UTC.
TIME_RANGE = (
    datetime(1, 1, 1, tzinfo=timezone.utc),
    datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc),
)
SECONDS, MILLIS, MICROS, NANOS = Decimal(1000), Decimal(1), Decimal("0.001"), Decimal("0.000001")


class Row(NamedTuple):
    """One parsed line: what the report counts."""

    method: str
    path: str  # with its query string
    status: int
    latency: float | None  # ms; None: no latency
    agent: str
    time_ms: int | None  # UTC ms since the epoch; None: no time
    size: int


class Malformed(Exception):
    """A field matched but does not convert (31/Feb, latency too large): the line is malformed."""


# ----------------------------------------------------------------------------------------------
# Field converters, one plain function each


def ms_of(moment: datetime) -> int:
    """UTC ms since the epoch of an aware datetime, finer fractions truncated."""
    return checked_ms((moment - EPOCH) // timedelta(milliseconds=1))


def checked_ms(millis: int) -> int:
    """``millis`` when it is a time from year 1 to year 9999 in UTC; else the line is malformed."""
    first, last = ((moment - EPOCH) // timedelta(milliseconds=1) for moment in TIME_RANGE)
    if not first <= millis <= last:
        raise Malformed(str(millis))
    return millis


def clf_time(text: str) -> int:
    """``10/Oct/2000:13:55:36 -0700`` -> UTC ms."""
    if not re.fullmatch(r"\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", text):
        raise Malformed(text)
    try:
        return ms_of(datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z"))
    except ValueError:
        raise Malformed(text) from None


def iso_time(text: str) -> int:
    """ISO 8601 with a zone -> UTC ms."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(text) from None
    if moment.tzinfo is None:
        raise Malformed(text)
    return ms_of(moment)


def latency(text: str, factor: Decimal) -> float | None:
    """Decimal text in some unit -> ms (the float nearest the exact value); ``-`` is None."""
    if text == "-":
        return None
    value = Decimal(text) * factor
    if value > MAX_LATENCY_MS:
        raise Malformed(text)
    return float(value)


def upstream_sum(text: str) -> float | None:
    """``0.010, 0.020`` / ``0.010 : 0.020`` seconds -> the exact sum in ms; only ``-``: None."""
    items = [item for item in re.split(r", | : ", text) if item not in ("-", "")]
    if not items:
        return None
    value = sum(Decimal(item) for item in items) * SECONDS
    if value > MAX_LATENCY_MS:
        raise Malformed(text)
    return float(value)


def request_parts(request: str) -> tuple[str, str]:
    """(method, target) of ``METHOD TARGET PROTOCOL``; ``-``, ``-`` for anything else."""
    match = re.fullmatch(r"([A-Z]+) ([^ ]+)(?: HTTP/[0-9.]+)?", request)
    return (match.group(1), match.group(2)) if match else ("-", "-")


def agent_of(text: str) -> str:
    return "" if text == "-" else text


def size_of(text: str) -> int:
    size = 0 if text == "-" else int(text)
    if size > MAX_BYTES:
        raise Malformed(text)
    return size


def text(value: str) -> str:
    """A JSON string with its lone surrogates (``"\\ud800"``) as U+FFFD."""
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def method_of(text: str) -> str:
    return "-" if text in ("-", "") else text


# ----------------------------------------------------------------------------------------------
# One hand-written pattern per format

Q = r'((?:[^"\\]|\\.)*)'  # inside double quotes: anything but " and \, or an escaped character
BARE = r"([^ ]*)"
CLF = r"\[([^\]]*)\]"
STATUS = r"([1-5][0-9][0-9])"
SIZE = r"([0-9]+|-)"
DEC = r"([0-9]+(?:\.[0-9]+)?|-)"

COMMON_RE = re.compile(rf'{BARE} - {BARE} {CLF} "{Q}" {STATUS} {SIZE}(?: .*)?')
COMBINED_RE = re.compile(rf'{BARE} - {BARE} {CLF} "{Q}" {STATUS} {SIZE} "{Q}" "{Q}"(?: .*)?')


def parse_default(line: str) -> Row | None:
    match = DEFAULT_LINE.fullmatch(line)
    if not match or not 100 <= int(match.group(3)) <= 599:
        return None
    value = float(match.group(4))
    if value > 1e9:
        return None
    method, path, status, _, agent = match.groups()
    return Row(method, path, int(status), value, agent, None, 0)


def parse_common(line: str) -> Row | None:
    match = COMMON_RE.fullmatch(line)
    if not match:
        return None
    _, _, when, request, status, size = match.groups()
    method, path = request_parts(request)
    return Row(method, path, int(status), None, "", clf_time(when), size_of(size))


def parse_combined(line: str) -> Row | None:
    match = COMBINED_RE.fullmatch(line)
    if not match:
        return None
    _, _, when, request, status, size, _, agent = match.groups()
    method, path = request_parts(request)
    return Row(method, path, int(status), None, agent_of(agent), clf_time(when), size_of(size))


#: nginx ``timed`` (tests/data/nginx): combined + rt=$request_time uct="..." urt="...".
TIMED_RE = re.compile(
    rf'{BARE} - {BARE} {CLF} "{Q}" {STATUS} {SIZE} "{Q}" "{Q}" rt={DEC} uct="{Q}" urt="{Q}"'
)


def parse_timed(line: str) -> Row | None:
    match = TIMED_RE.fullmatch(line)
    if not match:
        return None
    _, _, when, request, status, size, _, agent, rt, uct, urt = match.groups()
    if not _is_upstream_list(uct) or not _is_upstream_list(urt):
        return None
    method, path = request_parts(request)
    return Row(
        method, path, int(status), latency(rt, SECONDS), agent_of(agent), clf_time(when),
        size_of(size),
    )  # fmt: skip


UPSTREAM_LIST = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?|-)(?:(?:, | : )(?:[0-9]+(?:\.[0-9]+)?|-))*")


def _is_upstream_list(text: str) -> bool:
    return UPSTREAM_LIST.fullmatch(text) is not None


#: nginx ``main`` pasted as a whole directive (tests/data/nginx-real/nginx.conf.in).
MAIN_RE = re.compile(rf'{BARE} - {BARE} {CLF} "{Q}" {STATUS} {SIZE} "{Q}" "{Q}" "{Q}" rt={DEC}')


def parse_main(line: str) -> Row | None:
    match = MAIN_RE.fullmatch(line)
    if not match:
        return None
    _, _, when, request, status, size, _, agent, _, rt = match.groups()
    method, path = request_parts(request)
    return Row(
        method, path, int(status), latency(rt, SECONDS), agent_of(agent), clf_time(when),
        size_of(size),
    )  # fmt: skip


#: nginx ``upstream``: latency from $upstream_response_time only.
UPSTREAM_RE = re.compile(rf'{BARE} {CLF} "{Q}" {STATUS} {SIZE} "{Q}" urt="([^"]*)"')


def parse_upstream(line: str) -> Row | None:
    match = UPSTREAM_RE.fullmatch(line)
    if not match or not _is_upstream_list(match.group(7)):
        return None
    _, when, request, status, size, agent, urt = match.groups()
    method, path = request_parts(request)
    return Row(
        method, path, int(status), upstream_sum(urt), agent_of(agent), clf_time(when),
        size_of(size),
    )  # fmt: skip


#: nginx ``vars``: $msec "$request_method" "$uri" "$args" "$request_uri" ... [$time_iso8601].
VARS_RE = re.compile(
    rf'([0-9]+\.[0-9]+) "([A-Za-z]*|-)" "{Q}" "{Q}" "{Q}" {STATUS} {SIZE} "{Q}" \[([^\]]*)\]'
)


def parse_vars(line: str) -> Row | None:
    match = VARS_RE.fullmatch(line)
    if not match:
        return None
    _, method, _, _, target, status, size, agent, iso = match.groups()
    return Row(method_of(method), target, int(status), None, agent_of(agent), iso_time(iso),
               size_of(size))  # fmt: skip


#: nginx ``jsonfmt`` (escape=json) read as a pasted nginx string, not as JSON lines.
JSONFMT_RE = re.compile(
    rf'\{{"time_iso8601":"([^"]*)","remote_addr":"{Q}","request_method":"([A-Za-z]*|-)",'
    rf'"request_uri":"{Q}","status":{STATUS},"body_bytes_sent":{SIZE},"request_time":{DEC},'
    rf'"upstream_response_time":"([^"]*)","http_user_agent":"{Q}"\}}'
)


def parse_jsonfmt(line: str) -> Row | None:
    match = JSONFMT_RE.fullmatch(line)
    if not match or not (match.group(8) == "" or _is_upstream_list(match.group(8))):
        return None
    iso, _, method, target, status, size, rt, _, agent = match.groups()
    return Row(method_of(method), target, int(status), latency(rt, SECONDS), agent_of(agent),
               iso_time(iso), size_of(size))  # fmt: skip


#: Apache: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" LATENCY'.
APACHE_RE = re.compile(rf'([^ ]+) ([^ ]+) {BARE} {CLF} "{Q}" {STATUS} {SIZE} "{Q}" "{Q}" ([0-9]+)')


def apache_parser(factor: Decimal) -> Callable[[str], Row | None]:
    """The parser of the Apache format ending with %D (us), %{ms}T (ms) or %T (s)."""

    def parse(line: str) -> Row | None:
        match = APACHE_RE.fullmatch(line)
        if not match:
            return None
        _, _, _, when, request, status, size, _, agent, took = match.groups()
        method, path = request_parts(request)
        return Row(method, path, int(status), latency(took, factor), agent_of(agent),
                   clf_time(when), size_of(size))  # fmt: skip

    return parse


# ----------------------------------------------------------------------------------------------
# JSON lines: the alias table of docs/formats.md, written out again

ALIASES: dict[str, list[tuple[str, Decimal | None]]] = {
    "method": [(k, None) for k in
               ("request_method", "method", "http_method", "request.method", "http.method")],
    "path": [(k, None) for k in
             ("request_uri", "uri", "path", "url", "request_path", "request.uri", "request.path",
              "request.url", "url.path")],
    "request": [("request", None)],
    "status": [(k, None) for k in
               ("status", "status_code", "statusCode", "response_status", "http_status",
                "response.status", "response.status_code")],
    "latency": [("request_time", SECONDS), ("duration_ms", MILLIS), ("latency_ms", MILLIS),
                ("response_time_ms", MILLIS), ("elapsed_ms", MILLIS), ("duration_us", MICROS),
                ("latency_us", MICROS), ("duration_ns", NANOS),
                ("upstream_response_time", SECONDS), ("response.duration_ms", MILLIS)],
    "user_agent": [(k, None) for k in
                   ("http_user_agent", "user_agent", "userAgent", "ua", "request.user_agent")],
    "time": [(k, SECONDS) for k in
             ("time_iso8601", "time_local", "msec", "ts", "timestamp", "time", "@timestamp")],
    "bytes": [(k, None) for k in ("body_bytes_sent", "bytes_sent", "bytes")],
}  # fmt: skip
UNIT = {"s": SECONDS, "ms": MILLIS, "us": MICROS, "ns": NANOS}


def json_parser(fields: Sequence[str] = ()) -> Callable[[str], Row | None]:
    """JSON lines with ``--field CANON=KEY[:UNIT]`` overrides (default unit ms / s)."""
    table = {name: list(keys) for name, keys in ALIASES.items()}
    for item in fields:
        canon, _, key = item.partition("=")
        unit: Decimal | None = None
        if ":" in key and key.rsplit(":", 1)[1] in UNIT:
            key, name = key.rsplit(":", 1)
            unit = UNIT[name]
        elif canon in ("latency", "time"):
            unit = MILLIS if canon == "latency" else SECONDS
        table[canon].insert(0, (key, unit))

    def lookup(record: dict[str, Any], name: str) -> tuple[Any, Decimal | None]:
        for key, unit in table[name]:
            value = record.get(key)
            if value is None and "." in key:
                value = record
                for part in key.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                return value, unit
        return None, None

    def number(value: Any) -> Decimal | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if isinstance(value, str):
            try:
                found = Decimal(value)
            except InvalidOperation:
                return None
            return found if found.is_finite() else None
        return None

    def parse(line: str) -> Row | None:
        try:
            record = json.loads(line, parse_float=Decimal)
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        status, _ = lookup(record, "status")
        if isinstance(status, str) and re.fullmatch(r"[0-9]{3}", status):
            status = int(status)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            return None
        path, _ = lookup(record, "path")
        request, _ = lookup(record, "request")
        method, _ = lookup(record, "method")
        method = method if isinstance(method, str) and method else "-"
        if not isinstance(path, str):
            if not isinstance(request, str):
                return None
            split_method, path = request_parts(request)
            method = split_method if method == "-" else method
        took: float | None = None
        raw, unit = lookup(record, "latency")
        if raw is not None and raw != "-":
            value = number(raw)
            if value is None or value < 0 or value * (unit or MILLIS) > MAX_LATENCY_MS:
                return None
            took = float(value * (unit or MILLIS))
        when: int | None = None
        raw, unit = lookup(record, "time")
        if raw is not None:
            value = number(raw)
            if value is not None:
                when = checked_ms(
                    int((value * (unit or SECONDS)).to_integral_value(rounding="ROUND_FLOOR"))
                )
            elif isinstance(raw, str):
                try:
                    when = iso_time(raw)
                except Malformed:
                    try:
                        when = clf_time(raw)
                    except Malformed:
                        return None
            else:
                return None
        agent, _ = lookup(record, "user_agent")
        size, _ = lookup(record, "bytes")
        if size is None or size == "-":
            size = 0
        elif isinstance(size, str) and re.fullmatch(r"[0-9]+", size, re.ASCII):
            size = int(size)
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_BYTES:
            return None
        return Row(
            text(method),
            text(path),
            status,
            took,
            text(agent) if isinstance(agent, str) and agent != "-" else "",
            when,
            size,
        )

    return parse


# ----------------------------------------------------------------------------------------------
# Formats, detection, filters, the whole report


@dataclass(frozen=True)
class Fmt:
    """A format as the reference knows it: its report name, its parser and what it has."""

    name: str
    parse: Callable[[str], Row | None]
    latency: bool
    time: bool
    size: bool


DEFAULT = Fmt("default", parse_default, latency=True, time=False, size=False)
COMMON = Fmt("common", parse_common, latency=False, time=True, size=True)
COMBINED = Fmt("combined", parse_combined, latency=False, time=True, size=True)
JSON = Fmt("json", json_parser(), latency=True, time=True, size=True)
DETECTION = (DEFAULT, COMBINED, COMMON, JSON)

#: The latency keys generic JSON looks up, in order (docs/formats.md, "JSON lines").
JSON_LATENCY_KEYS = (
    "request_time",
    "duration_ms",
    "latency_ms",
    "response_time_ms",
    "elapsed_ms",
    "duration_us",
    "latency_us",
    "duration_ns",
    "upstream_response_time",
    "response.duration_ms",
)


def parse_line(fmt: Fmt, line: str) -> Row | None:
    try:
        return fmt.parse(line)
    except Malformed:
        return None


def lines_of(text: str) -> list[str]:
    """Trimmed non-empty lines; a line ends at ``\\n`` only."""
    return [line.strip() for line in text.split("\n") if line.strip()]


STRICT = {
    "common": re.compile(rf'{BARE} - {BARE} {CLF} "{Q}" {STATUS} {SIZE}'),
    "combined": re.compile(rf'{BARE} - {BARE} {CLF} "{Q}" {STATUS} {SIZE} "{Q}" "{Q}"'),
}
EXTRA_FIELDS_NOTE = (
    "lines read as {0!r} carry more fields after the format's last one (ignored); if they hold "
    "a latency, pass your server's format string, e.g. --log-format '<log_format string>'"
)


def has_extra_fields(text: str, fmt: Fmt) -> bool:
    """A detected common/combined file whose sampled lines mostly parse only thanks to the
    fields they carry after the format's last one (main's note since b29a38d)."""
    if fmt.name not in STRICT:
        return False
    parsed = [line for line in lines_of(text)[:100] if parse_line(fmt, line) is not None]
    exact = [line for line in parsed if STRICT[fmt.name].fullmatch(line)]
    return bool(parsed) and 2 * len(exact) < len(parsed)


def detect(text: str) -> Fmt:
    """The candidate that parses most of the first 100 non-empty lines (ties: the earlier)."""
    sample = lines_of(text)[:100]
    scores = [sum(parse_line(fmt, line) is not None for line in sample) for fmt in DETECTION]
    return DETECTION[scores.index(max(scores))]


def instant(text: str) -> int:
    """``--since``/``--until`` value -> UTC ms (no offset: UTC; a date alone: 00:00)."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    else:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return ms_of(moment)


class FilterOptions(TypedDict, total=False):
    """The set fields of :class:`Filters`, as keyword arguments of ``IngestOptions``."""

    since: str
    until: str
    status: str
    method: str
    path_regex: str


@dataclass(frozen=True)
class Filters:
    since: str | None = None
    until: str | None = None
    status: str | None = None
    method: str | None = None
    path_regex: str | None = None

    def keep(self, row: Row) -> bool:
        if self.since is not None or self.until is not None:
            if row.time_ms is None:
                return False
            if self.since is not None and row.time_ms < instant(self.since):
                return False
            if self.until is not None and row.time_ms >= instant(self.until):
                return False
        if self.status is not None:
            wanted = self.status.lower().split(",")
            if (
                str(row.status) not in wanted
                and (f"{row.status // 100}xx" if row.status else "none") not in wanted
            ):
                return False
        if self.method is not None and row.method.upper() not in self.method.upper().split(","):
            return False
        if self.path_regex is not None:
            return re.search(self.path_regex, row.path.split("?", 1)[0]) is not None
        return True

    def options(self) -> FilterOptions:
        """The same filters as fields of ``IngestOptions``."""
        return cast(FilterOptions, {k: v for k, v in vars(self).items() if v is not None})


BUCKET_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440, "7d": 10_080, "30d": 43_200}
BUCKET_MINUTES |= {"365d": 525_600, "3650d": 5_256_000, "36500d": 52_560_000}


def iso(millis: int) -> str:
    moment = EPOCH + timedelta(milliseconds=millis)
    text = moment.isoformat(timespec="seconds").removesuffix("+00:00")  # year 1 is 0001
    return text + (f".{millis % 1000:03d}Z" if millis % 1000 else "Z")


def timeline(rows: list[Row], bucket: str) -> dict[str, Any]:
    timed = [row for row in rows if row.time_ms is not None]
    if not timed:
        return {"bucket": "1m" if bucket == "auto" else bucket, "rows": []}
    first = min(row.time_ms for row in timed if row.time_ms is not None)
    last = max(row.time_ms for row in timed if row.time_ms is not None)
    if bucket == "auto":
        bucket = "36500d"
        for name, minutes in BUCKET_MINUTES.items():
            length = minutes * 60_000
            if last // length - first // length + 1 <= 300:
                bucket = name
                break
    length = BUCKET_MINUTES[bucket] * 60_000
    out = []
    for start in range(first // length * length, last + 1, length):
        inside = [r for r in timed if r.time_ms is not None and start <= r.time_ms < start + length]
        took = [r.latency for r in inside if r.latency is not None]
        out.append(
            {
                "start": iso(start),
                "requests": len(inside),
                "status_5xx": sum(1 for r in inside if r.status >= 500),
                "latency_p50": float(np.percentile(took, 50)) if took else None,
                "latency_p95": float(np.percentile(took, 95)) if took else None,
            }
        )
    return {"bucket": bucket, "rows": out}


@dataclass
class RefRun:
    """The reference's view of a run: per file, its name, text and format."""

    files: list[tuple[str, str, Fmt]]
    filters: Filters = field(default_factory=Filters)
    bucket: str = "auto"
    auto: bool = False  # formats detected (--log-format auto): notes about extra fields

    def report(self) -> dict[str, Any]:
        """The JSON document without ``execution``."""
        kept: list[Row] = []
        bad: list[str] = []
        filtered = 0
        failed: list[dict[str, str]] = []
        samples: list[dict[str, Any]] = []
        dropped: list[Row] = []
        for name, text, fmt in self.files:
            rows_here = 0
            lines = lines_of(text)
            for number, raw in enumerate(text.split("\n"), 1):  # line numbers count blank lines
                line = raw.strip()
                if not line:
                    continue
                row = parse_line(fmt, line)
                if row is None:
                    bad.append(line)
                    samples.append({"file": name, "line": number, "text": ref_cap(line)})
                    continue
                rows_here += 1
                if self.filters.keep(row):
                    kept.append(row)
                else:
                    filtered += 1
                    dropped.append(row)
            if lines and rows_here == 0:
                error = (  # detection names no format when none reads the file
                    "no known log format matches; "
                    if self.auto
                    else f"no line matches log format {fmt.name!r}; "
                )
                failed.append({"path": name, "error": error})
        formats = [fmt for _, _, fmt in self.files]
        doc = assemble(kept, bad, filtered, failed, formats, self.bucket)
        doc["lines"]["malformed_samples"] = samples[:5]
        extras = {f.name for _, text, f in self.files if self.auto and has_extra_fields(text, f)}
        doc["notes"] += [EXTRA_FIELDS_NOTE.format(name) for name in sorted(extras)]
        doc["notes"] += time_filter_note(kept, dropped, self.filters)
        return doc


def time_filter_note(kept: list[Row], dropped: list[Row], filters: Filters) -> list[str]:
    """The note of a --since/--until that kept no request: where the dropped lines' times were
    (not when the lines were in the window and another filter may have dropped them)."""
    if (filters.since is None and filters.until is None) or kept:
        return []
    times = [row.time_ms for row in dropped if row.time_ms is not None]
    if not times:
        return []
    first, last = min(times), max(times)
    since = instant(filters.since) if filters.since is not None else first
    until = instant(filters.until) if filters.until is not None else last + 1
    others = (filters.status, filters.method, filters.path_regex) != (None, None, None)
    if others and not (last < since or first >= until):
        return []
    timed = " with a time" if len(times) < len(dropped) else ""
    if len(times) == 1:
        where = f"the only parsed line{timed} was at {iso(first)}"
    else:
        where = f"all {len(times):,} parsed lines{timed} were between {iso(first)} and {iso(last)}"
    return [f"--since/--until kept no request: {where} (UTC); a time without an offset is UTC"]


def stats(values: list[float]) -> dict[str, Any]:
    return ref_stats(values)


def assemble(
    rows: list[Row],
    bad: list[str],
    filtered: int,
    failed: list[dict[str, str]],
    formats: list[Fmt],
    bucket: str,
) -> dict[str, Any]:
    by_method = Counter(r.method for r in rows)
    by_status = Counter(r.status for r in rows)
    classes = {**{f"{c}xx": 0 for c in range(1, 6)}, "none": 0}
    for row in rows:
        classes[(f"{row.status // 100}xx" if row.status else "none")] += 1
    lat_method: dict[str, list[float]] = {}
    lat_class: dict[str, list[float]] = {}
    paths: dict[str, list[float | None]] = {}
    errors: dict[str, list[int]] = {}
    for row in rows:
        template = ref_template(row.path.split("?", 1)[0])
        paths.setdefault(template, []).append(row.latency)
        if row.status >= 400:
            errors.setdefault(template, []).append(row.status // 100)
        if row.latency is not None:
            lat_method.setdefault(row.method, []).append(row.latency)
            lat_class.setdefault((f"{row.status // 100}xx" if row.status else "none"), []).append(
                row.latency
            )
    agents = Counter(r.agent for r in rows)
    top_paths = sorted(paths.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:10]
    top_errors = sorted(errors.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:10]
    top_agents = sorted(((a, n) for a, n in agents.items() if a), key=lambda kv: (-kv[1], kv[0]))
    requests: dict[str, Any] = {
        "total": len(rows),
        "by_method": dict(sorted(by_method.items())),
        "by_status_class": classes,
        "by_status": {f"{k:03d}": v for k, v in sorted(by_status.items())},
    }
    if any(fmt.size for fmt in formats):
        requests["bytes_sent"] = sum(r.size for r in rows)
    doc: dict[str, Any] = {
        "feature": "ingest",
        "inputs": {
            "files": len(formats),
            "formats": dict(sorted(Counter(fmt.name for fmt in formats).items())),
            "failed": failed,
        },
        "lines": {
            "total": len(rows) + len(bad) + filtered,
            "parsed": len(rows),
            "malformed": len(bad),
            "filtered": filtered,
            "directives": 0,
            "malformed_samples": [],  # RefRun.report fills it in (it knows the file names)
        },
        "requests": requests,
    }
    has_time = any(fmt.time for fmt in formats)
    if has_time:
        times = [r.time_ms for r in rows if r.time_ms is not None]
        doc["time_range"] = {
            "first": iso(min(times)) if times else None,
            "last": iso(max(times)) if times else None,
            "requests_without_time": sum(1 for r in rows if r.time_ms is None),
        }

    def top_entry(path: str, took: list[float | None]) -> dict[str, Any]:
        values = [v for v in took if v is not None]

        def pick(percent: int) -> float | None:
            return float(np.percentile(values, percent)) if values else None

        return {
            "path": path,
            "count": len(took),
            "share": len(took) / len(rows),
            "mean": float(np.mean(values)) if values else None,
            "p50": pick(50),
            "p95": pick(95),
            "p99": pick(99),
        }

    doc.update(
        {
            "latency_ms": stats([r.latency for r in rows if r.latency is not None]),
            "latency_histogram": ref_histogram([r.latency for r in rows if r.latency is not None]),
            "latency_by_method": {k: stats(v) for k, v in sorted(lat_method.items())},
            "latency_by_status_class": {k: stats(v) for k, v in sorted(lat_class.items())},
            "top_paths": [top_entry(p, v) for p, v in top_paths],
            "top_errors": [
                {"path": p, "count": len(v), "status_4xx": v.count(4), "status_5xx": v.count(5)}
                for p, v in top_errors
            ],
            "user_agents": {
                "unique": len(agents),
                "top": [{"user_agent": a, "count": n} for a, n in top_agents[:10]],
                **ref_agents(agents),
            },
        }
    )
    if has_time:
        doc["timeline"] = timeline(rows, bucket)
    notes = [
        f"format {name!r} has no latency field: its requests are counted but are not in the "
        "latency statistics"
        for name in sorted({fmt.name for fmt in formats if not fmt.latency})
    ]
    if has_time:
        notes += [
            f"format {name!r} has no time field: its requests are not in the timeline"
            for name in sorted({fmt.name for fmt in formats if not fmt.time})
        ]
        chosen = doc["timeline"]["bucket"]
        if bucket == "auto" and BUCKET_MINUTES[chosen] > 1440:  # a span of more than 300 days
            span = f"{doc['time_range']['first']} to {doc['time_range']['last']}"
            notes.append(
                f"the timeline uses {chosen} buckets: the time span from {span} is too long for "
                "finer ones within 300 rows"
            )
    if rows and all(row.latency is None for row in rows):  # the keys a JSON format looked for
        notes += [
            f"no request read as {fmt.name!r} has a latency; the keys read for it: "
            f"{', '.join(JSON_LATENCY_KEYS)} (pass --field latency=KEY[:UNIT] if the latency is "
            "under another key)"
            for fmt in sorted({f for f in formats if f.name == "json"}, key=lambda f: f.name)
        ]
    # these logs are small: every figure is within the exact caps
    doc["exact"] = dict.fromkeys(REF_EXACT_KEYS, True) | ({"timeline": True} if has_time else {})
    doc["error_bounds"] = {}
    doc["notes"] = notes
    return doc


# ----------------------------------------------------------------------------------------------
# The reference itself, pinned on hand-checked answers


def test_reference_combined_nasty_lines() -> None:
    line = (
        '2001:db8::1 - - [28/Nov/2026:18:20:05 +0200] "GET /a\\"b?x=1 HTTP/1.1" 200 - "-" '
        '"evil \\x22quoted\\x22" extra fields'
    )
    row = parse_combined(line)
    assert row == Row("GET", '/a\\"b?x=1', 200, None, "evil \\x22quoted\\x22",
                      ms_of(datetime(2026, 11, 28, 16, 20, 5, tzinfo=timezone.utc)), 0)  # fmt: skip
    garbage = '1.2.3.4 - - [28/Nov/2026:10:50:08 -0530] "\\x16\\x03\\x01" 400 157 "-" "-"'
    assert parse_combined(garbage) == Row(
        "-", "-", 400, None, "", ms_of(datetime(2026, 11, 28, 16, 20, 8, tzinfo=timezone.utc)), 157
    )
    assert parse_line(COMBINED, garbage.replace("28/Nov", "31/Feb")) is None


def test_reference_latencies_and_times() -> None:
    assert latency("0.051", SECONDS) == 51.0
    assert latency("1234", MICROS) == 1.234
    assert upstream_sum("0.010, 0.020 : -") == 30.0
    assert upstream_sum("- : -") is None
    assert clf_time("01/Jan/1970:05:30:00 +0530") == 0
    assert iso_time("1970-01-01T00:00:01.2349Z") == 1234


def test_reference_json_aliases() -> None:
    parse = json_parser(["latency=took:us", "path=route"])
    row = parse('{"route": "/r", "request": {"method": "PUT"}, "statusCode": "503", "took": 1500,'
                ' "ts": 1.5, "ua": "-"}')  # fmt: skip
    assert row == Row("PUT", "/r", 503, 1.5, "", 1500, 0)
    assert parse('{"request": "GET /x?y HTTP/1.0", "status": 200}') == Row(
        "GET", "/x?y", 200, None, "", None, 0
    )
    assert parse('{"path": "/x", "status": 200, "latency_ms": -1}') is None


def test_reference_timeline_buckets() -> None:
    rows = [Row("GET", "/", 200, v, "", t, 0) for v, t in ((1.0, 59_999), (3.0, 180_000))]
    got = timeline(rows, "auto")
    assert got["bucket"] == "1m"
    assert [r["requests"] for r in got["rows"]] == [1, 0, 0, 1]
    assert got["rows"][1]["latency_p50"] is None
    assert timeline(rows, "5m")["rows"] == [
        {"start": "1970-01-01T00:00:00Z", "requests": 2, "status_5xx": 0,
         "latency_p50": 2.0, "latency_p95": 2.9},
    ]  # fmt: skip


def test_reference_filters() -> None:
    row = Row("GET", "/api/x?q=/admin", 404, None, "", 1_000, 0)
    assert Filters(since="1970-01-01T00:00:01").keep(row)
    assert not Filters(until="1970-01-01T00:00:01Z").keep(row)
    assert Filters(status="5xx,404", method="get").keep(row)
    assert not Filters(path_regex="admin").keep(row)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("[GET] /a, status=200, time=5ms user-agent=x\n", "default"),
        ('1.2.3.4 - - [28/Nov/2026:10:50:08 -0530] "GET / HTTP/1.1" 200 1\n', "common"),
        ('1.2.3.4 - - [28/Nov/2026:10:50:08 -0530] "GET / HTTP/1.1" 200 1 "-" "ua"\n', "combined"),
        ('{"path": "/", "status": 200}\n', "json"),
        ("nothing\n", "default"),
    ],
)
def test_reference_detection(text: str, name: str) -> None:
    assert detect(text).name == name
