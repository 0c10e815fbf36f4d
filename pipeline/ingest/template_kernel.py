"""The compiled path-template pass (numba): the rules of :mod:`pipeline.ingest.templates`
applied to an Arrow large-string array's bytes in one pass.

Why compiled: the Arrow kernels (split, a dictionary of segments, three RE2 matches, a join)
cost about 34 ms for the 23,000 distinct paths of a 16 MB block of the realistic scale log, a
fifth of that block's aggregation; this pass takes about 2 ms. It is imported only for arrays of
at least :data:`~pipeline.ingest.templates.COMPILED_FROM` paths, so a run over few distinct
paths never loads numba (0.2 s import, 0.2 s to load the cached machine code per process).

How: each segment is copied to the output while the AND of its bytes' classes is taken (a
table lookup per byte, no branch per rule); when a rule matches, the segment is overwritten by
its placeholder. The rules test ASCII bytes only, so UTF-8 text is copied unchanged. Numba
caches the machine code like the sieve kernel's (:mod:`pipeline.prime.compiled`).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pipeline.prime.compiled import njit

#: The placeholders in rule order; ``_UUID``, ``_ID``, ``_HEX`` index it, ``_KEEP``: no rule.
PLACEHOLDERS: Final[tuple[str, ...]] = ("{uuid}", "{id}", "{hex}")
_KEEP, _UUID, _ID, _HEX = -1, 0, 1, 2
#: Shortest segment the ``{hex}`` rule takes.
_MIN_HEX: Final[int] = 16

_SLASH, _DASH = ord("/"), ord("-")
#: Byte classes, as bits: a segment can match a rule when the AND of its bytes' classes has
#: the rule's bit (``_HEXDASH`` then needs the UUID's dash positions checked).
_DIGIT, _HEXDIGIT, _HEXDASH, _ALL = 1, 2, 4, 7
_CLASSES: Final = np.zeros(256, dtype=np.uint8)
_CLASSES[np.frombuffer(b"0123456789", np.uint8)] = _DIGIT | _HEXDIGIT | _HEXDASH
_CLASSES[np.frombuffer(b"ABCDEFabcdef", np.uint8)] = _HEXDIGIT | _HEXDASH
_CLASSES[_DASH] = _HEXDASH
_BYTES: Final = np.frombuffer("".join(PLACEHOLDERS).encode(), dtype=np.uint8).copy()
_STARTS: Final = np.cumsum([0] + [len(text) for text in PLACEHOLDERS]).astype(np.int64)

Bytes = npt.NDArray[np.uint8]
Offsets = npt.NDArray[np.int64]


def compiled_templates(paths: pa.LargeStringArray) -> pa.LargeStringArray:
    """The templated paths (nulls stay null)."""
    validity, offsets_buffer, data_buffer = paths.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        paths.offset : paths.offset + len(paths) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
    new_offsets, new_data = _templated(data, offsets, _CLASSES, _BYTES, _STARTS)
    if paths.null_count and paths.offset:
        validity = pa.compute.is_valid(paths).buffers()[1]  # the bitmap from offset 0
    out: pa.LargeStringArray = pa.LargeStringArray.from_buffers(
        len(paths),
        pa.py_buffer(new_offsets),
        pa.py_buffer(new_data),
        validity if paths.null_count else None,
    )
    return out


@njit
def _uuid(data: Bytes, start: int) -> bool:
    """Whether the 36 hex-or-dash bytes at ``start`` have their dashes at 8, 13, 18, 23 only."""
    for i in range(36):
        dash = data[start + i] == _DASH
        if dash != (i == 8 or i == 13 or i == 18 or i == 23):
            return False
    return True


@njit
def _templated(
    data: Bytes, offsets: Offsets, classes: Bytes, placeholders: Bytes, starts: Offsets
) -> tuple[Offsets, Bytes]:
    """New offsets (from 0) and bytes of the templated strings whose bytes are ``data`` and
    offsets ``offsets`` (an Arrow large-string array's buffers)."""
    count = len(offsets) - 1
    new_offsets = np.empty(count + 1, np.int64)
    new_offsets[0] = 0
    # a segment grows by at most the longest placeholder, and there are at most bytes + rows
    longest = np.max(starts[1:] - starts[:-1])
    out = np.empty(len(data) + longest * (offsets[count] - offsets[0] + count), np.uint8)
    position = 0
    for row in range(count):
        end = offsets[row + 1]
        index = offsets[row]
        while True:  # one segment per turn; a path of n slashes has n + 1
            first = position
            both = _ALL
            while index < end:
                byte = data[index]
                if byte == _SLASH:
                    break
                both &= classes[byte]
                out[position] = byte
                position += 1
                index += 1
            size = position - first
            kind = _KEEP
            if size == 36 and both & _HEXDASH and _uuid(out, first):
                kind = _UUID
            elif size and both & _DIGIT:
                kind = _ID
            elif size >= _MIN_HEX and both & _HEXDIGIT:
                kind = _HEX
            if kind != _KEEP:
                position = first
                for i in range(starts[kind], starts[kind + 1]):
                    out[position] = placeholders[i]
                    position += 1
            if index >= end:
                break
            out[position] = _SLASH
            position += 1
            index += 1
        new_offsets[row + 1] = position
    return new_offsets, out[:position]
