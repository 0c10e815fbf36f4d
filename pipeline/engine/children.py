"""The worker processes a run starts: deaf to the terminal's signals, and gone with their parent.

Two promises of the CLI depend on them (see :mod:`pipeline.engine.interrupts` for the rest):

* **One line on Ctrl-C.** A terminal sends Ctrl-C (SIGINT) and a hang-up (SIGHUP) to the whole
  foreground process group, worker processes included. A worker interrupted in its event loop or
  in a task prints a traceback each (4-6 of them, 70-124 lines, for a local cluster of two), and
  the main process, which stops its workers anyway, has nothing to add. So the workers are born
  with SIGINT and SIGHUP *blocked*: a signal mask is inherited by threads from the thread that
  starts them and by processes from the thread that forks them, and Python does not unblock
  them, so the signal stays pending in the worker until the main process stops it (SIGTERM, then
  SIGKILL). :func:`quiet_context` starts the processes of a process pool with the mask set for
  the instant of the fork; :func:`call_in_quiet_thread` runs a function (the start of a local
  ``dask.distributed`` cluster) in a thread started with the mask set, so that the event-loop
  thread it makes, and the threads that spawn the cluster's workers, inherit it. The main thread
  keeps receiving both signals. multiprocessing's resource tracker (a process too) is started
  first, from the calling thread and with SIGHUP blocked: starting it unblocks SIGINT in the
  thread that does so (``SIG_UNBLOCK``, not a restore), which would let the signal through to
  every worker started after it, and a hang-up would kill it (it ignores only SIGINT and
  SIGTERM), after which its replacement prints a warning and a traceback per semaphore.
* **No orphans.** A main process killed with SIGKILL runs no cleanup. Each process-pool worker
  runs :func:`exit_with_parent` in its initializer: on Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``,
  which fires when the *thread* that forked the worker exits (so only for pools whose workers are
  forked by a thread that outlives them, as :func:`pipeline.engine.execution.compute`'s are), and
  everywhere a daemon thread that polls ``getppid()`` every :data:`PARENT_POLL_S` seconds. The
  workers of a local ``dask.distributed`` cluster already exit when their parent's end of a pipe
  closes (``distributed.process.AsyncProcess``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.context import BaseContext, SpawnContext, SpawnProcess
from typing import Final, TypeVar

T = TypeVar("T")

#: Signals a worker is born with blocked: those a terminal sends to its whole process group.
QUIET_SIGNALS: Final[frozenset[int]] = frozenset(
    {signal.SIGINT, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])}
)

#: Seconds between two looks of a worker at its parent process id. Short enough that a worker
#: outlives a killed parent by under a second, long enough to cost nothing; legal range 0.05-5.
PARENT_POLL_S: Final[float] = 0.5

#: Seconds the main thread waits at a time for a quiet thread (the delay before Ctrl-C is seen
#: when the signal went to another thread); legal range 0.01-1.
JOIN_STEP_S: Final[float] = 0.1

_PR_SET_PDEATHSIG: Final[int] = 1


@contextlib.contextmanager
def quiet_signals() -> Iterator[None]:
    """Block :data:`QUIET_SIGNALS` in the calling thread for the block (a no-op without
    ``pthread_sigmask``); a signal that arrives meanwhile is delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    _start_resource_tracker()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, QUIET_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now if it is not running (it would unblock
    SIGINT in the thread that starts it, see the module docstring), with SIGHUP blocked: it
    ignores SIGINT and SIGTERM itself, and a hang-up would kill it, after which a new tracker
    prints a traceback for every semaphore it never saw registered."""
    if os.name != "posix":
        return
    from multiprocessing import resource_tracker

    previous = signal.pthread_sigmask(signal.SIG_BLOCK, QUIET_SIGNALS)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class QuietSpawnProcess(SpawnProcess):
    """A spawned process that starts with :data:`QUIET_SIGNALS` blocked."""

    def start(self) -> None:
        with quiet_signals():
            super().start()


class QuietSpawnContext(SpawnContext):
    """The ``spawn`` context whose processes start with :data:`QUIET_SIGNALS` blocked."""

    Process = QuietSpawnProcess


def quiet_context(context: BaseContext) -> BaseContext:
    """``context`` with quiet processes when it spawns (Dask's default); other start methods
    are returned unchanged (their workers then hear the terminal's signals).

    Call it before the pool is made: the pool's queues start the resource tracker.
    """
    _start_resource_tracker()
    if context.get_start_method() == "spawn":
        return QuietSpawnContext()
    return context


def call_in_quiet_thread(function: Callable[[], T]) -> T:
    """Run ``function`` in a new thread that has :data:`QUIET_SIGNALS` blocked, and return its
    result or raise its exception.

    Threads and processes started by ``function`` inherit the mask. The calling thread waits
    in steps of :data:`JOIN_STEP_S`, so Ctrl-C interrupts it at once; ``function`` then goes on
    in the background (the thread is a daemon) and the CLI stops what it starts.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="quiet-start", daemon=True)
    with quiet_signals():
        thread.start()
    while thread.is_alive():
        thread.join(JOIN_STEP_S)
    if failure:
        raise failure[0]
    return outcome[0]


def exit_with_parent(parent: int, *, death_signal: bool) -> None:
    """Make this worker process exit when ``parent`` (its parent's pid) dies.

    ``death_signal``: also ask Linux for SIGKILL when the forking thread exits (only for pools
    whose workers that thread outlives). Either way a daemon thread checks ``getppid()``.
    """
    if death_signal and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the above was in place
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def pool_initializer(parent: int, death_signal: bool) -> None:
    """Initializer of our process pools: Dask's worker set-up, then :func:`exit_with_parent`."""
    from dask.multiprocessing import initialize_worker_process

    initialize_worker_process()
    exit_with_parent(parent, death_signal=death_signal)
