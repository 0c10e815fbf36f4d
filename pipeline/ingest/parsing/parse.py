"""Vectorised parsing of one partition of log lines into a typed pandas DataFrame.

Algorithm: the whole partition goes into one Arrow string array, is split on ``\\n``, trimmed
exactly like :meth:`str.strip`, and matched against one RE2 pattern (the line's
:class:`~pipeline.ingest.formats.presets.LogFormat`) with pyarrow compute functions. RE2 runs in C++
without the GIL, so threads parse in parallel, and no Python object is created per line
(per-line ``re`` calls and dicts are the slow path this module exists to avoid; JSON lines are
the one exception, see :mod:`pipeline.ingest.parsing.jsonlines`). Captured fields become typed
columns through :mod:`pipeline.ingest.parsing.convert`; a line whose field does not convert (a
latency above :data:`~pipeline.ingest.parsing.convert.MAX_LATENCY_MS`, a size above
:data:`~pipeline.ingest.parsing.convert.MAX_BYTES`, a 31 February) is malformed.

The project's own grammar (the ``default`` format), applied to each trimmed, non-empty line::

    [METHOD] PATH, status=STATUS, time=LATENCYms user-agent=UA

Python's notion of whitespace (``str.isspace``, which ``str.strip`` and ``re``'s ``\\s`` use) is
wider than RE2's ASCII ``\\s``, so both the trimming set and PATH's "non-whitespace" class are
spelled out character by character in :data:`PY_WHITESPACE`.

>>> parsed = parse_lines(["[GET] /a?q=1, status=200, time=12.5ms user-agent=curl/8.0", "oops"])
>>> parsed.frame[["method", "status", "latency_ms"]].to_dict("records")
[{'method': 'GET', 'status': 200, 'latency_ms': 12.5}]
>>> parsed.malformed
['oops']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.addresses import clients
from pipeline.ingest.parsing.convert import (
    integer_or_dash,
    split_request,
    status_codes,
    url_targets,
)
from pipeline.ingest.parsing.jsonlines import JsonRows, parse_json
from pipeline.ingest.parsing.logfmt import parse_logfmt
from pipeline.ingest.parsing.own_grammar import PY_WHITESPACE, own_fields
from pipeline.ingest.parsing.roles import latency_of, time_of
from pipeline.ingest.parsing.scan import cut_fields
from pipeline.ingest.parsing.w3c import parse_w3c
from pipeline.ingest.parsing.w3c_state import carried
from pipeline.ingest.parsing.wrappers import unwrap

DEFAULT_FORMAT: Final[LogFormat] = LogFormat("default", "default")

#: Most lines parsed in one pass. The parser holds about 25 bytes per line of the text it parses
#: at once (Arrow offsets and lengths of the split, trimmed and measured lines, whatever the
#: line's length), so a block of 16M empty lines would cost 400 MB; a text with more lines is
#: parsed in slices of at most this many bytes (hence at most this many lines), each ending at a
#: line break, and the slices' results are put together. Lower: less memory for dense text and
#: more passes (a few ms each); real log lines (50 bytes or more) never reach it in a 16 MiB block.
#: Legal range: >= 1 (tests use tiny values).
MAX_PARSE_LINES: Final[int] = 2**20

#: Time unit of the ``time`` column: UTC milliseconds since the epoch.
TIME_TYPE: Final = pa.timestamp("ms", tz="UTC")


@dataclass(frozen=True)
class ParsedPartition:
    """One parsed partition.

    Attributes
    ----------
    frame
        One row per parsed line, in input order: ``method`` (categorical; ``-`` when the request
        line is not ``METHOD TARGET PROTOCOL``), ``path`` (string, query string included),
        ``status`` (int16), ``latency_ms`` (float64, NaN when the line has none), ``user_agent``
        (string, ``""`` when missing or ``-``), ``time`` (UTC, NaT when none), ``bytes`` (int64,
        0 when the format has no size), ``host`` (string: the virtual host or the host of a
        full-URL request target; missing when the line has none), ``client`` (string: the
        client address as written, without its port; missing when the format or line has
        none: :mod:`pipeline.ingest.parsing.addresses`) and ``referer`` (string: the Referer
        header as written; missing when the format has none or the line writes ``-`` or ``""``).
    malformed_array
        The trimmed malformed lines, in input order, as an Arrow array (no Python objects until
        someone asks for them).
    malformed_index
        Where each malformed line is: its index (from 0) among all the lines of the text, blank
        ones included, so that ``index + 1`` is its line number within the text.
    line_count
        Lines of the text, blank ones included (a final line without ``\n`` counts; the empty
        text has none): what a later partition's line numbers are shifted by.
    directives
        Directive lines (W3C ``#Fields:`` ...), neither parsed nor malformed.
    keys
        JSON and logfmt: keys the records have (``JsonRows.keys`` in
        :mod:`pipeline.ingest.parsing.records`).
    """

    frame: pd.DataFrame
    malformed_array: pa.Array
    malformed_index: np.ndarray[Any, Any] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    line_count: int = 0
    directives: int = 0
    keys: frozenset[str] = frozenset()

    @property
    def malformed(self) -> list[str]:
        """The malformed lines as Python strings (materialised on demand)."""
        return [str(line) for line in self.malformed_array.to_pylist()]

    @property
    def lines(self) -> int:
        """Non-blank lines seen: parsed plus malformed."""
        return len(self.frame) + len(self.malformed_array)


def empty_frame() -> pd.DataFrame:
    """A zero-row frame with the parsed columns and dtypes (dask ``meta``).

    >>> list(empty_frame().dtypes.astype(str))  # doctest: +NORMALIZE_WHITESPACE
    ['category', 'str', 'int16', 'float64', 'str', 'datetime64[ms, UTC]', 'int64', 'str',
     'str', 'str']
    """
    return parse_lines([]).frame


def parse_lines(lines: Sequence[str], fmt: LogFormat = DEFAULT_FORMAT) -> ParsedPartition:
    """Parse a partition given as lines, the shape ``dask.bag.read_text`` produces.

    Terminators (``\n``, ``\r\n``) may be attached; a ``\n`` inside an item still ends a line.
    """
    return _parse_items(pa.array(lines, type=pa.large_string()), fmt)


def parse_text(text: str | bytes, fmt: LogFormat = DEFAULT_FORMAT) -> ParsedPartition:
    """Parse a block of text holding many lines; a line ends at ``\\n`` only.

    ``text`` may be the raw bytes of a block: valid UTF-8 is used in place (Arrow checks it
    without holding the GIL; no Python ``str`` of the block is built, nor copied again into
    Arrow), anything else is decoded with ``errors="replace"`` first, like any text read. A text
    of more than :data:`MAX_PARSE_LINES` lines (empty or tiny ones) is parsed slice by slice, so
    the parser's memory follows the longest slice, not the number of lines.

    >>> frame = parse_text("\\n  \\r\\n[PURGE] /x, status=404, time=007ms user-agent=\\n").frame
    >>> frame.drop(columns=["time", "bytes", "host", "client", "referer"]).to_dict("records")
    [{'method': 'PURGE', 'path': '/x', 'status': 404, 'latency_ms': 7.0, 'user_agent': ''}]
    """
    parts = []
    for part in text_slices(text):  # a W3C slice hands its directives in force to the next
        parts.append(_parse_one(part, fmt))
        fmt = carried(fmt, part)
    return _to_partition(parts[0] if len(parts) == 1 else _joined(parts))


def _parse_one(text: str | bytes, fmt: LogFormat) -> _Parsed:
    items = _utf8(text) if isinstance(text, bytes) else pa.array([text], type=pa.large_string())
    return _parse_array(pc.list_flatten(pc.split_pattern(items, "\n")), fmt)


def _parse_items(items: pa.Array, fmt: LogFormat) -> ParsedPartition:
    """Parse Arrow strings that each hold one or more lines (a ``\\n`` ends a line)."""
    return _to_partition(_parse_array(pc.list_flatten(pc.split_pattern(items, "\n")), fmt))


def text_slices(text: str | bytes) -> Iterator[str | bytes]:
    """``text`` itself, or when it has more than :data:`MAX_PARSE_LINES` lines the slices
    :func:`parse_text` would parse one at a time: a caller that reduces each slice's parse at
    once (the read tasks aggregate it) then holds no result per line of the whole text.

    >>> list(text_slices(b"a\\nb\\n"))
    [b'a\\nb\\n']
    """
    if _dense(text, MAX_PARSE_LINES):
        yield from _slices(text, MAX_PARSE_LINES)
    else:
        yield text


#: The byte of a line break, for :func:`_dense`.
_NEWLINE: Final[int] = ord("\n")
_COUNT_STEP: Final[int] = 256 * 1024


def _dense(text: str | bytes, most: int) -> bool:
    """True when ``text`` has more than ``most`` lines (a final one without ``\\n`` included)."""
    if len(text) <= most:
        return False
    if isinstance(text, str):
        return text.count("\n") + (not text.endswith("\n")) > most
    # numpy counts a byte about twice as fast as bytes.count; 256 KiB at a time, so the
    # comparison's temporary array stays small whatever the text's length
    data = np.frombuffer(text, dtype=np.uint8)
    breaks = sum(
        int(np.count_nonzero(data[start : start + _COUNT_STEP] == _NEWLINE))
        for start in range(0, len(data), _COUNT_STEP)
    )
    return breaks + (not text.endswith(b"\n")) > most


def _slices(text: str | bytes, most: int) -> Iterator[str | bytes]:
    """``text`` cut after line breaks into slices of at most ``most`` characters, hence lines (a
    slice of one line when the line is longer), made one at a time.

    >>> list(_slices("a\\nbb\\nccc\\n\\n", 3))
    ['a\\n', 'bb\\n', 'ccc\\n', '\\n']
    >>> list(_slices(b"\\n" * 5, 2))
    [b'\\n\\n', b'\\n\\n', b'\\n']
    """
    newline: Any = "\n" if isinstance(text, str) else b"\n"
    start = 0
    while start < len(text):
        if len(text) - start <= most:
            end = len(text)
        else:
            end = text.rfind(newline, start, start + most) + 1
            if end <= start:  # no line ends within the window: one longer line alone
                end = text.find(newline, start + most) + 1 or len(text)
        yield text[start:end]
        start = end


def _utf8(data: bytes) -> pa.Array:
    """``data`` as a one-item Arrow string array: its own buffer when it is valid UTF-8, else
    its ``errors="replace"`` decoding."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    buffers = [None, offsets, pa.py_buffer(data)]
    raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, buffers)
    try:
        return raw.cast(pa.large_string())  # validates the UTF-8
    except pa.ArrowInvalid:
        return pa.array([data.decode("utf-8", errors="replace")], type=pa.large_string())


