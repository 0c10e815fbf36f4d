"""What an incremental run reads: each input file's new text, as blocks, and its next cursor.

For every input file the client looks at its start, its size and, for a plain file, where its
last complete line ends (:func:`look`), then finds the cursor it continues
(:class:`~pipeline.ingest.state.cursors.HeadIndex`) and plans (:func:`plan_incremental`):

* a plain file: blocks over ``[start, end)``, where ``start`` is the cursor's offset (a line
  start) or 0, and ``end`` the end of its last complete line when planned: a last line without
  its newline may still be being written, and is read whole next time;
* a compressed file: one whole block that drops the ``skip`` decompressed bytes counted before
  (a plain file compressed after rotation: streamed and skipped, never decompressed to disk),
  or nothing when it is a compressed file already read whole;
* a resumed file is read with the format saved in its cursor (for W3C with the directives in
  force at its offset), never detected again from the middle of the file.

The next cursor of each file is known when planning, but for the format in force at its new end
(W3C directives in the new text: :func:`format_at_end`, a task of the graph).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import IO, Final

import fsspec.compression

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.inputs.files import MAX_GROUP_FILES, Block, compression_of
from pipeline.ingest.inputs.stream import STREAM_CHUNK
from pipeline.ingest.parsing.w3c_state import state_after
from pipeline.ingest.read import READ_ERRORS, block_directives
from pipeline.ingest.state.cursors import (
    HEAD_BYTES,
    TAIL_BYTES,
    Cursor,
    HeadIndex,
    Seen,
    head_fingerprint,
    tail_fingerprint,
)

#: Bytes read at a time when looking backwards for a file's last line break, or when
#: decompressing a file up to a cursor's offset.
_CHUNK: Final[int] = 2**20


@dataclass(frozen=True)
class FilePlan:
    """One input file of an incremental run.

    ``blocks``: what to read (none when nothing is new); ``fmt``: the format it is read with,
    None to detect it (a file new to the state); ``resumed``: the cursor it continues (None for
    a file read from its start); ``cursor``: its cursor after this run (its format filled in
    by the job), None for an input without one (not a regular local file).
    """

    path: str
    blocks: tuple[Block, ...]
    fmt: LogFormat | None
    resumed: Cursor | None
    cursor: Cursor | None


def look(path: str) -> tuple[Seen, int] | None:
    """What the client sees of a local regular file: identity, size, time, head, and the end of
    its last complete line (plain files; for a compressed one -1, its text's length being unknown,
    0 when it has no text, -2 when it cannot be decompressed). None when it is not a regular
    local file or cannot be examined (its task reports it)."""
    if "://" in path and not path.startswith("file://"):
        return None
    local = path.removeprefix("file://")
    compression = compression_of(local)
    try:
        with open(local, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            if compression is None:
                head = handle.read(HEAD_BYTES)
                end = _last_line_end(handle, info.st_size)
            else:
                found = _decompressed_head(handle, compression, info.st_size)
                head, end = (b"", -2) if found is None else (found, -1 if found else 0)
    except OSError:
        return None
    seen = Seen(
        path,
        info.st_dev,
        info.st_ino,
        info.st_size,
        info.st_mtime_ns,
        compression is not None,
        head,
    )
    return seen, end


def _decompressed_head(handle: IO[bytes], compression: str, size: int) -> bytes | None:
    """The first :data:`HEAD_BYTES` of a compressed file's text; None when it cannot be
    decompressed (it then matches no cursor, and its task reports the error)."""
    if size == 0:
        return b""
    try:
        with fsspec.compression.compr[compression](handle, mode="rb") as stream:
            return _read_exactly(stream, HEAD_BYTES)
    except READ_ERRORS:
        return None


def _read_exactly(stream: IO[bytes], count: int) -> bytes:
    """Up to ``count`` bytes (fewer only at the end of the stream)."""
    pieces = []
    while count > 0:
        piece = stream.read(min(count, _CHUNK))
        if not piece:
            break
        pieces.append(piece)
        count -= len(piece)
    return b"".join(pieces)


def _last_line_end(handle: IO[bytes], size: int) -> int:
    """The offset just after the file's last ``\\n`` within ``size`` bytes (0 when none)."""
    position = size
    while position > 0:
        start = max(0, position - _CHUNK)
        handle.seek(start)
        chunk = handle.read(position - start)
        found = chunk.rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def _bytes_before(path: str, offset: int) -> bytes:
    """The :data:`TAIL_BYTES` of a plain file just before ``offset``."""
    start = max(0, offset - TAIL_BYTES)
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(offset - start)


