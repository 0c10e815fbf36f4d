"""W3C extended log files (IIS and others) and CloudFront: columns named by ``#Fields:``.

A W3C file describes itself with directive lines (``#Software:``, ``#Version:``, ``#Date:``,
``#Fields:``); each data line is one value per field of the ``#Fields:`` directive in force,
separated by spaces (W3C, IIS) or tabs (CloudFront). A new ``#Fields:`` mid-file (IIS writes the
directives again after each restart) changes the columns from there on. Directive lines are
neither parsed nor malformed: they are counted (``lines.directives``).

The directives in force are the parser's state. It travels in the format itself
(:attr:`~pipeline.ingest.formats.presets.LogFormat.options`, keys :data:`STATE_KEYS`): a text is
parsed with the state at its start and :func:`carried` gives the state at its end, which is
what the next piece of the same file is parsed with. A block in the middle of a large file
gets the state at its start from its file's earlier blocks (:func:`state_after` over their
:func:`directive_lines`), without reading them again in full.

Lines are cut into columns with one vectorised split per run of lines under one ``#Fields:``
(``pc.split_pattern`` and ``pc.list_element``); a line whose column count differs from the
fields in force is malformed. Lines that hold a double quote or a run of spaces (quoted values
of IIS Advanced Logging and Oracle Web Cache, padded columns, an empty value written as a
double space) are cut by :data:`_TOKEN` per line instead: values are runs of non-spaces or
``"..."`` with ``""`` for a quote, separated by runs of spaces. Such lines are rare in IIS's own
logs.

``time-taken`` is in seconds in the W3C specification and in milliseconds in IIS: it is read as
ms when ``#Software:`` names Microsoft Internet Information Services or when the ``#Fields:`` set
has a field only IIS writes (:data:`IIS_FIELDS`); CloudFront's is always seconds (option
``time_taken``).

>>> from pipeline.ingest.formats.presets import preset
>>> fmt = preset("w3c")
>>> state_after(fmt, ["#Software: Microsoft Internet Information Services 10.0"]) != fmt
True
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.convert import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    decimal_to_ms,
    integer_or_dash,
    iso_time_ms,
    status_codes,
    url_targets,
)

#: Keys of the directives in force in a format's options (absent: none seen yet).
FIELDS_KEY: Final[str] = "in_force_fields"
SOFTWARE_KEY: Final[str] = "in_force_software"
DATE_KEY: Final[str] = "in_force_date"
STATE_KEYS: Final[tuple[str, ...]] = (FIELDS_KEY, SOFTWARE_KEY, DATE_KEY)

#: Fields only IIS writes: a ``#Fields:`` set with one of them is IIS's (time-taken in ms).
IIS_FIELDS: Final[frozenset[str]] = frozenset(
    {"s-sitename", "s-computername", "sc-substatus", "sc-win32-status"}
)

#: The ``#Software:`` of IIS (time-taken in ms), matched case-insensitively.
IIS_SOFTWARE: Final[str] = "microsoft internet information services"

#: A status the W3C formats write; CloudFront also writes ``000`` (no response).
_STATUS: Final[str] = r"^[1-5][0-9][0-9]$"
_STATUS_OR_NONE: Final[str] = r"^(?:[1-5][0-9][0-9]|000)$"

#: The shapes :func:`decimal_to_ms` and :func:`integer_or_dash` expect (anything else in
#: ``time-taken`` or ``sc-bytes``, a negative number included, makes the line malformed).
_DECIMAL_OR_DASH: Final[str] = r"^(?:[0-9]+(?:\.[0-9]+)?|-)$"
_INTEGER_OR_DASH: Final[str] = r"^(?:[0-9]+|-)$"

#: One value of a line cut per line: ``"..."`` (``""`` is a quote inside) or non-spaces.
_TOKEN: Final = re.compile(r'"(?:[^"]|"")*"(?= |$)|[^ ]+')

#: The byte of ``#``, and bytes that may stand before the ``#`` of a directive line (a line
#: break, ASCII whitespace, the last byte of a multi-byte whitespace character).
_HASH: Final[int] = ord("#")
_BEFORE_HASH: Final = np.array(sorted({10, 9, 11, 12, 13, 28, 29, 30, 31, 32}), dtype=np.uint8)

_TIME_TYPE: Final = pa.timestamp("ms", tz="UTC")


def option(fmt: LogFormat, key: str, default: str = "") -> str:
    """The value of ``key`` in the format's options (the last one set wins)."""
    found = default
    for name, value in fmt.options:
        if name == key:
            found = value
    return found


