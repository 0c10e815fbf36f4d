"""The tiny-job path: a plain numpy sieve for jobs too small to be worth starting numba.

Why a second sieve at all: importing numba and loading the compiled kernel from its cache costs
about half a second per process, more than a job over a few thousand numbers takes in total, and
the issue asks for a trivial run (``[[0, 100]]``) under 0.8 s. So :func:`pipeline.prime.graph.plan`
sends a job here only when its whole estimated work is tiny (``PLAIN_MAX_COST``); everything else
uses the compiled kernel. This sieve is deliberately the simplest correct one (a boolean array
per window, one slice per sieving prime) and is tested against the same references and against
the compiled kernel.

>>> plain_primes(0, 30).tolist()
[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve.summary import Accumulator, Summary

I64 = npt.NDArray[np.int64]


def plain_primes(lo: int, hi: int) -> I64:
    """Every prime in ``[lo, hi)``, ascending."""
    if hi <= max(lo, 2):
        return np.zeros(0, dtype=np.int64)
    lo = max(lo, 2)
    root = math.isqrt(hi - 1)
    small = np.ones(root + 1, dtype=np.bool_)
    small[:2] = False
    for i in range(2, math.isqrt(root) + 1):
        if small[i]:
            small[i * i :: i] = False
    flags = np.ones(hi - lo, dtype=np.bool_)
    for p in np.flatnonzero(small).tolist():
        first = max(p * p, -(-lo // p) * p)
        flags[first - lo :: p] = False
    return np.flatnonzero(flags).astype(np.int64) + lo


def summaries(primes: I64, bounds: Sequence[int], tuplets: bool = False) -> list[Summary]:
    """Summaries of the ascending ``primes`` split into pieces ``[bounds[i], bounds[i+1])``
    (counting triplets to sextuplets too with ``tuplets``)."""
    edges = np.searchsorted(primes, np.asarray(bounds, dtype=np.int64))
    pieces = []
    for index in range(len(bounds) - 1):
        acc = Accumulator(int(bounds[index]), int(bounds[index + 1]), tuplets=tuplets)
        acc.add(primes[edges[index] : edges[index + 1]])
        pieces.append(acc.summary())
    return pieces