def _compressed_reaches(seen: Seen, cursor: Cursor) -> tuple[bool, bool]:
    """Whether a compressed file's text reaches ``cursor.offset`` with the cursor's tail just
    before it, and whether more text follows (stream-decompressed, never to disk)."""
    compression = compression_of(seen.path)
    assert compression is not None
    try:
        with (
            open(seen.path, "rb") as raw,
            fsspec.compression.compr[compression](raw, mode="rb") as stream,
        ):
            left, kept = cursor.offset, b""
            while left > 0:
                piece = stream.read(min(left, _CHUNK))
                if not piece:
                    return False, False
                kept = (kept + piece)[-TAIL_BYTES:]
                left -= len(piece)
            if tail_fingerprint(kept) != cursor.tail:
                return False, False
            return True, bool(stream.read(1))
    except READ_ERRORS:
        return False, False


def _continues(seen: Seen, end: int, cursor: Cursor) -> bool:
    """Whether a file whose head matches ``cursor`` still holds the text counted: its text
    reaches the offset with the same bytes just before it (else it was truncated or
    rewritten, and is read from its start)."""
    if cursor.offset < 0:  # a compressed file read whole: only the same file continues it
        return seen.compressed and seen.size == cursor.size
    if seen.compressed:
        return True  # checked while decompressing (_compressed_reaches)
    if cursor.offset > end:
        return False
    try:
        return tail_fingerprint(_bytes_before(seen.path, cursor.offset)) == cursor.tail
    except OSError:
        return False


def plan_incremental(
    files: Sequence[str], cursors: Sequence[Cursor], blocksize: int
) -> tuple[list[FilePlan], set[int]]:
    """A :class:`FilePlan` per input file, and the indexes of the cursors matched.

    A compressed file whose uncompressed name is an input too (``access.log.2.gz`` beside
    ``access.log.2``) is being compressed, or is a copy: its text is the other file's, so it
    is read, and gets a cursor, only once the other is gone (gzip writes the ``.gz``, then
    deletes the original: a run between the two would count the lines twice).
    """
    plans: list[FilePlan] = []
    used: set[int] = set()
    heads = HeadIndex(cursors)
    names = set(files)
    for path in files:
        compression = compression_of(path)
        if compression is not None and os.path.splitext(path)[0] in names:
            plans.append(FilePlan(path, (), None, None, None))
            continue
        looked = look(path)
        if looked is None:  # not a regular local file: read whole, every time, no cursor
            plans.append(
                FilePlan(path, (Block(path, 0, None, compression_of(path)),), None, None, None)
            )
            continue
        seen, end = looked
        resumed, skip_all, more = None, False, True
        for index in heads.candidates(seen):
            cursor = cursors[index]
            if index in used or not _continues(seen, end, cursor):
                continue
            if seen.compressed and cursor.offset >= 0:
                reaches, more = _compressed_reaches(seen, cursor)
                if not reaches:
                    continue
            skip_all = seen.compressed and cursor.offset < 0  # the same compressed file
            resumed = cursor
            used.add(index)
            break
        plans.append(_plan_file(seen, end, resumed, skip_all or not more, blocksize))
    return plans, used


