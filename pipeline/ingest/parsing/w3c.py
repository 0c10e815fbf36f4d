"""W3C extended log files (IIS and others) and CloudFront: columns named by ``#Fields:``.

A W3C file describes itself with directive lines (``#Software:``, ``#Version:``, ``#Date:``,
``#Fields:``); each data line is one value per field of the ``#Fields:`` directive in force,
separated by spaces (W3C, IIS) or tabs (CloudFront). A new ``#Fields:`` mid-file (IIS writes the
directives again after each restart) changes the columns from there on. Directive lines are
neither parsed nor malformed: they are counted (``lines.directives``).

The directives in force are the parser's state, carried in the format itself
(:mod:`pipeline.ingest.parsing.w3c_state`); the values become typed columns in
:mod:`pipeline.ingest.parsing.w3c_values`.

Lines are cut into columns with one vectorised split per run of lines under one ``#Fields:``
(``pc.split_pattern`` and ``pc.list_element``); a line whose column count differs from the
fields in force is malformed. Lines that hold a double quote or a run of spaces (quoted values
of IIS Advanced Logging and Oracle Web Cache, padded columns, an empty value written as a
double space) are cut by :data:`_TOKEN` per line instead: values are runs of non-spaces or
``"..."`` with ``""`` for a quote, separated by runs of spaces. Such lines are rare in IIS's own
logs.

``time-taken`` is in seconds in the W3C specification and in milliseconds in IIS: it is read as
ms when ``#Software:`` names Microsoft Internet Information Services or when the ``#Fields:`` set
has a field only IIS writes (:data:`~pipeline.ingest.parsing.w3c_state.IIS_FIELDS`);
CloudFront's is always seconds (option ``time_taken``).

>>> from pipeline.ingest.formats.presets import preset
>>> text = "#Fields: date time cs-uri-stem sc-status time-taken\\n2024-01-02 03:04:05 /a 200 1.5"
>>> parse_w3c(pa.array(text.split("\\n")), preset("w3c")).columns["latency_ms"].to_pylist()
[1500.0]
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.addresses import clients
from pipeline.ingest.parsing.boundary import BOUNDARY
from pipeline.ingest.parsing.convert import (
    decimal_to_ms,
    integer_or_dash,
    status_codes,
    url_targets,
)
from pipeline.ingest.parsing.w3c_state import (
    FIELDS_KEY,
    IIS_FIELDS,
    IIS_SOFTWARE,
    SOFTWARE_KEY,
    option,
    state_after,
)
from pipeline.ingest.parsing.w3c_values import (
    agents,
    as_bool,
    bytes_and_starts,
    filled,
    hosts,
    target,
    times,
    unquote,
)

#: Time unit of the ``time`` column (as :data:`pipeline.ingest.parsing.parse.TIME_TYPE`).
TIME_TYPE: Final = pa.timestamp("ms", tz="UTC")

#: A status the W3C formats write; CloudFront also writes ``000`` (no response).
_STATUS: Final[str] = r"^[1-5][0-9][0-9]$"
_STATUS_OR_NONE: Final[str] = r"^(?:[1-5][0-9][0-9]|000)$"

#: The shapes :func:`decimal_to_ms` and :func:`integer_or_dash` expect (anything else in
#: ``time-taken`` or ``sc-bytes``, a negative number included, makes the line malformed).
_DECIMAL_OR_DASH: Final[str] = r"^(?:[0-9]+(?:\.[0-9]+)?|-)$"
_INTEGER_OR_DASH: Final[str] = r"^(?:[0-9]+|-)$"

#: One value of a line cut per line: ``"..."`` (``""`` is a quote inside) or non-spaces.
_TOKEN: Final = re.compile(r'"(?:[^"]|"")*"(?= |$)|[^ ]+')


class W3cParse(NamedTuple):
    """A parse of trimmed non-blank lines: typed columns of the parsed ones (in order), which
    lines parsed, which are directives."""

    columns: dict[str, pa.Array]
    ok: np.ndarray[Any, np.dtype[np.bool_]]
    directive: np.ndarray[Any, np.dtype[np.bool_]]


def parse_w3c(lines: pa.Array, fmt: LogFormat) -> W3cParse:
    """Parse trimmed, non-blank lines of a W3C or CloudFront text (kind ``w3c``)."""
    count = len(lines)
    directive = as_bool(pc.starts_with(lines, "#")) if count else np.zeros(0, dtype=bool)
    # a boundary between joined texts (malformed) starts the next text with no directive
    boundary = as_bool(pc.equal(lines, BOUNDARY)) if count else np.zeros(0, dtype=bool)
    ok = np.zeros(count, dtype=bool)
    marks = np.flatnonzero(directive | boundary).tolist()
    texts = lines.take(pa.array(marks, type=pa.int64())).to_pylist() if marks else []
    state, start, tables = fmt, 0, []
    for mark, text in [*zip(marks, texts, strict=True), (count, None)]:
        if mark > start:
            table, parsed = _segment(lines.slice(start, mark - start), state)
            ok[start:mark] = parsed
            tables.append(table)
        if text is not None:
            state = fmt if text == BOUNDARY else state_after(state, [str(text)])
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
    none = tab or not count  # tabs: no quoting, no padding
    slow = np.zeros(count, dtype=bool) if none else _quoted_or_padded(lines)
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


def _quoted_or_padded(lines: pa.Array) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which lines hold a ``"`` or two spaces in a row (numpy over the bytes: faster than a
    regular expression per line, and most IIS blocks have none)."""
    raw, starts = bytes_and_starts(lines)
    found = np.flatnonzero(raw == ord('"'))
    spaces = raw == ord(" ")
    doubled = np.flatnonzero(spaces[:-1] & spaces[1:])
    slow = np.zeros(len(lines), dtype=bool)
    for positions in (found, doubled):
        if len(positions):  # a position belongs to the last line starting at or before it
            slow[np.searchsorted(starts, positions, side="right") - 1] = True
    return slow


