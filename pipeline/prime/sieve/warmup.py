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

A short first run ends before the compile does (the compile takes 10-15 s of one core, a first
``--range 0:2e9`` 2-4 s). No process may outlive the command, so at exit the compile is either
stopped or waited for (:func:`pipeline.prime.background_compile.finish`, after the report):

* the first run after installing stops it, keeps what it finished (numba caches each compiled
  function as soon as it is compiled, each file written whole: see
  :func:`pipeline.prime.sieve.cache_dir.kernel_cached`) and leaves a mark
  (:func:`mark_stopped`), so the first run costs its sieving and no compile wait;
* a later run that finds the kernel still uncompiled and the mark there starts the compile again
  (the functions already cached load in a moment) and waits for the rest at exit, with one INFO
  line, so the compile is done by the second run even when every run is short (the kernel's
  main function alone compiles for several seconds in one piece, which no short run's spare
  time would ever finish).

The compile runs at a lower priority (:data:`COMPILE_NICENESS`), so the numpy tasks it would
slow down go first. That process is started from :mod:`pipeline.prime.background_compile`,
outside this package: kernels import no Dask, and the engine's process helpers do.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from pipeline.prime.sieve import cache_dir

KERNEL_SOURCE = Path(__file__).with_name("kernel.py")
#: Longest a task waits for the background compile before compiling the kernel itself (when the
#: background process failed or was killed). A compile takes 5-15 s; legal range: >= 0.
WAIT_LIMIT_S = 120.0
#: How often a waiting task looks at the cache again: a small share of the compile time.
_POLL_S = 0.05
#: Niceness the background compile adds to its own (``os.nice``). Even an idle core given to the
#: compile slows the run's numpy tasks (2 cores: caches, memory bandwidth, the GIL-bound
#: threading tasks leave part of a core idle), so the first ``--range 0:2e9`` sieved in 10 s with
#: 19, 12-15 s with 10 and 13-14 s with 0, 6.6 s with no compile at all (load 3.5-4.6). 19 gives
#: it idle time only: a long first run in process mode (both cores busy) sieves with numpy to its
#: end and the next run waits for the compile. Legal range: 0 .. 19.
COMPILE_NICENESS = 19
#: The mark a stopped compile leaves in numba's cache directory (:func:`mark_stopped`).
STOPPED_MARK = "mini-orchestrator-compile-stopped"

_ready = False


def kernel_ready() -> bool:
    """Whether numba's cache holds the compiled kernel (checked without importing numba).

    Once true in a process it stays true without looking at the files again.
    """
    global _ready
    if not _ready:
        _ready = cache_dir.kernel_cached(KERNEL_SOURCE, "_sieve")
    return _ready


def stopped_before() -> bool:
    """Whether a run already stopped a background compile of the current kernel at its exit
    (the mark is newer than the kernel's source: an upgrade starts afresh)."""
    directory = cache_dir.choose_cache_dir()
    if directory is None:
        return False
    try:
        return (Path(directory) / STOPPED_MARK).stat().st_mtime >= KERNEL_SOURCE.stat().st_mtime
    except OSError:
        return False


def mark_stopped() -> None:
    """Leave the mark :func:`stopped_before` looks for (nothing when it cannot be written: the
    next run then stops its compile too)."""
    directory = cache_dir.choose_cache_dir()
    if directory is not None:
        with contextlib.suppress(OSError):
            (Path(directory) / STOPPED_MARK).touch()


def wait_ready(limit_s: float = WAIT_LIMIT_S) -> bool:
    """Wait until the kernel is cached, at most ``limit_s`` seconds; whether it is."""
    deadline = time.monotonic() + limit_s
    while not kernel_ready():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True