def _plan_file(
    seen: Seen, end: int, resumed: Cursor | None, nothing_new: bool, blocksize: int
) -> FilePlan:
    """The blocks and next cursor of one file (see :func:`plan_incremental`)."""
    fmt = resumed.format if resumed is not None else None
    identity = seen.identity
    if seen.compressed and end == 0:  # no text at all: nothing to read or to remember
        return FilePlan(seen.path, (), None, None, None)
    if seen.compressed:
        blocks: tuple[Block, ...] = ()
        if not (resumed is not None and nothing_new):
            skip = resumed.offset if resumed is not None and resumed.offset > 0 else 0
            compression = compression_of(seen.path)
            blocks = (
                Block(seen.path, 0, None, compression, seen.size, seen.mtime_ns, identity, skip),
            )
        cursor = Cursor(
            seen.path,
            seen.device,
            seen.inode,
            seen.size,
            seen.mtime_ns,
            True,
            head_fingerprint(seen.head),
            -1,
            tail_fingerprint(b""),
            fmt,
        )
        return FilePlan(seen.path, blocks, fmt, resumed, cursor)
    start = resumed.offset if resumed is not None else 0
    blocks = tuple(
        Block(
            seen.path,
            offset,
            min(blocksize, end - offset),
            None,
            end,
            seen.mtime_ns,
            identity,
        )
        for offset in range(start, end, blocksize)
    )
    tail = tail_fingerprint(_bytes_before(seen.path, end)) if end else tail_fingerprint(b"")
    cursor = Cursor(
        seen.path,
        seen.device,
        seen.inode,
        seen.size,
        seen.mtime_ns,
        False,
        head_fingerprint(seen.head),
        end,
        tail,
        fmt,
    )
    return FilePlan(seen.path, blocks, fmt, resumed, cursor)


def plan_tasks(plans: Sequence[FilePlan], blocksize: int) -> list[tuple[Block, ...]]:
    """The read tasks of the plans, in input order: a block of a resumed or large file is a task
    of its own; small files read from their start are read whole, grouped as
    :func:`~pipeline.ingest.inputs.files.plan_tasks` groups them (up to ``blocksize`` bytes or
    :data:`~pipeline.ingest.inputs.files.MAX_GROUP_FILES` files per task), so a first run over
    10,000 small files costs a handful of tasks. A whole block keeps ``size`` = the end of the
    file's last complete line, which is where its read stops."""
    whole_bytes = min(blocksize, STREAM_CHUNK)
    tasks: list[tuple[Block, ...]] = []
    group: list[Block] = []
    group_bytes = 0
    for plan in plans:
        blocks = plan.blocks
        small = (
            len(blocks) == 1
            and blocks[0].compression is None
            and blocks[0].offset == 0
            and blocks[0].length is not None
            and blocks[0].length <= whole_bytes
        )
        if not small:
            if group:
                tasks.append(tuple(group))
                group, group_bytes = [], 0
            tasks.extend((block,) for block in blocks)
            continue
        group.append(replace(blocks[0], length=None))
        group_bytes += blocks[0].length or 0
        if group_bytes >= whole_bytes or len(group) >= MAX_GROUP_FILES:
            tasks.append(tuple(group))
            group, group_bytes = [], 0
    if group:
        tasks.append(tuple(group))
    return tasks


def format_at_end(fmt: LogFormat, blocks: Sequence[Block]) -> LogFormat:
    """The format in force after ``blocks`` (W3C: their directives applied; others: ``fmt``).

    A task of the graph: the directive lines are found by the same cheap scan as a split W3C
    file's (:func:`~pipeline.ingest.read.block_directives`)."""
    if fmt.kind != "w3c":
        return fmt
    for block in blocks:
        fmt = state_after(fmt, block_directives(block))
    return fmt


def with_format(plan: FilePlan, fmt: LogFormat | None) -> FilePlan:
    """``plan`` with its format (and its next cursor's) set."""
    cursor = plan.cursor if plan.cursor is None else replace(plan.cursor, format=fmt)
    return replace(plan, fmt=fmt, cursor=cursor)
