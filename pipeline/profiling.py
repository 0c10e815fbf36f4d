"""HTML profiles of a run (``--profile FILE.html``), self-contained (bokeh resources inlined).

* distributed: Dask's ``performance_report`` (task stream, worker profile, bandwidth).
* local modes: Dask's local diagnostics (``Profiler``, ``ResourceProfiler``, ``CacheProfiler``)
  rendered with ``dask.diagnostics.visualize``.

Both libraries open the file name themselves, so they write into a scratch file that
:func:`pipeline.outputs.atomic_path` then moves into place whole; a failure (``/dev/full``, a
full disk) is an :class:`~pipeline.errors.OutputError` (exit 2), raised when the block ends, that
is after the report.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def profile(path: str | Path, *, distributed: bool) -> Iterator[None]:
    """Profile everything computed inside the block and write the HTML report to ``path``."""
    from pipeline.outputs import atomic_path, check_outputs

    target = Path(path)
    check_outputs({"profile": target}, [])
    with atomic_path(target, what="profile") as scratch:
        if distributed:
            from distributed import performance_report

            with performance_report(filename=scratch, mode="inline"):
                yield
        else:
            with _local_profile(Path(scratch)):
                yield
    log.info("profile written to %s", target)


@contextlib.contextmanager
def _local_profile(target: Path) -> Iterator[None]:
    from dask.diagnostics import CacheProfiler, Profiler, ResourceProfiler, visualize

    with Profiler() as tasks, ResourceProfiler(dt=0.25) as resources, CacheProfiler() as cache:
        yield
    visualize([tasks, resources, cache], filename=str(target), show=False, save=True, mode="inline")
