"""How work is computed: the one place that names a Dask scheduler.

Job modules build Dask collections or delayed graphs and call :func:`compute` with the user's
:class:`ExecutionSettings`; they never pick a scheduler themselves. Our CLI words map to Dask's
explicitly (``process`` -> ``processes``: Dask rejects the singular), and the scheduler is always
passed, because bags and dataframes default to different ones.

>>> import dask
>>> settings = ExecutionSettings(mode="sync")
>>> compute(dask.delayed(sum)([1, 2, 3]), settings=settings)
(6,)
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import dask

from pipeline.errors import ConfigurationError

log = logging.getLogger(__name__)

#: Our CLI's mode names -> Dask's scheduler names (local schedulers only).
LOCAL_SCHEDULERS: Final[dict[str, str]] = {
    "threading": "threads",
    "process": "processes",
    "sync": "synchronous",
}
MODES: Final[tuple[str, ...]] = tuple(LOCAL_SCHEDULERS)
DEFAULT_MODE: Final[str] = "threading"
DEFAULT_WORKERS: Final[int] = 4


@dataclass(frozen=True)
class ExecutionSettings:
    """How a job is computed; built once by the CLI or a notebook and handed to a ``run_*`` call.

    Parameters
    ----------
    mode
        ``threading`` (Dask's threaded scheduler), ``process`` (processes scheduler, spawned
        workers) or ``sync`` (single-threaded, for debugging).
    workers
        ``num_workers`` of the scheduler, at least 1.
    progress
        Show Dask's progress bar on stderr.
    """

    mode: str = DEFAULT_MODE
    workers: int = DEFAULT_WORKERS
    progress: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            choices = ", ".join(MODES)
            raise ConfigurationError(f"unknown mode {self.mode!r}; choose one of: {choices}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigurationError(f"workers must be an integer >= 1, got {self.workers!r}")

    @property
    def effective_workers(self) -> int:
        """Workers actually used (``sync`` always runs on one)."""
        return 1 if self.mode == "sync" else self.workers

    def describe(self) -> dict[str, Any]:
        """The ``execution`` block shared by every report (without timings)."""
        return {"mode": self.mode, "workers": self.effective_workers}


def compute(*collections: Any, settings: ExecutionSettings, **kwargs: Any) -> tuple[Any, ...]:
    """Compute Dask collections or delayed objects in one pass with the chosen scheduler.

    Extra keyword arguments go to :func:`dask.compute` (e.g. ``optimize_graph``).
    """
    scheduler = LOCAL_SCHEDULERS[settings.mode]
    options: dict[str, Any] = {"scheduler": scheduler}
    if settings.mode != "sync":
        options["num_workers"] = settings.workers
    log.debug("computing with scheduler=%s num_workers=%s", scheduler, settings.effective_workers)
    with _progress(settings):
        return tuple(dask.compute(*collections, **options, **kwargs))


@contextlib.contextmanager
def _progress(settings: ExecutionSettings) -> Iterator[None]:
    """Dask's own progress bar, on stderr, when asked for."""
    if not settings.progress:
        yield
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stderr):
        yield
