"""How work is computed: the one place that names a Dask scheduler.

Job modules build Dask collections or delayed graphs and call :func:`compute` with the user's
:class:`ExecutionSettings`; they never pick a scheduler themselves. Our mode names map to Dask's
explicitly (``process`` -> ``processes``: Dask rejects the singular), and the scheduler is always
passed, because bags and dataframes default to different ones. ``distributed`` computes through a
``distributed.Client`` (see :mod:`pipeline.engine.cluster`); :func:`session` keeps one client (and
an optional HTML profile) open across a whole run.

>>> import dask
>>> compute(dask.delayed(sum)([1, 2, 3]), settings=ExecutionSettings(mode="sync"))
(6,)
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import dask

from pipeline.engine import addresses, cluster, gathering, memory
from pipeline.errors import ConfigurationError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Our local mode names -> Dask's scheduler names.
LOCAL_SCHEDULERS: Final[dict[str, str]] = {
    "threading": "threads",
    "process": "processes",
    "sync": "synchronous",
}
#: Modes the CLI offers. ``auto`` (library default) is ``distributed`` when a default
#: ``distributed.Client`` exists (e.g. made in a notebook), else ``threading``.
MODES: Final[tuple[str, ...]] = (*LOCAL_SCHEDULERS, "distributed")
DEFAULT_MODE: Final[str] = "threading"
DEFAULT_WORKERS: Final[int] = 4
DEFAULT_DASHBOARD: Final[str] = "127.0.0.1:8787"
DEFAULT_CONNECT_TIMEOUT_S: Final[float] = 10.0
#: Longest --connect-timeout: one day. A longer wait is indistinguishable from a hang.
MAX_CONNECT_TIMEOUT_S: Final[float] = 86400.0
#: Worker processes (or threads) per usable CPU above which we warn: beyond about 2 the extra
#: workers only compete for the same cores (the default 4 on 2 cores stays quiet).
WARN_WORKERS_PER_CPU: Final[int] = 2
#: Worker processes per usable CPU above which process and distributed modes refuse to start:
#: each process holds its own interpreter, pandas and pyarrow (about 100-150 MB), so e.g. 1,000
#: of them exhaust memory long before they help. Threads share one process and only warn.
MAX_PROCESSES_PER_CPU: Final[int] = 8


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and ``taskset`` narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ExecutionSettings:
    """How a job is computed; built once by the CLI or a notebook and handed to ``run_*``.

    Parameters
    ----------
    mode
        ``threading`` (threaded scheduler), ``process`` (processes scheduler, spawned workers),
        ``sync`` (one thread, for debugging), ``distributed`` (dask.distributed) or ``auto``
        (``distributed`` when a default client exists, else ``threading``).
    workers
        ``num_workers`` of a local scheduler, or worker processes of a local cluster.
    progress
        Show a progress bar on stderr.
    scheduler_address
        Connect to this existing scheduler (``distributed`` mode only).
    threads_per_worker
        Threads of each local-cluster worker process.
    dashboard_address
        Where a local cluster's dashboard listens: ``HOST:PORT``, ``:PORT``, ``PORT`` or empty
        (see :mod:`pipeline.engine.addresses`); without a host, 127.0.0.1.
    connect_timeout
        Seconds to wait for a remote scheduler and its first worker, and for a worker to come
        back when a cluster has lost all of them (0 < seconds <= one day).
    profile
        Write an HTML profile of everything computed in a :func:`session` to this file.
    """

    mode: str = "auto"
    workers: int = DEFAULT_WORKERS
    progress: bool = False
    scheduler_address: str | None = None
    threads_per_worker: int = 1
    dashboard_address: str = DEFAULT_DASHBOARD
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in (*MODES, "auto"):
            choices = ", ".join(MODES)
            raise ConfigurationError(f"unknown mode {self.mode!r}; choose one of: {choices}")
        for name in ("workers", "threads_per_worker"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}")
        if self.scheduler_address is not None:
            if self.mode not in ("distributed", "auto"):
                raise ConfigurationError(
                    f"a scheduler address implies mode 'distributed', not {self.mode!r}"
                )
            addresses.scheduler_address(self.scheduler_address)
        addresses.dashboard_address(self.dashboard_address)
        timeout = self.connect_timeout
        number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        if not (number and 0 < timeout <= MAX_CONNECT_TIMEOUT_S):
            raise ConfigurationError(
                f"the connect timeout must be more than 0 and at most {MAX_CONNECT_TIMEOUT_S:g} "
                f"seconds, got {timeout!r}"
            )
        self._check_worker_count()

    def _check_worker_count(self) -> None:
        """Refuse process counts that would exhaust memory; warn about oversubscription."""
        if self.mode == "sync" or self.scheduler_address is not None:
            return  # one thread, or the cluster's own workers
        cpus = usable_cpus()
        processes = self.mode in ("process", "distributed")
        if processes and self.workers > MAX_PROCESSES_PER_CPU * cpus:
            raise ConfigurationError(
                f"{self.workers} worker processes are too many for {cpus} usable CPUs: "
                f"at most {MAX_PROCESSES_PER_CPU * cpus} ({MAX_PROCESSES_PER_CPU} per CPU), "
                "since each holds its own interpreter and libraries in memory"
            )
        if self.workers > WARN_WORKERS_PER_CPU * cpus:
            log.warning(
                "%d workers on %d usable CPUs: more than %d per CPU only compete for the cores",
                self.workers,
                cpus,
                WARN_WORKERS_PER_CPU,
            )

    @property
    def resolved_mode(self) -> str:
        """The concrete mode: ``auto`` resolved against the current default client."""
        if self.mode != "auto":
            return self.mode
        if self.scheduler_address is not None or cluster.default_client() is not None:
            return "distributed"
        return DEFAULT_MODE

    @property
    def effective_workers(self) -> int:
        """Workers actually used: 1 for ``sync``, the cluster's count for a client we reuse."""
        mode = self.resolved_mode
        if mode == "sync":
            return 1
        if mode == "distributed":
            client = cluster.default_client()
            if client is not None:
                return cluster.cluster_workers(client)
        return self.workers

    def describe(self) -> dict[str, Any]:
        """The ``execution`` block shared by every report (without timings)."""
        return {"mode": self.resolved_mode, "workers": self.effective_workers}


