"""The background compile of the sieve kernel on a first run: started, stopped or waited for at
exit.

See :mod:`pipeline.prime.sieve.warmup` for why: a run that finds numba's cache empty sieves with
numpy while this module's child process compiles the kernel into the cache, at a lower priority.
The child dies with its parent (:func:`pipeline.engine.children.exit_with_parent`), and at exit,
after the report, the parent stops it (the first run after installing: what it compiled stays
cached) or waits for it (a later run: the compile is then done) (:func:`finish`), so no process
outlives the command.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys

from pipeline.engine.children import exit_with_parent
from pipeline.prime.sieve import cache_dir, warmup

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
    """At exit, after the report: nothing if the compile is done; stop it if no run stopped one
    before (the first run after installing), else wait for it (Ctrl-C stops it instead)."""
    if process.poll() is not None:
        return
    if not warmup.stopped_before():
        stop(process)
        warmup.mark_stopped()
        log.info(
            "prime: the sieve kernel's background compile was stopped at exit; the next run "
            "continues it (what it compiled is cached)"
        )
        return
    log.info("prime: finishing the sieve kernel's compile before exiting (once; Ctrl-C skips it)")
    try:
        process.wait()
    except KeyboardInterrupt:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End the compile now: SIGKILL, then reap it. Numba writes each cache file through a
    temporary file and a rename, so a file it was writing is left whole or not at all."""
    process.kill()
    process.wait()


def main(parent: int | None = None) -> None:
    """Compile (or load) every numba function the counting sieve calls, on a tiny window; exit
    at once if ``parent`` (the process that started this one) dies first."""
    if parent is not None:
        exit_with_parent(parent, death_signal=True)
    os.nice(warmup.COMPILE_NICENESS)  # the run's numpy tasks first
    from pipeline.prime.sieve.kernel import sieve_window

    sieve_window(0, 10**6, [5 * 10**5])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
