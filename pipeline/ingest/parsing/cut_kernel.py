"""The compiled loop that cuts validated lines into fields: one pass over each line's bytes.

Why compiled: the numpy cut (positions of every delimiter byte in the block, then a
``searchsorted`` per field) touches the whole block once per delimiter and once per field, and
sends every line with a backslash back to the regex; this loop walks each line once, from field
to field, and skips an escaped character inside a field whose pattern has escapes
(:data:`~pipeline.ingest.formats.directives.ESCAPED`), so those lines are cut too. It also copies
each captured field into its own compact string buffers, which a ``take`` of the spans did
before. Compiled with ``numba.njit(nogil=True, cache=True)``: threads cut in parallel, and the
machine code is cached on disk (numba's own cache locations) after the first run.

The plan a line is cut by (:func:`pipeline.ingest.parsing.scan.plan`) is four arrays, one entry
per step: ``skips`` (bytes of a literal, or -1 for a field), ``delimiters`` (the byte that ends
the field, -1 when it ends the line), ``groups`` (the output column of the field, -1 when it is
not kept) and ``escaped`` (1 when a backslash escapes the next byte in the field).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def cut_spans(
    raw: Bytes,
    offsets: Ints,
    skips: Ints,
    delimiters: Ints,
    groups: Ints,
    escaped: Ints,
    group_count: int,
    extras: bool,
) -> tuple[Ints, Ints, npt.NDArray[np.bool_]]:
    """Where each kept field of each line begins and ends, and which lines the cut vouches for.

    A line is *exact* when the walk ends exactly at its end (or, with ``extras``, at a space
    before its end: ``common`` lines may continue); the others go back to the regex.
    """
    count = len(offsets) - 1
    begin = np.zeros((group_count, count), np.int64)
    stop = np.zeros((group_count, count), np.int64)
    exact = np.zeros(count, np.bool_)
    steps = len(skips)
    for line in range(count):
        at = offsets[line]
        end = offsets[line + 1]
        for step in range(steps):
            skip = skips[step]
            if skip >= 0:
                at += skip
                continue
            delimiter = delimiters[step]
            cursor = at
            if delimiter < 0:
                cursor = end
            elif escaped[step]:
                while cursor < end:
                    byte = raw[cursor]
                    if byte == 92:  # a backslash: the next byte is part of the field
                        cursor += 2
                    elif byte == delimiter:
                        break
                    else:
                        cursor += 1
            else:
                while cursor < end and raw[cursor] != delimiter:
                    cursor += 1
            if cursor > end:  # an escape at the very end: not a line of the format
                cursor = end
            group = groups[step]
            if group >= 0:
                begin[group, line] = at
                stop[group, line] = cursor
            at = cursor
        exact[line] = at == end or (extras and at < end and raw[at] == 32)
    return begin, stop, exact


@numba.njit(nogil=True, cache=True)  # type: ignore[untyped-decorator]
def gather(raw: Bytes, begin: Ints, stop: Ints, keep: Ints) -> tuple[Ints, Bytes]:
    """Every kept field of the lines ``keep`` copied out, in one pass over those lines.

    ``offsets[group]`` are the string offsets of that field's values inside ``data`` (offsets
    of one group are consecutive, from ``offsets[group, 0]`` to ``offsets[group, -1]``), so each
    field becomes a string array over its own slice of ``data`` without another copy. Line by
    line, not field by field, so each line's bytes are read while they are in the cache.
    """
    groups = begin.shape[0]
    count = len(keep)
    offsets = np.empty((groups, count + 1), np.int64)
    total = 0
    for group in range(groups):
        offsets[group, 0] = total
        for out in range(count):
            line = keep[out]
            total += stop[group, line] - begin[group, line]
            offsets[group, out + 1] = total
    data = np.empty(total, np.uint8)
    for out in range(count):
        line = keep[out]
        for group in range(groups):
            # byte by byte with unsigned indexes (numba checks a signed one for a negative
            # value): fields are short, and this beat numba's slice copy 2x
            target = np.uint64(offsets[group, out])
            for at in range(np.uint64(begin[group, line]), np.uint64(stop[group, line])):
                data[target] = raw[at]
                target += np.uint64(1)
    return offsets, data
