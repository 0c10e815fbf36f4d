"""The ingest job: expand ``--path``, build one Dask graph, compute it once, build the report.

Dataflow: the files become line-aligned blocks (:mod:`pipeline.ingest.inputs.files`); each block is
one task that reads, parses (vectorised, into a typed pandas DataFrame) and reduces its lines to a
:class:`~pipeline.ingest.aggregate.partial.Partial` (:mod:`pipeline.ingest.read`); the partials of a
file are merged (a file with a failed block contributes nothing), then the files' partials are
merged in a tree of fan-in :data:`MERGE_FAN_IN`. Only partials, never parsed frames, cross between
workers, which is what keeps ``--mode process`` cheap. :func:`parsed_frame` exposes the same parsing
as a lazy dask DataFrame for notebooks.

>>> from pipeline.engine.settings import ExecutionSettings
>>> from pipeline.ingest.feature import DATA_DIR
>>> result = run_ingest(str(DATA_DIR / "logs" / "sample.log"), ExecutionSettings(mode="sync"))
>>> result.to_dict()["lines"]["total"] == result.parsed + result.malformed
True
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import dask
import pandas as pd
from dask.base import tokenize

from pipeline.engine.execution import compute
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError, OutputError
from pipeline.ingest.aggregate.agent_parse import refill_budget
from pipeline.ingest.aggregate.exact import Context, ExactFigures, timeline_minutes
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.partial import (
    FileReport,
    Partial,
    merge_file,
    merge_partials,
    merge_task,
)
from pipeline.ingest.aggregate.windows import Request
from pipeline.ingest.detect import Detection, detect_formats, with_detections
from pipeline.ingest.formats.presets import LogFormat, base_role, preset
from pipeline.ingest.group import files_partial
from pipeline.ingest.inputs.files import (
    Block,
    expand_path,
    is_special_file,
    list_inputs,
    plan_blocks,
    plan_tasks,
)
from pipeline.ingest.inputs.planned import grown_files
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.jsonlines import ALIASES
from pipeline.ingest.parsing.parse import empty_frame, parse_text
from pipeline.ingest.parsing.records import key_table
from pipeline.ingest.passes import exact_passes
from pipeline.ingest.read import (
    block_directives,
    block_formats,
    block_partial,
    block_texts,
    format_of_block,
)
from pipeline.ingest.report.notes import extra_note, filter_note, format_notes
from pipeline.ingest.report.result import IngestResult, build_result
from pipeline.ingest.state.run import PendingState, check_state_path, open_state, read_new
from pipeline.ingest.stdin import STDIN_NAME, STDIN_PATH, stdin_total
from pipeline.reporting.display import escape_text
from pipeline.reporting.outputs import atomic_text, check_outputs

if TYPE_CHECKING:  # dask.dataframe costs about 1 s to import: only parsed_frame needs it
    import dask.dataframe as dd

log = logging.getLogger(__name__)

#: Partials merged per task in the reduction tree; higher means fewer, bigger merge tasks.
MERGE_FAN_IN: Final[int] = 8

#: Share of malformed lines above which a file gets a WARNING suggesting ``--log-format``.
MALFORMED_WARNING_SHARE: Final[float] = 0.5


def run_ingest(
    path: str, settings: ExecutionSettings, options: IngestOptions | None = None
) -> IngestResult:
    """Parse the logs at ``path`` and compute request counts and latency statistics.

    Parameters
    ----------
    path
        File, directory, glob pattern or fsspec URL
        (see :func:`~pipeline.ingest.inputs.files.expand_path`), or ``-`` for standard input
        (see :mod:`pipeline.ingest.stdin`).
    settings
        How to compute (mode and workers); the scheduler is chosen by
        :mod:`pipeline.engine.execution`.
    options
        What to compute and how to read the input (:class:`~pipeline.ingest.options.IngestOptions`,
        validated when built); None for the defaults.

    Raises
    ------
    InputError
        ``path`` names no file, an option is invalid, ``malformed_out`` is unwritable (checked
        up front; a write that fails at the end is in the result's ``output_errors`` instead,
        so the report is not lost), or a time filter is given while no input's format has a
        time field.
    """
    started = time.perf_counter()
    options = IngestOptions() if options is None else options
    if options.exact and path == STDIN_PATH:
        raise InputError(
            "--exact cannot read standard input (--path -): the input cannot be read twice"
        )
    out_path = Path(options.malformed_out) if options.malformed_out is not None else None
    if options.state is not None:
        check_state_path(options.state, path)
    check_outputs({"malformed_out": out_path, "--state": options.state}, [path])
    keep = out_path is not None
    refill_budget()  # the user-agent parse budget of this process (threading and sync runs)
    grown: list[str] = []
    pending: PendingState | None = None
    figures: ExactFigures | None = None
    if options.state is not None:  # checked and locked before anything is read
        store, saved = open_state(options, path)
    try:
        if options.state is not None:
            listing = list_inputs(path)
            files = listing.files
            total, known, pending = read_new(files, store, saved, options, settings, _graph)
            if listing.failed:
                total = merge_partials([total, Partial(failed=listing.failed)])
        else:
            total, files, known, grown, figures = _read_all(path, settings, options, keep)
        result = _result(total, known, options, settings, started, grown, pending, None, figures)
    except BaseException:
        if pending is not None:
            pending.release()
        elif options.state is not None:
            store.release()
        raise
    return result


def _read_all(
    path: str, settings: ExecutionSettings, options: IngestOptions, keep: bool
) -> tuple[Partial, list[str], dict[str, Detection | None], list[str], ExactFigures | None]:
    """Read every input (no ``--state``): the total, the files, their formats, growth notes,
    and with ``--exact`` what the later passes found."""
    blocksize, raw_paths = options.blocksize, options.raw_paths
    overrides, fixed, filters = options.overrides, options.fixed_format, options.filters
    grown: list[str] = []
    figures: ExactFigures | None = None
    if path == STDIN_PATH:
        total, detection = stdin_total(
            settings,
            blocksize=blocksize,
            keep_malformed=keep,
            fmt=fixed,
            filters=filters,
            raw_paths=raw_paths,
            json_fields=overrides,
        )
        files = [STDIN_NAME]
        known: dict[str, Detection | None] = {STDIN_NAME: detection}
    else:
        listing = list_inputs(path)
        files = listing.files
        if options.exact:
            special = next((name for name in files if is_special_file(name)), None)
            if special is not None:
                raise InputError(
                    f"--exact cannot read {escape_text(special)}, not a regular file (a FIFO?): "
                    "the input cannot be read twice"
                )
        tasks = plan_tasks(files, blocksize, listing.stats)
        known = _known_formats(files, tasks, fixed, detect_all=filters.by_time, settings=settings)
        formats = {name: _format_of(found, overrides) for name, found in known.items()}
        if files and filters.by_time and not any(fmt and fmt.has_time for fmt in formats.values()):
            names = ", ".join(sorted({fmt.name for fmt in formats.values() if fmt}))
            raise InputError(
                f"--since/--until need a time field; no input's format has one ({names})"
            )
        log.info("ingest: %d file(s), %d read task(s)", len(files), len(tasks))
        graph = _graph(formats, tasks, keep, filters, raw_paths, overrides)
        (total,) = compute(graph, settings=settings)
        if options.exact and not total.failed:
            figures = _exact(total, options, settings, formats, tasks)
            if figures.failed:
                total = merge_partials([total, Partial(failed=list(figures.failed))])
        if listing.failed:  # directories that could not be listed, after the files' failures
            total = merge_partials([total, Partial(failed=listing.failed)])
        grown = _grown_notes(tasks)
    return total, files, known, grown, figures


def _exact(
    total: Partial,
    options: IngestOptions,
    settings: ExecutionSettings,
    formats: dict[str, LogFormat | None],
    tasks: Sequence[tuple[Block, ...]],
) -> ExactFigures:
    """``--exact``: the later passes (:mod:`pipeline.ingest.passes`), each the same graph as
    pass 1's over the same planned blocks, with a later-pass request."""
    filters, raw_paths, overrides = options.filters, options.raw_paths, options.overrides

    def run_pass(request: Request) -> Partial:
        graph = _graph(formats, tasks, False, filters, raw_paths, overrides, request)
        (merged,) = compute(graph, settings=settings)
        assert isinstance(merged, Partial)
        return merged

    context = Context(options.top, timeline_minutes(total, options.bucket, True))
    blocks = [block for task in tasks for block in task]
    return exact_passes(total, context, blocks, run_pass)