def directive_lines(text: str | bytes) -> list[str]:
    """The directive lines of ``text`` (trimmed, in order): lines whose first non-whitespace
    character is ``#``, as the parser sees them.

    Only the ``#`` bytes are looked at (numpy), so a text without directives costs one pass.

    >>> directive_lines(b"#Version: 1.0\\nGET /a#x\\n  #Fields: a b\\n")
    ['#Version: 1.0', '#Fields: a b']
    """
    data = text.encode("utf-8", errors="surrogateescape") if isinstance(text, str) else text
    raw = np.frombuffer(data, dtype=np.uint8)
    hashes = np.flatnonzero(raw == _HASH)
    if not len(hashes):
        return []
    before = raw[np.maximum(hashes - 1, 0)]
    candidate = (hashes == 0) | np.isin(before, _BEFORE_HASH) | (before >= 0x80)
    found = []
    for position in hashes[candidate].tolist():
        start = data.rfind(b"\n", 0, position) + 1
        if data[start:position].decode("utf-8", errors="replace").strip():
            continue  # a # inside a line
        end = data.find(b"\n", position)
        line = data[start : end if end >= 0 else len(data)]
        found.append(line.decode("utf-8", errors="replace").strip())
    return found


def state_after(fmt: LogFormat, directives: Sequence[str]) -> LogFormat:
    """``fmt`` with the directives in force after ``directives`` (``#Fields:``, ``#Software:``,
    ``#Date:``; others change nothing).

    >>> fmt = state_after(LogFormat("w3c", "w3c"), ["#Date: 2013-07-30 00:00:00", "#Fields: a b"])
    >>> option(fmt, FIELDS_KEY), option(fmt, DATE_KEY)
    ('a b', '2013-07-30')
    """
    updates = {}
    for line in directives:
        key, _, value = line[1:].partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "fields":
            updates[FIELDS_KEY] = " ".join(value.split())
        elif key == "software":
            updates[SOFTWARE_KEY] = value
        elif key == "date":
            updates[DATE_KEY] = value.split()[0] if value else ""
    if not updates:
        return fmt
    kept = tuple((name, value) for name, value in fmt.options if name not in updates)
    return replace(fmt, options=kept + tuple(sorted(updates.items())))


def carried(fmt: LogFormat, text: str | bytes) -> LogFormat:
    """The format to parse the text that follows ``text`` with: ``fmt`` itself for formats
    without directives, else with the directives of ``text`` applied."""
    if fmt.kind != "w3c":
        return fmt
    return state_after(fmt, directive_lines(text))


class W3cParse(NamedTuple):
    """A parse of trimmed non-blank lines: typed columns of the parsed ones (in order), which
    lines parsed, which are directives."""

    columns: dict[str, pa.Array]
    ok: np.ndarray[Any, np.dtype[np.bool_]]
    directive: np.ndarray[Any, np.dtype[np.bool_]]


def parse_w3c(lines: pa.Array, fmt: LogFormat) -> W3cParse:
    """Parse trimmed, non-blank lines of a W3C or CloudFront text (kind ``w3c``)."""
    count = len(lines)
    directive = _bool(pc.starts_with(lines, "#")) if count else np.zeros(0, dtype=bool)
    ok = np.zeros(count, dtype=bool)
    marks = np.flatnonzero(directive).tolist()
    texts = lines.take(pa.array(marks, type=pa.int64())).to_pylist() if marks else []
    state, start, tables = fmt, 0, []
    for mark, text in [*zip(marks, texts, strict=True), (count, None)]:
        if mark > start:
            table, parsed = _segment(lines.slice(start, mark - start), state)
            ok[start:mark] = parsed
            tables.append(table)
        if text is not None:
            state = state_after(state, [str(text)])
        start = mark + 1
    if not tables:
        tables.append(_segment(lines.slice(0, 0), fmt)[0])
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return W3cParse(
        {name: table[name].combine_chunks() for name in table.column_names}, ok, directive
    )


def _field_sets(state: LogFormat) -> list[list[str]]:
    """The ``#Fields:`` in force, or before any the preset's default sets (``|`` between
    sets: a line without a header is read with the set of its column count)."""
    fields = option(state, FIELDS_KEY)
    if fields:
        return [fields.lower().split()]
    return [one.lower().split() for one in option(state, "fields").split("|")]


