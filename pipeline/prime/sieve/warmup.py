"""The first run after installing: compile the kernel in the background, sieve with numpy meanwhile.

Why: numba compiles :mod:`pipeline.prime.sieve.kernel` once, when a process first calls it with
an empty cache (about 10 s of one core), and wheels have no post-install hook to do it earlier.
Waiting for it made a first ``prime --range 0:2e9`` take five times as long as the next one. So a
run that finds the cache empty (:func:`kernel_ready`) starts :func:`start`, a detached
``python -m pipeline.prime.sieve.warmup`` that compiles the kernel into numba's cache (the
directory :mod:`pipeline.prime.sieve.cache_dir` chooses, inherited through ``NUMBA_CACHE_DIR``)
and exits. Meanwhile the sieve tasks ask :func:`kernel_ready` when they start: until the cache
holds the kernel they use :mod:`pipeline.prime.sieve.interim` (numpy, same summaries), after it
the compiled kernel, loaded from the cache in a fraction of a second. Tasks too costly for numpy
(near 10^15 there are 2 million sieving primes, one Python slice each) wait for the cache
instead (:func:`wait_ready`).

The background process is detached on purpose: a short first run ends before the compile does,
and the compile still finishes, so the second run is fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pipeline.prime.sieve import cache_dir

KERNEL_SOURCE = Path(__file__).with_name("kernel.py")
#: Longest a task waits for the background compile before compiling the kernel itself (when the
#: background process failed or was killed). A compile takes 5-15 s; legal range: >= 0.
WAIT_LIMIT_S = 120.0
#: How often a waiting task looks at the cache again: a small share of the compile time.
_POLL_S = 0.05

_ready = False


def kernel_ready() -> bool:
    """Whether numba's cache holds the compiled kernel (checked without importing numba).

    Once true in a process it stays true without looking at the files again.
    """
    global _ready
    if not _ready:
        _ready = cache_dir.kernel_cached(KERNEL_SOURCE, "_sieve")
    return _ready


def start() -> subprocess.Popen[bytes] | None:
    """Start compiling the kernel in a detached background process; None if it cannot start.

    The process inherits the environment (``NUMBA_CACHE_DIR`` as chosen, ``PYTHONPATH``) and
    writes nothing to the terminal. None, and nothing started, when no cache directory is
    writable: the compiled code could not reach the tasks, which then compile it themselves.
    """
    if cache_dir.choose_cache_dir() is None:  # sets NUMBA_CACHE_DIR when needed
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.prime.sieve.warmup"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=os.environ.copy(),
        )
    except OSError:
        return None


def wait_ready(limit_s: float = WAIT_LIMIT_S) -> bool:
    """Wait until the kernel is cached, at most ``limit_s`` seconds; whether it is."""
    deadline = time.monotonic() + limit_s
    while not kernel_ready():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def main() -> None:
    """Compile (or load) every numba function the counting sieve calls, on a tiny window."""
    from pipeline.prime.sieve.kernel import sieve_window

    sieve_window(0, 10**6, [5 * 10**5])


if __name__ == "__main__":
    main()
