"""Progress on stderr (``--progress``): a bar with elapsed time and an estimate of the time left,
and a line saying what a run waits for before its first task (workers starting).

One line format for every mode (:func:`progress_line`): Dask's local ``ProgressBar`` draws it
through :class:`LocalBar`; the distributed bar (:mod:`pipeline.engine.gathering`) draws the same
line. A run shorter than :data:`MINIMUM_S` shows nothing at all (Dask's ``minimum``), so quick runs
do not flash a bar. The estimate assumes the remaining tasks take as long, on average, as the
finished ones: ``elapsed * (1 - done) / done``; it is unknown (``?``) until a task has finished.

>>> progress_line(0.25, 3.0, width=8)
'[##      ]  25% | 3.0s elapsed | about 9.0s left'
>>> progress_line(1.0, 75.0, width=8)
'[########] 100% | 1m15s elapsed | done'
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any, Final

from dask.diagnostics import ProgressBar

#: Seconds a computation (or a wait) must last before anything is drawn. Longer hides more
#: short runs' bars, shorter shows a bar sooner. Legal range: >= 0.
MINIMUM_S: Final[float] = 1.0

#: Seconds between two redraws. Shorter is smoother and costs a wake-up each time; the bar's
#: thread only reads the scheduler's state. Legal range: 0.01 .. 10.
REFRESH_S: Final[float] = 0.1

#: Characters of the bar itself; the whole line stays within 80 columns. Legal range: 1 .. 40.
BAR_WIDTH: Final[int] = 30


def format_seconds(seconds: float) -> str:
    """``4.2s``, ``1m15s``, ``2h03m``: short enough for a progress line.

    >>> format_seconds(4.24), format_seconds(75), format_seconds(7380)
    ('4.2s', '1m15s', '2h03m')
    """
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes}m{whole % 60:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def progress_line(done: float, elapsed: float, *, width: int = BAR_WIDTH) -> str:
    """The bar for ``done`` (0 to 1) of the tasks after ``elapsed`` seconds, with the estimate."""
    done = min(max(done, 0.0), 1.0)
    bar = "#" * int(width * done)
    if done >= 1:
        left = "done"
    elif done <= 0:
        left = "time left unknown"
    else:
        left = f"about {format_seconds(elapsed * (1 - done) / done)} left"
    return f"[{bar:<{width}}] {int(100 * done):3d}% | {format_seconds(elapsed)} elapsed | {left}"


class LocalBar(ProgressBar):  # type: ignore[misc]
    """Dask's local ``ProgressBar`` (threaded, processes and sync schedulers), drawing
    :func:`progress_line` and nothing for a run shorter than :data:`MINIMUM_S`."""

    def __init__(self, out: IO[str] | None = None, minimum: float | None = None) -> None:
        super().__init__(
            minimum=MINIMUM_S if minimum is None else minimum,
            width=BAR_WIDTH,
            dt=REFRESH_S,
            out=out if out is not None else sys.stderr,
        )

    def _draw_bar(self, frac: float, elapsed: float) -> None:
        with contextlib.suppress(ValueError):  # stderr closed under us: no bar, no failure
            self._file.write("\r" + progress_line(frac, elapsed, width=self._width))
            self._file.flush()


@contextlib.contextmanager
def waiting(what: str, *, enabled: bool, out: IO[str] | None = None) -> Iterator[None]:
    """Say on stderr what the run waits for (``starting 2 worker processes``), with the time
    waited so far, while the block runs, once it has lasted :data:`MINIMUM_S`; the line is
    erased when the block ends. Nothing when not ``enabled``."""
    if not enabled:
        yield
        return
    stream: Any = out if out is not None else sys.stderr
    stop = threading.Event()
    drawn: list[int] = []
    started = time.monotonic()

    def draw() -> None:
        while not stop.wait(REFRESH_S):
            elapsed = time.monotonic() - started
            if elapsed >= MINIMUM_S:
                line = waiting_line(what, elapsed)
                with contextlib.suppress(ValueError):
                    stream.write("\r" + line)
                    stream.flush()
                drawn[:] = [len(line)]

    thread = threading.Thread(target=draw, name="progress-waiting", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if drawn:
            with contextlib.suppress(ValueError):
                stream.write("\r" + " " * drawn[0] + "\r")
                stream.flush()


def waiting_line(what: str, elapsed: float) -> str:
    """The line :func:`waiting` draws.

    >>> waiting_line("starting 2 worker processes", 3.14)
    'waiting: starting 2 worker processes (3.1s)'
    """
    return f"waiting: {what} ({format_seconds(elapsed)})"
