"""JSON lines (nginx ``escape=json`` formats, application logs) -> the parsed columns.

A line parses when it is a JSON object with a status (an integer, or a string of one, 100-599)
and a path (or a ``request`` line ``METHOD TARGET PROTOCOL``). Keys are looked up in
:data:`ALIASES`, first match wins; a dotted key (``request.method``) reaches into nested objects
(a key that literally contains the dot is tried first); an array takes its first element.
``--field CANON=KEY[:UNIT]`` puts KEY in front of the aliases of CANON. Named JSON presets
(``gcp``, ``caddy``, ``traefik-json``) bring their own key table instead of the aliases; the
rules shared with logfmt live in :mod:`pipeline.ingest.parsing.records`.

Numbers are read as their decimal text (``parse_float=str``), so ``"request_time": 0.051`` is
51 ms exactly, as in the text formats. A numeric time is epoch seconds unless a unit says
otherwise; a string time is ISO 8601 (with a zone) or nginx's ``time_local``. A latency
string with a unit (``"0.005s"``) is read in its own unit.

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
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.records import (
    UNITS,
    JsonRows,
    KeyTable,
    Overrides,
    key_table,
    option,
    rows_from_records,
)

__all__ = ["ALIASES", "CANONICAL", "UNITS", "JsonRows", "parse_json"]

#: Canonical fields that ``--field`` may set.
CANONICAL: Final[tuple[str, ...]] = (
    "method",
    "path",
    "status",
    "latency",
    "user_agent",
    "time",
    "bytes",
    "host",
    "client",
    "referer",
)

#: Keys tried for each field, in order, with the unit of a latency or numeric time.
ALIASES: Final[KeyTable] = {
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
    "host": tuple(
        (key, None)
        for key in ("host", "http_host", "server_name", "vhost", "request.host", "RequestHost")
    ),
    # the client address: nginx's and Caddy's names, Traefik's ClientHost; a port written
    # with it ("ip:port", "[v6]:port") is dropped (pipeline.ingest.parsing.addresses)
    "client": tuple(
        (key, None)
        for key in (
            "remote_addr",
            "client_ip",
            "clientip",
            "remote_ip",
            "ip",
            "request.client_ip",
            "request.remote_ip",
            "request.remote_addr",
            "ClientHost",
        )
    ),
    "referer": tuple(
        (key, None)
        for key in (
            "http_referer",
            "referer",
            "referrer",
            "http_referrer",
            "request.headers.Referer",
            "request_Referer",
        )
    ),
}


def parse_json(
    lines: pa.Array, overrides: Overrides, options: tuple[tuple[str, str], ...] = ()
) -> JsonRows:
    """Parse JSON lines; ``overrides`` are ``--field`` entries ``(canonical, key, unit)``,
    ``options`` the preset row's settings (its key table, a ``prefix`` pattern before the
    object, a ``require``d key: :mod:`pipeline.ingest.parsing.records`)."""
    table = key_table(options, ALIASES, overrides)
    prefix = option(options, "prefix")
    if prefix is not None:  # e.g. docker compose's "caddy  | " before each line
        lines = pc.replace_substring_regex(lines, pattern=prefix, replacement="")
    # only a line starting with "{" can decode to an object (lines are trimmed): the others,
    # every line when a log in another format is judged as JSON, skip json.loads
    objects = np.asarray(
        pc.starts_with(lines, pattern="{").to_numpy(zero_copy_only=False), dtype=bool
    )
    candidates = lines.filter(pa.array(objects)).to_pylist()
    records = []
    for index, line in zip(np.flatnonzero(objects).tolist(), candidates, strict=True):
        try:
            record = json.loads(line, parse_float=str)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's limit
            continue
        if isinstance(record, dict):
            records.append((index, record))
    probes = tuple(key for _, key, _ in overrides)
    return rows_from_records(records, len(lines), table, option(options, "require"), probes)
