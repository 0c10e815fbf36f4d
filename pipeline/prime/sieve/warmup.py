"""The first run after installing: compile the kernel in the background, sieve with numpy meanwhile.

Why: numba compiles :mod:`pipeline.prime.sieve.kernel` once, when a process first calls it with
an empty cache (about 10 s of one core), and wheels have no post-install hook to do it earlier.
Waiting for it made a first ``prime --range 0:2e9`` take five times as long as the next one. So a
run that finds the cache empty (:func:`kernel_ready`) starts
:func:`pipeline.prime.background_compile.start`, a background
``python -m pipeline.prime.background_compile`` that compiles the kernel into numba's cache (the
directory :mod:`pipeline.prime.sieve.cache_dir` chooses, inherited through ``NUMBA_CACHE_DIR``)
and exits. Meanwhile the sieve tasks ask :func:`kernel_ready` when they start: until the cache
holds the kernel they use :mod:`pipeline.prime.sieve.interim` (numpy, same summaries), after it
the compiled kernel, loaded from the cache in a fraction of a second. Tasks too costly for numpy
(near 10^15 there are 2 million sieving primes, one Python slice each) wait for the cache
instead (:func:`wait_ready`).

A short first run ends before the compile does. Its report is printed, and then the process
waits for the compile before it exits (an ``atexit`` handler, with one INFO line saying so), so
the second run is fast and no process outlives the command: the compile is a child that dies
with its parent, and Ctrl-C during the wait stops it (the next run compiles again). That
process is started from :mod:`pipeline.prime.background_compile`, outside this package: kernels
import no Dask, and the engine's process helpers do.
"""

from __future__ import annotations

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


def wait_ready(limit_s: float = WAIT_LIMIT_S) -> bool:
    """Wait until the kernel is cached, at most ``limit_s`` seconds; whether it is."""
    deadline = time.monotonic() + limit_s
    while not kernel_ready():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True
