"""``ingest --follow``: a live report, a loop of incremental reads held in memory.

The first read covers everything; then every ``--interval`` seconds the new complete lines of
the inputs are read with the cursor logic of ``--state``
(:func:`~pipeline.ingest.state.run.read_increment`: grown files, files renamed by a rotation,
truncated ones (``copytruncate``), new files matching a directory or glob input), merged into
the running total, and handed to ``on_update`` with a :class:`Tick`. Each interval's new bytes
go through the same Dask graph as a batch run; in ``process`` mode one worker pool serves the
whole follow (:func:`~pipeline.engine.execution.shared_pool`), in ``distributed`` mode the
session's one client.

Ctrl-C, SIGTERM or SIGHUP (a ``KeyboardInterrupt`` here, see
:mod:`pipeline.engine.interrupts`) end the follow: the report of the last complete interval is
returned as the final one, and an interval interrupted half-way is dropped whole (its lines are
read again by the next run with ``--state``: nothing lost, nothing counted twice). With
``--state`` the state is saved after every interval, atomically, and stays locked for the
whole follow. With ``--path -`` standard input is read as it comes (:func:`follow_stdin`),
until its end.

Between reads the loop sleeps: an idle follow costs a listing and a ``stat`` plus a small read
of each input per interval.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import IO, Any

from pipeline.engine.execution import shared_pool
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest.aggregate.partial import Partial, merge_file, merge_partials
from pipeline.ingest.detect import Detection
from pipeline.ingest.inputs.files import list_inputs
from pipeline.ingest.job import build_graph, build_report
from pipeline.ingest.options import IngestOptions, check_interval
from pipeline.ingest.report.result import IngestResult
from pipeline.ingest.state.run import check_state_path, open_state, read_increment
from pipeline.ingest.state.store import Saved, StateFile
from pipeline.ingest.stdin import (
    BATCH_PER_WORKER,
    STDIN_NAME,
    STDIN_PATH,
    StdinCounter,
    live_pieces,
    open_stdin,
)
from pipeline.reporting.outputs import check_outputs


@dataclass(frozen=True)
class Tick:
    """One interval of a follow.

    ``report``: the report of everything read so far; ``last``: the report of this interval's
    new lines alone; ``at``: when it was read (UTC); ``seconds``: time since the previous tick
    (since the start for the first); ``number``: 1 for the first read.
    """

    report: IngestResult
    last: IngestResult
    at: datetime
    seconds: float
    number: int


#: What the caller does with each interval's report (print it, rewrite a file, redraw a screen).
OnUpdate = Callable[[Tick], None]


def follow_ingest(
    path: str, settings: ExecutionSettings, options: IngestOptions, on_update: OnUpdate
) -> IngestResult:
    """Read ``path`` again every ``options.interval`` seconds until interrupted; return the
    final report (see the module docstring).

    Raises
    ------
    InputError
        Before anything is read: the interval, the state path, or ``--malformed-out`` (whose
        records cannot be kept across intervals). A ``KeyboardInterrupt`` before the first
        interval is complete propagates (there is no report to give).
    """
    check_interval(options.interval)
    if options.malformed_out is not None:
        raise InputError("--malformed-out cannot be used with --follow")
    if path == STDIN_PATH:
        return follow_stdin(settings, options, on_update)
    if options.state is not None:
        check_state_path(options.state, path)
    check_outputs({"--state": options.state}, [path])
    store: StateFile | None = None
    saved: Saved | None = None
    if options.state is not None:
        store, saved = open_state(options, path)
    last: IngestResult | None = None
    try:
        try:
            with shared_pool(settings):
                for tick in _ticks(path, settings, options, saved, store):
                    last = tick.report
                    on_update(tick)
        except KeyboardInterrupt:
            if last is None:
                raise
    finally:
        if store is not None:
            store.release()
    assert last is not None
    return last


def _ticks(
    path: str,
    settings: ExecutionSettings,
    options: IngestOptions,
    saved: Saved | None,
    store: StateFile | None,
) -> Iterator[Tick]:
    """The intervals, forever: read, report, save the state, sleep until the next one.

    The state is saved when the caller asks for the next tick, i.e. once the tick's report is
    out, as a ``--state`` run saves it after its report."""
    known: dict[str, Detection | None] = {}
    previous = time.monotonic()
    number = 0
    last: Tick | None = None
    idle: IngestResult | None = None  # the report of an interval with nothing new
    while True:
        started = time.perf_counter()
        listing = list_inputs(path)
        read = read_increment(
            listing.files, saved, options, settings, build_graph, skip_empty=last is not None
        )
        known.update(read.known)  # a file's format: its latest read's
        quiet = read.nothing_new and not listing.failed and last is not None
        if quiet and last is not None and not last.report.failed:
            # nothing new: the same report (an idle interval costs the planning alone)
            report = last.report
            idle = idle or build_report(Partial(), known, options, settings, started, {})
            interval = idle
        else:
            merged = replace(read.merged, files=len(listing.files))
            new = read.new if read.new is not None else Partial()
            if listing.failed:
                failed = Partial(failed=listing.failed)
                merged, new = merge_partials([merged, failed]), merge_partials([new, failed])
            report = build_report(merged, known, options, settings, started, read.formats)
            interval = build_report(new, known, options, settings, started, read.formats)
        now = time.monotonic()
        number += 1
        last = Tick(report, interval, datetime.now(timezone.utc), now - previous, number)
        yield last
        previous = now
        saved = read.saved
        if store is not None:
            store.save(saved)
        time.sleep(max(0.0, options.interval - (time.monotonic() - now)))


def follow_stdin(
    settings: ExecutionSettings, options: IngestOptions, on_update: OnUpdate
) -> IngestResult:
    """``--follow --path -``: standard input read as it comes (a reader thread hands complete
    lines over, at most a few batches ahead), added every interval, until its end; the final
    report is returned (not given to ``on_update``)."""
    stream = open_stdin()
    batch = BATCH_PER_WORKER * settings.effective_workers
    arrived: queue.Queue[Any] = queue.Queue(maxsize=2 * batch)  # bounds memory
    reader = threading.Thread(
        target=_read_stdin, args=(stream, options.blocksize, arrived), daemon=True
    )
    reader.start()
    counter = StdinCounter(
        settings, False, options.fixed_format, options.filters, options.raw_paths, options.overrides
    )
    last: IngestResult | None = None
    idle: IngestResult | None = None  # the report of an interval in which nothing arrived
    previous, number, ended, error = time.monotonic(), 0, False, None
    try:
        with shared_pool(settings):
            while not ended:
                started, news = time.perf_counter(), []
                deadline = time.monotonic() + options.interval
                chunk: list[Any] = []
                while not ended:
                    try:
                        item = arrived.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if item is None or isinstance(item, BaseException):
                        ended, error = True, item
                    else:
                        chunk.append(item)
                    if chunk and (ended or len(chunk) >= batch):
                        news.append(counter.add(chunk))
                        chunk = []
                if chunk:
                    news.append(counter.add(chunk))
                if news or ended or last is None:
                    last, interval = _stdin_reports(
                        counter, error, news, options, settings, started
                    )
                else:  # nothing arrived: the same report (an idle interval builds nothing)
                    if idle is None:
                        idle = _stdin_reports(counter, error, [], options, settings, started)[1]
                    interval = idle
                if ended:
                    break
                now = time.monotonic()
                number += 1
                on_update(Tick(last, interval, datetime.now(timezone.utc), now - previous, number))
                previous = now
    except KeyboardInterrupt:
        if last is None:
            raise
    assert last is not None
    return last


def _stdin_reports(
    counter: StdinCounter,
    error: BaseException | None,
    news: list[Partial],
    options: IngestOptions,
    settings: ExecutionSettings,
    started: float,
) -> tuple[IngestResult, IngestResult]:
    """The report of standard input so far, and of the batches ``news`` of this interval."""
    total, detection = counter.result() if error is None else counter.failed(error)
    known: dict[str, Detection | None] = {STDIN_NAME: detection}
    news_total = merge_partials(news) if news else Partial()
    new = merge_file([news_total], STDIN_NAME, detection.format.name)
    return (
        build_report(total, known, options, settings, started, {}),
        build_report(new, known, options, settings, started, {}),
    )


def _read_stdin(stream: IO[bytes], blocksize: int, arrived: queue.Queue[Any]) -> None:
    """The reader thread: pieces of complete lines as they come, then None (or the error)."""
    try:
        for piece in live_pieces(stream, blocksize):
            arrived.put(piece)
    except Exception as exc:  # handed to the follow, which reports it as a failed input
        arrived.put(exc)
        return
    arrived.put(None)