def build_report(
    total: Partial,
    known: dict[str, Detection | None],
    options: IngestOptions,
    settings: ExecutionSettings,
    started: float,
    formats: Mapping[str, LogFormat],
) -> IngestResult:
    """The report of an incremental read's total (``ingest --follow``, once per interval):
    ``known`` as :func:`~pipeline.ingest.state.run.read_increment` gives it, ``formats`` the
    formats its cursors hold by name (for files resumed from an earlier read)."""
    return _result(total, known, options, settings, started, [], None, formats)


def _result(
    total: Partial,
    known: dict[str, Detection | None],
    options: IngestOptions,
    settings: ExecutionSettings,
    started: float,
    grown: list[str],
    pending: PendingState | None,
    formats: Mapping[str, LogFormat] | None = None,
    figures: ExactFigures | None = None,
) -> IngestResult:
    """The report of a run's total (written ``--malformed-out`` records included); ``figures``:
    what the later passes of ``--exact`` found."""
    overrides, filters = options.overrides, options.filters
    out_path = Path(options.malformed_out) if options.malformed_out is not None else None
    by_name = pending.formats if pending is not None else (formats or {})
    output_errors: tuple[str, ...] = ()
    if out_path is not None:
        try:
            _write_malformed(out_path, total.malformed_lines)
        except OutputError as exc:  # the report is still wanted: printed first, then this
            output_errors = (str(exc),)
    total = with_detections(total, {name: found for name, found in known.items() if found})
    used = [
        _read_with(report, known, overrides, by_name, options.fixed_format)
        for report in total.file_reports
    ]
    if overrides and not any(fmt.keyed for fmt in used):
        log.warning("--field applies to JSON and logfmt lines only; no input is read as either")
    elif overrides:
        _warn_absent_keys(overrides, total.keys)
    extras = sorted({(report.format, report.extra) for report in total.file_reports})
    _warn_malformed(total)
    result = build_result(
        total,
        settings,
        started,
        formats=dict(sorted(Counter(fmt.name for fmt in used).items())),
        notes=format_notes(used)
        + _no_latency_notes(used, total)
        + [extra_note(name, extra) for name, extra in extras if extra]
        + filter_note(total, filters)
        + grown,
        has_bytes=any(fmt.has_bytes for fmt in used),
        has_time=any(fmt.has_time for fmt in used),
        has_client=any(has_field(fmt, "client") for fmt in used),
        has_referer=any(has_field(fmt, "referer") for fmt in used),
        has_host=any(has_field(fmt, "host") for fmt in used),
        bucket=options.bucket,
        top=options.top,
        refined=None if figures is None or figures.failed else figures,
        passes=1 if figures is None else figures.passes,
    )
    return replace(result, output_errors=output_errors, pending_state=pending)


