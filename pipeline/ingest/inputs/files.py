"""Which files ``--path`` means, and how they are cut into partitions ("blocks").

``--path`` is a file, a directory (walked recursively in sorted order, skipping every file or
directory whose name starts with ``.``, following symbolic links but visiting each directory and
file once), a glob pattern, or any fsspec URL (``file://``, ``s3://`` with s3fs, ...: listed
by :mod:`pipeline.ingest.inputs.remote`). A path naming nothing raises
:class:`~pipeline.errors.InputError` before any task is built.

Uncompressed files are split into blocks of about ``blocksize`` bytes at line boundaries, the
way ``dask.bag.read_text`` splits them; compressed files cannot be read from the middle, so each
is one block. Compression is inferred from the suffix, case-insensitively.

>>> compression_of("logs/2026-11-27.LOG.GZ"), compression_of("app.log")
('gzip', None)
"""

from __future__ import annotations

import glob
import os
import stat
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import fsspec

from pipeline.errors import InputError
from pipeline.ingest.inputs.remote import Stat, list_url, read_errors, stat_of
from pipeline.ingest.inputs.stream import STREAM_CHUNK
from pipeline.reporting.display import escape_text
from pipeline.reporting.text import FailedInput

#: Suffix (lower case) -> fsspec compression name.
COMPRESSIONS: Final[dict[str, str]] = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}

_GLOB_CHARS: Final[frozenset[str]] = frozenset("*?[")

#: Most files in one group task, whatever their size. A group task costs about 30 ms besides
#: its files (detection and parsing set-up) and about 0.1 ms per file, so 2,500 files keep that
#: fixed cost near 10 %, while 10,000 tiny files still make 4 tasks that 2 or 4 workers share
#: (one task of 10,000 would leave every worker but one idle). Legal range: >= 1.
MAX_GROUP_FILES: Final[int] = 2500


@dataclass(frozen=True)
class Block:
    """One partition of input: ``length`` bytes of ``path`` from ``offset`` (line-aligned).

    ``length`` None means the whole file, read as a stream (compressed files, unknown sizes).
    ``size`` and ``mtime_ns`` are the file's size and modification time (ns) when it was
    planned (None when unknown); ``identity`` its device and inode (a local regular file only).
    They make the block's token, and so every task key built on it, change when the file
    changes, so a long-lived ``distributed`` client that still holds the result of an earlier
    run reads the file again. With ``identity`` known, a block is read only up to ``size`` and
    only from the same file (:mod:`pipeline.ingest.inputs.planned`). ``skip``: decompressed
    bytes of a whole compressed file not read again (``--state`` counted them in an earlier
    run, :mod:`pipeline.ingest.state.plan`); 0 reads it all.
    """

    path: str
    offset: int = 0
    length: int | None = None
    compression: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    identity: tuple[int, int] | None = None
    skip: int = 0


def compression_of(path: str) -> str | None:
    """The compression implied by the file name's suffix, or None for plain text."""
    return COMPRESSIONS.get(os.path.splitext(path)[1].lower())


def is_special_file(path: str) -> bool:
    """True for a local input that is not a regular file (a FIFO, a device, a socket): it must
    be opened once, by its task, if at all (a FIFO's data is read only once; /dev/zero never
    ends).

    >>> is_special_file("/dev/zero"), is_special_file(__file__)
    (True, False)
    """
    if "://" in path and not path.startswith("file://"):
        return False
    try:
        return not stat.S_ISREG(os.stat(path.removeprefix("file://")).st_mode)
    except OSError:
        return False


@dataclass(frozen=True)
class Listing:
    """The input files ``--path`` names, and the inputs found but not listable.

    ``failed`` holds a directory that could not be read (permission denied, removed while
    walked) at any depth, named with its reason; the run goes on with the other files and the
    CLI exits with 3, as for a file that cannot be read. ``stats``: what an object store's
    listing said of each object (its size and time), for :func:`plan_tasks`.
    """

    files: list[str]
    failed: list[FailedInput]
    #: Size and modification time of listed objects (URLs), for :func:`plan_tasks`.
    stats: dict[str, Stat] = field(default_factory=dict)


def expand_path(path: str) -> list[str]:
    """Every input file ``path`` names, in sorted order; raises InputError when there is none,
    or when a directory below it cannot be read (:func:`list_inputs` reports those instead)."""
    listing = list_inputs(path)
    if listing.failed:
        first = listing.failed[0]
        raise InputError(f"cannot read {escape_text(first.path)}: {first.error}")
    return listing.files


def list_inputs(path: str) -> Listing:
    """Every input file ``path`` names, in sorted order, and the directories that failed.

    Raises InputError when ``path`` names nothing at all (no file, and no unreadable directory).
    """
    if "://" in path and not path.startswith("file://"):
        stats = list_url(path)
        return Listing(list(stats), [], stats)
    local = path.removeprefix("file://")
    if os.path.isdir(local):
        found, failed = _walk(local)
        if not found and not failed:
            raise InputError(f"no input files in directory: {path}")
        return Listing(found, failed)
    if os.path.exists(local) or os.path.islink(local):
        return Listing([local], [])
    if _GLOB_CHARS & set(local):
        matches = sorted(
            match for match in glob.glob(local, recursive=True) if not os.path.isdir(match)
        )
        if not matches:
            raise InputError(f"no files match: {path}")
        return Listing(matches, [])
    raise InputError(f"no such file or directory: {path}")


