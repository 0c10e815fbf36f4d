"""The background compile of the sieve kernel on a first run: started, waited for at exit.

See :mod:`pipeline.prime.sieve.warmup` for why: a run that finds numba's cache empty sieves with
numpy while this module's child process compiles the kernel into the cache. The child dies with
its parent (:func:`pipeline.engine.children.exit_with_parent`), and the parent waits for it at
exit, after its report (:func:`finish`), so no process outlives the command.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys

from pipeline.engine.children import exit_with_parent
from pipeline.prime.sieve import cache_dir

log = logging.getLogger(__name__)


def start() -> subprocess.Popen[bytes] | None:
    """Start compiling the kernel in a background child process; None if it cannot start.

    The process inherits the environment (``NUMBA_CACHE_DIR`` as chosen, ``PYTHONPATH``) and
    writes nothing to the terminal; this process waits for it when it exits (:func:`finish`).
    None, and nothing started, when no cache directory is writable: the compiled code could not
    reach the tasks, which then compile it themselves.
    """
    if cache_dir.choose_cache_dir() is None:  # sets NUMBA_CACHE_DIR when needed
        return None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.prime.background_compile", str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
    except OSError:
        return None
    atexit.register(finish, process)
    return process


def finish(process: subprocess.Popen[bytes]) -> None:
    """Wait for the background compile (at exit, after the report); Ctrl-C stops it instead."""
    if process.poll() is not None:
        return
    log.info("prime: finishing the sieve kernel's compile before exiting (once; Ctrl-C skips it)")
    try:
        process.wait()
    except KeyboardInterrupt:
        process.kill()
        process.wait()


def main(parent: int | None = None) -> None:
    """Compile (or load) every numba function the counting sieve calls, on a tiny window; exit
    at once if ``parent`` (the process that started this one) dies first."""
    if parent is not None:
        exit_with_parent(parent, death_signal=True)
    from pipeline.prime.sieve.kernel import sieve_window

    sieve_window(0, 10**6, [5 * 10**5])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