def has_field(fmt: LogFormat, name: str) -> bool:
    """Whether lines of ``fmt`` can carry the field ``name`` (``client``, ``referer``, ``host``):
    JSON, logfmt and W3C lines name their fields per line, so they can; a fixed format when one
    of its roles is that field. The report has a field's panels only then."""
    roles = {base_role(role) for role in fmt.roles}
    # a load balancer's client is "address:port" (role client_port, the port dropped)
    return fmt.keyed or fmt.kind == "w3c" or name in roles or f"{name}_port" in roles


def _format_of(
    found: Detection | LogFormat | None, overrides: tuple[tuple[str, str, str | None], ...]
) -> LogFormat | None:
    """The format a file is read with (``--field`` overrides on JSON lines); None: unknown yet."""
    fmt = found.format if isinstance(found, Detection) else found
    if fmt is None or not fmt.keyed:
        return fmt
    return replace(fmt, json_fields=overrides)


def _read_with(
    report: FileReport,
    known: dict[str, Detection | None],
    overrides: tuple[tuple[str, str, str | None], ...],
    by_name: Mapping[str, LogFormat] | None = None,
    fixed: LogFormat | None = None,
) -> LogFormat:
    """The format a file was read with: known before the graph, or detected by its task (a
    preset, named in its report); for a file of an earlier ``--state`` run, the format of that
    name its cursors hold, or ``--log-format``."""
    found: Detection | LogFormat | None = known.get(report.path)
    known_name = found.format.name if isinstance(found, Detection) else None
    if by_name and known_name != report.format:
        named = fixed if fixed is not None and fixed.name == report.format else None
        found = by_name.get(report.format, named)
    fmt = _format_of(found if found is not None else preset(report.format), overrides)
    assert fmt is not None
    return fmt


