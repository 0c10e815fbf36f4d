"""Give the memory a task freed back to the operating system, so a process's RSS follows its live
data rather than the largest block it ever parsed.

Two allocators keep freed memory for reuse instead of returning it: pyarrow's default pool
(mimalloc), which holds the parser's buffers, and glibc's ``malloc``, which holds numpy's and
pandas' freed chunks in its heap. glibc gives an allocation of at least its *mmap threshold* its
own mapping, unmapped when freed, but the threshold starts at 128 KiB and grows (up to 32 MiB)
each time such a mapping is freed, so after the first large frees, arrays of a few MB come from
the heap and stay there, fragmented, after they are freed.

So task functions that allocate a lot (a block's parse, a merge) are wrapped with
:func:`releasing_memory`, which releases the Arrow pool and trims glibc's heap after the task: one
process parsing 16 realistic blocks of 16 MiB ended at 198 MiB instead of 425 MiB. The main
process of ``--mode process``, which runs no task but unpickles every result, fixes the threshold
instead (:func:`keep_heap_small`, called by :mod:`pipeline.engine.execution`): on 1 GB of the
realistic shape it peaked at 389 MiB instead of 522 MiB. Only there: in a process that runs the
tasks itself (threading) the fixed threshold cost about 12% of the time (an mmap and page faults for
every array), and the trims already return its memory. There, glibc's heap is trimmed only
once the resident set has grown by :data:`HEAP_GROWTH` since the last trim
(:func:`allow_heap_growth`): trimming after every task made every block fault its pages in again
(5 million realistic lines, threading: 7.8-10.1 s of CPU in the kernel, against 5.9-6.2 s, and
the same peak within 30 MiB). Elsewhere than glibc (macOS, musl) only
the Arrow pool is released. Nothing here imports pyarrow until a task is released (a prime run
never loads it).
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable
from typing import Any, Final, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Allocations of at least this many bytes get their own mapping, returned to the operating
#: system as soon as they are freed. glibc's initial value, fixed (so it no longer grows). Lower:
#: more mmap calls for mid-sized arrays; higher: more freed memory kept in the heap. Legal range:
#: 0 .. 32 MiB (glibc's ceiling on 64-bit).
MMAP_THRESHOLD: Final[int] = 128 * 1024

_M_MMAP_THRESHOLD: Final[int] = -3  # glibc's mallopt parameter number (malloc.h)

#: In a process that runs tasks in threads (:func:`allow_heap_growth`), glibc's heap is trimmed
#: only once the resident set has grown this many bytes since the last trim; in between, the
#: next tasks reuse the freed memory instead of faulting its pages in again. Higher: fewer
#: trims, up to this much more memory held; 0: a trim after every task. Legal range: 0 .. a few
#: hundred MiB (docs/scaling.md's bounds assume 256 MiB, in one process per run).
HEAP_GROWTH: Final[int] = 256 * 2**20

_STATM: Final[str] = "/proc/self/statm"


class _Trims:
    """This process's trim policy: the growth allowed, and the resident set after the last trim."""

    growth: int = 0
    floor: int | None = None


@functools.cache
def _glibc() -> Any | None:
    """The C library's functions when it is glibc (it has ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


@functools.cache
def keep_heap_small() -> None:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` in this process (once)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def allow_heap_growth() -> None:
    """Trim glibc's heap in this process only after :data:`HEAP_GROWTH` bytes of growth (a
    process that runs the tasks in threads, once per process: it holds one such allowance)."""
    _Trims.growth = HEAP_GROWTH


def resident_bytes() -> int | None:
    """This process's resident set size in bytes; None where ``/proc`` cannot tell it."""
    try:
        with open(_STATM, "rb") as handle:
            return int(handle.read().split()[1]) * _page_size()
    except (OSError, ValueError, IndexError):
        return None


@functools.cache
def _page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


def release_memory() -> None:
    """Return the memory freed so far by this process's allocators to the operating system:
    pyarrow's pool always, glibc's heap unless the process allows growth and has not grown by
    that much since the last trim (the resident set unknown: trimmed)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is None:
        return
    if _Trims.growth:
        resident = resident_bytes()
        floor = _Trims.floor
        if resident is not None and floor is not None and resident <= floor + _Trims.growth:
            return
    libc.malloc_trim(0)
    if _Trims.growth:
        _Trims.floor = resident_bytes()


def releasing_memory(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function``, followed by :func:`release_memory` once it has returned (its temporaries are
    garbage by then; its result is not touched)."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        finally:
            release_memory()

    return wrapper
