"""The convert job: the parsed lines of ``--path`` -> a Parquet dataset at ``--dataset``.

Dataflow: the inputs are listed and their formats detected as for ingest; each line-aligned
block (:func:`~pipeline.ingest.inputs.files.plan_blocks`) is one task,
:func:`~pipeline.ingest.convert.tasks.block_rows`, which gives the block's rows (filtered, typed)
and its line counts. The rows become one partition each of a dask DataFrame
(``dd.from_delayed``), written by Dask's ``to_parquet`` (pyarrow engine, the explicit
:func:`~pipeline.ingest.convert.columns.schema`, ``partition_on=["day"]`` when a format has a
time) with the counts computed in the same graph: each block is read once, and the scheduler
frees a block's rows once its write task is done, so memory follows the tasks in flight, never
the dataset.

The dataset is written into a hidden temporary directory next to ``--dataset`` (same parent,
registered with :mod:`pipeline.reporting.temporaries`, so Ctrl-C and SIGTERM remove it too), then
renamed to ``--dataset``: a run that fails leaves no dataset and no temporary. ``--dataset``
must not exist and its parent must (checked before anything is read).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import dask

from pipeline.engine.execution import compute, settle
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError, OutputError
from pipeline.ingest.aggregate.partial import Partial, merge_file, merge_partials
from pipeline.ingest.convert.columns import DAY, NO_DAY, empty_partition, schema
from pipeline.ingest.convert.result import ConvertResult
from pipeline.ingest.convert.tasks import block_rows
from pipeline.ingest.detect import detect_formats
from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.inputs.files import list_inputs, plan_blocks
from pipeline.ingest.job import _block_formats
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.stdin import STDIN_PATH
from pipeline.reporting import temporaries
from pipeline.reporting.display import escape_text
from pipeline.reporting.outputs import atomic_text, check_outputs

log = logging.getLogger(__name__)


def run_convert(
    path: str,
    settings: ExecutionSettings,
    dataset: str | None,
    options: IngestOptions | None = None,
) -> ConvertResult:
    """Write the parsed lines at ``path`` as a Parquet dataset in the new directory ``dataset``.

    Parameters
    ----------
    path
        File, directory, glob pattern or fsspec URL, as for ingest (standard input is refused:
        the rows are written as they are read, and a Parquet dataset is no stream).
    settings
        How to compute (mode and workers).
    dataset
        The directory to create; it must not exist, its parent must.
    options
        The ingest options that apply: ``malformed_out``, ``blocksize``, ``log_format``,
        ``field``, the filters (``since``, ``until``, ``status``, ``method``, ``path_regex``)
        and ``anonymize_ip``; the others are ignored.

    Raises
    ------
    InputError
        No ``dataset``, ``dataset`` exists or cannot be created, ``path`` names no file or is
        standard input, an option is invalid, or a time filter is given while no input's format
        has a time. Every check runs before any input is read.
    """
    started = time.perf_counter()
    options = IngestOptions() if options is None else options
    if path == STDIN_PATH:
        raise InputError("convert reads files, not standard input (--path -); save it to a file")
    target = check_dataset(dataset, path)
    out_path = Path(options.malformed_out) if options.malformed_out is not None else None
    check_outputs({"--malformed-out": out_path}, [path])
    filters, fixed = options.filters, options.fixed_format
    listing = list_inputs(path)
    files = listing.files
    detections = [fixed] * len(files) if fixed else [d.format for d in detect_formats(files)]
    formats = {
        name: _with_fields(fmt, options) for name, fmt in zip(files, detections, strict=True)
    }
    if files and filters.by_time and not any(fmt.has_time for fmt in formats.values()):
        names = ", ".join(sorted({fmt.name for fmt in formats.values()}))
        raise InputError(f"--since/--until need a time field; no input's format has one ({names})")
    partitioned = any(fmt.has_time for fmt in formats.values())
    blocks = plan_blocks(files, options.blocksize)
    starts = _block_formats(dict(formats), [(block,) for block in blocks])
    keep = out_path is not None
    tasks = [
        dask.delayed(block_rows, pure=True, nout=2)(
            block,
            starts.get((block.path, block.offset), formats[block.path]),
            filters,
            keep,
            partitioned,
        )
        for block in blocks
    ]
    log.info("convert: %d file(s), %d block(s) -> %s", len(files), len(blocks), target)
    counts = _write(
        target, [task[0] for task in tasks], [task[1] for task in tasks], partitioned, settings
    )
    per_file: dict[str, list[Partial]] = {}
    for block, part in zip(blocks, counts, strict=True):
        per_file.setdefault(block.path, []).append(part)
    total = merge_partials(
        [merge_file(parts, name, formats[name].name) for name, parts in per_file.items()]
        + [Partial(failed=listing.failed)]
    )
    output_errors: tuple[str, ...] = ()
    if out_path is not None:
        try:
            _write_malformed(out_path, total.malformed_lines)
        except OutputError as exc:  # the dataset is written: the report is still wanted
            output_errors = (str(exc),)
    partitions, parquet_files, size = _describe(target, partitioned)
    read = [formats[report.path] for report in total.file_reports]
    used = Counter(fmt.name for fmt in read)
    return ConvertResult(
        dataset=str(target),
        files=total.files,
        failed=tuple(total.failed),
        formats=dict(sorted(used.items())),
        # rows on disk: a failed file's blocks read before the failure included
        written=sum(part.parsed for part in counts),
        malformed=total.malformed,
        filtered=total.filtered,
        directives=total.directives,
        malformed_samples=tuple(total.malformed_samples),
        partitioned_by=DAY if partitioned else None,
        partitions=partitions,
        parquet_files=parquet_files,
        dataset_bytes=size,
        execution={
            **settings.describe(),
            "elapsed_s": round(time.perf_counter() - started, 3),
        },
        notes=tuple(_notes(read, partitioned)),
        output_errors=output_errors,
    )


def _notes(formats: Sequence[LogFormat], partitioned: bool) -> list[str]:
    """What a column of the dataset cannot hold for a format read (once per format name)."""
    named = {fmt.name: fmt for fmt in formats}
    notes = [
        f"format {name!r} has no latency field: latency_ms is null in its rows"
        for name, fmt in sorted(named.items())
        if not fmt.has_latency
    ]
    if partitioned:
        notes += [
            f"format {name!r} has no time field: its rows are in {DAY}={NO_DAY}"
            for name, fmt in sorted(named.items())
            if not fmt.has_time
        ]
    notes += [
        f"format {name!r} writes times without a UTC offset: they are read as UTC"
        for name, fmt in sorted(named.items())
        if fmt.time_without_offset
    ]
    return notes


def check_dataset(dataset: str | None, path: str) -> Path:
    """The dataset directory to create, checked: given, not existing, its parent an existing,
    writable directory; an :class:`~pipeline.errors.OutputError` (one line) otherwise."""
    if not dataset:
        raise InputError("convert needs --dataset DIR (the directory to create)")
    target = Path(dataset)
    shown = escape_text(dataset)
    if os.path.lexists(target):
        raise OutputError(f"--dataset {shown} already exists; give a new directory")
    parent = target.absolute().parent
    if not parent.is_dir():
        raise OutputError(
            f"cannot create --dataset {shown}: {escape_text(str(parent))} is not a directory"
        )
    check_outputs({"--dataset": target}, [path])  # permissions; warns inside an input directory
    return target


def _with_fields(fmt: LogFormat, options: IngestOptions) -> LogFormat:
    """The format a file is read with: ``--field`` overrides on JSON and logfmt lines."""
    return replace(fmt, json_fields=options.overrides) if fmt.keyed else fmt


def _write(
    target: Path,
    frames: Sequence[Any],
    counts: Sequence[Any],
    partitioned: bool,
    settings: ExecutionSettings,
) -> list[Partial]:
    """Write the delayed ``frames`` as the dataset ``target`` and compute the delayed
    ``counts`` in the same graph; the dataset appears whole or not at all."""
    import dask.dataframe as dd

    temp = target.absolute().parent / f".{target.name}.convert-{secrets.token_hex(4)}"
    temporaries.register(str(temp))
    try:
        os.mkdir(temp)
        found: list[Partial] = []
        if frames:
            ddf = dd.from_delayed(
                list(frames), meta=empty_partition(partitioned), verify_meta=False
            )
            write = ddf.to_parquet(
                str(temp),
                engine="pyarrow",
                partition_on=[DAY] if partitioned else None,
                schema=schema(partitioned),
                write_index=False,
                write_metadata_file=False,
                compute=False,
            )
            # both delayed: one graph, each block read once (a dataframe expression computed
            # with delayed objects is materialised anyway, with a warning)
            _, found = compute(write.to_delayed(), list(counts), settings=settings)
        if os.path.lexists(target):  # created while the run was writing
            raise OutputError(
                f"--dataset {escape_text(str(target))} already exists; give a new directory"
            )
        try:
            os.rename(temp, target)  # refused if target became a non-empty directory
        except OSError as exc:
            raise OutputError(
                f"cannot create --dataset {escape_text(str(target))}: {exc.strerror or exc}"
            ) from exc
    except BaseException as exc:
        # a write task still running in a thread or on a worker could write into temp after
        # its removal: waited for first (after Ctrl-C or SIGTERM, the interrupt's watchdog ends
        # the wait within seconds, and its exit removes what is still registered)
        settle(settings)
        shutil.rmtree(temp, ignore_errors=True)
        if isinstance(exc, Exception):
            temporaries.release(str(temp))
        raise
    temporaries.release(str(temp))
    return list(found)


def _describe(target: Path, partitioned: bool) -> tuple[tuple[str, ...], int, int]:
    """The dataset's ``day`` values (sorted), its Parquet files and their bytes on disk."""
    files = sorted(target.rglob("*.parquet"))
    days = (
        sorted({p.parent.name.removeprefix(f"{DAY}=") for p in files if p.parent != target})
        if partitioned
        else []
    )
    size = 0
    for found in files:
        with contextlib.suppress(OSError):
            size += found.stat().st_size
    return tuple(days), len(files), size


def _write_malformed(out_path: Path, records: Sequence[str]) -> None:
    """``--malformed-out``: the records, whole or not at all."""
    with atomic_text(out_path, what="malformed lines", errors="surrogateescape") as handle:
        for record in records:
            handle.write(record + "\n")
    log.info("%d malformed lines written to %s", len(records), out_path)