def _segment(lines: pa.Array, state: LogFormat) -> tuple[pa.Table, np.ndarray[Any, Any]]:
    """The parsed rows and the ok mask of lines that share one ``#Fields:``."""
    field_sets = _field_sets(state)
    tab = option(state, "separator", " ") == "\t"
    count = len(lines)
    if tab or not count:
        slow = np.zeros(count, dtype=bool)
    else:
        slow = _bool(pc.match_substring_regex(lines, pattern='"|  '))
    fast = lines if not slow.any() else lines.filter(pa.array(~slow))
    groups = [(pc.split_pattern(fast, "\t" if tab else " "), np.flatnonzero(~slow), False)]
    if slow.any():
        tokens = [_tokens(line) for line in lines.filter(pa.array(slow)).to_pylist()]
        groups.append((pa.array(tokens, pa.list_(pa.large_string())), np.flatnonzero(slow), True))
    tables, rows = [], []
    for pieces, where, quoted in groups:
        if len(field_sets) > 1:  # headerless: each line by the set of its column count
            lengths = np.asarray(pc.list_value_length(pieces).to_numpy(zero_copy_only=False))
            for fields in field_sets:
                chosen = lengths == len(fields)
                table, ok = _columns(pieces.filter(pa.array(chosen)), fields, state, quoted)
                tables.append(table)
                rows.append(where[chosen][ok])
        else:
            table, ok = _columns(pieces, field_sets[0], state, quoted)
            tables.append(table)
            rows.append(where[ok])
    parsed = np.zeros(count, dtype=bool)
    order = np.concatenate(rows)
    parsed[order] = True
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if len(tables) > 1:
        table = table.take(pa.array(np.argsort(order, kind="stable")))
    return table, parsed


def _tokens(line: str) -> list[str]:
    """A line's values, cut at runs of spaces; ``"..."`` values keep their quotes here
    (:func:`_unquote` removes them once the agent's ``+`` rule has looked at them)."""
    return _TOKEN.findall(line)


def _unquote(values: pa.Array) -> pa.Array:
    """``"..."`` values without their quotes, ``""`` inside read as ``"``; others as they are."""
    quoted = pc.and_(
        pc.and_(pc.starts_with(values, '"'), pc.ends_with(values, '"')),
        pc.greater(pc.utf8_length(values), 1),
    )
    inner = pc.replace_substring(pc.utf8_slice_codeunits(values, 1, -1), '""', '"')
    return pc.if_else(quoted, inner, values)


def _columns(
    pieces: pa.Array, fields: list[str], state: LogFormat, quoted: bool
) -> tuple[pa.Table, np.ndarray[Any, Any]]:
    """Typed columns of the lines whose values are ``pieces`` (a list per line); which lines
    parsed (right column count, every field converted)."""
    cloudfront = option(state, "prefix") == "yes"
    index = {name: i for i, name in enumerate(fields)}
    wanted = _wanted(index, cloudfront)
    lengths = np.asarray(
        pc.list_value_length(pieces).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    if cloudfront:  # fields are only ever appended: a shorter line is an older prefix
        need = max(wanted.values(), default=-1) + 1
        ok = lengths >= need
    else:
        ok = lengths == len(fields)
    if "status" not in wanted:
        ok[:] = False  # every request needs a status
    keep = pieces.filter(pa.array(ok)) if not ok.all() else pieces

    def column(role: str, unquote: bool = True) -> pa.Array | None:
        if role not in wanted:
            return None
        values = pc.cast(pc.list_element(keep, wanted[role]), pa.large_string())
        return _unquote(values) if quoted and unquote else values

    n = len(keep)
    valid = np.ones(n, dtype=bool)
    status = column("status")
    if status is not None:
        pattern = _STATUS_OR_NONE if cloudfront else _STATUS
        valid &= _bool(pc.match_substring_regex(status, pattern=pattern))
    latency = np.full(n, np.nan)
    taken = column("latency")
    if taken is not None:
        shaped = _bool(pc.match_substring_regex(taken, pattern=_DECIMAL_OR_DASH))
        taken = pc.if_else(pa.array(shaped), taken, "-")  # the converter expects the shape
        latency, good = decimal_to_ms(taken, _latency_exponent(state, fields, wanted))
        valid &= good & shaped
    time_ms, has_time, good = _times(column("date"), column("time"), state, n)
    valid &= good
    sizes = np.zeros(n, dtype=np.int64)
    sent = column("bytes")
    if sent is not None:
        shaped = _bool(pc.match_substring_regex(sent, pattern=_INTEGER_OR_DASH))
        sizes, good = integer_or_dash(pc.if_else(pa.array(shaped), sent, "-"))
        valid &= good & shaped
    target = _target(column("path"), column("query"), n)
    target, url_hosts = url_targets(target)
    method = column("method")
    table = pa.table(
        {
            "method": (method if method is not None else _filled("-", n)).dictionary_encode(),
            "path": target,
            "status": pa.array(
                status_codes(pc.if_else(pa.array(valid), status, "0"))
                if status is not None
                else np.zeros(n, np.int16),
                type=pa.int16(),
            ),
            "latency_ms": pa.array(latency, type=pa.float64()),
            "user_agent": _agents(column("user_agent", unquote=False), state, n),
            "time": pa.array(time_ms, type=pa.int64(), mask=~has_time).cast(_TIME_TYPE),
            "bytes": pa.array(sizes),
            "host": _hosts(column("host"), url_hosts, n),
        }
    )
    if not valid.all():
        table = table.filter(pa.array(valid))
        ok[np.flatnonzero(ok)[~valid]] = False
    return table, ok


#: Roles and the W3C fields that carry them, first match wins (CloudFront: host is
#: ``x-host-header``, the name the viewer asked for; its ``cs(Host)`` is the distribution's).
_ROLES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("date", ("date",)),
    ("time", ("time",)),
    ("method", ("cs-method",)),
    ("path", ("cs-uri-stem", "cs-uri")),
    ("query", ("cs-uri-query",)),
    ("status", ("sc-status",)),
    ("latency", ("time-taken", "timetakenms")),
    ("user_agent", ("cs(user-agent)",)),
    ("bytes", ("sc-bytes", "bytes")),
)


