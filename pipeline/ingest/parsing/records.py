"""Decoded records (JSON objects, logfmt lines) -> the parsed columns, through a key table.

A *key table* maps each canonical field (``method``, ``path``, ``request``, ``status``,
``latency``, ``user_agent``, ``time``, ``bytes``, ``host``, ``client``, ``referer``) to the
keys tried for it, in order, each with an optional unit. The generic ``json`` and ``logfmt``
presets use the usual names (:data:`pipeline.ingest.parsing.jsonlines.ALIASES`); a named
preset (``gcp``, ``caddy``, ``traefik-json``, ``heroku``) brings its own table in its row's
``options``, as ``(canonical, "key[:unit]")`` pairs, and only its keys are tried, so a file of
another application does not read as that preset. ``--field CANON=KEY[:UNIT]`` puts KEY first.

Rules shared by every keyed format:

* A record parses when it has a status (an integer, or a string of one, 100-599) and a path
  (or a ``request`` line ``METHOD TARGET PROTOCOL``); a ``require`` key must be present.
* A dotted key (``request.method``) reaches into nested objects (a key that literally contains
  the dot is tried first). An array takes its first element (Caddy's headers are arrays).
* A latency is a number in the key's unit (ms when none), or a duration string with its own
  unit (``"0.005018s"``, ``"12ms"``: :func:`pipeline.ingest.parsing.convert.duration_to_ms`);
  ``-`` is none. A numeric time is epoch seconds unless the key's unit says otherwise; a string
  time is ISO 8601 (with a zone) or nginx's ``time_local``.
* An absolute-URL path (GCP's ``requestUrl``) becomes its path and query; its host fills
  ``host`` when no host key is present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.convert import (
    MAX_BYTES,
    MAX_TIME_MS,
    MIN_TIME_MS,
    BoolArray,
    FloatArray,
    IntArray,
    clf_time_ms,
    duration_to_ms,
    iso_time_ms,
    split_request,
    url_targets,
)

#: Power of ten that turns a value in UNIT into milliseconds (``--field`` units).
UNITS: Final[dict[str, int]] = {"s": 3, "ms": 0, "us": -3, "ns": -6}

#: Fields a key table may name (``request`` is the whole request line).
FIELDS: Final[tuple[str, ...]] = (
    "method",
    "path",
    "request",
    "status",
    "latency",
    "user_agent",
    "time",
    "bytes",
    "host",
    "client",
    "referer",
)

KeyTable = dict[str, tuple[tuple[str, str | None], ...]]

#: Top-level keys remembered per partition (for the ``--field`` warning, which names the keys a
#: file does have). More costs memory in every partial for a longer message; a log has a few
#: dozen keys. Legal range: >= 1.
KEYS_SEEN: Final[int] = 64
Overrides = tuple[tuple[str, str, str | None], ...]


@dataclass(frozen=True)
class JsonRows:
    """Columns of the records given, one entry per line; ``ok`` is False for malformed."""

    ok: BoolArray
    method: pa.Array
    path: pa.Array
    status: np.ndarray[Any, np.dtype[np.int16]]
    latency_ms: FloatArray
    user_agent: pa.Array
    time_ms: IntArray
    has_time: BoolArray
    bytes: IntArray
    host: pa.Array
    client: pa.Array
    referer: pa.Array
    keys: frozenset[str] = frozenset()


def key_table(
    options: tuple[tuple[str, str], ...], aliases: KeyTable, overrides: Overrides
) -> KeyTable:
    """The keys tried per field: the row's own table when ``options`` names fields (else
    ``aliases``), with each ``--field`` override in front of its field's keys.

    >>> key_table((("status", "s"), ("latency", "d:duration")), {}, (("latency", "t", "s"),))
    {'status': (('s', None),), 'latency': (('t', 's'), ('d', 'duration'))}
    """
    own: dict[str, list[tuple[str, str | None]]] = {}
    for canonical, spec in options:
        if canonical in FIELDS:
            own_key, _, own_unit = spec.partition(":")
            own.setdefault(canonical, []).append((own_key, own_unit or None))
    table: KeyTable = {name: tuple(keys) for name, keys in own.items()} if own else dict(aliases)
    for canonical, key, unit in overrides:
        default_unit = {"latency": "ms", "time": "s"}.get(canonical)
        table[canonical] = ((key, unit or default_unit), *table.get(canonical, ()))
    return table


def option(options: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The value of setting ``name`` in a row's ``options``, or None."""
    return next((value for key, value in options if key == name), None)