def compute(*collections: Any, settings: ExecutionSettings, **kwargs: Any) -> tuple[Any, ...]:
    """Compute Dask collections or delayed objects in one pass with the chosen scheduler.

    Extra keyword arguments go to :func:`dask.compute` (e.g. ``optimize_graph``). In
    ``distributed`` mode the current :func:`session`'s client is used, or a temporary one.
    """
    mode = settings.resolved_mode
    if mode == "distributed":
        with cluster.open_client(settings) as client:
            futures = client.compute(list(collections), **kwargs)
            return tuple(
                gathering.gather(
                    client, futures, timeout=settings.connect_timeout, progress=settings.progress
                )
            )
    scheduler = LOCAL_SCHEDULERS[mode]
    # The scheduler's get function, not its name: dask resolves a name by importing
    # distributed (to look for a client), which a local run does not need (about 0.4 s).
    options: dict[str, Any] = {"scheduler": _local_get(scheduler)}
    if mode != "sync":
        options["num_workers"] = settings.workers
    log.debug("computing with scheduler=%s num_workers=%s", scheduler, settings.effective_workers)
    with contextlib.ExitStack() as stack:
        if mode == "process":
            options["pool"] = stack.enter_context(_process_pool(settings.workers))
            # this process unpickles every task's result: give freed arrays back at once
            memory.keep_heap_small()
        stack.enter_context(_progress(settings))
        return tuple(dask.compute(*collections, **options, **kwargs))


def _local_get(scheduler: str) -> Callable[..., Any]:
    """Dask's get function of a local scheduler name (``threads``, ``processes``, ...)."""
    if scheduler == "threads":
        import dask.threaded

        return dask.threaded.get  # type: ignore[no-any-return]
    if scheduler == "processes":
        import dask.multiprocessing

        return dask.multiprocessing.get  # type: ignore[no-any-return]
    import dask.local

    return dask.local.get_sync  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Session:
    """What :func:`session` opened: the distributed client (or None) and its dashboard."""

    client: Any | None
    dashboard_link: str | None
    owns_cluster: bool


