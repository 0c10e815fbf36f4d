"""An incremental ingest run (``--state FILE``): only the new lines, merged with the saved total.

:func:`open_state` checks the state path (never an input, nor inside an input directory or
matching an input glob, where a later run would read it as a log; never with ``--path -``),
takes its lock and reads it. :func:`read_new` plans every input file's new text
(:mod:`pipeline.ingest.state.plan`), has the job's graph read it, merges the run's partial with
the saved one, and returns a :class:`PendingState` that the caller saves *after* the report is
out (:meth:`PendingState.save`), then the lock is released. A run that fails or is killed before
that leaves the previous state as it was: the next run reads the same new lines again.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dask

from pipeline.engine.execution import compute
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError, StateError
from pipeline.ingest.aggregate.partial import FileReport, Partial, merge_partials
from pipeline.ingest.detect import Detection, detect_formats
from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.inputs.files import Block
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.state.cursors import Cursor, age_unmatched, formats_by_name
from pipeline.ingest.state.plan import FilePlan, format_at_end, plan_incremental, plan_tasks
from pipeline.ingest.state.store import Saved, StateFile
from pipeline.reporting.display import escape_text
from pipeline.reporting.outputs import STREAM_PATH

log = logging.getLogger(__name__)

#: The job's graph builder: (formats, tasks, keep_malformed, filters, raw_paths, overrides).
GraphBuilder = Callable[..., Any]


@dataclass
class PendingState:
    """The state to write once the report is out; holds the state's lock until then."""

    store: StateFile
    saved: Saved
    formats: dict[str, LogFormat] = field(default_factory=dict)

    def save(self) -> None:
        """Replace the state file atomically and release the lock (also when saving fails);
        only while the lock is held (once)."""
        if not self.store.locked:
            return
        try:
            self.store.save(self.saved)
        finally:
            self.store.release()

    def release(self) -> None:
        """Release the lock without saving (the run failed: the old state stays)."""
        self.store.release()


def check_state_path(state: str, path: str) -> None:
    """Refuse (exit 2) a state with ``--path -`` or a URL, inside an input directory (a hidden
    name excepted, as walks skip it) or matched by an input glob: a later run would read it as
    a log. An existing input given as the state is refused by
    :func:`~pipeline.reporting.outputs.check_outputs`, which the job calls next."""
    if path == STREAM_PATH:
        raise StateError("--state cannot be used with --path - (standard input has no offsets)")
    if "://" in path and not path.startswith("file://"):
        raise StateError("--state reads local files only; --path is a URL")
    local = path.removeprefix("file://")
    real = os.path.realpath(state)
    if os.path.isdir(local):
        root = os.path.realpath(local)
        if os.path.commonpath([root, real]) == root:
            parts = Path(os.path.relpath(real, root)).parts
            if not any(part.startswith(".") for part in parts):
                raise StateError(
                    f"--state {escape_text(state)} is inside the input directory "
                    f"{escape_text(path)}: a later run would read it as a log; put it elsewhere"
                )
    elif set("*?[") & set(local) and (
        fnmatch.fnmatch(state, local) or fnmatch.fnmatch(real, os.path.realpath(local))
    ):
        raise StateError(
            f"--state {escape_text(state)} matches the input pattern {escape_text(path)}: "
            "a later run would read it as a log; put it elsewhere"
        )


def open_state(options: IngestOptions, path: str) -> tuple[StateFile, Saved | None]:
    """Lock the state and read it (None: no state yet); :func:`check_state_path` first."""
    assert options.state is not None
    store = StateFile(options.state, options)
    store.lock()
    try:
        return store, store.load()
    except BaseException:
        store.release()
        raise


def read_new(
    files: Sequence[str],
    store: StateFile,
    saved: Saved | None,
    options: IngestOptions,
    settings: ExecutionSettings,
    build_graph: GraphBuilder,
) -> tuple[Partial, dict[str, Detection | None], PendingState]:
    """Read the new text of ``files``; the merged total, each file's format, the state to save."""
    read = read_increment(files, saved, options, settings, build_graph)
    return read.merged, read.known, PendingState(store, read.saved, dict(read.formats))


@dataclass(frozen=True)
class Increment:
    """One incremental read (:func:`read_increment`).

    ``merged``: the saved total plus the new lines; ``new``: the new lines alone (None when
    ``nothing_new``); ``known``:
    the format of each file read (resumed files: their cursor's); ``saved``: what to save next
    (compacted total, next cursors, run count); ``formats``: the formats the next cursors hold,
    by name.
    """

    merged: Partial
    new: Partial | None
    known: dict[str, Detection | None]
    saved: Saved
    formats: Mapping[str, LogFormat]
    nothing_new: bool = False