def _tokens(line: str) -> list[str]:
    """A line's values, cut at runs of spaces; ``"..."`` values keep their quotes here
    (:func:`_unquote` removes them once the agent's ``+`` rule has looked at them)."""
    return _TOKEN.findall(line)


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

    def column(role: str, plain: bool = True) -> pa.Array | None:
        if role not in wanted:
            return None
        values = pc.cast(pc.list_element(keep, wanted[role]), pa.large_string())
        return unquote(values) if quoted and plain else values

    n = len(keep)
    valid = np.ones(n, dtype=bool)
    status = column("status")
    if status is not None:
        pattern = _STATUS_OR_NONE if cloudfront else _STATUS
        valid &= as_bool(pc.match_substring_regex(status, pattern=pattern))
    latency = np.full(n, np.nan)
    taken = column("latency")
    if taken is not None:
        shaped = as_bool(pc.match_substring_regex(taken, pattern=_DECIMAL_OR_DASH))
        taken = pc.if_else(pa.array(shaped), taken, "-")  # the converter expects the shape
        latency, good = decimal_to_ms(taken, _latency_exponent(state, fields, wanted))
        valid &= good & shaped
    time_ms, has_time, good = times(column("date"), column("time"), state, n)
    valid &= good
    sizes = np.zeros(n, dtype=np.int64)
    sent = column("bytes")
    if sent is not None:
        shaped = as_bool(pc.match_substring_regex(sent, pattern=_INTEGER_OR_DASH))
        sizes, good = integer_or_dash(pc.if_else(pa.array(shaped), sent, "-"))
        valid &= good & shaped
    paths, url_hosts = url_targets(target(column("path"), column("query"), n))
    method = column("method")
    table = pa.table(
        {
            "method": (method if method is not None else filled("-", n)).dictionary_encode(),
            "path": paths,
            "status": pa.array(
                status_codes(pc.if_else(pa.array(valid), status, "0"))
                if status is not None
                else np.zeros(n, np.int16),
                type=pa.int16(),
            ),
            "latency_ms": pa.array(latency, type=pa.float64()),
            "user_agent": agents(column("user_agent", plain=False), state, quoted, n),
            "time": pa.array(time_ms, type=pa.int64(), mask=~has_time).cast(TIME_TYPE),
            "bytes": pa.array(sizes),
            "host": hosts(column("host"), url_hosts, n),
            "client": clients(column("client"), n),
            "referer": _referers(column("referer", plain=False), state, quoted, n),
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
    ("client", ("c-ip",)),
    ("referer", ("cs(referer)",)),
)


def _referers(referer: pa.Array | None, state: LogFormat, quoted: bool, n: int) -> pa.Array:
    """Referers, decoded as the format's agents are (IIS ``+``, CloudFront's URL encoding);
    ``-`` and ``""`` are none (null)."""
    if referer is None:
        return pa.nulls(n, pa.large_string())
    decoded = agents(referer, state, quoted, n)
    return pc.if_else(pc.equal(decoded, ""), pa.scalar(None, pa.large_string()), decoded)


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