def _detections(files: Sequence[str], fixed: LogFormat | None) -> list[Detection]:
    """The format of each file: ``fixed`` for all when given, else detected per file."""
    return [Detection(fixed)] * len(files) if fixed is not None else detect_formats(files)


def _known_formats(
    files: Sequence[str],
    tasks: Sequence[tuple[Block, ...]],
    fixed: LogFormat | None,
    *,
    detect_all: bool,
    settings: ExecutionSettings | None = None,
) -> dict[str, Detection | None]:
    """Each file's format as far as it is known before the graph is built.

    ``fixed`` for every file when given. Otherwise the files split into blocks and the
    compressed ones are detected here (their tasks need the format); a small uncompressed file,
    read whole by its group task, is None: the task detects it from the text it reads anyway,
    so the file is opened once. ``detect_all`` (a time filter needs every format up front to
    check that one has a time field) detects every file here.

    In ``distributed`` mode (``settings``) a task on the cluster detects URLs (S3 objects): the
    workers read the objects, the client only lists them (the workers may sit next to the store).
    """
    if fixed is not None:
        return dict.fromkeys(files, Detection(fixed))
    whole = {b.path for task in tasks for b in task if b.length is None and b.compression is None}
    here = [name for name in files if detect_all or name not in whole]
    if settings and settings.resolved_mode == "distributed" and any("://" in n for n in here):
        (detections,) = compute(dask.delayed(detect_formats)(here), settings=settings)
    else:
        detections = detect_formats(here)
    found = dict(zip(here, detections, strict=True))
    return {name: found.get(name) for name in files}


def _warn_absent_keys(
    overrides: tuple[tuple[str, str, str | None], ...], seen: frozenset[str]
) -> None:
    """One WARNING per ``--field`` key that no JSON or logfmt line of the run has, naming the
    keys the lines do have (a misspelt key otherwise reads as silently missing figures)."""
    shown = ", ".join(sorted(seen)[:KEYS_SHOWN]) or "none"
    if len(seen) > KEYS_SHOWN:
        shown += f" (and {len(seen) - KEYS_SHOWN} more)"
    for canonical, key, _ in overrides:
        if key not in seen:
            log.warning(
                "--field %s=%s: no line has the key %r; keys seen: %s", canonical, key, key, shown
            )


#: Keys a ``--field`` warning names at most.
KEYS_SHOWN: Final[int] = 20


def _no_latency_notes(formats: Sequence[LogFormat], total: Partial) -> list[str]:
    """When no request of the run has a latency, a note per JSON or logfmt format read saying
    which keys it looked for (the figures a user expected are under another key)."""
    if total.parsed == 0 or int(total.latency.count.sum()) > 0:
        return []
    notes = []
    for fmt in sorted({fmt for fmt in formats if fmt.keyed}, key=lambda fmt: fmt.name):
        keys = key_table(fmt.options, ALIASES, fmt.json_fields).get("latency", ())
        notes.append(
            f"no request read as {fmt.name!r} has a latency; the keys read for it: "
            f"{', '.join(key for key, _ in keys)} (pass --field latency=KEY[:UNIT] if the "
            "latency is under another key)"
        )
    return notes


#: Files that grew while read named one by one in the notes; more are counted in one more note.
GROWN_NOTES: Final[int] = 5


def _grown_notes(tasks: Sequence[tuple[Block, ...]]) -> list[str]:
    """A note per file that grew while the run read it (its new bytes were not read)."""
    grown = grown_files(block for task in tasks for block in task)
    notes = [
        f"{escape_text(path)} grew from {planned:,} to {now:,} bytes while it was read; "
        f"only its first {planned:,} bytes (its size when the run started) were read"
        for path, planned, now in grown[:GROWN_NOTES]
    ]
    if len(grown) > GROWN_NOTES:
        notes.append(
            f"{len(grown) - GROWN_NOTES:,} more files grew while they were read; only their "
            "bytes at the start of the run were read"
        )
    return notes