def _parse_array(raw: pa.Array, fmt: LogFormat) -> _Parsed:
    """Trim, drop blank lines, match the format, convert the fields; the rest is malformed."""
    trimmed = pc.utf8_trim(raw, characters=PY_WHITESPACE)
    filled = _bool(pc.greater(pc.binary_length(trimmed), 0))
    lines = _kept(trimmed, filled)
    # the last piece of the split is not a line when the text ends with \n (or is empty)
    line_count = len(raw) - 1 if len(raw) and not pc.binary_length(raw[-1]).as_py() else len(raw)
    del raw, trimmed  # a block's text is copied at every step: free each copy early
    directive = None
    keys: frozenset[str] = frozenset()
    written, stamps = lines, None
    if fmt.wrapper:  # a container's line: read the line inside (malformed ones as written)
        lines, stamps = unwrap(lines, fmt.wrapper)
    if fmt.kind == "default":
        ok, columns, valid = own_fields(lines)
        columns |= _absent(len(valid))
    elif fmt.kind == "regex":
        ok = _bool(pc.match_substring_regex(lines, pattern=fmt.match_pattern))
        columns, valid = _regex_fields(cut_fields(lines, fmt, keep=ok), fmt)
    elif fmt.kind == "w3c":
        w3c = parse_w3c(lines, fmt)
        ok, columns, directive = w3c.ok, w3c.columns, w3c.directive
        valid = np.ones(int(ok.sum()), dtype=bool)
    else:
        parse_keyed = parse_logfmt if fmt.kind == "logfmt" else parse_json
        rows = parse_keyed(lines, fmt.json_fields, fmt.options)
        ok = rows.ok
        columns, valid = _json_fields(rows)
        keys = rows.keys
    if stamps is not None:  # the wrapper's time where the line inside has none
        columns["time"] = pc.coalesce(columns["time"], _kept(stamps, ok).cast(TIME_TYPE))
    if not valid.all():  # matched, but a field did not convert: malformed after all
        ok[np.flatnonzero(ok)[~valid]] = False
        columns = {name: column.filter(pa.array(valid)) for name, column in columns.items()}
    bad = ~ok if directive is None else ~ok & ~directive
    index = np.flatnonzero(filled)[bad]
    directives = 0 if directive is None else int(directive.sum())
    return _Parsed(
        pa.table(columns), written.filter(pa.array(bad)), index, line_count, directives, keys=keys
    )


