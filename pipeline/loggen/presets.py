"""The drawn fields of the cloud, proxy and IIS presets of ``generate-logs`` (issue 23).

Every preset (:data:`pipeline.loggen.PRESETS`) writes the same kind of traffic as the web formats:
methods, statuses and Zipf-popular paths from :mod:`pipeline.loggen.mix`, log-normal latencies
(slower for 5xx and during the incident), response sizes, user agents, referers, a client pool and
the daily cycle of :mod:`pipeline.loggen.traffic`; where the format has one, a virtual host from
:data:`HOSTS`. :func:`preset_draws` draws them once per chunk, *unformatted* (indices and integers:
latency in microseconds, time in epoch microseconds), and each writer
(:mod:`pipeline.loggen.cloud`, :mod:`pipeline.loggen.proxies`, :mod:`pipeline.loggen.keyed`) turns
them into its format's text with Arrow string kernels. Tests draw the same fields and compare them
with what a plain reference reads back from the lines.

Some requests have no response, where the format can say so (a small share,
:data:`pipeline.loggen.NO_RESPONSE_RATE`, 0 turns it off): CloudFront writes status ``000``, Squid
``NONE/000``, Envoy ``0`` (drawn status 0); ALB and Classic ELB write ``-1`` for the three timers
with a 502 or 504 and no target (drawn latency -1); HAProxy writes ``<NOSRV>`` with ``-1`` for
Tw/Tc/Tr and a 503 (its ``Ta`` is still the drawn latency).

User agents are the web formats' pool without the one holding a ``"`` (quoting rules of these
formats differ and none is needed to exercise them), paths the shared ones plus two probes, all
ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

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
from pipeline.loggen.traffic import (
    INCIDENT_5XX_SHARE,
    INCIDENT_SLOWDOWN,
    FloatArray,
    client_pool,
    daily_cycle,
    in_incident,
    int_text,
    offsets,
    times,
)

#: Presets whose requests without a response have no status (drawn status 0).
NO_STATUS: Final[frozenset[str]] = frozenset({"cloudfront", "squid", "envoy"})
#: Presets whose requests without a response have no latency (timers ``-1``, status 502/504).
NO_TIMERS: Final[frozenset[str]] = frozenset({"alb", "elb"})
#: Request ids (UUIDs, and the hex of trace ids) in the pool. Legal range: >= 1.
REQUEST_IDS: Final[int] = 4096

#: Virtual hosts (``Host`` header, ``%v``, ALB ``domain_name`` ...), Zipf-weighted by order.
HOSTS: Final = ("www.example.com", "api.example.com", "example.com", "static.example.com")
#: Paths of the presets (the shared ones, then probes every public server receives).
PRESET_PATHS: Final = (*PATHS, "/wp-login.php", "/.env")
#: User agents of the presets: the web pool without the agent holding a ``"``.
PRESET_AGENTS: Final = tuple((text, weight) for text, weight in AGENTS if '"' not in text)
PROTOCOLS: Final = (("HTTP/1.1", 0.7), ("HTTP/2.0", 0.3))
#: Backends behind the proxies (one per virtual host; ingress-nginx retries on the next).
UPSTREAMS: Final = tuple(f"10.0.0.{11 + index}:80" for index in range(len(HOSTS)))
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
_HEAD: Final[int] = [name for name, _ in METHODS].index("HEAD")


@dataclass(frozen=True)
class PresetPlan:
    """The format, the period, the time map and the pools of one ``generate_logs`` call."""

    fmt: str
    start_s: int
    period_s: int
    total: int
    cycle: tuple[FloatArray, FloatArray]
    clients: pa.Array
    ids: pa.Array  # REQUEST_IDS UUIDs
    no_response_rate: float


def preset_plan(
    rng: np.random.Generator,
    fmt: str,
    start_s: int,
    period_s: int,
    total: int,
    no_response_rate: float,
) -> PresetPlan:
    """Draw the pools (clients, request ids) and the daily cycle of one output."""
    cycle = daily_cycle(rng, start_s, period_s)
    clients = pa.array(client_pool(rng))
    raw = rng.integers(0, 256, size=(REQUEST_IDS, 16), dtype=np.uint8)
    ids = [bytes(row).hex() for row in raw]
    uuids = [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}" for h in ids]
    return PresetPlan(
        fmt=fmt,
        start_s=start_s,
        period_s=period_s,
        total=max(total, 1),
        cycle=cycle,
        clients=clients,
        ids=pa.array(uuids),
        no_response_rate=no_response_rate,
    )


@dataclass(frozen=True)
class PresetDraws:
    """The drawn fields of a chunk, one entry per line, before any formatting."""

    methods: IntArray  # index into METHODS
    paths: IntArray  # index into PRESET_PATHS
    query_ids: IntArray  # 0: no query, else ``id=N``
    statuses: IntArray  # 0: no status (NO_STATUS presets)
    latency_us: IntArray  # -1: no latency (NO_TIMERS presets)
    body: IntArray  # bytes sent
    agents: IntArray  # index into PRESET_AGENTS ("" = none)
    referers: IntArray  # index into REFERERS ("" = none)
    clients: IntArray  # index into the plan's clients
    ports: IntArray  # client ports
    hosts: IntArray  # index into HOSTS
    protocols: IntArray  # index into PROTOCOLS
    tls: np.ndarray[Any, np.dtype[np.bool_]]
    no_response: np.ndarray[Any, np.dtype[np.bool_]]
    split: FloatArray  # in [0, 1): how a latency splits into a format's timers
    ids: IntArray  # index into the plan's request ids
    epoch_us: IntArray  # time of the line, UTC microseconds
    numbers: IntArray  # the line's rank in the output, from 0


def preset_draws(rng: np.random.Generator, plan: PresetPlan, first: int, size: int) -> PresetDraws:
    """Every random field of lines ``first .. first + size - 1`` (a fixed order of draws)."""
    methods = pick(rng, METHODS, size)
    statuses = np.array([code for code, _ in STATUSES])[pick(rng, STATUSES, size)]
    paths = pick_zipf(rng, len(PRESET_PATHS), size)
    query = rng.random(size) < 0.25
    query_ids = np.where(query, rng.integers(1, 500, size=size), 0)
    latency = rng.lognormal(mean=np.log(45.0), sigma=0.9, size=size)
    body = np.round(rng.lognormal(mean=np.log(3000.0), sigma=1.2, size=size)).astype(np.int64)
    agents = pick(rng, PRESET_AGENTS, size)
    referers = pick(rng, REFERERS, size)
    clients = pick_zipf(rng, len(plan.clients), size, exponent=0.8)
    ports = rng.integers(1024, 65536, size=size)
    hosts = pick_zipf(rng, len(HOSTS), size)
    protocols = pick(rng, PROTOCOLS, size)
    tls = rng.random(size) < 0.85
    split = rng.random(size)
    ids = rng.integers(0, REQUEST_IDS, size=size)
    offset_s = offsets(rng, plan.cycle, plan.total, plan.period_s, first, size)
    incident = in_incident(offset_s, plan.period_s)
    failing = incident & (rng.random(size) < INCIDENT_5XX_SHARE)
    statuses = np.where(failing, rng.choice([502, 503, 504], size=size), statuses)
    latency *= np.where(statuses >= 500, 4.0, 1.0) * np.where(incident, INCIDENT_SLOWDOWN, 1.0)
    latency_us = np.round(latency * 1000).astype(np.int64)
    no_response = rng.random(size) < plan.no_response_rate
    gateway = rng.choice([502, 504], size=size)
    if plan.fmt in NO_STATUS:
        statuses = np.where(no_response, 0, statuses)
    elif plan.fmt in NO_TIMERS:
        statuses = np.where(no_response, gateway, statuses)
        latency_us = np.where(no_response, -1, latency_us)
    elif plan.fmt == "haproxy":
        statuses = np.where(no_response, 503, statuses)
    empty = np.isin(statuses, (101, 204, 304)) | (methods == _HEAD)
    return PresetDraws(
        methods=methods,
        paths=paths,
        query_ids=query_ids,
        statuses=statuses,
        latency_us=latency_us,
        body=np.where(empty, 0, body),
        agents=agents,
        referers=referers,
        clients=clients,
        ports=ports,
        hosts=hosts,
        protocols=protocols,
        tls=tls,
        no_response=no_response,
        split=split,
        ids=ids,
        epoch_us=plan.start_s * 1_000_000 + np.floor(offset_s * 1e6).astype(np.int64),
        numbers=first + np.arange(size, dtype=np.int64),
    )


# ---- text of the drawn fields, shared by the writers -------------------------------------------


def join(*pieces: pa.Array | str) -> pa.Array:
    """The pieces (columns or constants) concatenated per line (adjacent constants merged)."""
    merged: list[pa.Array | str] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return pc.binary_join_element_wise(*merged, "")


def choose(mask: BoolArray, yes: pa.Array | str, no: pa.Array | str) -> pa.Array:
    """``yes`` where ``mask``, else ``no`` (columns or constants).

    Two constants are a ``take`` from a pool of two, several times faster than ``if_else``.
    """
    if isinstance(yes, str) and isinstance(no, str):
        return pa.array([no, yes]).take(pa.array(mask.astype(np.int8)))
    return pc.if_else(pa.array(mask), yes, no)


def take(values: tuple[Any, ...], index: IntArray) -> pa.Array:
    """``values[index]`` per line; ``values`` holds strings or ``(string, weight)`` pairs."""
    texts = [value[0] if isinstance(value, tuple) else value for value in values]
    return pa.array(texts, pa.string()).take(pa.array(index))


def blank(texts: pa.Array, empty: str) -> pa.Array:
    """``texts`` with ``""`` replaced by ``empty`` (``-`` in most formats)."""
    return pc.if_else(pc.equal(texts, ""), empty, texts)


def client(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    """The client address of each line."""
    return plan.clients.take(pa.array(d.clients))


def upstream(d: PresetDraws) -> pa.Array:
    """The backend (``10.0.0.11:80``) of each line: one per virtual host."""
    return take(UPSTREAMS, d.hosts)


def target(d: PresetDraws) -> pa.Array:
    """Path and query (``/x`` or ``/x?id=7``)."""
    return pc.binary_join_element_wise(take(PRESET_PATHS, d.paths), query(d, ""), "")


def query(d: PresetDraws, none: str, prefix: str = "?") -> pa.Array:
    """``?id=N`` (``prefix`` + ``id=N``), or ``none`` for lines without a query."""
    text = pc.binary_join_element_wise(prefix + "id=", int_text(d.query_ids), "")
    return pc.if_else(pa.array(d.query_ids > 0), text, none)


def decimal(values: IntArray, digits: int) -> pa.Array:
    """Non-negative integers scaled down by ``10**digits`` with exactly ``digits`` decimals.

    >>> decimal(np.array([51, 1234]), 3).to_pylist()
    ['0.051', '1.234']
    """
    unit = 10**digits
    whole = int_text(values // unit)
    fraction = pc.utf8_lpad(int_text(values % unit), width=digits, padding="0")
    return pc.binary_join_element_wise(whole, fraction, ".")


def stamp(epoch_us: IntArray, pattern: str, digits: int, suffix: str) -> pa.Array:
    """UTC times: ``pattern`` (strftime), ``.`` + ``digits`` decimals of the second, ``suffix``."""
    seconds = epoch_us // 1_000_000
    whole = times(seconds, pattern)
    if digits == 0:
        return pc.binary_join_element_wise(whole, suffix, "")
    fraction = (epoch_us % 1_000_000) // 10 ** (6 - digits)
    digits_text = pc.utf8_lpad(int_text(fraction), width=digits, padding="0")
    return pc.binary_join_element_wise(whole, ".", digits_text, suffix, "")


_HEX_BYTES: Final = pa.array([f"{value:02x}" for value in range(256)])


def hex8(values: IntArray) -> pa.Array:
    """The low 32 bits of each value as 8 lower-case hex digits (``5f6e1a2b``)."""
    pieces = [_HEX_BYTES.take(pa.array((values >> shift) & 0xFF)) for shift in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*pieces, "")


def millis(latency_us: IntArray) -> IntArray:
    """Latency rounded to whole milliseconds (half up); -1 stays -1."""
    rounded: IntArray = np.where(latency_us < 0, -1, (latency_us + 500) // 1000)
    return rounded
