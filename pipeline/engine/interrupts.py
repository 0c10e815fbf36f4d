"""Ctrl-C, SIGTERM and SIGHUP end a run within seconds, and no worker process outlives it.

Why this is needed: a Dask task blocked in a read (a FIFO with no writer, a hung network file)
cannot be interrupted. The interpreter joins worker threads at exit and the processes scheduler
waits for its pool in a ``finally`` block, so a plain ``KeyboardInterrupt`` printed "Aborted."
and then hung; SIGTERM (what ``timeout`` and service managers send) and SIGHUP (the terminal
closed) killed the main process and left the spawned workers running with parent 1.

What :func:`install` does, for the console entry point only (never for a library caller):

* SIGINT raises ``KeyboardInterrupt``, SIGTERM :class:`Terminated` and SIGHUP :class:`HungUp`
  (subclasses, so every ``except KeyboardInterrupt`` treats them alike) in the main thread, so
  ``with`` blocks unwind and the CLI prints one line;
* the first signal starts a watchdog: if the process has not ended :data:`GRACE_S` seconds
  later, it stops every descendant process and leaves with :func:`exit_code`;
* :func:`finish` (called by the entry point on its way out) stops the descendants the same way,
  removes the temporary files still registered (:mod:`pipeline.reporting.temporaries`) and
  leaves with ``os._exit``, skipping the joins of threads that may never return.

The exit code is 130 after SIGINT, 143 after SIGTERM and 129 after SIGHUP (128 + the signal
number, the shell's convention), unless the run already decided its own (``--keep-alive``: Ctrl-C
after the report is how the run is meant to end, see :func:`decided`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Final, NoReturn

from pipeline.reporting import temporaries

#: Seconds between the first signal and the forced exit. Long enough for a local cluster to
#: close cleanly, short enough that Ctrl-C feels immediate; legal range 0.5 to 60.
GRACE_S: Final[float] = 3.0

#: Seconds descendants get to exit after SIGTERM before SIGKILL; legal range 0 to 10.
KILL_AFTER_S: Final[float] = 1.0

#: Seconds after which a signal that arrived inside a gc callback or a finalizer is delivered
#: again: an exception raised there is printed as "Exception ignored in ..." and lost (seen with
#: dask.distributed's gc diagnostics). Short enough to feel immediate; legal range 0.01 to 1.
REDELIVER_S: Final[float] = 0.05


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an exception so the run unwinds as it does for Ctrl-C."""


class HungUp(KeyboardInterrupt):
    """SIGHUP (the terminal was closed), delivered as an exception, as for Ctrl-C."""


#: The signals handled, each with the exception it raises and the line the CLI prints (the
#: words of ``strsignal``, as a shell reports a job killed by the signal).
_SIGNALS: Final[dict[int, tuple[type[KeyboardInterrupt], str]]] = {
    signal.SIGINT: (KeyboardInterrupt, "Aborted."),
    signal.SIGTERM: (Terminated, "Terminated."),
    **({signal.SIGHUP: (HungUp, "Hangup.")} if hasattr(signal, "SIGHUP") else {}),
}


class _State:
    installed: bool = False
    signal: int | None = None
    decided: int | None = None
    announced: bool = False


_STATE = _State()


def install() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP as described in the module docstring (main thread
    only)."""
    _STATE.installed = True
    for number in _SIGNALS:
        signal.signal(number, _on_signal)


def _on_signal(number: int, frame: FrameType | None) -> None:
    first = _STATE.signal is None
    if first:
        _STATE.signal = number
        threading.Thread(target=_watchdog, name="interrupt-watchdog", daemon=True).start()
    if _exceptions_are_dropped(frame):
        main = threading.main_thread().ident
        assert main is not None
        threading.Timer(REDELIVER_S, signal.pthread_kill, (main, number)).start()
        return
    raise _SIGNALS.get(number, _SIGNALS[signal.SIGINT])[0]()


def _exceptions_are_dropped(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside a gc callback or a ``__del__`` finalizer, where Python
    prints an exception as "Exception ignored" and carries on instead of unwinding."""
    callbacks = {getattr(getattr(cb, "__func__", cb), "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def received() -> int | None:
    """The first signal received (``SIGINT``, ``SIGTERM`` or ``SIGHUP``), or None."""
    return _STATE.signal


def decided(code: int) -> None:
    """The run has its exit code (the report is out); an interrupt from now on keeps it.

    Recorded only once :func:`install` ran (in-process callers such as tests are unaffected).
    """
    if _STATE.installed:
        _STATE.decided = code


def exit_code() -> int:
    """The code to leave with after a signal: the run's own when decided, else 128 + signal."""
    if _STATE.decided is not None:
        return _STATE.decided
    return 128 + (_STATE.signal or signal.SIGINT)


def announce() -> None:
    """Print "Aborted.", "Terminated." or "Hangup." on stderr, once, unless the run already
    decided."""
    if _STATE.decided is not None or (_STATE.announced and _STATE.signal is not None):
        return
    _STATE.announced = True
    word = _SIGNALS.get(_STATE.signal or signal.SIGINT, _SIGNALS[signal.SIGINT])[1]
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(word + "\n")


def finish(code: int) -> NoReturn:
    """Stop every descendant process, remove the registered temporary files, flush, and leave
    now with ``code``."""
    stop_descendants()
    temporaries.remove_all()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _watchdog() -> None:
    time.sleep(GRACE_S)
    announce()
    finish(exit_code())


def stop_descendants() -> None:
    """SIGTERM every descendant process, then SIGKILL those still alive after a moment."""
    pids = descendants(os.getpid())
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_AFTER_S
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)
    for pid in descendants(os.getpid()) + pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def descendants(root: int) -> list[int]:
    """Process ids below ``root``, from ``/proc`` (children before grandchildren); empty where
    there is no ``/proc``."""
    parents: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                parent = _parent(int(entry))
                if parent is not None:
                    parents.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    frontier = [root]
    while frontier:
        children = [child for pid in frontier for child in parents.get(pid, [])]
        found.extend(children)
        frontier = children
    return found


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the name may contain spaces and parentheses


def _parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")