def _walk(root: str) -> tuple[list[str], list[FailedInput]]:
    """Non-hidden files below ``root``, recursively, sorted; dangling links kept (they fail);
    and the directories that could not be listed, with why.

    The walk keeps its own stack (no recursion, so no depth limit: ``os.walk`` before Python
    3.12 recurses and fails 1,000 levels down). Symbolic links are followed, but every
    directory and every file is visited once, by device and inode: a link loop (``me -> .``,
    ``sub/up -> ..``) ends, and a file reachable under two names is read once. At each level
    real entries come before links, so a file keeps its real name when a link elsewhere in the
    tree leads to it too (within one level, sorted order). A file that cannot be examined
    (in a directory without search permission) is kept: reading it fails with its reason.
    """
    found: list[str] = []
    failed: list[FailedInput] = []
    seen: set[tuple[int, int]] = set()
    _visit_once(root, seen)
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = [entry for entry in listing if not entry.name.startswith(".")]
        except OSError as exc:
            failed.append(FailedInput(directory, _describe(exc)))
            continue
        subdirs: list[str] = []
        for entry in sorted(entries, key=lambda entry: (_answers(entry.is_symlink), entry.name)):
            if _answers(entry.is_dir):
                if _visit_once(entry.path, seen):
                    subdirs.append(entry.path)
            elif (_answers(entry.is_file) or _answers(entry.is_symlink)) and _visit_once(
                entry.path, seen
            ):
                found.append(entry.path)
        stack.extend(reversed(subdirs))
    return sorted(found, key=lambda item: Path(item).relative_to(root).parts), failed


def _answers(question: Callable[[], bool]) -> bool:
    """A directory entry's ``is_dir``/``is_file``/``is_symlink``, False when the entry cannot
    be examined (its ``stat`` fails)."""
    try:
        return question()
    except OSError:
        return False


def _describe(exc: OSError) -> str:
    """``PermissionError: Permission denied``, as a failed file reads in the report."""
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _visit_once(path: str, seen: set[tuple[int, int]]) -> bool:
    """False when ``path`` (links followed) was seen before; a dangling link is always new."""
    try:
        info = os.stat(path)
    except OSError:
        return True
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def plan_blocks(paths: list[str], blocksize: int) -> list[Block]:
    """Cut files into line-aligned blocks of about ``blocksize`` bytes; order is input order.

    A file whose size cannot be read becomes one block, so that reading it fails in its task
    and is reported, instead of aborting the run here.
    """
    return [block for task in plan_tasks(paths, blocksize) for block in task]


def plan_tasks(
    paths: list[str], blocksize: int, stats: Mapping[str, Stat] | None = None
) -> list[tuple[Block, ...]]:
    """The blocks of :func:`plan_blocks`, grouped into tasks of about ``blocksize`` bytes.

    A block of a split file is a task of its own; it is read in pieces of at most
    :data:`~pipeline.ingest.inputs.stream.STREAM_CHUNK` bytes, whatever its length. Files read
    whole (small or compressed) are grouped in input order: a task takes files until their
    sizes on disk add up to ``blocksize`` or it holds :data:`MAX_GROUP_FILES` files, so 10,000
    one-line files cost a handful of tasks, not 10,000 (at about 8 ms of scheduling per task).
    A group task holds its files' texts at once, so with a ``blocksize`` above ``STREAM_CHUNK``
    both limits are ``STREAM_CHUNK``: a larger uncompressed file is split into blocks (of
    ``blocksize``) and a group closes at that many bytes, and a task's memory does not grow with
    ``blocksize``. A file whose size is unknown is a task of its own. ``stats`` gives the size
    and time of listed objects (:attr:`Listing.stats`), which are then not asked for again.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> paths = [os.path.join(folder, f"{n}.log") for n in range(5)]
    >>> for path in paths:
    ...     _ = open(path, "w").write("x" * 40 + "\\n")
    >>> [len(task) for task in plan_tasks(paths, 100)]
    [3, 2]
    """
    if blocksize < 1:
        raise InputError(f"blocksize must be >= 1 byte, got {blocksize}")
    whole_bytes = min(blocksize, STREAM_CHUNK)  # most bytes of text a group task reads whole
    tasks: list[tuple[Block, ...]] = []
    group: list[Block] = []
    group_bytes = 0
    for path in paths:
        compression = compression_of(path)
        known = stats.get(path) if stats else None
        size, mtime_ns, identity = (*known, None) if known else _stat(path)
        whole = Block(path, 0, None, compression, size, mtime_ns, identity)
        split = size is not None and compression is None and size > whole_bytes
        if group and (split or size is None):  # keep input order (malformed records)
            tasks.append(tuple(group))
            group, group_bytes = [], 0
        if split:
            assert size is not None
            tasks.extend(
                (replace(whole, offset=offset, length=min(blocksize, size - offset)),)
                for offset in range(0, size, blocksize)
            )
            continue
        if size is None:
            tasks.append((whole,))
            continue
        group.append(whole)
        group_bytes += size
        if group_bytes >= whole_bytes or len(group) >= MAX_GROUP_FILES:
            tasks.append(tuple(group))
            group, group_bytes = [], 0
    if group:
        tasks.append(tuple(group))
    return tasks


def _stat(path: str) -> tuple[int | None, int | None, tuple[int, int] | None]:
    """The file's size, modification time in ns and (a local regular file's) device and inode,
    from one ``os.stat`` (fsspec's ``info`` for a URL, whose time may be missing); None for what
    cannot be read (the file's task then reports the error)."""
    if "://" not in path:  # a plain path: os.stat, without fsspec's ~0.1 ms per file
        try:
            info = os.stat(path)
        except OSError:
            return None, None, None
        regular = stat.S_ISREG(info.st_mode)
        identity = (info.st_dev, info.st_ino) if regular else None
        return info.st_size, info.st_mtime_ns, identity
    try:
        fs, stripped = fsspec.core.url_to_fs(path)
        return (*stat_of(fs.info(stripped)), None)
    except read_errors(OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile):
        return None, None, None