@contextlib.contextmanager
def session(
    settings: ExecutionSettings, *, about: Mapping[str, str] | None = None
) -> Iterator[Session]:
    """Keep what a run needs open across all of its ``compute`` calls.

    In ``distributed`` mode that is one client (a new local cluster, a connection to
    ``scheduler_address``, or the existing default client); with ``settings.profile`` an HTML
    profile covers the whole block, its header saying ``about`` the run (e.g. ``command`` and
    ``input``) followed by the mode and the workers. Everything opened here is closed on exit.
    """
    from pipeline.engine import profiling

    distributed = settings.resolved_mode == "distributed"
    reused = (
        distributed
        and settings.scheduler_address is None
        and (cluster.default_client() is not None)
    )
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(cluster.open_client(settings)) if distributed else None
        if settings.profile:
            facts = {**(about or {}), "mode": settings.resolved_mode}
            facts["workers"] = (
                "the cluster's" if settings.scheduler_address else str(settings.effective_workers)
            )
            stack.enter_context(
                profiling.profile(settings.profile, distributed=distributed, facts=facts)
            )
        yield Session(
            client=client,
            dashboard_link=cluster.dashboard_url(client) if client is not None else None,
            owns_cluster=distributed and not reused and settings.scheduler_address is None,
        )


@contextlib.contextmanager
def _process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """The pool Dask's processes scheduler would make, made here so that it can be stopped.

    Dask shuts its own pool down with ``wait=True`` in a ``finally`` block, so Ctrl-C or an
    error waited for every running task, forever for a task blocked in a read, and a SIGTERM'd
    CLI left the workers running. Here any exception (``KeyboardInterrupt`` included) terminates
    the worker processes at once; a normal exit shuts the pool down as Dask does.
    """
    from dask.multiprocessing import get_context, initialize_worker_process

    if os.environ.get("PYTHONHASHSEED") in (None, "0"):
        os.environ["PYTHONHASHSEED"] = "6640"  # as Dask does: consistent hashing in workers
    pool = ProcessPoolExecutor(
        workers,
        mp_context=get_context(),
        initializer=functools.partial(initialize_worker_process, user_initializer=None),
    )
    try:
        yield pool
    except BaseException:
        for process in list(pool._processes.values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


@contextlib.contextmanager
def _progress(settings: ExecutionSettings) -> Iterator[None]:
    """Dask's progress bar with elapsed time and time left, on stderr, when asked for; nothing
    for a run under a second (:mod:`pipeline.engine.progress`)."""
    if not settings.progress:
        yield
        return
    from pipeline.engine.progress import LocalBar

    with LocalBar(out=sys.stderr):
        yield


def compute_ordered(
    function: Callable[[T], R], items: Sequence[T], *, settings: ExecutionSettings
) -> Iterator[R]:
    """Yield ``function(item)`` for every item, in order, computed in parallel with the settings.

    For results too big to hold all at once (a job streaming them to a file): at most about
    twice as many tasks as workers are in flight or waiting to be consumed. One pool (or the
    session's client) serves the whole iteration. ``function`` must be a picklable top-level
    function.
    """
    mode = settings.resolved_mode
    ahead = 2 * max(settings.effective_workers, 1)
    if mode == "sync" or not items:
        yield from (function(item) for item in items)
        return
    if mode == "distributed":
        with cluster.open_client(settings) as client:
            yield from _ordered(
                lambda item: client.submit(function, item, pure=False),
                lambda future: future.result(),
                items,
                ahead,
            )
        return
    import concurrent.futures
    import multiprocessing

    pool: concurrent.futures.Executor
    if mode == "process":
        pool = concurrent.futures.ProcessPoolExecutor(
            settings.workers, mp_context=multiprocessing.get_context("spawn")
        )
    else:
        pool = concurrent.futures.ThreadPoolExecutor(settings.workers)
    with pool:
        yield from _ordered(
            lambda item: pool.submit(function, item), lambda future: future.result(), items, ahead
        )


def _ordered(
    submit: Callable[[Any], Any],
    result: Callable[[Any], Any],
    items: Sequence[Any],
    ahead: int,
) -> Iterator[Any]:
    """Keep ``ahead`` submissions in flight; yield their results in submission order."""
    pending: collections.deque[Any] = collections.deque()
    for item in items:
        pending.append(submit(item))
        if len(pending) >= ahead:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())
