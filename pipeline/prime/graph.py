"""The plan and the dask.delayed graph of the prime job: sieve tasks, then one reduction task.

Union semantics with minimal work: the ranges (inclusive) become half-open intervals whose union
is computed as disjoint intervals, and only the union is sieved, once. The union is cut at every
range boundary into *pieces*, and into *windows* of at most ``segment_size`` numbers; a *task*
sieves one long window or several short ones (many small ranges), so the number of tasks stays
near ``total cost / segment_size`` however the ranges are laid out. A piece lies entirely inside
or outside each range, so a range's statistics are the ordered merge of a run of consecutive
pieces and the union's the merge of all of them; identical or overlapping ranges cost no extra
sieving.

Graph shape::

    sieve_task x T (each: windows -> piece summaries) --> reduce_pieces (per range and union)

Everything here is linear or ``n log n`` in the number of ranges: the plan sorts once, pieces are
found by bisection, and the reduction answers each range with at most ``O(log pieces)`` merges
(a segment tree over the pieces, built only when some range spans many pieces). Every task key
contains :func:`dask.base.tokenize` of the task's inputs, so two different jobs on one
long-lived ``distributed`` client never share a key.

No task returns primes; the graph is described here as plain calls and computed by
:mod:`pipeline.prime.job` through :func:`pipeline.engine.execution.compute_calls`, which alone
picks the scheduler (none at all for a one-task plan: it runs inline, without importing Dask).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.engine.calls import Call, call, to_delayed
from pipeline.errors import InputError
from pipeline.prime.ranges import PrimeRange
from pipeline.prime.sieve.summary import Summary, merge
from pipeline.prime.tuning import (
    INIT_NUMBERS_PER_PRIME,
    INTERIM_MAX_END,
    MAX_RANGES,
    MAX_TASKS,
    NS_PER_NUMBER,
    PLAIN_MAX_COST,
    PLAIN_NUMBERS_PER_PRIME,
    SEGMENT_TREE_SPAN,
)

#: One window of a task: ``(lo, hi, cuts)``, sieving ``[lo, hi)`` split at ``cuts``.
Window = tuple[int, int, tuple[int, ...]]


@dataclass(frozen=True)
class Plan:
    """Everything decided before any task runs.

    Attributes
    ----------
    union
        Disjoint half-open intervals covering the ranges, ascending.
    tasks
        The windows of each sieve task, ascending; pieces are numbered across all tasks in order.
    spans
        For each range (input order), the pieces ``[first, stop)`` that make it up.
    segment_size
        The numbers per task actually used (at least the requested size; raised to keep the
        number of tasks at most ``MAX_TASKS``).
    cost
        The plan's estimated work in "numbers" (numbers sieved plus start-up per window).
    compiled
        Whether tasks use the compiled kernel; False only for tiny jobs, which the plain numpy
        sieve of :mod:`pipeline.prime.sieve.plain` finishes before numba could even start.
    outside
        Pieces that lie in a bridged gap between union intervals (sieved, never counted).
    tuplets
        Whether the summaries count triplets to sextuplets too (``--tuplets``).
    interim
        A first run (numba's cache is empty and :mod:`pipeline.prime.background_compile` compiles
        the kernel in the background): tasks that start before it is ready sieve with numpy.
    """

    union: tuple[tuple[int, int], ...]
    tasks: tuple[tuple[Window, ...], ...]
    spans: tuple[tuple[int, int], ...]
    segment_size: int
    cost: int
    compiled: bool = True
    outside: tuple[int, ...] = ()
    tuplets: bool = False
    interim: bool = False

    @property
    def covered(self) -> int:
        """How many integers the union of the ranges contains."""
        return sum(hi - lo for lo, hi in self.union)

    @property
    def pieces(self) -> int:
        """Number of pieces (summaries returned by all tasks together)."""
        return sum(len(cuts) + 1 for task in self.tasks for _, _, cuts in task)

    def estimate_seconds(self, workers: int) -> float:
        """Rough wall time on ``workers`` cores from the measured kernel rate (see tuning)."""
        return self.cost * NS_PER_NUMBER * 1e-9 / max(1, min(workers, len(self.tasks)))


def window_cost(lo: int, hi: int, per_prime: int = INIT_NUMBERS_PER_PRIME) -> int:
    """Estimated work of sieving ``[lo, hi)``: its numbers plus ``per_prime`` per sieving prime."""
    root = math.isqrt(max(hi - 1, 1))
    sieving = root / max(math.log(root), 1.0) if root > 2 else 0.0
    return (hi - lo) + int(per_prime * sieving)


def plan(
    ranges: Sequence[PrimeRange], segment_size: int, *, bridge: bool = True, tuplets: bool = False
) -> Plan:
    """Cut the union of ``ranges`` into pieces, windows and tasks of about ``segment_size``.

    With ``bridge``, neighbouring union intervals whose gap costs less to sieve than starting a
    new window (placing every sieving prime) share one window; the gap becomes a piece of its
    own, listed in ``Plan.outside`` and left out of every total. 100,000 small ranges close
    together are then a few windows, not 100,000. ``tuplets`` is carried to the tasks.

    >>> p = plan([PrimeRange(0, 9), PrimeRange(5, 24)], segment_size=10)
    >>> p.union, p.tasks, p.spans
    (((0, 25),), (((0, 10, (5,)),), ((10, 20, ()),), ((20, 25, ()),)), ((0, 2), (1, 4)))
    >>> plan([PrimeRange(10**9, 10**9 + 9), PrimeRange(10**9 + 100, 10**9 + 109)], 2**28).outside
    (1,)
    """
    if len(ranges) > MAX_RANGES:
        raise InputError(
            f"{len(ranges):,} ranges exceed the supported {MAX_RANGES:,}; merge them first"
        )
    union = _union(ranges)
    runs: list[tuple[int, int]] = []
    for lo, hi in union:
        if bridge and runs and lo - runs[-1][1] <= window_cost(lo, hi) - (hi - lo):
            runs[-1] = (runs[-1][0], hi)
        else:
            runs.append((lo, hi))
    boundaries = sorted({b for r in ranges for b in (r.start, r.end + 1)})
    cost = sum(window_cost(lo, hi) for lo, hi in runs)
    plain_cost = sum(window_cost(lo, hi, PLAIN_NUMBERS_PER_PRIME) for lo, hi in runs)
    # every task but the last costs at least `size`, so there are at most MAX_TASKS of them
    size = max(segment_size, -(-cost // (MAX_TASKS - 1)))
    tasks: list[tuple[Window, ...]] = []
    current: list[Window] = []
    current_cost = 0
    starts: list[int] = []  # first number of every piece, ascending
    for lo, hi in runs:
        for a in range(lo, hi, size):
            b = min(a + size, hi)
            inner = boundaries[
                bisect.bisect_right(boundaries, a) : bisect.bisect_left(boundaries, b)
            ]
            starts.append(a)
            starts.extend(inner)
            current.append((a, b, tuple(inner)))
            current_cost += window_cost(a, b)
            if current_cost >= size:
                tasks.append(tuple(current))
                current, current_cost = [], 0
    if current:
        tasks.append(tuple(current))
    spans = tuple(
        (bisect.bisect_left(starts, r.start), bisect.bisect_left(starts, r.end + 1)) for r in ranges
    )
    outside: tuple[int, ...] = ()
    if len(runs) < len(union):
        union_starts = [lo for lo, _ in union]
        outside = tuple(
            index
            for index, start in enumerate(starts)
            if start >= union[bisect.bisect_right(union_starts, start) - 1][1]
        )
    compiled = plain_cost > PLAIN_MAX_COST
    return Plan(tuple(union), tuple(tasks), spans, size, cost, compiled, outside, tuplets)


def _union(ranges: Sequence[PrimeRange]) -> list[tuple[int, int]]:
    union: list[tuple[int, int]] = []
    for lo, hi in sorted((r.start, r.end + 1) for r in ranges):
        if union and lo <= union[-1][1]:
            union[-1] = (union[-1][0], max(union[-1][1], hi))
        else:
            union.append((lo, hi))
    return union


def sieve_task(
    packed: npt.NDArray[np.int64],
    compiled: bool = True,
    tuplets: bool = False,
    interim: bool = False,
) -> tuple[Summary, ...]:
    """Sieve task: the summaries of every piece of the windows in ``packed``, in order.

    ``packed`` is :func:`pack_windows` of the task's windows (a flat array, which dask neither
    traverses nor tokenizes element by element). The kernel is imported here, in the worker, so
    building a graph never starts numba. With ``interim`` (a first run) a task that starts
    before the background compile is done sieves with numpy when its windows end below
    ``INTERIM_MAX_END``, and otherwise waits for the compiled kernel.
    """
    windows = unpack_windows(packed)
    if compiled and interim:
        from pipeline.prime.sieve import warmup

        if not warmup.kernel_ready():
            if max(hi for _, hi, _ in windows) <= INTERIM_MAX_END:
                from pipeline.prime.sieve import interim as numpy_sieve

                return tuple(
                    s
                    for lo, hi, cuts in windows
                    for s in numpy_sieve.summaries(lo, hi, cuts, tuplets)
                )
            warmup.wait_ready()
    if not compiled:
        from pipeline.prime.sieve import plain

        return tuple(
            s
            for lo, hi, cuts in windows
            for s in plain.summaries(plain.plain_primes(lo, hi), [lo, *cuts, hi], tuplets)
        )
    from pipeline.prime.sieve.kernel import sieve_window

    return tuple(s for lo, hi, cuts in windows for s in sieve_window(lo, hi, cuts, tuplets=tuplets))


def pack_windows(windows: Sequence[Window]) -> npt.NDArray[np.int64]:
    """Windows as one flat array: ``lo, hi, number of cuts, cuts...`` for each window.

    >>> pack_windows([(0, 10, (5,)), (20, 30, ())]).tolist()
    [0, 10, 1, 5, 20, 30, 0]
    >>> unpack_windows(pack_windows([(0, 10, (5,)), (20, 30, ())]))
    [(0, 10, (5,)), (20, 30, ())]
    """
    flat: list[int] = []
    for lo, hi, cuts in windows:
        flat += (lo, hi, len(cuts), *cuts)
    return np.array(flat, dtype=np.int64)


def unpack_windows(packed: npt.NDArray[np.int64]) -> list[Window]:
    """The inverse of :func:`pack_windows`."""
    values = packed.tolist()
    windows = []
    i = 0
    while i < len(values):
        lo, hi, count = values[i : i + 3]
        windows.append((lo, hi, tuple(values[i + 3 : i + 3 + count])))
        i += 3 + count
    return windows


def reduce_pieces(
    spans: Sequence[tuple[int, int]] | npt.NDArray[np.int64],
    outside: Sequence[int] | npt.NDArray[np.int64],
    *task_outputs: tuple[Summary, ...],
) -> tuple[tuple[Summary, ...], Summary]:
    """Reduction task: one summary per range (its span of pieces) and one for the union.

    ``spans`` is ``Plan.spans``, or the same as an ``(n, 2)`` array (in the graph, so dask does
    not traverse a hundred thousand tuples); the pieces listed in ``outside`` (``Plan.outside``)
    are left out of the union.

    Short spans are merged directly; when a range spans more than ``SEGMENT_TREE_SPAN`` pieces
    the pieces go into a segment tree once, and each range costs ``O(log pieces)`` merges. Each
    distinct span is reduced once (``np.unique``): identical ranges share one :class:`Summary`
    object, so 10,000 copies of a range cost one reduction.
    """
    pieces = [s for output in task_outputs for s in output]
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    # one number per span (first * (pieces + 1) + stop) so that np.unique sorts a flat array
    _, first, inverse = np.unique(
        bounds[:, 0] * (len(pieces) + 1) + bounds[:, 1], return_index=True, return_inverse=True
    )
    distinct = bounds[first]
    wide = bool(np.any(distinct[:, 1] - distinct[:, 0] > SEGMENT_TREE_SPAN))
    tree = _SegmentTree(pieces) if wide else None
    reduced = [_reduce_span(pieces, tree, a, b) for a, b in distinct.tolist()]
    per_range = [reduced[i] for i in inverse.reshape(-1).tolist()]
    if tree is not None and len(outside) == 0:
        union = tree.query(0, len(pieces))
    else:
        skip = {int(i) for i in outside}
        union = None
        for index, s in enumerate(pieces):
            if index not in skip:
                union = s if union is None else merge(union, s)
    return tuple(per_range), union if union is not None else Summary(0, 0)


def _reduce_span(pieces: list[Summary], tree: _SegmentTree | None, a: int, b: int) -> Summary:
    """The ordered merge of pieces ``a .. b-1`` (the empty summary when there are none)."""
    if tree is not None and b - a > SEGMENT_TREE_SPAN:
        found = tree.query(a, b)
    else:
        found = None
        for s in pieces[a:b]:
            found = s if found is None else merge(found, s)
    return found if found is not None else Summary(0, 0)


class _SegmentTree:
    """Ordered merges of any run of pieces in ``O(log n)`` (``merge`` is associative)."""

    def __init__(self, pieces: list[Summary]) -> None:
        self.size = 1
        while self.size < len(pieces):
            self.size *= 2
        self.nodes: list[Summary | None] = [None] * (2 * self.size)
        self.nodes[self.size : self.size + len(pieces)] = pieces
        for i in range(self.size - 1, 0, -1):
            self.nodes[i] = _merge_optional(self.nodes[2 * i], self.nodes[2 * i + 1])

    def query(self, a: int, b: int) -> Summary | None:
        """The ordered merge of pieces ``a .. b-1``."""
        left: Summary | None = None
        right: Summary | None = None
        a += self.size
        b += self.size
        while a < b:
            if a & 1:
                left = _merge_optional(left, self.nodes[a])
                a += 1
            if b & 1:
                b -= 1
                right = _merge_optional(self.nodes[b], right)
            a //= 2
            b //= 2
        return _merge_optional(left, right)


def _merge_optional(a: Summary | None, b: Summary | None) -> Summary | None:
    if a is None:
        return b
    if b is None:
        return a
    return merge(a, b)


def graph_calls(job_plan: Plan) -> Call:
    """The graph of ``job_plan`` as plain calls (:mod:`pipeline.engine.calls`): one
    ``prime-sieve`` call per task, and the ``prime-reduce`` call of their results, which gives
    ``(per-range summaries, union summary)``.

    Building it imports no Dask: the engine runs a one-task plan inline, and hands any other to
    Dask (:func:`pipeline.engine.execution.compute_calls`).
    """
    flags = (job_plan.compiled, job_plan.tuplets, job_plan.interim)
    tasks = [
        call(sieve_task, pack_windows(windows), *flags, name="prime-sieve")
        for windows in job_plan.tasks
    ]
    spans = np.array(job_plan.spans, dtype=np.int64).reshape(-1, 2)
    outside = np.array(job_plan.outside, dtype=np.int64)
    return call(reduce_pieces, spans, outside, *tasks, name="prime-reduce", nout=2)


def build_graph(job_plan: Plan) -> Any:
    """The delayed ``(per-range summaries, union summary)`` of ``job_plan`` (the Dask graph of
    :func:`graph_calls`, for notebooks and :mod:`pipeline.prime.explore`).

    Key names carry a token of their inputs: the same windows give the same key (computed once
    on a shared client), different inputs never collide.
    """
    (delayed,) = to_delayed([graph_calls(job_plan)])
    return delayed


def describe(job_plan: Plan, ranges: int, workers: int) -> str:
    """The INFO line of a plan: what will be sieved and about how long it takes."""
    return (
        f"prime: {ranges:,} range(s), {len(job_plan.union):,} union interval(s), "
        f"{job_plan.covered:,} numbers in {len(job_plan.tasks):,} task(s) of up to "
        f"{job_plan.segment_size:,}; estimated {job_plan.estimate_seconds(workers):.1f} s "
        f"on {workers} worker(s)"
    )
