"""JSON lines (nginx ``escape=json`` formats, application logs) -> the parsed columns.

A line parses when it is a JSON object with a status (an integer, or a string of one, 100-599)
and a path (or a ``request`` line ``METHOD TARGET PROTOCOL``). Keys are looked up in
:data:`ALIASES`, first match wins; a dotted key (``request.method``) reaches into nested objects
(a key that literally contains the dot is tried first). ``--field CANON=KEY[:UNIT]`` puts KEY in
front of the aliases of CANON.

Numbers are read as their decimal text (``parse_float=str``), so ``"request_time": 0.051`` is
51 ms exactly, as in the text formats. A numeric time is epoch seconds unless a unit says
otherwise; a string time is ISO 8601 (with a zone) or nginx's ``time_local``.

This is the one per-line Python path of ingest (``json.loads`` per line, about 1 µs per short
line); JSON logs are rarely the bulk of a site's logs.

>>> import pyarrow as pa
>>> line = '{"method": "GET", "path": "/a", "status": 200, "request_time": 0.05}'
>>> rows = parse_json(pa.array([line]), ())
>>> rows.method.to_pylist(), rows.latency_ms.tolist(), rows.ok.tolist()
(['GET'], [50.0], [True])
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.convert import (
    MAX_BYTES,
    MAX_LATENCY_MS,
    MAX_TIME_MS,
    MIN_TIME_MS,
    BoolArray,
    FloatArray,
    IntArray,
    clf_time_ms,
    iso_time_ms,
    split_request,
)

#: Power of ten that turns a value in UNIT into milliseconds.
UNITS: Final[dict[str, int]] = {"s": 3, "ms": 0, "us": -3, "ns": -6}

#: Canonical fields that ``--field`` may set.
CANONICAL: Final[tuple[str, ...]] = ("method", "path", "status", "latency", "user_agent", "time")

#: Keys tried for each field, in order, with the unit of a latency or numeric time.
ALIASES: Final[dict[str, tuple[tuple[str, str | None], ...]]] = {
    "method": tuple(
        (key, None)
        for key in ("request_method", "method", "http_method", "request.method", "http.method")
    ),
    "path": tuple(
        (key, None)
        for key in (
            "request_uri",
            "uri",
            "path",
            "url",
            "request_path",
            "request.uri",
            "request.path",
            "request.url",
            "url.path",
        )
    ),
    "request": (("request", None),),
    "status": tuple(
        (key, None)
        for key in (
            "status",
            "status_code",
            "statusCode",
            "response_status",
            "http_status",
            "response.status",
            "response.status_code",
        )
    ),
    "latency": (
        ("request_time", "s"),
        ("duration_ms", "ms"),
        ("latency_ms", "ms"),
        ("response_time_ms", "ms"),
        ("elapsed_ms", "ms"),
        ("duration_us", "us"),
        ("latency_us", "us"),
        ("duration_ns", "ns"),
        ("upstream_response_time", "s"),
        ("response.duration_ms", "ms"),
    ),
    "user_agent": tuple(
        (key, None)
        for key in ("http_user_agent", "user_agent", "userAgent", "ua", "request.user_agent")
    ),
    "time": (
        ("time_iso8601", None),
        ("time_local", None),
        ("msec", "s"),
        ("ts", "s"),
        ("timestamp", "s"),
        ("time", "s"),
        ("@timestamp", "s"),
    ),
    "bytes": (("body_bytes_sent", None), ("bytes_sent", None), ("bytes", None)),
}


@dataclass(frozen=True)
class JsonRows:
    """Columns of the JSON lines given, one entry per line; ``ok`` is False for malformed."""

    ok: BoolArray
    method: pa.Array
    path: pa.Array
    status: np.ndarray[Any, np.dtype[np.int16]]
    latency_ms: FloatArray
    user_agent: pa.Array
    time_ms: IntArray
    has_time: BoolArray
    bytes: IntArray


def parse_json(lines: pa.Array, overrides: tuple[tuple[str, str, str | None], ...]) -> JsonRows:
    """Parse JSON lines; ``overrides`` are ``--field`` entries ``(canonical, key, unit)``."""
    aliases = _aliases(overrides)
    count = len(lines)
    ok = np.zeros(count, dtype=bool)
    methods = ["-"] * count
    paths = ["-"] * count
    requests: list[str | None] = [None] * count
    status = np.zeros(count, dtype=np.int16)
    latency = np.full(count, np.nan, dtype=np.float64)
    agents = [""] * count
    time_text: list[str | None] = [None] * count
    time_ms = np.zeros(count, dtype=np.int64)
    has_time = np.zeros(count, dtype=bool)
    byte_counts = np.zeros(count, dtype=np.int64)
    # only a line starting with "{" can decode to an object (lines are trimmed): the others,
    # every line when a log in another format is judged as JSON, skip json.loads
    objects = np.asarray(
        pc.starts_with(lines, pattern="{").to_numpy(zero_copy_only=False), dtype=bool
    )
    candidates = lines.filter(pa.array(objects)).to_pylist()
    for index, line in zip(np.flatnonzero(objects).tolist(), candidates, strict=True):
        try:
            record = json.loads(line, parse_float=str)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's limit
            continue
        if not isinstance(record, dict):
            continue
        code = _status(_lookup(record, aliases["status"]))
        path = _lookup(record, aliases["path"], str)
        request = _lookup(record, aliases["request"], str)
        if code is None or not (isinstance(path, str) or isinstance(request, str)):
            continue
        found_latency = _lookup_unit(record, aliases["latency"])
        if found_latency is not None:
            value = _latency(*found_latency)
            if value is None:
                continue
            latency[index] = value
        found_time = _lookup_unit(record, aliases["time"])
        if found_time is not None:
            raw, unit = found_time
            if isinstance(raw, str) and not _is_number(raw):
                time_text[index] = raw
            else:
                epoch = _scaled(raw, UNITS[unit or "s"])
                if epoch is None or not MIN_TIME_MS <= epoch < MAX_TIME_MS + 1:
                    continue
                time_ms[index] = int(np.floor(epoch))
                has_time[index] = True
        size = _size(_lookup(record, aliases["bytes"]))
        if size is None:
            continue
        method = _lookup(record, aliases["method"], str)
        if isinstance(path, str):
            paths[index] = path
        else:
            requests[index] = str(request)
        methods[index] = method if isinstance(method, str) and method else "-"
        agent = _lookup(record, aliases["user_agent"], str)
        agents[index] = agent if isinstance(agent, str) and agent != "-" else ""
        byte_counts[index] = size
        status[index] = code
        ok[index] = True
        if "\\ud" in line or "\\uD" in line:  # a \uDxxx escape: maybe a lone surrogate
            for column in (methods, paths, agents):
                column[index] = _text(column[index])
            for optional in (requests, time_text):
                text = optional[index]
                optional[index] = None if text is None else _text(text)
    method_array, path_array = pa.array(methods), pa.array(paths)
    with_request = [i for i, request in enumerate(requests) if request is not None]
    if with_request:
        split_method, split_target = split_request(pa.array([requests[i] for i in with_request]))
        method_list, path_list = method_array.to_pylist(), path_array.to_pylist()
        for position, index in enumerate(with_request):
            if method_list[index] == "-":
                method_list[index] = split_method[position].as_py()
            path_list[index] = split_target[position].as_py()
        method_array, path_array = pa.array(method_list), pa.array(path_list)
    _resolve_text_times(time_text, time_ms, has_time, ok)
    return JsonRows(
        ok=ok,
        method=method_array,
        path=path_array,
        status=status,
        latency_ms=latency,
        user_agent=pa.array(agents),
        time_ms=time_ms,
        has_time=has_time,
        bytes=byte_counts,
    )


def _aliases(
    overrides: tuple[tuple[str, str, str | None], ...],
) -> dict[str, tuple[tuple[str, str | None], ...]]:
    table = dict(ALIASES)
    for canonical, key, unit in overrides:
        default_unit = {"latency": "ms", "time": "s"}.get(canonical)
        table[canonical] = ((key, unit or default_unit), *table[canonical])
    return table


def _lookup(
    record: dict[str, Any], keys: tuple[tuple[str, str | None], ...], kind: type | None = None
) -> Any:
    found = _lookup_unit(record, keys, kind)
    return None if found is None else found[0]


def _lookup_unit(
    record: dict[str, Any], keys: tuple[tuple[str, str | None], ...], kind: type | None = None
) -> tuple[Any, str | None] | None:
    """The first present, non-null value among ``keys`` (of type ``kind`` when given: an ECS
    ``"url": {...}`` object is skipped for the path, so ``url.path`` is reached), with the unit
    of that key."""
    for key, unit in keys:
        value = record.get(key)
        if value is None and "." in key:
            value = record
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        if value is not None and (kind is None or isinstance(value, kind)):
            return value, unit
    return None


def _status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) == 3 and value.isdigit() and value.isascii():
        value = int(value)
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    return None


def _size(value: Any) -> int | None:
    """A response size in bytes: 0 when absent or ``-``; None (malformed) unless it is an integer
    (or a string of digits, as ``"$body_bytes_sent"`` writes it) from 0 to :data:`MAX_BYTES`.

    >>> _size(None), _size("-"), _size("0042"), _size(7), _size(-5), _size(2**64), _size("5.0")
    (0, 0, 42, 7, None, None, None)
    """
    if value is None or value == "-":
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        digits = value.lstrip("0")
        value = int(digits) if len(digits) <= 16 else MAX_BYTES + 1  # no int() of 4,000 digits
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BYTES:
        return None
    return value


#: A UTF-16 surrogate: only a lone one survives ``json.loads`` (a pair becomes one character).
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _text(value: str) -> str:
    """``value`` with each lone surrogate (``"\\ud800"`` in the JSON) replaced by U+FFFD, as
    bytes that are not UTF-8 are: Arrow strings are UTF-8 and cannot hold one."""
    return value if value.isascii() else _SURROGATE.sub("\ufffd", value)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _scaled(raw: Any, exponent: int) -> float | None:
    """``raw`` (int, decimal text) times ``10**exponent``, exactly rounded; None if invalid."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    try:
        sign, digits, exp = Decimal(raw).as_tuple()
    except InvalidOperation:
        return None
    if not isinstance(exp, int):
        return None
    return float(Decimal((sign, digits, exp + exponent)))


def _latency(raw: Any, unit: str | None) -> float | None:
    """A latency value in ms; NaN for ``-``; None (malformed) when invalid or out of range."""
    if raw == "-":
        return float("nan")
    value = _scaled(raw, UNITS[unit or "ms"])
    if value is None or not 0 <= value <= MAX_LATENCY_MS:
        return None
    return value


def _resolve_text_times(
    texts: list[str | None], time_ms: IntArray, has_time: BoolArray, ok: BoolArray
) -> None:
    """Parse the string times (ISO 8601, else nginx ``time_local``); a bad one is malformed."""
    indices = [i for i, text in enumerate(texts) if text is not None and ok[i]]
    if not indices:
        return
    strings = pa.array([texts[i] for i in indices])
    iso, iso_ok = iso_time_ms(strings)
    clf, clf_ok = clf_time_ms(strings)
    picked = np.where(iso_ok, iso, clf)
    good = iso_ok | clf_ok
    where = np.array(indices)
    time_ms[where] = picked
    has_time[where] = good
    ok[where[~good]] = False
