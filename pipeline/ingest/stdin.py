"""``--path -``: the log on standard input, read by the main process and parsed by the workers.

``zcat access.log.gz | mini-orchestrator ingest --path -`` works, and so does gzip data itself on
standard input (detected by its magic bytes ``1f 8b``, whatever the file was called). The input
counts as one file named ``<stdin>``. A pipe can be read only once and only by this process, so
the main process cuts it into line-aligned pieces of about ``blocksize`` bytes, at most
:data:`~pipeline.ingest.inputs.stream.STREAM_CHUNK` (16 MiB)
(:func:`~pipeline.ingest.inputs.stream.line_pieces`, long lines capped) and hands them to the
workers in batches of :data:`BATCH_PER_WORKER` pieces per worker, one ``compute`` per batch, merging
the batch's partials into a running total: memory stays near ``batch x piece`` in every mode,
whatever the length of the input and the blocksize. (In ``--mode process`` each batch starts a
new pool, about two seconds: stdin favours ``threading``.) A terminal on standard input is an
error rather than a silent wait for typing.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import IO, Any, Final

import dask

from pipeline.engine.execution import compute
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.partial import (
    Partial,
    merge_file,
    merge_partials,
)
from pipeline.ingest.detect import SAMPLE_BYTES, Detection, detect_sample, head_lines
from pipeline.ingest.formats.presets import DETECTION_ORDER, LogFormat, preset
from pipeline.ingest.inputs.stream import STREAM_CHUNK, Overlong, line_pieces
from pipeline.ingest.parsing.parse import DEFAULT_FORMAT
from pipeline.ingest.parsing.w3c_state import carried
from pipeline.ingest.read import READ_ERRORS, describe_error, overlong_partial, text_partials
from pipeline.reporting.text import FailedInput

#: The ``--path`` value that means standard input, and the input's name in reports.
STDIN_PATH: Final[str] = "-"
STDIN_NAME: Final[str] = "<stdin>"

#: Pieces handed to each worker per batch. More keeps workers busier between batches (each
#: batch ends with a barrier) at the cost of ``workers x this x blocksize`` bytes in memory.
#: Legal range: >= 1.
BATCH_PER_WORKER: Final[int] = 2

_GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"


def stdin_total(
    settings: ExecutionSettings,
    *,
    blocksize: int,
    keep_malformed: bool = False,
    fmt: LogFormat | None = None,
    filters: Filters | None = None,
    raw_paths: bool = False,
    stream: IO[bytes] | None = None,
    json_fields: tuple[tuple[str, str, str | None], ...] = (),
) -> tuple[Partial, Detection]:
    """The counts of the log on standard input (or ``stream``), as one file ``<stdin>``, and
    the log format used: ``fmt``, or when None the one detected from the first piece
    (:func:`~pipeline.ingest.detect.detect_sample`, as for a file). JSON lines are read with
    the ``--field`` overrides ``json_fields``, as files are.

    Raises
    ------
    InputError
        Standard input is a terminal (or closed).
    """
    if stream is None:
        stream = open_stdin()
    batch = BATCH_PER_WORKER * settings.effective_workers
    counter = StdinCounter(settings, keep_malformed, fmt, filters, raw_paths, json_fields)
    pieces = _pieces(stream, blocksize)
    while True:
        try:
            chunk = _take(pieces, batch)
        except READ_ERRORS as exc:  # corrupt gzip on stdin: a failed input, as for a file
            return counter.failed(exc)
        if not chunk:
            break
        counter.add(chunk)
    return counter.result()


class StdinCounter:
    """The running counts of standard input, batch by batch of pieces (:func:`stdin_total`;
    ``ingest --follow --path -`` adds what arrived each interval)."""

    def __init__(
        self,
        settings: ExecutionSettings,
        keep_malformed: bool,
        fmt: LogFormat | None,
        filters: Filters | None,
        raw_paths: bool,
        json_fields: tuple[tuple[str, str, str | None], ...],
    ) -> None:
        self.settings = settings
        self.keep_malformed = keep_malformed
        self.filters = filters
        self.raw_paths = raw_paths
        self.json_fields = json_fields
        self.total = Partial()
        self.detection = Detection(fmt) if fmt is not None else None
        self.carry: LogFormat | None = None

    def add(self, chunk: list[bytes | Overlong]) -> Partial:
        """Parse a batch of pieces (in parallel, one ``compute``), add it to the total, and
        return its own counts."""
        if self.detection is None:
            self.detection = _detect(chunk[0])
        use = self.detection.format if self.carry is None else self.carry
        if use.keyed:
            use = replace(use, json_fields=self.json_fields)
        starts = []  # W3C: each piece starts with the directives in force after the ones before
        for piece in chunk:
            starts.append(use)
            self.carry = use = use if isinstance(piece, Overlong) else carried(use, piece)
        keep = self.keep_malformed
        parts = [
            dask.delayed(overlong_partial)([piece], STDIN_NAME, keep, self.filters)
            if isinstance(piece, Overlong)
            else dask.delayed(text_partial, pure=False)(
                piece, STDIN_NAME, keep, start, self.filters, self.raw_paths
            )
            for piece, start in zip(chunk, starts, strict=True)
        ]
        (done,) = compute(dask.delayed(merge_partials)(parts), settings=self.settings)
        self.total = merge_partials([self.total, done])
        batch_total: Partial = done
        return batch_total

    def result(self) -> tuple[Partial, Detection]:
        """The counts so far as the one file ``<stdin>``, and the format used."""
        detection = self.detection or Detection(DEFAULT_FORMAT)
        return merge_file([self.total], STDIN_NAME, detection.format.name), detection

    def failed(self, exc: BaseException) -> tuple[Partial, Detection]:
        """Standard input could not be read (corrupt gzip): a failed input, as for a file."""
        failure = FailedInput(STDIN_NAME, describe_error(exc))
        return Partial(files=1, failed=[failure]), self.detection or Detection(DEFAULT_FORMAT)


def open_stdin() -> IO[bytes]:
    """Standard input's bytes; InputError when it is a terminal (or closed)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("no input on standard input (pipe a log into --path -)")
    return sys.stdin.buffer


