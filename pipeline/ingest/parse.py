"""Vectorised parsing of one partition of log lines into a typed pandas DataFrame.

Algorithm: the whole partition goes into one Arrow string array, is split on ``\\n``, trimmed
exactly like :meth:`str.strip`, and matched against one RE2 pattern with
:func:`pyarrow.compute.extract_regex`. RE2 runs in C++ without the GIL, so threads parse in
parallel, and no Python object is created per line (per-line ``re`` calls and dicts are the slow
path this module exists to avoid).

The grammar (issue 3), applied to each trimmed, non-empty line::

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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Every character for which ``str.isspace()`` is true (what ``str.strip()`` removes).
#: ``tests/test_ingest_parse.py`` checks this against a scan of all code points.
PY_WHITESPACE: Final[str] = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

_NOT_SPACE: Final[str] = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]"

#: The line grammar in RE2 syntax, for a trimmed line (documentation and the reference for
#: :data:`_VALID_PREFIX`). STATUS 100-599 is checked by the pattern itself; LATENCY rejects
#: ``.5``, ``5.``, signs, exponents, ``nan`` and ``inf``.
LINE_PATTERN: Final[str] = (
    r"^\[(?P<method>[A-Z]+)\] "
    rf"(?P<path>{_NOT_SPACE}+), "
    r"status=(?P<status>[1-5][0-9][0-9]), "
    r"time=(?P<latency_ms>[0-9]+(?:\.[0-9]+)?)ms "
    r"user-agent=(?P<user_agent>.*)$"
)

#: What is actually matched: the grammar up to ``user-agent=`` without capture groups, so RE2
#: runs its fast DFA (captures force the slower NFA: about 5x slower here). The UA part ``.*$``
#: adds nothing because a line never contains ``\n``. Fields are then cut out by position.
_VALID_PREFIX: Final[str] = re.sub(r"\(\?P<\w+>", "(?:", LINE_PATTERN).removesuffix("(?:.*)$")

#: Column names and dtypes of a parsed partition (also the ``meta`` of the dask dataframe).
COLUMNS: Final[tuple[str, ...]] = ("method", "path", "status", "latency_ms", "user_agent")


@dataclass(frozen=True)
class ParsedPartition:
    """One parsed partition.

    Attributes
    ----------
    frame
        One row per parsed line, in input order: ``method`` (categorical), ``path`` (string,
        query string included), ``status`` (int16), ``latency_ms`` (float64), ``user_agent``
        (string, verbatim, possibly empty).
    malformed_array
        The trimmed malformed lines, in input order, as an Arrow array (no Python objects until
        someone asks for them).
    """

    frame: pd.DataFrame
    malformed_array: pa.Array

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

    >>> list(empty_frame().dtypes.astype(str))
    ['category', 'str', 'int16', 'float64', 'str']
    """
    return parse_lines([]).frame


def parse_lines(lines: Sequence[str]) -> ParsedPartition:
    """Parse a partition given as lines, the shape ``dask.bag.read_text`` produces.

    Terminators (``\n``, ``\r\n``) may be attached; a ``\n`` inside an item still ends a line.
    """
    items = pa.array(lines, type=pa.large_string())
    return _parse_array(pc.list_flatten(pc.split_pattern(items, "\n")))


def parse_text(text: str) -> ParsedPartition:
    """Parse a block of text holding many lines; a line ends at ``\\n`` only.

    >>> frame = parse_text("\\n  \\r\\n[PURGE] /x, status=404, time=007ms user-agent=\\n").frame
    >>> frame.to_dict("records")
    [{'method': 'PURGE', 'path': '/x', 'status': 404, 'latency_ms': 7.0, 'user_agent': ''}]
    """
    return parse_lines([text])


def _parse_array(raw: pa.Array) -> ParsedPartition:
    """Trim, drop blank lines, validate against the grammar and cut the fields out by position."""
    trimmed = pc.utf8_trim(raw, characters=PY_WHITESPACE)
    lines = trimmed.filter(pc.greater(pc.binary_length(trimmed), 0))
    ok = pc.match_substring_regex(lines, pattern=_VALID_PREFIX)
    malformed = lines.filter(pc.invert(ok))
    table = _fields(lines.filter(ok))
    frame = table.to_pandas()
    if not len(frame):  # an empty dictionary array converts to object categories
        categories = pd.Index([], dtype=frame["path"].dtype)
        frame["method"] = pd.Categorical([], categories=categories)
    return ParsedPartition(frame=frame, malformed_array=malformed)


def _fields(valid: pa.Array) -> pa.Table:
    """The typed columns of lines known to match the grammar.

    Every separator is found with a plain substring search: its first occurrence is the right one
    because METHOD, PATH, STATUS and LATENCY cannot contain a space, and every separator does.
    """
    offsets = np.frombuffer(valid.buffers()[1], dtype=np.int64)[
        valid.offset : valid.offset + len(valid) + 1
    ]
    data = valid.buffers()[2]
    start, end = offsets[:-1], offsets[1:]
    close = start + _positions(valid, "] ")
    comma = start + _positions(valid, ", status=")
    unit = start + _positions(valid, "ms user-agent=")
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    digits = [raw[comma + 9 + i].astype(np.int16) - ord("0") for i in range(3)]
    status = digits[0] * 100 + digits[1] * 10 + digits[2]
    latency = _substrings(data, comma + 19, unit)
    return pa.table(
        {
            "method": _substrings(data, start + 1, close).dictionary_encode(),
            "path": _substrings(data, close + 2, comma),
            "status": pa.array(status, type=pa.int16()),
            "latency_ms": pc.cast(latency, pa.float64()),
            "user_agent": _substrings(data, unit + 14, end),
        }
    )


def _positions(strings: pa.Array, needle: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Byte index of the first ``needle`` in each string."""
    found = pc.find_substring(strings, needle)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _substrings(
    data: pa.Buffer | None, begin: np.ndarray[Any, Any], stop: np.ndarray[Any, Any]
) -> pa.Array:
    """Strings ``data[begin[i]:stop[i]]`` without a Python loop.

    The spans are in increasing order and do not overlap, so ``[b0, s0, b1, s1, ...]`` is a valid
    offsets buffer whose even elements are the wanted substrings; one ``take`` compacts them.
    """
    if len(begin) == 0 or data is None:
        return pa.array([], type=pa.large_string())
    bounds = np.empty(2 * len(begin), dtype=np.int64)
    bounds[0::2] = begin
    bounds[1::2] = stop
    spans = pa.LargeStringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds), data)
    return spans.take(pa.array(np.arange(0, len(bounds), 2, dtype=np.int64)))
