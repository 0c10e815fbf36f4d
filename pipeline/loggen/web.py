"""Access-log lines for ``generate-logs``: ``common``, ``combined``, ``nginx-timed``, ``json``.

What a chunk looks like, per format (one line each, wrapped here)::

    common       203.0.113.7 - - [27/Nov/2026:14:03:11 +0000] "GET /cart HTTP/1.1" 200 5120
    combined     common + ' "https://www.google.com/" "Mozilla/5.0 (...) Chrome/126.0.0.0 ..."'
    nginx-timed  combined + ' rt=0.051'          ($request_time: seconds, ms resolution)
    json         {"time_iso8601":"2026-11-27T14:03:11+00:00","remote_addr":"203.0.113.7",...}

Realism, all drawn from the caller's seeded generator: a client pool (15 % IPv6) with Zipf-like
popularity, occasional authenticated users, referers, full browser/bot/tool user agents (empty
ones written ``-``, one with a ``"`` that nginx escapes as ``\\x22``), a percent-encoded and a raw
UTF-8 path (escaped ``\\xC3\\xA9`` in the text formats as nginx does), ``$body_bytes_sent`` with a
``-`` for some empty bodies (Apache's ``%b`` habit), and, in the text formats, the request lines
real servers log with status 400: ``"-"`` (a connection closed before a request) and a TLS
handshake sent to a plain-text port. Times follow a daily cycle (busiest at 15:00 UTC) over the
period, with a few seconds of jitter so lines are roughly but not strictly in time order, and one
incident (a burst of 5xx and slow requests) at :data:`INCIDENT_AT` of the period, so a timeline
has something to show.

Everything is vectorised with numpy draws and Arrow string kernels (``take`` from small pools,
``binary_join_element_wise``); no Python code runs per line, so 5 million lines take seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.loggen.mix import (
    AGENTS,
    METHODS,
    PATHS,
    REFERERS,
    STATUSES,
    IntArray,
    pick,
    pick_zipf,
)
from pipeline.loggen.real import RealFields, RealPlan, real_fields, seconds_text
from pipeline.loggen.traffic import (
    INCIDENT_5XX_SHARE,
    INCIDENT_SLOWDOWN,
    client_pool,
    daily_cycle,
    in_incident,
    int_text,
    newline_joined,
    offsets,
    times,
)

WebFormat = Literal["common", "combined", "nginx-timed", "json"]

#: The nginx ``log_format`` of ``nginx-timed`` (pass it to ``ingest --log-format``).
NGINX_TIMED_FORMAT: Final[str] = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" rt=$request_time'
)

#: Query strings ``?id=1`` .. ``?id=QUERY_IDS - 1`` (pooled per path). Legal range: >= 2.
QUERY_IDS: Final[int] = 500
#: Share of lines whose request line is not a request (``"-"`` or a TLS handshake, status 400),
#: in the text formats. Legal range: [0, 1].
ODD_REQUEST_RATE: Final[float] = 0.002

_PROTOCOLS: Final = (("HTTP/1.1", 0.7), ("HTTP/2.0", 0.25), ("HTTP/1.0", 0.05))
#: Extra paths of web logs (after the shared ones, so they are in the Zipf tail): a
#: percent-encoded query, raw UTF-8, and the probes every public server receives.
_EXTRA_PATHS: Final = ("/search?q=caf%C3%A9", "/wiki/Café", "/wp-login.php", "/.env")
_USERS: Final = (("-", 0.99), ("alice", 0.004), ("deploy", 0.004), ("monitor", 0.002))
#: What nginx logs when the request line is not a request: nothing was sent before the
#: connection closed, or a TLS ClientHello reached a plain-text port (bytes escaped as \\xHH).
_ODD_REQUESTS: Final = ("-", r"\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03\x8A\x1F")

#: Malformed lines of the text formats: each breaks the format once (a truncated line, an
#: error-log line in the access log, a time without offset, a date that does not exist, a
#: status out of range, an unquoted request line, no structure at all).
_MALFORMED_TEXT: Final = (
    '198.51.100.4 - - [27/Nov/2026:10:00:00 +0000] "GET /truncated HTTP/1.1" 200',
    "2026/11/27 10:00:00 [error] 812#812: *4411 open() "
    '"/var/www/html/favicon.ico" failed (2: No such file or directory)',
    '198.51.100.4 - - [27/Nov/2026:10:00:00] "GET /no-offset HTTP/1.1" 200 512 "-" "curl/8.5.0"',
    '198.51.100.4 - - [31/Feb/2026:10:00:00 +0000] "GET /feb-31 HTTP/1.1" 200 512 "-" "-"',
    '198.51.100.4 - - [27/Nov/2026:10:00:00 +0000] "GET /status HTTP/1.1" 999 512 "-" "-"',
    "198.51.100.4 - - [27/Nov/2026:10:00:00 +0000] GET /unquoted HTTP/1.1 200 512",
    "garbage line without structure",
)
#: Malformed JSON lines: truncated, not JSON, not an object, no status, no path, bad status,
#: an unreadable time.
_MALFORMED_JSON: Final = (
    '{"time_iso8601":"2026-11-27T10:00:00+00:00","request_uri":"/truncated","sta',
    "not json at all",
    '["an", "array"]',
    '{"request_method":"GET","request_uri":"/no-status"}',
    '{"request_method":"GET","status":200}',
    '{"request_method":"GET","request_uri":"/bad-status","status":700}',
    '{"request_uri":"/bad-time","status":200,"time_iso8601":"yesterday"}',
)


_HEAD: Final[int] = [name for name, _ in METHODS].index("HEAD")
_EMPTY_REFERER: Final[int] = [text for text, _ in REFERERS].index("")
_EMPTY_AGENT: Final[int] = [text for text, _ in AGENTS].index("")
#: Pieces of a request line; the last (empty) entry is used for the odd request lines.
_METHOD_PIECES: Final = pa.array([f"{name} " for name, _ in METHODS] + [""])
_PROTOCOL_PIECES: Final = pa.array([f" {name}" for name, _ in _PROTOCOLS] + [""])


@dataclass(frozen=True)
class WebPlan:
    """Everything a chunk needs besides the generator: the format, the period and the pools.

    ``grid``/``cdf`` map a position in ``[0, 1]`` (a line's rank in the whole output) to seconds
    after ``start_s`` following the daily cycle; the pools are already escaped for the format.
    ``targets`` holds every path with each of its :data:`QUERY_IDS` query strings (``?id=N``,
    N = 0 meaning none), then the odd request lines, so a request target is one ``take``.
    """

    fmt: WebFormat
    start_s: int
    period_s: int
    total: int
    grid: np.ndarray[Any, np.dtype[np.float64]]
    cdf: np.ndarray[Any, np.dtype[np.float64]]
    clients: pa.Array
    targets: pa.Array
    path_has_query: np.ndarray[Any, np.dtype[np.bool_]]
    referers: pa.Array
    agents: pa.Array


def web_plan(
    rng: np.random.Generator, fmt: WebFormat, start_s: int, period_s: int, total: int
) -> WebPlan:
    """The pools and the time map of one ``generate_logs`` call (draws the client pool)."""
    escape = _json_escape if fmt == "json" else _nginx_escape
    empty = "" if fmt == "json" else "-"
    paths = (*PATHS, *_EXTRA_PATHS)
    grid, cdf = daily_cycle(rng, start_s, period_s)
    return WebPlan(
        fmt=fmt,
        start_s=start_s,
        period_s=period_s,
        total=max(total, 1),
        grid=grid,
        cdf=cdf,
        clients=pa.array(client_pool(rng)),
        targets=_target_pool([escape(path) for path in paths]),
        path_has_query=np.array(["?" in path for path in paths]),
        referers=pa.array([escape(text) or empty for text, _ in REFERERS]),
        agents=pa.array([escape(text) or empty for text, _ in AGENTS]),
    )


def web_chunk(
    rng: np.random.Generator,
    plan: WebPlan,
    first: int,
    size: int,
    malformed_rate: float,
    real: RealPlan | None = None,
) -> tuple[pa.Buffer, int]:
    """The bytes of lines ``first .. first + size - 1`` of the output, and how many are malformed.

    Random draws happen in a fixed order, so a seed gives the same bytes. With ``real`` (the
    ``realistic`` cardinality), targets, agents and latencies come from
    :func:`~pipeline.loggen.real.real_fields`, drawn after everything else.
    """
    draws = _draw(rng, plan, first, size)
    bad = rng.random(size) < malformed_rate if malformed_rate > 0 else np.zeros(size, bool)
    templates = pa.array(_MALFORMED_JSON if plan.fmt == "json" else _MALFORMED_TEXT)
    bad_kind = rng.integers(0, len(templates), size=size)
    fields = _realistic(rng, plan, real, draws) if real is not None else _pooled(plan, draws)
    lines = (
        _json_lines(plan, draws, fields) if plan.fmt == "json" else _text_lines(plan, draws, fields)
    )
    lines = pc.if_else(pa.array(bad), templates.take(pa.array(bad_kind)), lines)
    return newline_joined(lines), int(bad.sum())


@dataclass(frozen=True)
class _Draws:
    """The random fields of a chunk (indices into tables and pools, or values)."""

    methods: IntArray  # len(METHODS): none (an odd request line)
    statuses: IntArray
    targets: IntArray
    latency_ms: IntArray
    latency: np.ndarray[Any, np.dtype[np.float64]]  # unrounded ms, 0 for odd request lines
    protocols: IntArray
    users: IntArray
    clients: IntArray
    referers: IntArray
    agents: IntArray
    body: IntArray
    dash_size: np.ndarray[Any, np.dtype[np.bool_]]
    epoch_s: IntArray


def _draw(rng: np.random.Generator, plan: WebPlan, first: int, size: int) -> _Draws:
    """Every random field of lines ``first ..`` (odd request lines: 400, no body, ``-`` agent)."""
    methods = pick(rng, METHODS, size)
    statuses = np.array([code for code, _ in STATUSES])[pick(rng, STATUSES, size)]
    paths = pick_zipf(rng, len(plan.path_has_query), size)
    query = (rng.random(size) < 0.25) & ~plan.path_has_query[paths]
    query_ids = rng.integers(1, QUERY_IDS, size=size)
    latency = rng.lognormal(mean=np.log(45.0), sigma=0.9, size=size)
    protocols = pick(rng, _PROTOCOLS, size)
    users = pick(rng, _USERS, size)
    clients = pick_zipf(rng, len(plan.clients), size, exponent=0.8)
    referers = pick(rng, REFERERS, size)
    agents = pick(rng, AGENTS, size)
    body = np.round(rng.lognormal(mean=np.log(3000.0), sigma=1.2, size=size)).astype(np.int64)
    dash_size = rng.random(size) < 0.5
    odd = rng.random(size) < (ODD_REQUEST_RATE if plan.fmt != "json" else 0.0)
    odd_kind = rng.integers(0, len(_ODD_REQUESTS), size=size)
    offset_s = offsets(rng, (plan.grid, plan.cdf), plan.total, plan.period_s, first, size)
    incident = in_incident(offset_s, plan.period_s)
    failing = incident & (rng.random(size) < INCIDENT_5XX_SHARE)
    statuses = np.where(failing, rng.choice([502, 503, 504], size=size), statuses)
    latency *= np.where(statuses >= 500, 4.0, 1.0) * np.where(incident, INCIDENT_SLOWDOWN, 1.0)
    statuses = np.where(odd, 400, statuses)
    empty = np.isin(statuses, (101, 204, 304)) | (methods == _HEAD)
    body = np.where(odd, np.where(odd_kind == 0, 0, 157), np.where(empty, 0, body))
    odd_target = len(plan.path_has_query) * QUERY_IDS + odd_kind
    return _Draws(
        methods=np.where(odd, len(METHODS), methods),
        statuses=statuses,
        targets=np.where(odd, odd_target, paths * QUERY_IDS + np.where(query, query_ids, 0)),
        latency_ms=np.where(odd, 0, np.round(latency)).astype(np.int64),
        latency=np.where(odd, 0.0, latency),
        protocols=np.where(odd, len(_PROTOCOLS), protocols),
        users=users,
        clients=clients,
        referers=np.where(odd, _EMPTY_REFERER, referers),
        agents=np.where(odd, _EMPTY_AGENT, agents),
        body=body,
        dash_size=dash_size,
        epoch_s=plan.start_s + np.floor(offset_s).astype(np.int64),
    )


def _target_pool(paths: list[str]) -> pa.Array:
    """Each path without a query and with ``?id=1`` .. ``?id=QUERY_IDS - 1``; the odd requests."""
    repeated = pa.array(paths).take(pa.array(np.repeat(np.arange(len(paths)), QUERY_IDS)))
    ids = np.tile(np.arange(QUERY_IDS), len(paths))
    queried = pc.binary_join_element_wise(repeated, "?id=", int_text(ids), "")
    pool = pc.if_else(pa.array(ids > 0), queried, repeated)
    return pa.concat_arrays([pool, pa.array(_ODD_REQUESTS)])


@dataclass(frozen=True)
class _Fields:
    """The formatted per-line fields that depend on the cardinality (already escaped)."""

    targets: pa.Array
    agents: pa.Array
    seconds: pa.Array  # $request_time


def _pooled(plan: WebPlan, draws: _Draws) -> _Fields:
    """``low`` cardinality: targets and agents from the plan's pools, whole milliseconds."""
    return _Fields(
        targets=plan.targets.take(pa.array(draws.targets)),
        agents=plan.agents.take(pa.array(draws.agents)),
        seconds=_seconds(draws.latency_ms),
    )


def _realistic(rng: np.random.Generator, plan: WebPlan, real: RealPlan, draws: _Draws) -> _Fields:
    """``realistic`` cardinality; odd request lines keep their pooled target, agent and 0 s."""
    fields: RealFields = real_fields(rng, real, draws.latency)
    odd = pa.array(draws.methods == len(METHODS))
    empty = "" if plan.fmt == "json" else "-"
    agents = pc.if_else(pc.equal(fields.agents, ""), empty, fields.agents)
    latency_us = np.where(draws.methods == len(METHODS), 0, fields.latency_us)
    return _Fields(
        targets=pc.if_else(odd, plan.targets.take(pa.array(draws.targets)), fields.targets),
        agents=pc.if_else(odd, plan.agents.take(pa.array(draws.agents)), agents),
        seconds=seconds_text(latency_us),
    )


def _text_lines(plan: WebPlan, draws: _Draws, fields: _Fields) -> pa.Array:
    """``common``, ``combined`` or ``nginx-timed`` lines (without the newline)."""
    size = pc.if_else(pa.array((draws.body == 0) & draws.dash_size), "-", int_text(draws.body))
    pieces: list[pa.Array | str] = [
        plan.clients.take(pa.array(draws.clients)),
        " - ",
        _names(_USERS).take(pa.array(draws.users)),
        " [",
        times(draws.epoch_s, "%d/%b/%Y:%H:%M:%S +0000"),
        '] "',
        _METHOD_PIECES.take(pa.array(draws.methods)),
        fields.targets,
        _PROTOCOL_PIECES.take(pa.array(draws.protocols)),
        '" ',
        int_text(draws.statuses),
        " ",
        size,
    ]
    if plan.fmt != "common":
        pieces += [' "', plan.referers.take(pa.array(draws.referers)), '" "']
        pieces += [fields.agents, '"']
    if plan.fmt == "nginx-timed":
        pieces += [" rt=", fields.seconds]
    return pc.binary_join_element_wise(*pieces, "")


def _json_lines(plan: WebPlan, draws: _Draws, fields: _Fields) -> pa.Array:
    """Lines of the nginx ``escape=json`` format described in docs/formats.md."""
    pieces: list[pa.Array | str] = [
        '{"time_iso8601":"',
        times(draws.epoch_s, "%Y-%m-%dT%H:%M:%S+00:00"),
        '","remote_addr":"',
        plan.clients.take(pa.array(draws.clients)),
        '","remote_user":"',
        _names(_USERS).take(pa.array(draws.users)),
        '","request_method":"',
        _names(METHODS).take(pa.array(draws.methods)),
        '","request_uri":"',
        fields.targets,
        '","server_protocol":"',
        _names(_PROTOCOLS).take(pa.array(draws.protocols)),
        '","status":',
        int_text(draws.statuses),
        ',"body_bytes_sent":',
        int_text(draws.body),
        ',"request_time":',
        fields.seconds,
        ',"http_referer":"',
        plan.referers.take(pa.array(draws.referers)),
        '","http_user_agent":"',
        fields.agents,
        '"}',
    ]
    return pc.binary_join_element_wise(*pieces, "")


def _nginx_escape(text: str) -> str:
    """As nginx writes a variable in a text log: ``"``, ``\\`` and non-ASCII bytes as \\xHH."""
    return "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C) else f"\\x{byte:02X}"
        for byte in text.encode("utf-8")
    )


def _json_escape(text: str) -> str:
    """As nginx ``escape=json`` writes a variable: JSON string escapes, UTF-8 kept."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _names(table: tuple[tuple[str, float], ...]) -> pa.Array:
    return pa.array([name for name, _ in table])


def _seconds(milliseconds: IntArray) -> pa.Array:
    """``51`` ms -> ``"0.051"`` ($request_time: seconds with exactly three decimals)."""
    whole = int_text(milliseconds // 1000)
    fraction = pc.utf8_lpad(int_text(milliseconds % 1000), width=3, padding="0")
    return pc.binary_join_element_wise(whole, fraction, ".")
