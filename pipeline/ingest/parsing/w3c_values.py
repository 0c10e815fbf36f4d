"""The values of W3C and CloudFront lines as typed columns (:mod:`pipeline.ingest.parsing.w3c`).

Each function takes the strings of one field for the lines that have the right columns and
returns what the report needs: UTC times from ``date`` and ``time``, paths with their query,
decoded user agents, hosts. Vectorised with pyarrow and numpy; per distinct value only where
values repeat (dates, user agents).
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.convert import MAX_TIME_MS, MIN_TIME_MS, iso_time_ms
from pipeline.ingest.parsing.w3c_state import DATE_KEY, option


def unquote(values: pa.Array) -> pa.Array:
    """``"..."`` values without their quotes, ``""`` inside read as ``"``; others as they are."""
    quoted = pc.and_(
        pc.and_(pc.starts_with(values, '"'), pc.ends_with(values, '"')),
        pc.greater(pc.utf8_length(values), 1),
    )
    inner = pc.replace_substring(pc.utf8_slice_codeunits(values, 1, -1), '""', '"')
    return pc.if_else(quoted, inner, values)


def times(
    date: pa.Array | None, time: pa.Array | None, state: LogFormat, n: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """UTC ms from ``date`` and ``time`` (a file with ``time`` only: the ``#Date:`` day), which
    lines have a time, which converted (a line whose date or time does not is malformed)."""
    none = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    if time is None:
        return none
    if date is None:
        day = option(state, DATE_KEY)
        if not day:
            return none
        date = filled(day, n)
    return _date_time_ms(date, time)


def _date_time_ms(
    date: pa.Array, time: pa.Array
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """UTC ms of ``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM:SS[.fff]``).

    Fast path (what IIS writes): the few distinct dates are converted once each, and a time of
    exactly eight characters is read from its digits with numpy. Any other time (with a
    fraction) goes through :func:`~pipeline.ingest.parsing.convert.iso_time_ms`; both apply the
    same calendar and range rules.
    """
    codes = pc.cast(date, pa.large_string()).dictionary_encode()
    days = [_day_ms(str(value)) for value in codes.dictionary.to_pylist()]
    indices = np.asarray(codes.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    day_ms = np.array([d if d is not None else 0 for d in days], dtype=np.int64)[indices]
    day_ok = np.array([d is not None for d in days], dtype=bool)[indices]
    raw, starts = bytes_and_starts(time)
    lengths = np.asarray(pc.binary_length(time).to_numpy(zero_copy_only=False), dtype=np.int64)
    plain = lengths == 8
    at = np.where(plain, starts, 0)
    if len(raw) < 8:
        plain[:] = False
        raw = np.zeros(8, dtype=np.uint8)
    digit = [raw[at + i].astype(np.int64) - ord("0") for i in range(8)]
    shaped = plain & (raw[at + 2] == ord(":")) & (raw[at + 5] == ord(":"))
    for i in (0, 1, 3, 4, 6, 7):
        shaped &= (digit[i] >= 0) & (digit[i] <= 9)
    hour, minute = digit[0] * 10 + digit[1], digit[3] * 10 + digit[4]
    second = digit[6] * 10 + digit[7]
    time_ms = day_ms + (hour * 3600 + minute * 60 + second) * 1000
    ok = shaped & day_ok & (hour <= 23) & (minute <= 59) & (second <= 59)
    ok &= (time_ms >= MIN_TIME_MS) & (time_ms <= MAX_TIME_MS)
    other = np.flatnonzero(~plain)
    if len(other):  # fractions of a second, or a malformed time: the general ISO reader
        picked = pa.array(other)
        text = _join(date.take(picked), _join(time.take(picked), _large("Z"), ""), "T")
        time_ms[other], ok[other] = iso_time_ms(text)
    time_ms = np.where(ok, time_ms, 0)
    return time_ms, ok.copy(), ok


_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day_ms(text: str) -> int | None:
    """Epoch ms of the start of a ``YYYY-MM-DD`` day (UTC), or None."""
    if not _DATE.fullmatch(text):
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return (day - _EPOCH_DAY).days * 86_400_000


_EPOCH_DAY: Final = datetime.date(1970, 1, 1)


def bytes_and_starts(strings: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The data buffer of a string array as bytes, and each string's start in it."""
    strings = pc.cast(strings, pa.large_string())
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)
    starts = offsets[strings.offset : strings.offset + len(strings)]
    data = strings.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw, starts


def target(path: pa.Array | None, query: pa.Array | None, n: int) -> pa.Array:
    """The path, with ``?query`` appended when the query is not ``-`` (as other formats keep
    the query in ``path``)."""
    if path is None:
        return filled("-", n)
    if query is None:
        return path
    has_query = pc.not_equal(query, "-")
    joined = _join(path, query, "?")
    return pc.if_else(has_query, joined, path)


def agents(agent: pa.Array | None, state: LogFormat, quoted: bool, n: int) -> pa.Array:
    """User agents: ``-`` is none (``""``); IIS writes ``+`` for a space (an agent in quotes,
    as IIS Advanced Logging and Oracle write it, keeps its spaces and its ``+``); CloudFront
    URL-encodes its agents (decoded once: ``%2520`` stays ``%20``). ``quoted``: the values may
    be in quotes. Decoded per distinct agent (agents repeat).
    """
    if agent is None:
        return filled("", n)
    codes = agent.dictionary_encode()
    values = pc.if_else(pc.equal(codes.dictionary, "-"), "", codes.dictionary)
    decode = option(state, "agent", "plus")
    if decode == "url":
        values = _percent_decoded(values)
    elif quoted:
        unquoted = unquote(values)
        if decode == "plus":
            plus = pc.replace_substring(values, "+", " ")
            values = pc.if_else(pc.starts_with(values, '"'), unquoted, plus)
        else:
            values = unquoted
    elif decode == "plus":
        values = pc.replace_substring(values, "+", " ")
    return pc.cast(values, pa.large_string()).take(codes.indices)


def _percent_decoded(values: pa.Array) -> pa.Array:
    """Percent-decoding once (of distinct values: :func:`agents`)."""
    if not pc.any(pc.match_substring(values, "%")).as_py():
        return values
    return pa.array(
        [urllib.parse.unquote(str(value)) for value in values.to_pylist()], type=pa.large_string()
    )


def hosts(host: pa.Array | None, url_hosts: pa.Array | None, n: int) -> pa.Array:
    """The host field; absent, ``-`` or empty: the host of a full-URL target, else null."""
    chosen = host if host is not None else url_hosts
    if chosen is None:
        return pa.nulls(n, pa.large_string())
    chosen = pc.cast(chosen, pa.large_string())
    none = pa.scalar(None, pa.large_string())
    return pc.if_else(pc.is_in(chosen, pa.array(["-", ""])), none, chosen)


def _large(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _join(first: Any, second: Any, separator: str) -> pa.Array:
    return pc.binary_join_element_wise(first, second, _large(separator))


def filled(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, type=pa.large_string())


def as_bool(array: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
