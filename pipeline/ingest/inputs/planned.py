"""Read a file as it was planned: up to its planned size, and only if it is still the same file.

A run plans its blocks from each file's size, and records the file's identity (device and inode)
with it (:class:`~pipeline.ingest.inputs.files.Block`). A log may change while it is read:

* it **grows** (a server appends to it): everything after the planned size is ignored, so the
  blocks still cover the file exactly once and the figures describe the file as it was when the
  run started; the job adds a note to the report (:func:`grown_files`);
* it **shrinks** (``truncate``, ``logrotate``'s ``copytruncate``) or is **replaced** (renamed
  over, deleted and created again) before its last block is read: what was read no longer adds
  up to one file, so the file fails (:class:`ChangedInput`, a read error: the file is named in
  ``inputs.failed`` and the CLI exits with 3) instead of being counted short in silence.

:class:`PlannedReader` stops every read at the planned size and raises :class:`ChangedInput` when
the file ends before it; :func:`check_unchanged` compares the file's identity and size with the
plan, when a block is opened and again after the last block is read.

>>> import io
>>> reader = PlannedReader(io.BytesIO(b"one\\ntwo\\nthree\\n"), 8, "x.log")
>>> reader.read()
b'one\\ntwo\\n'
>>> try:
...     PlannedReader(io.BytesIO(b"one\\n"), 8, "x.log").read()
... except ChangedInput as exc:
...     print(exc.strerror)
file shrank while read: 8 bytes planned, it ends at 4
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterable
from typing import IO, Any

from pipeline.ingest.inputs.files import Block


class ChangedInput(OSError):
    """The file shrank or was replaced between planning and the end of its last block."""


def check_unchanged(block: Block, info: os.stat_result) -> None:
    """Raise :class:`ChangedInput` when ``info`` (the file now) is not the file planned (another
    inode), or is shorter than planned."""
    if block.identity is None or block.size is None:
        return
    # the inode alone: a worker on another machine sees another device number for the same
    # file of a shared (NFS) directory, while a file renamed over or created again gets a new
    # inode on the file system that holds the path
    if info.st_ino != block.identity[1]:
        raise ChangedInput(errno.ESTALE, "file replaced while read (another file at its path)")
    if info.st_size < block.size:
        raise ChangedInput(
            errno.EIO,
            f"file shrank while read: {block.size} bytes planned, {info.st_size} now",
        )


def is_last(block: Block) -> bool:
    """Whether ``block`` is the last block of its file (a whole file is its own last block)."""
    if block.length is None or block.size is None:
        return True
    return block.offset + block.length >= block.size


def check_path_unchanged(block: Block, path: str) -> None:
    """After the last block: the file at ``path`` must still be the file planned, as long."""
    if block.identity is None:
        return
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise ChangedInput(errno.ENOENT, "file removed while read") from exc
    check_unchanged(block, info)


class PlannedReader(io.RawIOBase):
    """A read-only view of ``raw`` that ends at byte ``limit`` (the planned size).

    The file ending before ``limit`` raises :class:`ChangedInput`: it shrank while read.
    """

    def __init__(self, raw: IO[bytes], limit: int, name: str) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._position = raw.tell()
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:  # the end is the planned end, not the file's
            offset, whence = self._limit + offset, io.SEEK_SET
        self._position = self._raw.seek(offset, whence)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        left = max(self._limit - self._position, 0)
        wanted = left if size is None or size < 0 else min(size, left)
        if wanted == 0:
            return b""
        data = self._raw.read(wanted)
        self._position += len(data)
        if len(data) < wanted:  # a regular file reads short only at its end
            raise ChangedInput(
                errno.EIO,
                f"file shrank while read: {self._limit} bytes planned, it ends at {self._position}",
            )
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def grown_files(blocks: Iterable[Block]) -> list[tuple[str, int, int]]:
    """``(path, planned size, size now)`` of every planned local file that grew since it was
    planned (and is still the same file): the run read only its planned bytes."""
    grown = []
    seen: set[str] = set()
    for block in blocks:
        if block.identity is None or block.size is None or block.path in seen:
            continue
        seen.add(block.path)
        try:
            info = os.stat(block.path)
        except OSError:
            continue
        same = (info.st_dev, info.st_ino) == block.identity
        if same and info.st_size > block.size:
            grown.append((block.path, block.size, info.st_size))
    return grown