def _wanted(index: dict[str, int], cloudfront: bool) -> dict[str, int]:
    """Role -> column of the fields in force."""
    wanted = {}
    for role, names in _ROLES:
        found = next((name for name in names if name in index), None)
        if found is not None:
            wanted[role] = index[found]
    hosts = ("x-host-header",) if cloudfront else ("cs-host", "cs(host)")
    host = next((name for name in hosts if name in index), None)
    if host is not None:
        wanted["host"] = index[host]
    if "path" in wanted and index.get("cs-uri") == wanted["path"]:
        wanted.pop("query", None)  # cs-uri has its query already
    return wanted


def _latency_exponent(state: LogFormat, fields: list[str], wanted: dict[str, int]) -> int:
    """3 (seconds) or 0 (ms) for the time-taken column: see the module's unit rule."""
    if fields[wanted["latency"]] == "timetakenms":  # IIS Advanced Logging names its unit
        return 0
    if option(state, "time_taken") == "s":
        return 3
    software = option(state, SOFTWARE_KEY).lower()
    iis = IIS_SOFTWARE in software or not IIS_FIELDS.isdisjoint(fields)
    return 0 if iis else 3


def _times(
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
        date = _filled(day, n)
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
    raw, starts = _bytes_and_starts(time)
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


def _bytes_and_starts(strings: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The data buffer of a string array as bytes, and each string's start in it."""
    strings = pc.cast(strings, pa.large_string())
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)
    starts = offsets[strings.offset : strings.offset + len(strings)]
    data = strings.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw, starts


def _target(path: pa.Array | None, query: pa.Array | None, n: int) -> pa.Array:
    """The path, with ``?query`` appended when the query is not ``-`` (as other formats keep
    the query in ``path``)."""
    if path is None:
        return _filled("-", n)
    if query is None:
        return path
    has_query = pc.not_equal(query, "-")
    joined = _join(path, query, "?")
    return pc.if_else(has_query, joined, path)


def _agents(agent: pa.Array | None, state: LogFormat, n: int) -> pa.Array:
    """User agents: ``-`` is none (``""``); IIS writes ``+`` for a space (an agent in quotes,
    as IIS Advanced Logging and Oracle write it, keeps its spaces and its ``+``); CloudFront
    URL-encodes its agents (decoded once: ``%2520`` stays ``%20``)."""
    if agent is None:
        return _filled("", n)
    agent = pc.if_else(pc.equal(agent, "-"), "", agent)
    decode = option(state, "agent", "plus")
    if decode == "url":
        return _percent_decoded(agent)
    unquoted = _unquote(agent)
    if decode == "plus":
        quoted = pc.starts_with(agent, '"')
        return pc.if_else(quoted, unquoted, pc.replace_substring(agent, "+", " "))
    return unquoted


def _percent_decoded(values: pa.Array) -> pa.Array:
    """Percent-decoding once, per distinct value (agents repeat: few distinct ones)."""
    encoded = pc.match_substring(values, "%")
    if not pc.any(encoded).as_py():
        return values
    codes = values.dictionary_encode()
    decoded = pa.array(
        [urllib.parse.unquote(str(value)) for value in codes.dictionary.to_pylist()],
        type=pa.large_string(),
    )
    return decoded.take(codes.indices)


def _hosts(host: pa.Array | None, url_hosts: pa.Array | None, n: int) -> pa.Array:
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


def _filled(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, type=pa.large_string())


def _bool(array: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