def lookup(record: dict[str, Any], key: str) -> Any:
    """The value at ``key`` (dotted keys reach into objects; arrays give their first element),
    or None when absent."""
    value = record.get(key)
    if value is None and "." in key:
        value = record
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value


#: A key ready for lookups: (key, unit, its parts when dotted).
_Key = tuple[str, str | None, tuple[str, ...] | None]


def _compiled(keys: tuple[tuple[str, str | None], ...]) -> tuple[_Key, ...]:
    return tuple((key, unit, tuple(key.split(".")) if "." in key else None) for key, unit in keys)


def _first(
    record: dict[str, Any], keys: tuple[_Key, ...], kind: type | None = None
) -> tuple[Any, str | None] | None:
    """The first present, non-null value among ``keys`` (of type ``kind`` when given: an ECS
    ``"url": {...}`` object is skipped for the path, so ``url.path`` is reached), with its unit:
    :func:`lookup` inlined, since it runs several times per line."""
    for key, unit, parts in keys:
        value = record.get(key)
        if value is None and parts is not None:
            value = record
            for part in parts:
                value = value.get(part) if type(value) is dict else None
        if type(value) is list:
            value = value[0] if value else None
        if value is not None and (kind is None or isinstance(value, kind)):
            return value, unit
    return None


def rows_from_records(
    records: Sequence[tuple[int, dict[str, Any]]],
    count: int,
    table: KeyTable,
    require: str | None = None,
    probes: tuple[str, ...] = (),
) -> JsonRows:
    """Columns of ``count`` lines of which ``records`` are the decoded ones ``(index, record)``
    (the other lines are malformed), read through ``table``.

    ``keys`` of the result: up to :data:`KEYS_SEEN` top-level keys of the records, and each of
    ``probes`` (the ``--field`` keys, dotted ones included) that some record has."""
    seen: set[str] = set()
    found_probes = {key for key in probes if any(lookup(r, key) is not None for _, r in records)}
    keys = {name: _compiled(table.get(name, ())) for name in FIELDS}
    ok = np.zeros(count, dtype=bool)
    methods = ["-"] * count
    paths = ["-"] * count
    requests: list[str | None] = [None] * count
    status = np.zeros(count, dtype=np.int16)
    latency_at: list[int] = []
    latency_text: list[str] = []
    latency_unit: list[str | None] = []
    agents = [""] * count
    hosts: list[str | None] = [None] * count
    client_values: list[str | None] = [None] * count
    referers: list[str | None] = [None] * count
    time_text: list[str | None] = [None] * count
    time_ms = np.zeros(count, dtype=np.int64)
    has_time = np.zeros(count, dtype=bool)
    byte_counts = np.zeros(count, dtype=np.int64)
    for index, record in records:
        if len(seen) < KEYS_SEEN:
            seen.update(list(record)[: KEYS_SEEN - len(seen)])
        if require is not None and lookup(record, require) is None:
            continue
        found_status = _first(record, keys["status"])
        code = _status(None if found_status is None else found_status[0])
        path = _first(record, keys["path"], str)
        request = _first(record, keys["request"], str)
        if code is None or (path is None and request is None):
            continue
        found_latency = _first(record, keys["latency"])
        if found_latency is not None:
            raw, unit = found_latency
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                continue
            latency_at.append(index)
            latency_text.append(_plain(raw))
            latency_unit.append(None if unit == "duration" else unit or "ms")
        found_time = _first(record, keys["time"])
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
        found_size = _first(record, keys["bytes"])
        size = _size(None if found_size is None else found_size[0])
        if size is None:
            continue
        if path is not None:
            paths[index] = path[0]
        else:
            requests[index] = str(request[0]) if request else ""
        method = _first(record, keys["method"], str)
        methods[index] = method[0] if method is not None and method[0] else "-"
        agent = _first(record, keys["user_agent"], str)
        agents[index] = agent[0] if agent is not None and agent[0] != "-" else ""
        host = _first(record, keys["host"], str)
        hosts[index] = host[0] if host is not None and host[0] not in ("", "-") else None
        client = _first(record, keys["client"], str)
        client_values[index] = client[0] if client is not None else None
        referer = _first(record, keys["referer"], str)
        referers[index] = referer[0] if referer is not None else None
        byte_counts[index] = size
        status[index] = code
        ok[index] = True
    method_array, path_array = _strings(methods), _strings(paths)
    with_request = [i for i, request in enumerate(requests) if request is not None]
    if with_request:
        split_method, split_target = split_request(_strings([requests[i] for i in with_request]))
        method_list, path_list = method_array.to_pylist(), path_array.to_pylist()
        for position, index in enumerate(with_request):
            if method_list[index] == "-":
                method_list[index] = split_method[position].as_py()
            path_list[index] = split_target[position].as_py()
        method_array, path_array = pa.array(method_list), pa.array(path_list)
    path_array, url_hosts = url_targets(path_array)
    host_array = _strings(hosts).cast(pa.large_string())
    if url_hosts is not None:
        host_array = pc.coalesce(host_array, url_hosts)
    latency = _resolve_latencies(count, latency_at, latency_text, latency_unit, ok)
    _resolve_text_times(
        [text if ok[i] else None for i, text in enumerate(time_text)], time_ms, has_time, ok
    )
    return JsonRows(
        ok=ok,
        method=method_array,
        path=path_array,
        status=status,
        latency_ms=latency,
        user_agent=_strings(agents),
        time_ms=time_ms,
        has_time=has_time,
        bytes=byte_counts,
        host=host_array,
        client=_strings(client_values),
        referer=_strings(referers),
        keys=frozenset(seen | found_probes),
    )