class _Parsed(NamedTuple):
    """A parse before its rows become pandas: what :class:`ParsedPartition` holds, the frame
    still an Arrow table (slices of one text are joined as tables: pandas would turn differing
    categories into objects)."""

    table: pa.Table
    malformed_array: pa.Array
    malformed_index: np.ndarray[Any, Any]
    line_count: int
    directives: int = 0
    keys: frozenset[str] = frozenset()


def _joined(parts: Sequence[_Parsed]) -> _Parsed:
    """The parses of consecutive slices of one text as the parse of the whole text: rows and
    malformed lines in order, malformed line indexes shifted by the lines of the slices before."""
    shifts = np.cumsum([0] + [part.line_count for part in parts[:-1]])
    return _Parsed(
        pa.concat_tables([part.table for part in parts]).combine_chunks(),
        pa.concat_arrays([part.malformed_array for part in parts]),
        np.concatenate([p.malformed_index + shift for p, shift in zip(parts, shifts, strict=True)]),
        sum(part.line_count for part in parts),
        sum(part.directives for part in parts),
        frozenset().union(*(part.keys for part in parts)),
    )


def _to_partition(parsed: _Parsed) -> ParsedPartition:
    frame = parsed.table.to_pandas()
    if not len(frame):  # an empty dictionary array converts to object categories
        categories = pd.Index([], dtype=frame["path"].dtype)
        frame["method"] = pd.Categorical([], categories=categories)
    return ParsedPartition(
        frame=frame,
        malformed_array=parsed.malformed_array,
        malformed_index=parsed.malformed_index,
        line_count=parsed.line_count,
        directives=parsed.directives,
        keys=parsed.keys,
    )


