"""Numba set-up for the sieve kernel: where compiled code is cached, and a few CPU intrinsics.

Why a module of its own: the kernel is compiled with ``numba.njit(nogil=True, cache=True)`` so
the threaded scheduler runs segments truly in parallel and spawned or remote workers load the
machine code from the on-disk cache instead of compiling again (a first compile takes seconds;
a cache hit tens of milliseconds). Numba caches next to the source (``__pycache__``) when it can
write there. A package installed read-only (another user's site-packages, a container image)
cannot, so before numba is imported we pick a writable directory:

1. ``NUMBA_CACHE_DIR`` when the user set it (numba's own variable; we never override it);
2. the package's ``__pycache__`` when it is writable (numba's default);
3. ``$XDG_CACHE_HOME/mini-orchestrator/numba`` (``~/.cache/mini-orchestrator/numba``);
4. ``<tempdir>/mini-orchestrator-numba-<uid>``;
5. none: the kernel is compiled in every process and not cached (slower start, still correct).

The choice (:mod:`pipeline.prime.sieve.cache_dir`, which does not import numba) sets
``NUMBA_CACHE_DIR`` for this process (so process-scheduler workers it spawns inherit it) and
never prints anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pipeline.prime.sieve.cache_dir import PACKAGE_CACHE, choose_cache_dir, drop_stale

F = TypeVar("F", bound=Callable[..., Any])

CACHE_DIR = choose_cache_dir()
drop_stale(CACHE_DIR)  # a sibling module changed: its code may be inside a cached caller

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is decided)
from numba import types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

if CACHE_DIR is not None and str(PACKAGE_CACHE) != CACHE_DIR:
    numba.config.CACHE_DIR = CACHE_DIR


def njit(function: F) -> F:
    """``numba.njit(nogil=True, cache=...)`` with the function's type kept for mypy."""
    compiled: F = numba.njit(nogil=True, cache=CACHE_DIR is not None)(function)
    return compiled


@intrinsic  # type: ignore[untyped-decorator]
def popcount64(typingctx: Any, value: Any) -> Any:
    """Number of set bits of a uint64 (LLVM ``ctpop``: one POPCNT instruction)."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return sig, codegen


@intrinsic  # type: ignore[untyped-decorator]
def trailing_zeros64(typingctx: Any, value: Any) -> Any:
    """Index of the lowest set bit of a non-zero uint64 (LLVM ``cttz``)."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return sig, codegen


@intrinsic  # type: ignore[untyped-decorator]
def leading_zeros64(typingctx: Any, value: Any) -> Any:
    """Number of zero bits above the highest set bit of a non-zero uint64 (LLVM ``ctlz``)."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        return builder.ctlz(args[0], ir.Constant(ir.IntType(1), 1))

    return sig, codegen