def _detect(first: bytes | Overlong) -> Detection:
    candidates = [preset(name) for name in DETECTION_ORDER]
    if isinstance(first, Overlong):
        return Detection(candidates[0])
    sample = first[:SAMPLE_BYTES]
    return detect_sample(head_lines(sample, cut=len(sample) < len(first)), candidates)


def text_partial(
    data: bytes,
    source: str,
    keep_malformed: bool,
    fmt: LogFormat,
    filters: Filters | None,
    raw_paths: bool = False,
) -> Partial:
    """Parse and aggregate one piece of whole lines (a task; top level so that it pickles); the
    parser decodes ``data`` itself (in place when valid UTF-8, else with ``errors="replace"``)."""
    parts = text_partials(data, fmt, source, keep_malformed, filters, raw_paths)
    return parts[0] if len(parts) == 1 else merge_partials(parts)


def _take(pieces: Iterator[bytes | Overlong], count: int) -> list[bytes | Overlong]:
    taken: list[bytes | Overlong] = []
    for piece in pieces:
        taken.append(piece)
        if len(taken) == count:
            break
    return taken


def live_pieces(stream: IO[bytes], blocksize: int) -> Iterator[bytes | Overlong]:
    """Like the pieces of :func:`stdin_total`, but each read returns what is available (a
    piece as soon as a line is complete, not when ``blocksize`` bytes have come): for
    ``--follow``, where the writer may stay open for hours."""
    return _pieces(stream, blocksize, live=True)


def _pieces(stream: IO[bytes], blocksize: int, live: bool = False) -> Iterator[bytes | Overlong]:
    head = stream.read(len(_GZIP_MAGIC))
    raw = _Prefixed(head, stream, live)
    source: IO[bytes] | Any = _Available(raw) if live else io.BufferedReader(raw)
    if head == _GZIP_MAGIC:
        source = gzip.GzipFile(fileobj=source, mode="rb")
    yield from line_pieces(source, chunk_size=min(blocksize, STREAM_CHUNK))


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read to sniff the format) followed by the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes], live: bool = False) -> None:
        self._head = head
        self._rest = rest
        self._live = live

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        read = getattr(self._rest, "read1", None) if self._live else None
        data = read(len(view)) if read is not None else self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


class _Available(io.RawIOBase):
    """``read(n)`` returns what one read of ``raw`` gives (at least a byte, until the end)."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        buffer = bytearray(max(size, 1) if size > 0 else 2**20)
        count = self._raw.readinto(buffer) or 0
        return bytes(buffer[:count])