def _absent(count: int) -> dict[str, pa.Array]:
    """The columns of a format that has none of them: no time, size, host, client or referer."""
    return {
        "time": pa.nulls(count, TIME_TYPE),
        "bytes": pa.array(np.zeros(count, dtype=np.int64)),
        "host": pa.nulls(count, pa.large_string()),
        "client": pa.nulls(count, pa.large_string()),
        "referer": pa.nulls(count, pa.large_string()),
    }


def _regex_fields(
    groups: dict[str, pa.Array], fmt: LogFormat
) -> tuple[dict[str, pa.Array], np.ndarray[Any, Any]]:
    """The typed columns of lines that matched a compiled format (see the roles in formats).

    ``groups`` holds the captured text of each group (``g0``, ``g1``, ...), one entry per line.
    """
    count = len(groups["g0"]) if groups else 0
    fields = {role: groups[f"g{i}"] for i, role in enumerate(fmt.roles)}
    valid = np.ones(count, dtype=bool)
    dash = pa.array(["-"] * count, type=pa.large_string()) if count else pa.array([], pa.string())
    method: pa.Array = fields.get("method", dash)
    if "method" in fields:  # nginx's empty $request_method ("" with escape=json) is "-"
        method = pc.if_else(pc.equal(method, ""), "-", method)
    target: pa.Array = fields.get("target", fields.get("path", dash))
    if "request" in fields:
        method, target = split_request(fields["request"])
    target, url_hosts = url_targets(target)
    latency = np.full(count, np.nan)
    role = fmt.latency_role
    if role is not None:
        latency, ok = latency_of(fields, role, count)
        valid &= ok
    time_ms, has_time = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=bool)
    time_role = fmt.time_role
    if time_role is not None:
        has_time[:] = True
        time_ms, ok = time_of(fields[time_role], time_role, fmt.options)
        valid &= ok
    sizes = np.zeros(count, dtype=np.int64)
    if "bytes" in fields:
        sizes, ok = integer_or_dash(fields["bytes"])
        valid &= ok
    agent = fields.get("user_agent")
    return {
        "method": pc.cast(method, pa.large_string()).dictionary_encode(),
        "path": pc.cast(target, pa.large_string()),
        "status": pa.array(
            status_codes(fields["status"]) if "status" in fields else np.zeros(count, np.int16),
            type=pa.int16(),
        ),
        "latency_ms": pa.array(latency, type=pa.float64()),
        "user_agent": _agents(agent, count),
        "time": _times(time_ms, has_time),
        "bytes": pa.array(sizes),
        "host": _hosts(fields.get("host", url_hosts), count),
        "client": clients(
            fields.get("client", fields.get("client_port")), count, "client_port" in fields
        ),
        "referer": _hosts(fields.get("referer"), count),
    }, valid


