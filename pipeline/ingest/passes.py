"""``ingest --exact``: the passes after the first, until every reported percentile is exact.

The method is :mod:`pipeline.ingest.aggregate.exact`; this module runs it. Each pass is the job's
own graph (:func:`pipeline.ingest.job.build_graph`: the same planned blocks, formats, filters
and path grouping) with a later-pass request, so a pass reads and parses exactly what pass 1 did
and only the per-partition reduction differs; it is computed like pass 1, in whatever mode the
run uses.

A file that changed after pass 1 planned it (its size or modification time differ) would give
ranks that do not match pass 1's counts: it is listed as a failed input (the CLI exits with 3)
and the passes stop; the report keeps pass 1's figures, flagged as they were.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from pipeline.ingest.aggregate.exact import (
    PANELS,
    Context,
    ExactFigures,
    Plan,
    plan,
    window_cap,
)
from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.aggregate.windows import Request
from pipeline.ingest.inputs.files import Block
from pipeline.reporting.text import FailedInput

log = logging.getLogger(__name__)

#: Runs one later pass: the job's graph with this request, computed; its merged partial.
RunPass = Callable[[Request], Partial]


def exact_passes(
    total: Partial, context: Context, blocks: Sequence[Block], run_pass: RunPass
) -> ExactFigures:
    """Refine every sketched group of pass 1's ``total`` until its ranks are exact."""
    plans = [plan(panel, total, context) for panel in PANELS]
    passes = 1
    while any(p.pending for p in plans):
        failed = changed_files(blocks)
        if failed:
            return ExactFigures({}, frozenset(), passes, failed)
        request = Request(tuple(p.request() for p in plans), window_cap(plans))
        log.info(
            "--exact: pass %d, %d windows, %d values each",
            passes + 1,
            sum(len(panel.group) for panel in request.panels),
            request.cap,
        )
        result = run_pass(request)
        passes += 1
        if result.failed:
            return ExactFigures({}, frozenset(), passes, tuple(result.failed))
        refined = result.refined
        for asked, state in zip(request.panels, plans, strict=True):
            if refined is not None:
                state.absorb(asked, refined)
            else:  # nothing was read: no window holds a value
                state.targets = []
    failed = changed_files(blocks)
    if failed:
        return ExactFigures({}, frozenset(), passes, failed)
    return ExactFigures(
        {p.panel.name: p.figures() for p in plans},
        frozenset(p.panel.name for p in plans if _resolved(p)),
        passes,
    )


def _resolved(state: Plan) -> bool:
    return not any(target.broken for target in state.targets)


def changed_files(blocks: Sequence[Block]) -> tuple[FailedInput, ...]:
    """The local files whose size or modification time are no longer those planned."""
    planned: dict[str, Block] = {}
    for block in blocks:
        if "://" not in block.path and block.size is not None:
            planned.setdefault(block.path, block)
    failed = []
    for path, block in planned.items():
        try:
            info = os.stat(path)
        except OSError:
            failed.append(FailedInput(path, "file removed between the passes of --exact"))
            continue
        if info.st_size != block.size or info.st_mtime_ns != block.mtime_ns:
            failed.append(
                FailedInput(
                    path,
                    f"file changed between the passes of --exact: {block.size} bytes planned, "
                    f"{info.st_size} now",
                )
            )
    return tuple(failed)
