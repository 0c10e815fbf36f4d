"""The ingest job: expand ``--path``, build one Dask graph, compute it once, build the report.

Dataflow: the files become line-aligned blocks (:mod:`pipeline.ingest.files`); each block is one
task that reads, parses (vectorised, into a typed pandas DataFrame) and reduces its lines to a
:class:`~pipeline.ingest.stats.Partial` (:mod:`pipeline.ingest.read`); the partials of a file are
merged (a file with a failed block contributes nothing), then the files' partials are merged in a
tree of fan-in :data:`MERGE_FAN_IN`. Only partials, never parsed frames, cross between workers,
which is what keeps ``--mode process`` cheap. :func:`parsed_frame` exposes the same parsing as a
lazy dask DataFrame for notebooks.

>>> from pipeline.execution import ExecutionSettings
>>> from pipeline.features import DATA_DIR
>>> result = run_ingest(str(DATA_DIR / "logs" / "sample.log"), ExecutionSettings(mode="sync"))
>>> result.to_dict()["lines"]["total"] == result.parsed + result.malformed
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import dask
import dask.dataframe as dd
import pandas as pd

from pipeline.errors import InputError
from pipeline.execution import ExecutionSettings, compute
from pipeline.ingest.files import Block, expand_path, plan_blocks, plan_tasks
from pipeline.ingest.parse import empty_frame, parse_text
from pipeline.ingest.read import block_partial, block_texts, files_partial
from pipeline.ingest.result import IngestResult, build_result
from pipeline.ingest.stats import Partial, merge_file, merge_partials
from pipeline.ingest.stdin import STDIN_PATH, stdin_total
from pipeline.outputs import atomic_text, check_outputs

log = logging.getLogger(__name__)

#: Default partition size of uncompressed files. Larger blocks mean fewer tasks and less
#: per-task overhead but more memory per task (a worker peaks near 150 MB + 10x the block) and
#: coarser load balancing. Measured on 2 cores: 16 MiB is as fast as 32 MiB (5.1 s vs 5.4 s for
#: 5M lines) and keeps each process-mode worker near 350 MB (32 MiB: about 630 MB), so a 5 GB
#: run with two worker processes peaks near 1.1 GB of RSS for the whole process tree.
#: Legal range: 64 KiB to 1 GiB.
DEFAULT_BLOCKSIZE: Final[int] = 16 * 2**20
MIN_BLOCKSIZE: Final[int] = 64 * 2**10
MAX_BLOCKSIZE: Final[int] = 2**30

#: Partials merged per task in the reduction tree; higher means fewer, bigger merge tasks.
MERGE_FAN_IN: Final[int] = 8


def run_ingest(
    path: str,
    settings: ExecutionSettings,
    *,
    malformed_out: str | None = None,
    blocksize: int = DEFAULT_BLOCKSIZE,
) -> IngestResult:
    """Parse the logs at ``path`` and compute request counts and latency statistics.

    Parameters
    ----------
    path
        File, directory, glob pattern or fsspec URL
        (see :func:`~pipeline.ingest.files.expand_path`), or ``-`` for standard input
        (see :mod:`pipeline.ingest.stdin`).
    settings
        How to compute (mode and workers); the scheduler is chosen by :mod:`pipeline.execution`.
    malformed_out
        Also write every malformed line as ``FILE<TAB>LINE`` to this file.
    blocksize
        Partition size in bytes for uncompressed files.

    Raises
    ------
    InputError
        ``path`` names no file, ``blocksize`` is out of range or ``malformed_out`` is unwritable.
    """
    started = time.perf_counter()
    _check_blocksize(blocksize)
    out_path = Path(malformed_out) if malformed_out is not None else None
    check_outputs({"malformed_out": out_path}, [path])
    if path == STDIN_PATH:
        total = stdin_total(settings, blocksize=blocksize, keep_malformed=out_path is not None)
    else:
        files = expand_path(path)
        tasks = plan_tasks(files, blocksize)
        log.debug("ingest: %d files, %d read tasks", len(files), len(tasks))
        (total,) = compute(_graph(tasks, out_path is not None), settings=settings)
    if out_path is not None:
        _write_malformed(out_path, total.malformed_lines)
    return build_result(total, settings, time.perf_counter() - started)


def _graph(tasks: Sequence[tuple[Block, ...]], keep_malformed: bool) -> Any:
    """The delayed tree: read tasks -> a merge tree per split file -> one merge tree overall.

    A task is one block of a large file, or a group of whole small files read together
    (:func:`~pipeline.ingest.files.plan_tasks`). Merging in trees of fan-in
    :data:`MERGE_FAN_IN` (also inside one big file) lets the scheduler free partials as it goes,
    so a 5 GB file never has all its block partials alive at once.
    """
    split: dict[str, list[Any]] = {}
    for task in tasks:
        if task[0].length is not None:
            block = dask.delayed(block_partial, pure=True)(task[0], keep_malformed)
            split.setdefault(task[0].path, []).append(block)
    level: list[Any] = []
    for task in tasks:  # input order, one entry per group or per split file
        first = task[0]
        if first.length is None:
            level.append(dask.delayed(files_partial, pure=True)(task, keep_malformed))
        elif first.offset == 0:
            tree = _tree(split[first.path])
            level.append(dask.delayed(merge_file, pure=True)(tree, first.path))
    return _tree(level)[0]


def _tree(level: list[Any]) -> Any:
    """Merge delayed partials with fan-in MERGE_FAN_IN down to one (a list of one or none)."""
    while len(level) > 1:
        level = [
            dask.delayed(merge_partials, pure=True)(level[i : i + MERGE_FAN_IN])
            for i in range(0, len(level), MERGE_FAN_IN)
        ]
    return level if level else [dask.delayed(Partial)()]


def _write_malformed(out_path: Path, records: Sequence[str]) -> None:
    """Write the records whole or not at all (:func:`pipeline.outputs.atomic_text`)."""
    with atomic_text(out_path, what="malformed lines", errors="surrogateescape") as handle:
        for record in records:
            handle.write(record + "\n")
    log.info("%d malformed lines written to %s", len(records), out_path)


def _check_blocksize(blocksize: int) -> None:
    if isinstance(blocksize, bool) or not isinstance(blocksize, int):
        raise InputError(f"blocksize must be an integer number of bytes, got {blocksize!r}")
    if not MIN_BLOCKSIZE <= blocksize <= MAX_BLOCKSIZE:
        raise InputError(
            f"blocksize must be between {MIN_BLOCKSIZE} and {MAX_BLOCKSIZE} bytes, got {blocksize}"
        )


def parsed_frame(path: str, *, blocksize: int = DEFAULT_BLOCKSIZE) -> dd.DataFrame:
    """The parsed lines at ``path`` as a lazy dask DataFrame (for notebooks and exploration).

    One pandas partition per block of input, from ``dd.from_map`` over the same line-aligned
    blocks and the same vectorised parser as :func:`run_ingest`, so the frame holds exactly the
    lines the report counts as parsed. Unlike :func:`run_ingest`, a file that cannot be read
    raises when computed. Columns: method (category), path, status (int16), latency_ms
    (float64), user_agent.

    (``dask.bag.read_text(...).map_partitions(parse)`` followed by ``dd.from_delayed`` gives the
    same partitions, but with dask 2026.8 the result breaks as soon as it is turned into a dask
    array, e.g. for ``da.histogram``: "Missing dependency" / "Cycle detected".)

    >>> from pipeline.features import DATA_DIR
    >>> frame = parsed_frame(str(DATA_DIR / "logs"))
    >>> list(frame.columns)
    ['method', 'path', 'status', 'latency_ms', 'user_agent']
    """
    _check_blocksize(blocksize)
    blocks = plan_blocks(expand_path(path), blocksize)
    return dd.from_map(_frame_of_block, blocks, meta=empty_frame(), enforce_metadata=False)


def _frame_of_block(block: Block) -> pd.DataFrame:
    """Block -> pandas partition (top level, so it pickles); raises on unreadable input."""
    frames = [parse_text(text).frame for text in block_texts(block)]
    if not frames:
        return empty_frame()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
