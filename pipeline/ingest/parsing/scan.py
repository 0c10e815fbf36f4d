"""Cut validated log lines into fields at their delimiters, without regex capture groups.

Why: RE2 validates a line with its DFA about five times faster than it extracts capture groups
(measured on combined lines: 0.07 s against 0.36 s of CPU for 170,000 lines). Once a line is
known to match the whole format, where each field ends is forced whenever the field cannot
contain the first character of the literal that follows it (a ``[^ ]*`` field before a space, a
quoted field before its closing quote, a number before ``"``): the field ends at the first such
character, or, in a field where a backslash escapes the next character (a quoted field), at the
first such character that is not escaped. A compiled loop
(:mod:`pipeline.ingest.parsing.cut_kernel`) walks each line once from field to field and copies
the fields out.

When it applies (:func:`plan`): every field of the format is followed by a literal whose first
character it never contains (:data:`~pipeline.ingest.formats.directives.NEVER_CONTAINS`), or ends
the line. Lines it cannot vouch for go back to the regex: any line where the cut does not land
exactly on the end of the line (a self-check). The two paths give identical fields on every
line: the test suite compares them on hostile lines. A text of few lines keeps the regex while
the loop is not loaded (:data:`COMPILED_CUT_MIN_LINES`): a small log does not pay for numba.
"""

from __future__ import annotations

import sys
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.convert import large_strings

#: One step of a plan: (bytes to skip for a literal, or -1 for a field; the group to keep or "";
#: the delimiter byte that ends the field, or -1 when the field ends the line; whether a
#: backslash escapes the next byte in the field).
Step = tuple[int, str, int, bool]

_KERNEL = "pipeline.ingest.parsing.cut_kernel"


def plan(fmt: LogFormat) -> list[Step] | None:
    """The steps that cut a line of ``fmt``, or None when the format needs the regex."""
    if fmt.kind != "regex" or not fmt.layout:
        return None
    steps: list[Step] = []
    layout = fmt.layout
    for index, (kind, text, stops, escaped) in enumerate(layout):
        if kind == "literal":
            steps.append((len(text.encode("utf-8")), "", -1, False))
            continue
        following = layout[index + 1] if index + 1 < len(layout) else None
        if following is None:
            if fmt.extras and " " not in stops:
                return None
            steps.append((-1, text, ord(" ") if fmt.extras else -1, escaped))
            continue
        delimiter = following[1][0]
        if following[0] != "literal" or delimiter not in stops or ord(delimiter) > 127:
            return None
        steps.append((-1, text, ord(delimiter), escaped))
    return steps


#: Lines from which a text is cut by the compiled loop rather than by RE2's capture groups, while
#: the loop is not loaded yet in this process. Loading it (``import numba`` and its cached machine
#: code) costs about 0.7 s of CPU once per process, and the loop saves about 4 s of CPU per
#: million lines (0.08 s against 0.46 s for 87,099 nginx lines), so a small log stays on the
#: regex; a process that has loaded the loop uses it for every text. Below one 16 MiB block of
#: typical lines (about 90,000), so a large log's first block loads it. Both paths give the same
#: fields (tests/test_ingest_scan.py). Legal range: >= 0.
COMPILED_CUT_MIN_LINES: Final[int] = 50_000


def cut_fields(
    lines: pa.Array,
    fmt: LogFormat,
    *,
    keep: np.ndarray[Any, Any] | None = None,
    compiled: bool | None = None,
) -> dict[str, pa.Array]:
    """The captured fields (``g0``, ``g1``, ...) of the lines ``keep`` selects (all when None),
    which all match ``fmt.pattern``.

    Same result as ``pc.extract_regex(lines.filter(keep), fmt.pattern)`` field by field, without
    copying the kept lines first on the compiled path. ``compiled`` forces the compiled cut
    (True) or the regex (False); None chooses by :data:`COMPILED_CUT_MIN_LINES`.
    """
    steps = plan(fmt)
    lines = large_strings(lines)
    count = len(lines)
    if compiled is None:
        compiled = count >= COMPILED_CUT_MIN_LINES or _KERNEL in sys.modules
    if steps is None or count == 0 or not compiled:
        kept = lines if keep is None or keep.all() else lines.filter(pa.array(keep))
        return _by_regex(kept, fmt)
    from pipeline.ingest.parsing.cut_kernel import cut_spans  # numba: on first use

    offsets, raw = string_bytes(lines)
    names = [group for _, group, _, _ in steps if group]
    begin, stop, exact = cut_spans(
        raw,
        np.ascontiguousarray(offsets),
        np.array([skip for skip, _, _, _ in steps], dtype=np.int64),
        np.array([delimiter for _, _, delimiter, _ in steps], dtype=np.int64),
        np.array([names.index(group) if group else -1 for _, group, _, _ in steps], np.int64),
        np.array([int(escaped) for _, _, _, escaped in steps], dtype=np.int64),
        len(names),
        fmt.extras,
    )
    wanted = np.ones(count, dtype=bool) if keep is None else keep
    fast = np.flatnonzero(exact & wanted)
    out = dict(zip(names, gathered(raw, begin, stop, fast), strict=True))
    slow = np.flatnonzero(~exact & wanted)
    if len(slow) == 0:
        return out
    return _merge(lines, fmt, fast, slow, out)


def string_bytes(lines: pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The string offsets (``count + 1``, contiguous) and the bytes of a ``large_string`` array,
    without a copy of the bytes: line ``i`` is ``raw[offsets[i]:offsets[i + 1]]``."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    data = lines.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return np.ascontiguousarray(offsets[lines.offset : lines.offset + len(lines) + 1]), raw


def gathered(
    raw: np.ndarray[Any, Any],
    begin: np.ndarray[Any, Any],
    stop: np.ndarray[Any, Any],
    keep: np.ndarray[Any, Any],
) -> list[pa.Array]:
    """One ``large_string`` array per row of the spans ``begin``/``stop`` (a field each), of the
    lines ``keep``, copied out by the compiled :func:`~pipeline.ingest.parsing.cut_kernel.gather`
    (one buffer shared by all fields)."""
    from pipeline.ingest.parsing.cut_kernel import gather  # numba: on first use

    offsets, data = gather(raw, begin, stop, keep)
    return [
        pa.LargeStringArray.from_buffers(
            len(keep),
            pa.py_buffer(offsets[row] - offsets[row, 0]),
            pa.py_buffer(data[offsets[row, 0] : offsets[row, -1]]),
        )
        for row in range(len(offsets))
    ]


def _merge(
    lines: pa.Array,
    fmt: LogFormat,
    fast: np.ndarray[Any, Any],
    slow: np.ndarray[Any, Any],
    cut: dict[str, pa.Array],
) -> dict[str, pa.Array]:
    """Fields of the cut lines ``fast`` and of the lines ``slow`` (by regex), in input order
    (both are indexes into ``lines``, ascending)."""
    by_regex = _by_regex(lines.take(pa.array(slow)), fmt)
    order = pa.array(np.argsort(np.concatenate([fast, slow]), kind="stable"))
    return {
        group: pa.concat_arrays([values, large_strings(by_regex[group])]).take(order)
        for group, values in cut.items()
    }


def _by_regex(lines: pa.Array, fmt: LogFormat) -> dict[str, pa.Array]:
    parts = pc.extract_regex(lines, pattern=fmt.pattern)
    return {f"g{i}": large_strings(pc.struct_field(parts, f"g{i}")) for i in range(len(fmt.roles))}