def _json_fields(rows: JsonRows) -> tuple[dict[str, pa.Array], np.ndarray[Any, Any]]:
    keep = pa.array(rows.ok)
    return {
        "method": pc.cast(rows.method.filter(keep), pa.large_string()).dictionary_encode(),
        "path": pc.cast(rows.path.filter(keep), pa.large_string()),
        "status": pa.array(rows.status[rows.ok], type=pa.int16()),
        "latency_ms": pa.array(rows.latency_ms[rows.ok], type=pa.float64()),
        "user_agent": pc.cast(rows.user_agent.filter(keep), pa.large_string()),
        "time": _times(rows.time_ms[rows.ok], rows.has_time[rows.ok]),
        "bytes": pa.array(rows.bytes[rows.ok]),
        "host": _hosts(rows.host.filter(keep), int(rows.ok.sum())),
        "client": clients(rows.client.filter(keep), int(rows.ok.sum())),
        "referer": _hosts(rows.referer.filter(keep), int(rows.ok.sum())),
    }, np.ones(int(rows.ok.sum()), dtype=bool)


def _agents(agent: pa.Array | None, count: int) -> pa.Array:
    """User agents; a missing field or ``-`` (nginx's empty value) is the empty agent."""
    if agent is None:
        return pa.array([""] * count, type=pa.large_string())
    return pc.cast(pc.if_else(pc.equal(agent, "-"), "", agent), pa.large_string())


def _hosts(host: pa.Array | None, count: int) -> pa.Array:
    """Hosts (and referers); a missing field, ``-`` or ``""`` is none (null)."""
    if host is None:
        return pa.nulls(count, pa.large_string())
    host = pc.cast(host, pa.large_string())
    return pc.if_else(pc.is_in(host, pa.array(["-", ""])), pa.scalar(None, pa.large_string()), host)


def _times(time_ms: np.ndarray[Any, Any], has_time: np.ndarray[Any, Any]) -> pa.Array:
    return pa.array(time_ms, type=pa.int64(), mask=~has_time).cast(TIME_TYPE)


def _kept(array: pa.Array, keep: np.ndarray[Any, Any]) -> pa.Array:
    """The entries of ``array`` where ``keep`` is True; a slice of it (no copy) when those are its
    first entries, as when only the empty piece after a text's last line break is dropped."""
    count = int(np.count_nonzero(keep))
    return array.slice(0, count) if keep[:count].all() else array.filter(pa.array(keep))


def _bool(array: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