def _warn_malformed(total: Partial) -> None:
    for report in total.file_reports:
        lines = report.parsed + report.malformed + report.filtered
        if report.parsed + report.filtered and report.malformed > MALFORMED_WARNING_SHARE * lines:
            log.warning(
                "%s: %.0f%% of %d lines are malformed in log format %r; "
                "pass --log-format to choose another",
                report.path,
                100 * report.malformed / lines,
                lines,
                report.format,
            )


def _graph(
    formats: dict[str, LogFormat | None],
    tasks: Sequence[tuple[Block, ...]],
    keep_malformed: bool,
    filters: Filters,
    raw_paths: bool,
    overrides: tuple[tuple[str, str, str | None], ...],
    refine: Request | None = None,
) -> Any:
    """The delayed tree: read tasks -> a merge tree per split file -> one merge tree overall.

    A task is one block of a large file, or a group of whole small files read together
    (:func:`~pipeline.ingest.inputs.files.plan_tasks`); ``formats`` is each file's format, None for
    a file its group task detects. Merging in trees of fan-in :data:`MERGE_FAN_IN` (also inside
    one big file) lets the scheduler free partials as it goes, so a 5 GB file never has all its
    block partials alive at once.

    Every key is a token of its inputs, including each file's size and modification time
    (:class:`~pipeline.ingest.inputs.files.Block`): a file rewritten between two runs on one
    long-lived ``distributed`` client gets new keys, so its stale result is never reused.

    ``refine``: a later pass of ``--exact`` (:mod:`pipeline.ingest.passes`): the same tasks,
    each reducing its lines to the latencies of the request's windows.
    """
    split: dict[str, list[Any]] = {}
    starts = _block_formats(formats, tasks)
    for task in tasks:
        first = task[0]
        if first.length is not None:
            fmt = starts.get((first.path, first.offset), formats[first.path])
            block = dask.delayed(block_partial, pure=True)(
                first, keep_malformed, fmt, filters, raw_paths, refine
            )
            split.setdefault(first.path, []).append(block)
    level: list[Any] = []
    merged: set[str] = set()
    for task in tasks:  # input order, one entry per group or per split file
        first = task[0]
        if first.length is None:
            fmts = tuple(formats[block.path] for block in task)
            key = "files_partial-" + tokenize(
                [
                    (
                        b.path,
                        b.offset,
                        b.length,
                        b.compression,
                        b.size,
                        b.mtime_ns,
                        b.identity,
                        b.skip,
                    )
                    for b in task
                ],
                [fmt.name if fmt else None for fmt in fmts],
                keep_malformed,
                filters,
                raw_paths,
                overrides,
                refine,
            )
            # the blocks and formats enter the graph as data that dask does not walk: calling a
            # delayed function walks its arguments (dataclasses included, field by field), and
            # thousands of blocks cost seconds; the key still names every input (tokenize)
            blocks = dask.delayed(task, name=key + "-blocks", traverse=False)
            group_formats = dask.delayed(fmts, name=key + "-formats", traverse=False)
            group = dask.delayed(files_partial)(
                blocks,
                keep_malformed,
                group_formats,
                filters,
                raw_paths,
                overrides,
                refine,
                dask_key_name=key,
            )
            level.append(group)
        elif first.path not in merged:  # its first block (--state may start past offset 0)
            merged.add(first.path)
            tree = _tree(split[first.path])
            fmt = formats[first.path]
            assert fmt is not None  # a split file is detected before the graph
            level.append(dask.delayed(merge_file, pure=True)(tree, first.path, fmt.name))
    return _tree(level)[0]


