"""Temporary files and directories a run has open, so that no exit path leaves one behind.

Every output is written through a hidden temporary sibling (:mod:`pipeline.reporting.outputs`,
the ``--primes-out`` file of :mod:`pipeline.prime.job`) that is renamed over the target at the
end. An exception removes it in a ``finally`` block, but an interrupted run may end without
unwinding: after Ctrl-C, SIGTERM or SIGHUP the entry point leaves with ``os._exit`` once the
descendants are stopped, or a watchdog does so when the unwinding hangs
(:mod:`pipeline.engine.interrupts`). Those paths call :func:`remove_all`, which deletes whatever
is still registered here, so a half-written file of hundreds of MB never outlives the run.

Only a SIGKILL, which no process can handle, leaves a temporary behind.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> scratch = os.path.join(folder, ".report.tmp")
>>> with tracked(scratch):
...     _ = open(scratch, "w").write("half")
...     remove_all()
>>> os.listdir(folder)
[]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator

_LOCK = threading.Lock()
#: Paths registered and not yet released, in registration order.
_PATHS: dict[str, None] = {}


def register(path: str) -> None:
    """Remember ``path`` (a file or a directory) until :func:`release`."""
    with _LOCK:
        _PATHS[path] = None


def release(path: str) -> None:
    """Forget ``path``: it was renamed into place or removed by its owner."""
    with _LOCK:
        _PATHS.pop(path, None)


@contextlib.contextmanager
def tracked(path: str) -> Iterator[str]:
    """Register ``path`` for the block; its owner still removes or renames it itself."""
    register(path)
    try:
        yield path
    finally:
        release(path)


def remove_all() -> None:
    """Delete every registered path now (files, and directories with their content).

    Safe to call from any thread, and more than once; errors are ignored (the path may be gone).
    """
    with _LOCK:
        paths = list(_PATHS)
        _PATHS.clear()
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