def _resolve_latencies(
    count: int, where: list[int], texts: list[str], units: list[str | None], ok: BoolArray
) -> FloatArray:
    """Latencies in ms, converted per unit in one vectorised pass each; an invalid one (a
    negative number, a bare number for a duration key, above the cap) is malformed."""
    latency = np.full(count, np.nan, dtype=np.float64)
    positions = np.array(where, dtype=np.int64)
    for unit in set(units):
        chosen = np.array([u == unit for u in units], dtype=bool)
        picked = [text for text, used in zip(texts, chosen, strict=True) if used]
        values, valid = duration_to_ms(_strings(picked), unit)
        at = positions[chosen]
        latency[at] = values
        ok[at[~valid]] = False
    return latency


def _plain(raw: int | str) -> str:
    """A JSON number's text without an exponent (Go writes ``1.5e-07`` for tiny floats), so
    the duration converter reads it; other text as is (an exponent beyond 30 stays invalid).

    >>> _plain("1.5e-07"), _plain(12), _plain("12ms"), _plain("1e999")
    ('0.00000015', '12', '12ms', '1e999')
    """
    text = str(raw)
    if "e" in text.lower() and _is_number(text):
        exponent = Decimal(text).as_tuple().exponent
        if isinstance(exponent, int) and abs(exponent) <= 30:
            return format(Decimal(text), "f")
    return text


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
    (or a string of digits, as ``"$body_bytes_sent"`` and GCP's int64 fields write it) from 0
    to :data:`MAX_BYTES`.

    >>> _size(None), _size("-"), _size("0042"), _size("0"), _size(-5), _size(2**64), _size("5.0")
    (0, 0, 42, 0, None, None, None)
    """
    if value is None or value == "-":
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        digits = value.lstrip("0")
        value = (
            int(digits or "0") if len(digits) <= 16 else MAX_BYTES + 1
        )  # no int() of 4,000 digits
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BYTES:
        return None
    return value


#: A UTF-16 surrogate: only a lone one survives ``json.loads`` (a pair becomes one character).
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _strings(values: Sequence[str | None]) -> pa.Array:
    """``values`` as an Arrow string array; a lone surrogate (``"\\ud800"`` in the JSON, which
    UTF-8 cannot hold) is replaced by U+FFFD, as bytes that are not UTF-8 are. The check costs
    nothing per value unless Arrow refuses the list."""
    try:
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:
        return pa.array([None if v is None else _text(v) for v in values], type=pa.string())


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


def _resolve_text_times(
    texts: list[str | None], time_ms: IntArray, has_time: BoolArray, ok: BoolArray
) -> None:
    """Parse the string times (ISO 8601, else nginx ``time_local``); a bad one is malformed."""
    indices = [i for i, text in enumerate(texts) if text is not None and ok[i]]
    if not indices:
        return
    strings = _strings([texts[i] for i in indices])
    iso, iso_ok = iso_time_ms(strings)
    clf, clf_ok = clf_time_ms(strings)
    picked = np.where(iso_ok, iso, clf)
    good = iso_ok | clf_ok
    where = np.array(indices)
    time_ms[where] = picked
    has_time[where] = good
    ok[where[~good]] = False
