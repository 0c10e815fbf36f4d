"""Cut validated log lines into fields at their delimiters, without regex capture groups.

Why: RE2 validates a line with its DFA about five times faster than it extracts capture groups
(measured on combined lines: 0.07 s against 0.36 s of CPU for 170,000 lines). Once a line is
known to match the whole format, where each field ends is forced whenever the field cannot
contain the first character of the literal that follows it (a ``[^ ]*`` field before a space, a
quoted field before its closing quote, a number before ``"``): the field ends at the first such
character. This module finds those positions for all lines at once with numpy
(``searchsorted`` over the positions of each delimiter byte in the partition's buffer) and cuts
the fields out as zero-copy spans.

When it applies (:func:`plan`): every field of the format is followed by a literal whose first
character it never contains (:data:`~pipeline.ingest.formats.directives.NEVER_CONTAINS`), or ends
the line. Lines it cannot vouch for go back to the regex: a line with a backslash (a quoted field
may then hold an escaped ``\\"``), and any line where the cut does not land exactly on the end
of the line (a self-check). The two paths give identical fields on every line: the test suite
compares them on hostile lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.convert import large_strings, substrings

#: One step of a plan: (bytes to skip for a literal, or -1 for a field; the group to keep or "";
#: the delimiter byte that ends the field, or -1 when the field ends the line).
Step = tuple[int, str, int]


def plan(fmt: LogFormat) -> list[Step] | None:
    """The steps that cut a line of ``fmt``, or None when the format needs the regex."""
    if fmt.kind != "regex" or not fmt.layout:
        return None
    steps: list[Step] = []
    layout = fmt.layout
    for index, (kind, text, stops) in enumerate(layout):
        if kind == "literal":
            steps.append((len(text.encode("utf-8")), "", -1))
            continue
        following = layout[index + 1] if index + 1 < len(layout) else None
        if following is None:
            if fmt.extras and " " not in stops:
                return None
            steps.append((-1, text, ord(" ") if fmt.extras else -1))
            continue
        delimiter = following[1][0]
        if following[0] != "literal" or delimiter not in stops or ord(delimiter) > 127:
            return None
        steps.append((-1, text, ord(delimiter)))
    return steps


def cut_fields(lines: pa.Array, fmt: LogFormat) -> dict[str, pa.Array]:
    """The captured fields (``g0``, ``g1``, ...) of lines that all match ``fmt.pattern``.

    Same result as ``pc.extract_regex(lines, fmt.pattern)`` field by field.
    """
    steps = plan(fmt)
    lines = large_strings(lines)
    count = len(lines)
    if steps is None or count == 0:
        return _by_regex(lines, fmt)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + count + 1
    ]
    data = lines.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    positions: dict[int, np.ndarray[Any, Any]] = {}
    spans: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    at = starts.copy()
    last = len(steps) - 1
    for index, (skip, group, delimiter) in enumerate(steps):
        if skip >= 0:
            at = at + skip
            continue
        if delimiter < 0:
            stop = ends
        else:
            if delimiter not in positions:
                positions[delimiter] = np.append(np.flatnonzero(raw == delimiter), len(raw))
            found = positions[delimiter]
            stop = found[np.searchsorted(found, at)]
            if index == last:  # the last field of common: up to its extras or the line end
                stop = np.minimum(stop, ends)
        if group:
            spans[group] = (at, stop)
        at = stop
    exact = at == ends
    if fmt.extras:
        inside = np.minimum(at, max(len(raw) - 1, 0))
        exact = (at == ends) | ((at < ends) & (raw[inside] == ord(" ")))
    if '"' in "".join(text for _, text, _ in fmt.layout):
        exact &= ~_has_backslash(lines)
    if exact.all():
        return {group: substrings(data, *span) for group, span in spans.items()}
    return _merge(lines, fmt, exact, data, spans)


def _merge(
    lines: pa.Array,
    fmt: LogFormat,
    exact: np.ndarray[Any, Any],
    data: pa.Buffer | None,
    spans: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
) -> dict[str, pa.Array]:
    """Fields of the cut lines and of the others (by regex), put back in input order."""
    fast, slow = np.flatnonzero(exact), np.flatnonzero(~exact)
    by_regex = _by_regex(lines.take(pa.array(slow)), fmt)
    order = pa.array(np.argsort(np.concatenate([fast, slow]), kind="stable"))
    out = {}
    for group, (begin, stop) in spans.items():
        cut = substrings(data, begin[fast], stop[fast])
        out[group] = pa.concat_arrays([cut, large_strings(by_regex[group])]).take(order)
    return out


def _by_regex(lines: pa.Array, fmt: LogFormat) -> dict[str, pa.Array]:
    parts = pc.extract_regex(lines, pattern=fmt.pattern)
    return {f"g{i}": large_strings(pc.struct_field(parts, f"g{i}")) for i in range(len(fmt.roles))}


def _has_backslash(lines: pa.Array) -> np.ndarray[Any, Any]:
    found = pc.find_substring(lines, "\\")
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64) >= 0
