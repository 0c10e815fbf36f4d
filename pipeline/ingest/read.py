"""The per-partition task: read one block, parse it, reduce it to a :class:`Partial`.

This is where ingest touches files, so it is also where a bad file is contained: any read or
decompression error (missing, unreadable, corrupt gzip, truncated bz2/xz) becomes a failure
record in the returned partial instead of an exception that would abort the whole Dask compute.

Why not ``dask.bag.read_text`` in the job: its read tasks raise inside the scheduler (one corrupt
file would abort the run), and it materialises one Python ``str`` per line, which costs more than
all of the parsing. This module reads the same line-aligned blocks with the same fsspec calls
(``fsspec.utils.read_block`` with ``b"\\n"``), decodes them with ``errors="replace"`` and hands
the whole block to the vectorised parser. :func:`pipeline.ingest.job.parsed_frame` turns the
same blocks into a dask DataFrame for exploration.

Everything here is a top-level function with small, picklable arguments, as the process
scheduler (spawn) and remote workers require.
"""

from __future__ import annotations

import logging
import lzma
import zlib
from collections.abc import Iterator
from typing import Final

import fsspec
import fsspec.core
import fsspec.utils

from pipeline.ingest.files import Block
from pipeline.ingest.filters import Filters
from pipeline.ingest.formats import LogFormat
from pipeline.ingest.parse import DEFAULT_FORMAT, parse_text
from pipeline.ingest.stats import Partial, aggregate_partition, merge_partials
from pipeline.report import FailedInput

log = logging.getLogger(__name__)

#: Bytes decompressed and parsed at a time when a file is streamed whole (compressed files, small
#: files). Bounds a task's memory at a few times this value; larger chunks amortise per-chunk
#: overhead a little more. Legal range: >= 1; 16 MiB matches the default blocksize.
STREAM_CHUNK: Final[int] = 16 * 2**20

#: Errors that mean "this input cannot be read", as opposed to a bug in our code.
READ_ERRORS: Final = (OSError, EOFError, zlib.error, lzma.LZMAError, UnicodeError)


def block_partial(
    block: Block,
    keep_malformed: bool = False,
    fmt: LogFormat = DEFAULT_FORMAT,
    filters: Filters | None = None,
    raw_paths: bool = False,
) -> Partial:
    """Read, parse (with the file's format) and aggregate one block; a read failure is returned,
    not raised."""
    parts: list[Partial] = []
    try:
        for text in block_texts(block):
            parts.append(
                aggregate_partition(
                    parse_text(text, fmt),
                    block.path,
                    keep_malformed=keep_malformed,
                    filters=filters,
                    raw_paths=raw_paths,
                )
            )
    except READ_ERRORS as exc:
        message = describe_error(exc)
        log.debug("cannot read %s: %s", block.path, message)
        return Partial(failed=[FailedInput(block.path, message)])
    return merge_partials(parts) if parts else Partial()


def block_texts(block: Block) -> Iterator[str]:
    """The decoded text of a block, in pieces that end at a line break (or the end of file).

    An empty file is an empty input whatever its suffix (bz2 and xz would call it truncated).
    """
    fs, stripped = fsspec.core.url_to_fs(block.path)
    if block.compression is not None and fs.size(stripped) == 0:
        return
    with fsspec.open(block.path, "rb", compression=block.compression) as handle:
        if block.length is not None:
            data = fsspec.utils.read_block(handle, block.offset, block.length, delimiter=b"\n")
            yield data.decode("utf-8", errors="replace")
            return
        carry = b""
        while True:
            chunk = handle.read(STREAM_CHUNK)
            if not chunk:
                break
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                yield data[:cut].decode("utf-8", errors="replace")
        if carry:
            yield carry.decode("utf-8", errors="replace")


def describe_error(exc: BaseException) -> str:
    """One line for the report: the exception type and its message.

    >>> describe_error(EOFError("Compressed file ended before the end-of-stream marker"))
    'EOFError: Compressed file ended before the end-of-stream marker'
    """
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
