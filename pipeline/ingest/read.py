"""The per-partition task: read one block, parse it, reduce it to a :class:`Partial`.

This is where ingest touches files, so it is also where a bad file is contained: any read or
decompression error (missing, unreadable, corrupt gzip, truncated bz2/xz) becomes a failure
record in the returned partial instead of an exception that would abort the whole Dask compute.

Why not ``dask.bag.read_text`` in the job: its read tasks raise inside the scheduler (one corrupt
file would abort the run), and it materialises one Python ``str`` per line, which costs more than
all of the parsing. This module reads line-aligned blocks through fsspec in bounded memory
(:mod:`pipeline.ingest.inputs.stream`: a line longer than a cap is skipped and counted malformed),
hands each whole block to the vectorised parser as raw bytes (the parser checks the UTF-8 and
decodes with ``errors="replace"`` only a block that is not valid UTF-8).
:func:`pipeline.ingest.job.parsed_frame` turns the same blocks into a dask DataFrame for
exploration.

Everything here is a top-level function with small, picklable arguments, as the process
scheduler (spawn) and remote workers require.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Final

import fsspec
import fsspec.compression
import fsspec.core
from fsspec.implementations.local import LocalFileSystem

from pipeline.engine.memory import releasing_memory
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.partial import (
    MALFORMED_SAMPLES,
    Partial,
    aggregate_partition,
    merge_partials,
    sample,
)
from pipeline.ingest.aggregate.windows import Request
from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.inputs.files import Block
from pipeline.ingest.inputs.planned import (
    PlannedReader,
    check_path_unchanged,
    check_unchanged,
    is_last,
)
from pipeline.ingest.inputs.remote import read_errors
from pipeline.ingest.inputs.stream import (
    MAX_LINE_BYTES,
    STREAM_CHUNK,
    Overlong,
    line_pieces,
    seek_line_start,
)
from pipeline.ingest.parsing.parse import DEFAULT_FORMAT, parse_text, text_slices
from pipeline.ingest.parsing.w3c_state import carried, directive_lines, state_after
from pipeline.reporting.display import escape_text
from pipeline.reporting.text import FailedInput

log = logging.getLogger(__name__)

#: Errors that mean "this input cannot be read", as opposed to a bug in our code. They are
#: caught around reading and decompressing only: the same error raised while parsing or
#: aggregating is a bug and must reach the CLI as an internal error (exit 1).
READ_ERRORS: Final = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    UnicodeError,
    zipfile.BadZipFile,
)


class UnsupportedFileType(OSError):
    """A device, socket or directory given as an input: only regular files and FIFOs are read
    (``/dev/zero`` would never end)."""


@releasing_memory
def block_partial(
    block: Block,
    keep_malformed: bool = False,
    fmt: LogFormat = DEFAULT_FORMAT,
    filters: Filters | None = None,
    raw_paths: bool = False,
    refine: Request | None = None,
) -> Partial:
    """Read, parse (with the file's format) and aggregate one block; a read failure is returned,
    not raised. Read errors are caught around reading and decompressing only. ``refine``: a
    later pass of ``--exact`` (:func:`~pipeline.ingest.aggregate.partial.aggregate_partition`)."""
    source = escape_text(block.path)
    parts: list[Partial] = []
    for piece in block_pieces(block, source, keep_malformed, filters):
        if isinstance(piece, Partial):
            if piece.failed:
                return piece
            parts.append(piece)
            continue
        parts.extend(text_partials(piece, fmt, source, keep_malformed, filters, raw_paths, refine))
        fmt = carried(fmt, piece)  # W3C: the directives in force reach the next piece
    return merge_partials(parts) if parts else Partial()


def block_pieces(
    block: Block, source: str, keep_malformed: bool, filters: Filters | None
) -> Iterator[bytes | Partial]:
    """The text pieces of one block in stream order, each run of overlong lines as a
    :func:`overlong_partial` where it stands (so line numbers stay right), and when reading
    fails a last ``Partial`` holding only the failure (read errors are caught around reading and
    decompressing only)."""
    overlong: list[Overlong] = []
    pieces = block_bytes(block, overlong)
    skipped = 0  # overlong lines already placed: each sits between the pieces around it
    while True:
        try:
            text = next(pieces, None)
        except READ_ERRORS as exc:
            message = describe_error(exc)
            log.debug("cannot read %s: %s", block.path, message)
            yield Partial(failed=[FailedInput(block.path, message)])
            return
        if len(overlong) > skipped:
            yield overlong_partial(overlong[skipped:], source, keep_malformed, filters)
            skipped = len(overlong)
        if text is None:
            return
        yield text


def block_directives(block: Block) -> tuple[str, ...]:
    """The directive lines of a block of a W3C file (a cheap scan: only ``#`` bytes are looked
    at), so the blocks after it know the directives in force at their start without the
    parse of this one (:func:`block_formats`). A block that cannot be read has none here: its
    parse task reports the failure."""
    try:
        return tuple(line for piece in block_bytes(block) for line in directive_lines(piece))
    except READ_ERRORS:
        return ()


def block_formats(fmt: LogFormat, scans: Sequence[tuple[str, ...]]) -> tuple[LogFormat, ...]:
    """The format each block of one file starts with: ``fmt`` with the directives of the
    blocks before it applied (``scans``: :func:`block_directives` of every block, in order)."""
    formats = [fmt]
    for directives in scans[:-1]:
        formats.append(state_after(formats[-1], directives))
    return tuple(formats)


def format_of_block(formats: Sequence[LogFormat], index: int) -> LogFormat:
    """``formats[index]`` (a task of its own, so a block's parse depends on one small value)."""
    return formats[index]


def text_partials(
    text: str | bytes,
    fmt: LogFormat,
    source: str,
    keep_malformed: bool,
    filters: Filters | None,
    raw_paths: bool,
    refine: Request | None = None,
) -> list[Partial]:
    """The partials of a text of whole lines, one per slice of at most
    :data:`~pipeline.ingest.parsing.parse.MAX_PARSE_LINES` lines: each slice is parsed and
    reduced at once, so a text of many tiny lines never holds all their parsed columns."""
    parts = []
    for part in text_slices(text):
        parsed = parse_text(part, fmt)
        parts.append(
            aggregate_partition(
                parsed,
                source,
                keep_malformed=keep_malformed,
                filters=filters,
                raw_paths=raw_paths,
                refine=refine,
            )
        )
        fmt = carried(fmt, part)  # W3C: the directives in force reach the next slice
    return parts


def overlong_partial(
    lines: Sequence[Overlong], source: str, keep_malformed: bool, filters: Filters | None = None
) -> Partial:
    """Skipped overlong lines as malformed lines, quoted by a placeholder naming their offset
    (no sample under ``filters.anonymize_ip``, like any malformed line).

    ``lines`` are consecutive lines of their file (lines 1, 2, ... of this partial).
    """
    quoted = [
        f"<line of {line.length} bytes at byte {line.offset} skipped: "
        f"longer than {MAX_LINE_BYTES} bytes>"
        for line in lines
    ]
    return Partial(
        malformed=len(lines),
        malformed_samples=[
            sample(n, text)
            for n, text in enumerate(quoted[:MALFORMED_SAMPLES], 1)
            if filters is None or not filters.anonymize_ip
        ],
        lines_seen=len(lines),
        malformed_lines=[f"{source}\t{text}" for text in quoted] if keep_malformed else [],
    )


def block_texts(block: Block, overlong: list[Overlong] | None = None) -> Iterator[str]:
    """The decoded text (``errors="replace"``) of :func:`block_bytes`."""
    for piece in block_bytes(block, overlong):
        yield piece.decode("utf-8", errors="replace")


class UnreadableObject(OSError):
    """An object store's own error while reading a URL (botocore's are not ``OSError``)."""


def block_bytes(block: Block, overlong: list[Overlong] | None = None) -> Iterator[bytes]:
    """The bytes of a block, in pieces that end at a line break (or the end of file).

    Lines longer than :data:`~pipeline.ingest.inputs.stream.MAX_LINE_BYTES` are skipped and appended
    to ``overlong``. An empty file is an empty input whatever its suffix (bz2 and xz would call
    it truncated). A local input that is neither a regular file nor a FIFO raises
    :class:`UnsupportedFileType`; an object store's error reading a URL (an endpoint gone,
    credentials refused) raises :class:`UnreadableObject`, so it fails the input like a local
    read error.
    """
    if "://" not in block.path:
        yield from _block_bytes(block, overlong)
        return
    try:
        yield from _block_bytes(block, overlong)
    except read_errors() as exc:  # "UnreadableObject: Could not connect to the endpoint URL: ..."
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UnreadableObject(errno.EIO, first) from exc


def _block_bytes(block: Block, overlong: list[Overlong] | None) -> Iterator[bytes]:
    """:func:`block_bytes`, with the store's errors untranslated."""
    local = "://" not in block.path  # a plain path: opened directly, fsspec costs ~0.2 ms
    fs, stripped = (None, block.path) if local else fsspec.core.url_to_fs(block.path)
    fifo = False
    size: int | None = None
    if local or isinstance(fs, LocalFileSystem):
        info = os.stat(stripped)
        kind, size = info.st_mode, info.st_size
        fifo = stat.S_ISFIFO(kind)
        if not (stat.S_ISREG(kind) or fifo):
            raise UnsupportedFileType(
                errno.EINVAL, f"not a regular file or FIFO ({_kind_name(kind)})"
            )
    if not fifo and block.compression is not None:
        if size is None and fs is not None:
            size = fs.size(stripped)
        if size == 0:
            return
    with _open(block, stripped if fifo or local else None, planned=local and not fifo) as handle:
        if block.length is None:
            pieces = line_pieces(handle, start=_skipped(handle, block.skip))
        else:
            start = seek_line_start(handle, block.offset)
            stop = block.offset + block.length
            pieces = line_pieces(handle, start=start, stop=stop) if start < stop else iter(())
        for piece in pieces:
            if isinstance(piece, Overlong):
                if overlong is not None:
                    overlong.append(piece)
                continue
            yield piece
    if local and not fifo and is_last(block):  # shrank or replaced before the end: failed
        check_path_unchanged(block, stripped)


def _skipped(handle: IO[bytes], count: int) -> int:
    """Read and drop the first ``count`` bytes of a stream (a compressed file's text that an
    earlier ``--state`` run counted), in pieces of at most ``STREAM_CHUNK``; return ``count``."""
    left = count
    while left > 0:
        dropped = handle.read(min(left, STREAM_CHUNK))
        if not dropped:
            raise EOFError(f"ended after {count - left} of the {count} bytes counted before")
        left -= len(dropped)
    return count


@contextlib.contextmanager
def _open(block: Block, local: str | None, *, planned: bool = False) -> Iterator[IO[bytes]]:
    """fsspec's reader, or for a local path (a FIFO, which fsspec would seek, or a plain path,
    which fsspec only slows down) a plain file, decompressed. ``planned``: a regular file read
    as planned, up to its planned size and only if it is the file planned
    (:mod:`pipeline.ingest.inputs.planned`)."""
    if local is None:
        with fsspec.open(block.path, "rb", compression=block.compression) as handle:
            yield handle
        return
    with open(local, "rb") as opened:
        raw: IO[bytes] = opened
        if planned and block.identity is not None and block.size is not None:
            check_unchanged(block, os.fstat(opened.fileno()))
            raw = PlannedReader(opened, block.size, local)  # type: ignore[assignment]
        if block.compression is None:
            yield raw
            return
        with fsspec.compression.compr[block.compression](raw, mode="rb") as stream:
            yield stream


def _kind_name(mode: int) -> str:
    kinds = [
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "directory"),
    ]
    return next((name for test, name in kinds if test(mode)), "special file")


def describe_error(exc: BaseException) -> str:
    """One line for the report: the exception type and its message.

    >>> describe_error(EOFError("Compressed file ended before the end-of-stream marker"))
    'EOFError: Compressed file ended before the end-of-stream marker'
    """
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
