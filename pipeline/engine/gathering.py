"""Waiting for a dask.distributed computation without hanging, and with one clear line when the
cluster fails us.

``Client.gather`` alone waits forever when a cluster loses its only worker (the scheduler keeps
the tasks until a worker joins), raises ``FutureCancelledError`` with a traceback when the
scheduler goes away, and, interrupted by Ctrl-C, leaves asyncio tasks behind whose errors are
logged as "Task exception was never retrieved". So :func:`gather` first waits *here*, in the
calling thread, by polling the futures' state (a Ctrl-C lands in ``time.sleep``, not inside
distributed's event loop), checks every :data:`WATCH_INTERVAL_S` that the cluster still has a
worker, and only calls ``Client.gather`` once every future is done.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Final

from pipeline.errors import ConfigurationError

log = logging.getLogger(__name__)

#: Seconds between checks that the cluster still has a worker. Each check is one round trip to
#: the scheduler; shorter notices a lost cluster sooner. 0.1 to 10.
WATCH_INTERVAL_S: Final[float] = 1.0
#: Longest pause between two looks at the futures' state. The pause starts at 5 ms and grows by
#: half each time, so a short computation returns within milliseconds and a long one costs
#: nothing; this bounds the delay added after the last task ends. 0.01 to 1.
POLL_MAX_S: Final[float] = 0.1
#: Reason distributed gives to futures it cancels because the scheduler connection was lost.
_CONNECTION_LOST: Final[str] = "scheduler-connection-lost"


def gather(client: Any, futures: list[Any], *, timeout: float, progress: bool) -> list[Any]:
    """The results of ``futures``, or an error that says what went wrong in one line.

    Raises
    ------
    ConfigurationError
        The cluster had no worker for ``timeout`` seconds (the futures are cancelled), or the
        connection to the scheduler was lost.
    Exception
        A task's own exception, unchanged, as in the local modes.
    """
    from distributed.client import FutureCancelledError

    bar = _start_progress(client, futures) if progress else None
    try:
        _wait(client, futures, timeout)
        return list(client.gather(futures))
    except FutureCancelledError as exc:
        if exc.reason == _CONNECTION_LOST or client.status != "running":
            raise ConfigurationError(
                f"lost the connection to the Dask scheduler at {client.scheduler.address}; "
                "the run was aborted"
            ) from exc
        raise
    finally:
        if bar is not None:
            bar.stop()


def _wait(client: Any, futures: list[Any], timeout: float) -> None:
    """Return when every future is done (finished, failed or cancelled)."""
    pause = 0.005
    next_check = time.monotonic() + WATCH_INTERVAL_S
    workerless_since: float | None = None
    while not all(future.done() for future in futures):
        time.sleep(pause)
        pause = min(pause * 1.5, POLL_MAX_S)
        now = time.monotonic()
        if now < next_check:
            continue
        next_check = now + WATCH_INTERVAL_S
        workers = _worker_count(client)
        if workers != 0:  # some, or unknown (the scheduler is going away: the futures say so)
            workerless_since = None
            continue
        if workerless_since is None:
            workerless_since = now
            log.warning("the Dask cluster has no workers; waiting up to %g s for one", timeout)
        elif now - workerless_since >= timeout:
            client.cancel(futures)
            raise ConfigurationError(
                f"the Dask cluster lost all its workers and none joined within {timeout:g} s"
            )


def _worker_count(client: Any) -> int | None:
    """Workers the scheduler knows now, or None when it cannot tell us."""
    try:
        return int(client.scheduler_info(n_workers=0)["n_workers"])
    except Exception:  # a lost connection shows in the futures; do not mask it here
        return None


class _Progress:
    """distributed's text progress bar on stderr, fed by the client's event loop (not blocking
    the waiting thread, so Ctrl-C and the worker checks keep working), drawing the line of
    :func:`pipeline.engine.progress.progress_line`; nothing for a run under a second."""

    def __init__(self, client: Any, futures: list[Any]) -> None:
        from distributed.diagnostics.progressbar import ProgressBar

        from pipeline.engine import progress

        class StderrBar(ProgressBar):  # type: ignore[misc]
            drawn = stopped = False

            def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:
                if self.elapsed < progress.MINIMUM_S:  # a short run shows no bar
                    return
                done = (1 - remaining / all) if all else 1.0
                sys.stderr.write("\r" + progress.progress_line(done, self.elapsed))
                sys.stderr.flush()
                self.drawn = True

            def _draw_stop(self, **kwargs: Any) -> None:
                if self.drawn:
                    sys.stderr.write("\n")
                    sys.stderr.flush()
                self.stopped = True

        self._client = client
        self._bar = StderrBar(futures, scheduler=client.scheduler.address)
        client.loop.add_callback(self._bar.listen)

    def stop(self) -> None:
        """Let the bar draw its last state (briefly), then disconnect it."""
        deadline = time.monotonic() + 1.0
        while not self._bar.stopped and time.monotonic() < deadline:
            time.sleep(0.02)
        comm = getattr(self._bar, "comm", None)
        if comm is not None:
            self._client.loop.add_callback(comm.abort)
        if self._bar.drawn and not self._bar.stopped:
            sys.stderr.write("\n")


def _start_progress(client: Any, futures: list[Any]) -> _Progress | None:
    try:
        return _Progress(client, futures)
    except Exception as exc:  # a progress bar is never worth failing the run
        log.debug("no progress bar: %s", exc)
        return None
