"""Line-aligned reading of a byte stream in bounded memory: pieces of whole lines, long lines cut.

Every read of ingest input goes through :func:`line_pieces`: a whole file streamed (compressed
files, small files, FIFOs, standard input) or one block of a large file. Memory stays near one
chunk plus one line, whatever the input: a line longer than :data:`MAX_LINE_BYTES` is never held
whole but skipped while streaming and reported as an :class:`Overlong` marker (the job counts it
as a malformed line). ``/dev/zero`` behind a FIFO therefore costs a constant amount of memory.

A block ``[offset, offset + length)`` of a file holds every line that *starts* in it: it begins
at the first line start at or after ``offset`` (position 0, or just after a ``\\n``) and ends at
the ``\\n`` that ends the line containing byte ``offset + length - 1``. Adjacent blocks therefore
share no line and miss none, as with ``fsspec.utils.read_block(..., delimiter=b"\\n")``, which
this replaces because it reads a block (and a huge line) whole.

>>> import io
>>> list(line_pieces(io.BytesIO(b"a\\nbb\\nccc"), chunk_size=4))
[b'a\\n', b'bb\\n', b'ccc']
>>> list(line_pieces(io.BytesIO(b"ok\\n" + b"x" * 9 + b"\\nok\\n"), chunk_size=4, max_line=5))
[b'ok\\n', Overlong(offset=3, length=10), b'ok\\n']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Final

import numpy as np

#: Longest line kept, in bytes, its ``\\n`` included. A longer line is counted malformed and
#: skipped without being held. Higher keeps stranger lines at the cost of that much memory per
#: task; real access-log lines are below 64 KiB. Legal range: >= 1 (tests use tiny values).
MAX_LINE_BYTES: Final[int] = 4 * 2**20

#: Bytes read at a time. Bounds a task's memory at a few times this value plus
#: :data:`MAX_LINE_BYTES`; larger chunks amortise per-chunk overhead a little more. Also the most
#: text a task holds whole whatever ``--blocksize`` (a group of small files, a piece of standard
#: input). Legal range: >= 1; 16 MiB matches the default blocksize.
STREAM_CHUNK: Final[int] = 16 * 2**20

#: Bytes scanned at a time when looking for the first line start of a block.
_SCAN_CHUNK: Final[int] = 2**16

#: Bytes read past a block's end to find the end of its last line (more are read, this much at a
#: time, for a longer line).
_AHEAD: Final[int] = 2**16


@dataclass(frozen=True)
class Overlong:
    """A line longer than the cap, skipped: where it starts and how long it is (``\\n`` included,
    or up to the end of the input or block)."""

    offset: int
    length: int


def seek_line_start(handle: IO[bytes], offset: int) -> int:
    """Position ``handle`` at the first line start at or after ``offset``; return that position
    (the end of the input when no line starts there)."""
    if offset <= 0:
        handle.seek(0)
        return 0
    handle.seek(offset - 1)
    position = offset - 1
    while True:
        chunk = handle.read(_SCAN_CHUNK)
        if not chunk:
            return position
        found = chunk.find(b"\n")
        if found >= 0:
            start = position + found + 1
            handle.seek(start)
            return start
        position += len(chunk)


def line_pieces(
    handle: IO[bytes],
    *,
    start: int = 0,
    stop: int | None = None,
    chunk_size: int = STREAM_CHUNK,
    max_line: int = MAX_LINE_BYTES,
) -> Iterator[bytes | Overlong]:
    """Whole lines read from ``handle`` (positioned at ``start``), in pieces, plus markers.

    Parameters
    ----------
    start
        Position of ``handle``, used for the offsets of :class:`Overlong` and for ``stop``.
    stop
        End the block with the line that contains byte ``stop - 1``; None reads to the end.
    chunk_size, max_line
        See :data:`STREAM_CHUNK` and :data:`MAX_LINE_BYTES`.

    Yields
    ------
    bytes or Overlong
        Pieces ending at a ``\\n`` (the last one of the input may not), in input order, with
        every line longer than ``max_line`` replaced by a marker.
    """
    position = start  # file position of data[0]
    data = b""
    skipping: int | None = None  # start of the overlong line being skipped
    while True:
        size = chunk_size
        if stop is not None:  # through byte stop - 1 and a little more, for the end of its line:
            # so a block is one piece, not a piece and its last line read again on its own
            size = min(chunk_size, max(stop - position - len(data), 0)) + min(chunk_size, _AHEAD)
        chunk = handle.read(size)
        if not chunk:
            if skipping is not None:
                yield Overlong(skipping, position + len(data) - skipping)
            elif data:
                yield from _capped(data, position, max_line)
            return
        data = data + chunk if data else chunk
        if skipping is not None:
            found = data.find(b"\n")
            if found < 0:
                position += len(data)
                data = b""
                continue
            yield Overlong(skipping, position + found + 1 - skipping)
            skipping = None
            position += found + 1
            data = data[found + 1 :]
            if stop is not None and position >= stop:
                return
        if stop is not None:
            end = data.find(b"\n", max(0, stop - 1 - position))
            if end >= 0:
                yield from _capped(data[: end + 1], position, max_line)
                return
        cut = data.rfind(b"\n") + 1
        if cut:
            yield from _capped(data[:cut], position, max_line)
            position += cut
            data = data[cut:]
        if len(data) > max_line:
            skipping = position
            position += len(data)
            data = b""


def _capped(piece: bytes, position: int, max_line: int) -> Iterator[bytes | Overlong]:
    """``piece`` (whole lines) with its lines longer than ``max_line`` replaced by markers."""
    if len(piece) <= max_line or _no_line_over(piece, max_line):
        yield piece
        return
    breaks = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == ord("\n"))
    ends = np.append(breaks + 1, len(piece)) if piece[-1:] != b"\n" else breaks + 1
    starts = np.concatenate(([0], ends[:-1]))
    long_lines = np.flatnonzero(ends - starts > max_line)
    if not len(long_lines):
        yield piece
        return
    kept = 0
    for index in long_lines.tolist():
        first, end = int(starts[index]), int(ends[index])
        if first > kept:
            yield piece[kept:first]
        yield Overlong(position + first, end - first)
        kept = end
    if kept < len(piece):
        yield piece[kept:]


def _no_line_over(piece: bytes, max_line: int) -> bool:
    """True when ``piece`` certainly has no line longer than ``max_line`` bytes: every window of
    ``max_line // 2`` bytes holds a line break, so no two breaks (nor the start and the first, nor
    the last and the end) are ``max_line`` bytes apart. A handful of short searches instead of a
    scan of every byte; False sends the piece to the exact scan."""
    window = max_line // 2
    if window < 1:
        return False
    return all(
        piece.find(b"\n", start, start + window) >= 0 for start in range(0, len(piece), window)
    )