def _block_formats(
    formats: dict[str, LogFormat | None], tasks: Sequence[tuple[Block, ...]]
) -> dict[tuple[str, int], Any]:
    """The format each block of a split W3C file starts with, as delayed values.

    A W3C block must know the directives in force at its start (``#Fields:`` may change
    mid-file). Per block, a cheap scan task finds its directive lines; one tiny task per file
    folds them into each block's starting format; block ``i``'s parse depends on that task
    only. The scans run in parallel with each other, and the parses with each other: the parse
    is never serialised, and the client reads nothing. Other formats and single-block files
    need none of this (empty result).
    """
    blocks: dict[str, list[Block]] = {}
    for task in tasks:
        first = task[0]
        fmt = formats[first.path]
        if first.length is not None and fmt is not None and fmt.kind == "w3c":
            blocks.setdefault(first.path, []).append(first)
    starts: dict[tuple[str, int], Any] = {}
    for path, file_blocks in blocks.items():
        if len(file_blocks) < 2:
            continue
        scans = [dask.delayed(block_directives, pure=True)(block) for block in file_blocks]
        per_block = dask.delayed(block_formats, pure=True)(formats[path], scans)
        for index, block in enumerate(file_blocks):
            starts[(path, block.offset)] = dask.delayed(format_of_block, pure=True)(
                per_block, index
            )
    return starts


def _tree(level: list[Any]) -> Any:
    """Merge delayed partials with fan-in MERGE_FAN_IN down to one (a list of one or none)."""
    while len(level) > 1:
        level = [
            dask.delayed(merge_task, pure=True)(level[i : i + MERGE_FAN_IN])
            for i in range(0, len(level), MERGE_FAN_IN)
        ]
    return level if level else [dask.delayed(Partial)()]


def _write_malformed(out_path: Path, records: Sequence[str]) -> None:
    """Write the records whole or not at all (:func:`pipeline.reporting.outputs.atomic_text`)."""
    with atomic_text(out_path, what="malformed lines", errors="surrogateescape") as handle:
        for record in records:
            handle.write(record + "\n")
    log.info("%d malformed lines written to %s", len(records), out_path)


def parsed_frame(path: str, options: IngestOptions | None = None) -> dd.DataFrame:
    """The parsed lines at ``path`` as a lazy dask DataFrame (for notebooks and exploration).

    One pandas partition per block of input, from ``dd.from_map`` over the same line-aligned
    blocks and the same vectorised parser as :func:`run_ingest`, so the frame holds exactly the
    lines the report counts as parsed. Unlike :func:`run_ingest`, a file that cannot be read
    raises when computed. Columns: method (category), path, status (int16), latency_ms
    (float64), user_agent, time (UTC), bytes, host (null when the format has none). Of
    ``options``, only ``blocksize`` and ``log_format`` apply (the frame is unfiltered).

    (``dask.bag.read_text(...).map_partitions(parse)`` followed by ``dd.from_delayed`` gives the
    same partitions, but with dask 2026.8 the result breaks as soon as it is turned into a dask
    array, e.g. for ``da.histogram``: "Missing dependency" / "Cycle detected".)

    >>> from pipeline.ingest.feature import DATA_DIR
    >>> frame = parsed_frame(str(DATA_DIR / "logs"))
    >>> list(frame.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['method', 'path', 'status', 'latency_ms', 'user_agent', 'time', 'bytes', 'host', 'client',
     'referer']
    """
    import dask.dataframe as dd

    options = IngestOptions() if options is None else options
    blocksize, fixed = options.blocksize, options.fixed_format
    files = expand_path(path)
    detections = _detections(files, fixed)
    fmt_of = {name: d.format for name, d in zip(files, detections, strict=True)}
    blocks = plan_blocks(files, blocksize)
    # a W3C file split in blocks: the directives in force at each block's start, found now by
    # the same scan tasks as run_ingest's (one more read of those files, in parallel)
    (starts,) = dask.compute(_block_formats(dict(fmt_of), [(block,) for block in blocks]))
    pairs = [
        (block, starts.get((block.path, block.offset), fmt_of[block.path])) for block in blocks
    ]
    return dd.from_map(_frame_of_block, pairs, meta=empty_frame(), enforce_metadata=False)


def _frame_of_block(pair: tuple[Block, LogFormat]) -> pd.DataFrame:
    """Block -> pandas partition (top level, so it pickles); raises on unreadable input."""
    block, fmt = pair
    frames = [parse_text(text, fmt).frame for text in block_texts(block)]
    if not frames:
        return empty_frame()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


#: The job's graph builder, for the incremental reads of ``--follow``
#: (:func:`~pipeline.ingest.state.run.read_increment`), which build the same graph as a batch run.
build_graph = _graph