def read_increment(
    files: Sequence[str],
    saved: Saved | None,
    options: IngestOptions,
    settings: ExecutionSettings,
    build_graph: GraphBuilder,
    *,
    skip_empty: bool = False,
) -> Increment:
    """One incremental read: plan the new complete lines of ``files`` after ``saved``'s
    cursors, compute them with the job's graph and merge them with ``saved``'s total.

    Shared by ``--state`` (:func:`read_new`, one read per run) and ``--follow``
    (:mod:`pipeline.ingest.follow`, one read per interval, held in memory).
    """
    cursors = saved.cursors if saved is not None else ()
    plans, used = plan_incremental(files, cursors, options.blocksize)
    known = _formats(plans, options)
    overrides = options.overrides
    formats = {
        name: _with_fields(found.format, overrides) for name, found in known.items() if found
    }
    tasks = plan_tasks(plans, options.blocksize)
    if skip_empty and saved is not None and not tasks:
        # saved.partial stands for the empty run total: it has no failures, so no file is unread
        next_cursors = _next_cursors(plans, formats, {}, saved.partial, cursors, used)
        next_saved = Saved(saved.partial, tuple(next_cursors), saved.runs + 1)
        return Increment(
            saved.partial, None, known, next_saved, formats_by_name(next_cursors), True
        )
    if formats and options.filters.by_time and not any(f.has_time for f in formats.values()):
        names = ", ".join(sorted({fmt.name for fmt in formats.values()}))
        raise InputError(f"--since/--until need a time field; no input's format has one ({names})")
    all_formats: dict[str, LogFormat | None] = {plan.path: formats.get(plan.path) for plan in plans}
    graph = build_graph(
        all_formats,
        tasks,
        options.malformed_out is not None,
        options.filters,
        options.raw_paths,
        overrides,
    )
    w3c = [
        (plan.path, formats[plan.path], plan.blocks)
        for plan in plans
        if plan.blocks and plan.path in formats and formats[plan.path].kind == "w3c"
    ]
    ends = dask.delayed(_ends, pure=True)(w3c)
    total, at_end = compute(graph, ends, settings=settings)
    total = replace(total, files=len(plans))  # every input, also those with nothing new
    next_cursors = _next_cursors(plans, formats, at_end, total, cursors, used)
    merged = merge_partials([saved.partial, total]) if saved is not None else total
    runs = (saved.runs if saved is not None else 0) + 1
    next_saved = Saved(_compact(merged), tuple(next_cursors), runs)
    return Increment(merged, total, known, next_saved, formats_by_name(next_cursors))


def _with_fields(fmt: LogFormat, overrides: tuple[tuple[str, str, str | None], ...]) -> LogFormat:
    return replace(fmt, json_fields=overrides) if fmt.keyed else fmt


def _formats(plans: Sequence[FilePlan], options: IngestOptions) -> dict[str, Detection | None]:
    """Each file's format: its cursor's when resumed, else ``--log-format``, else detected
    (only files with new text to read)."""
    fixed = options.fixed_format
    known: dict[str, Detection | None] = {}
    detect = []
    for plan in plans:
        if plan.fmt is not None:
            known[plan.path] = Detection(plan.fmt)
        elif fixed is not None:
            known[plan.path] = Detection(fixed)
        elif plan.blocks:
            detect.append(plan.path)
        else:
            known[plan.path] = None
    if detect:  # detect_formats compiles every preset first, even for no file
        known.update(zip(detect, detect_formats(detect), strict=True))
    return known


def _ends(files: Sequence[tuple[str, LogFormat, Sequence[Block]]]) -> dict[str, LogFormat]:
    """The format in force at the end of each W3C file's new text (a task of the graph)."""
    return {path: format_at_end(fmt, blocks) for path, fmt, blocks in files}


def _next_cursors(
    plans: Sequence[FilePlan],
    formats: dict[str, LogFormat],
    at_end: dict[str, LogFormat],
    total: Partial,
    cursors: Sequence[Cursor],
    used: set[int],
) -> list[Cursor]:
    """The cursors to save: one per file read (a file that could not be read keeps the cursor
    it had), then the unmatched ones still retained."""
    counted = {report.path for report in total.file_reports}
    unread = {failure.path for failure in total.failed if failure.path not in counted}
    kept: list[Cursor] = []
    for plan in plans:
        if plan.cursor is None:
            continue
        if plan.path in unread and plan.blocks:
            if plan.resumed is not None:
                kept.append(replace(plan.resumed, missed=0))
            continue
        fmt = at_end.get(plan.path, formats.get(plan.path, plan.fmt))
        kept.append(replace(plan.cursor, format=fmt))
    kept.extend(age_unmatched(cursors, used, _warn_gone))
    return kept


def _warn_gone(path: str) -> None:
    log.warning(
        "--state: %s is gone and no input continues it; its counts are kept "
        "(does --path cover its rotated names?)",
        escape_text(path),
    )


def _compact(total: Partial) -> Partial:
    """What the state keeps of the merged partial: no failures (a failed file is retried),
    no ``--malformed-out`` records, no file count, one report per file and format."""
    reports: dict[tuple[str, str, str], FileReport] = {}
    for report in total.file_reports:
        key = (report.path, report.format, report.extra)
        if key in reports:
            before = reports[key]
            report = replace(
                before,
                parsed=before.parsed + report.parsed,
                malformed=before.malformed + report.malformed,
                filtered=before.filtered + report.filtered,
                first_malformed=before.first_malformed or report.first_malformed,
            )
        reports[key] = report
    return replace(
        total,
        files=0,
        failed=[],
        malformed_lines=[],
        lines_seen=0,
        file_reports=list(reports.values()),
    )
