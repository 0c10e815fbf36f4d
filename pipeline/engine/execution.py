"""How work is computed: the one place that names a Dask scheduler.

Job modules build Dask collections or delayed graphs and call :func:`compute` with the user's
:class:`ExecutionSettings`, or describe their graph as plain calls
(:mod:`pipeline.engine.calls`) and call :func:`compute_calls`; they never pick a scheduler
themselves. Our mode names map to Dask's explicitly (``process`` -> ``processes``: Dask rejects
the singular), and the scheduler is always passed, because bags and dataframes default to
different ones. ``distributed`` computes through a ``distributed.Client`` (see
:mod:`pipeline.engine.cluster`); :func:`session` keeps one client (and an optional HTML profile)
open across a whole run.

One task needs no scheduler: :func:`compute_calls` runs a graph of calls that can only run one
after another (one task, or a task and the reduction of its result) inline in this thread, as
Dask's synchronous scheduler would, and :func:`compute_ordered` a single item, so a trivial run
never imports Dask (:func:`runs_inline` says when). Dask, ``distributed`` and the process
helpers are imported only by the paths that use them.

>>> import dask
>>> from pipeline.engine.settings import ExecutionSettings
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
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pipeline.engine import calls
from pipeline.engine.settings import LOCAL_SCHEDULERS, ExecutionSettings, default_client

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def compute(*collections: Any, settings: ExecutionSettings, **kwargs: Any) -> tuple[Any, ...]:
    """Compute Dask collections or delayed objects in one pass with the chosen scheduler.

    Extra keyword arguments go to :func:`dask.compute` (e.g. ``optimize_graph``). In
    ``distributed`` mode the current :func:`session`'s client is used, or a temporary one.
    """
    import dask

    from pipeline.engine import memory

    mode = settings.resolved_mode
    if mode == "distributed":
        from pipeline.engine import cluster, gathering

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
        # a pool in Dask's configuration (DASK_POOL) would replace the threads chosen here
        stack.enter_context(dask.config.set(pool=None))
        if mode == "process" and _SHARED.pool is not None:
            options["pool"] = _SHARED.pool  # one pool for every compute (see shared_pool)
            memory.keep_heap_small()
        elif mode == "process":
            # dask.compute forks the workers from this thread and shuts them down before it
            # returns: the thread outlives them, so the parent-death signal is safe
            options["pool"] = stack.enter_context(
                _process_pool(settings.workers, death_signal=True)
            )
            # this process unpickles every task's result: give freed arrays back at once
            memory.keep_heap_small()
        elif mode == "threading":
            memory.allow_heap_growth()  # its tasks reuse each other's freed memory
        stack.enter_context(_progress(settings))
        return tuple(dask.compute(*collections, **options, **kwargs))


def runs_inline(settings: ExecutionSettings) -> bool:
    """Whether work whose tasks can only run one after another (a chain: one task, or a task and
    the reduction of its result) runs inline: in this thread, without Dask, as the synchronous
    scheduler would run it.

    Yes in every local mode (no two of its tasks could run at once, so threads and processes
    would only add their start-up), except with a profile (``--profile`` shows Dask's tasks:
    such a run goes through Dask with the chosen scheduler). Never in ``distributed`` mode,
    whose tasks always run on the cluster (its dashboard and profile show them).
    """
    return settings.resolved_mode != "distributed" and not settings.profile


def compute_calls(*roots: calls.Call, settings: ExecutionSettings) -> tuple[Any, ...]:
    """Compute graphs described as plain calls (:mod:`pipeline.engine.calls`), one result per
    root.

    A chain (:func:`pipeline.engine.calls.is_chain`) runs inline when :func:`runs_inline`
    allows it; any other graph becomes the equivalent ``dask.delayed`` graph
    (:func:`pipeline.engine.calls.to_delayed`) computed by :func:`compute` with ``settings``.
    Both give the same results: the same functions on the same arguments.
    """
    if runs_inline(settings) and calls.is_chain(roots):
        log.debug("computing %d call(s) inline: one after another, no scheduler", len(roots))
        return calls.run_inline(roots)
    return compute(*calls.to_delayed(roots), settings=settings)


#: Longest wait of :func:`settle` for the tasks a failed compute left running, in seconds: a
#: bound on how long an error waits before it is reported (legal: > 0).
SETTLE_TIMEOUT_S: Final[float] = 60.0


def settle(settings: ExecutionSettings) -> None:
    """Wait until the tasks that a failed :func:`compute` left running have finished.

    Dask raises a task's error at once while the graph's other running tasks go on: a thread of
    the pool, or a worker of the cluster, may still be writing. A caller that then removes what
    the tasks write (a temporary directory) calls this first, so nothing is written after it.

    ``threading``: one task per thread of the pool, all meeting at a barrier, which they can only
    pass once every thread is free. ``distributed`` (a client that outlives the compute): until
    the scheduler reports no task processing. ``process`` (the pool is stopped before compute
    returns) and ``sync``: nothing runs. Gives up after :data:`SETTLE_TIMEOUT_S`.
    """
    import dask

    mode = settings.resolved_mode
    if mode == "threading":
        barrier = threading.Barrier(settings.workers)
        meetings = [dask.delayed(_meet, pure=False)(barrier) for _ in range(settings.workers)]
        with contextlib.suppress(threading.BrokenBarrierError):
            compute(*meetings, settings=settings)
    elif mode == "distributed":
        client = default_client()
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while client is not None and time.monotonic() < deadline:
            if not any(client.processing().values()):
                break
            time.sleep(0.05)


def _meet(barrier: threading.Barrier) -> None:
    barrier.wait(timeout=SETTLE_TIMEOUT_S)


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


class _Shared:
    """The worker pool of the current :func:`shared_pool` block (None outside one)."""

    pool: ProcessPoolExecutor | None = None


_SHARED = _Shared()


@contextlib.contextmanager
def shared_pool(settings: ExecutionSettings) -> Iterator[None]:
    """Serve every :func:`compute` of the block from one process pool (``process`` mode).

    For a caller that computes many small graphs, one after another, from the main thread
    (``ingest --follow``: one per interval): a pool per compute costs about a second to start.
    The workers are forked from this thread and stopped when the block ends, at once when it
    ends by an exception (``KeyboardInterrupt`` included), as :func:`compute`'s own pool is.
    Other modes: nothing (threads are cheap; ``distributed`` keeps its client with
    :func:`session`).
    """
    if settings.resolved_mode != "process" or _SHARED.pool is not None:
        yield
        return
    with _process_pool(settings.workers, death_signal=True) as pool:
        _SHARED.pool = pool
        try:
            yield
        finally:
            _SHARED.pool = None


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
    distributed = settings.resolved_mode == "distributed"
    reused = distributed and settings.scheduler_address is None and (default_client() is not None)
    with contextlib.ExitStack() as stack:
        client = None
        if distributed:
            from pipeline.engine import cluster

            client = stack.enter_context(cluster.open_client(settings))
        if settings.profile:
            from pipeline.engine import profiling

            facts = {**(about or {}), "mode": settings.resolved_mode}
            facts["workers"] = (
                "the cluster's" if settings.scheduler_address else str(settings.effective_workers)
            )
            stack.enter_context(
                profiling.profile(settings.profile, distributed=distributed, facts=facts)
            )
        yield Session(
            client=client,
            dashboard_link=_dashboard_url(client),
            owns_cluster=distributed and not reused and settings.scheduler_address is None,
        )


def _dashboard_url(client: Any | None) -> str | None:
    if client is None:
        return None
    from pipeline.engine import cluster

    return cluster.dashboard_url(client)


@contextlib.contextmanager
def _process_pool(workers: int, *, death_signal: bool) -> Iterator[ProcessPoolExecutor]:
    """The pool Dask's processes scheduler would make, made here so that it can be stopped.

    Dask shuts its own pool down with ``wait=True`` in a ``finally`` block, so Ctrl-C or an
    error waited for every running task, forever for a task blocked in a read, and a SIGTERM'd
    CLI left the workers running. Here any exception (``KeyboardInterrupt`` included) terminates
    the worker processes at once; a normal exit shuts the pool down as Dask does. The workers
    ignore the terminal's Ctrl-C and hang-up and exit when this process dies, even by SIGKILL
    (:mod:`pipeline.engine.children`; ``death_signal`` as for
    :func:`~pipeline.engine.children.exit_with_parent`).
    """
    from concurrent.futures import ProcessPoolExecutor

    from dask.multiprocessing import get_context

    from pipeline.engine import children

    if os.environ.get("PYTHONHASHSEED") in (None, "0"):
        os.environ["PYTHONHASHSEED"] = "6640"  # as Dask does: consistent hashing in workers
    pool = ProcessPoolExecutor(
        workers,
        mp_context=children.quiet_context(get_context()),
        initializer=functools.partial(children.pool_initializer, os.getpid(), death_signal),
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
    function. A single item is computed inline when :func:`runs_inline` allows it.
    """
    mode = settings.resolved_mode
    ahead = 2 * max(settings.effective_workers, 1)
    if mode == "sync" or not items or (len(items) == 1 and runs_inline(settings)):
        yield from (function(item) for item in items)
        return
    if mode == "distributed":
        from pipeline.engine import cluster

        with cluster.open_client(settings) as client:
            yield from _ordered(
                lambda item: client.submit(function, item, pure=False),
                lambda future: future.result(),
                items,
                ahead,
            )
        return
    import concurrent.futures

    with contextlib.ExitStack() as stack:
        pool: concurrent.futures.Executor
        if mode == "process":
            # a generator may be resumed by another thread than the one that forked the
            # workers: no parent-death signal, the workers poll for their parent instead
            pool = stack.enter_context(_process_pool(settings.workers, death_signal=False))
        else:
            pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(settings.workers))
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
