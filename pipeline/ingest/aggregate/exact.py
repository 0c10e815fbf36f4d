"""``--exact``: exact percentiles in bounded memory, by more passes over the same input.

Pass 1 is a plain run. A *sketched* group (more distinct latencies than its exact cap,
:mod:`pipeline.ingest.aggregate.distribution`) still has exact counts per log bucket, so for each
rank a percentile reads (:func:`~pipeline.ingest.aggregate.latency.wanted_ranks`) the bucket that
holds it, and how many of the group's values lie below that bucket, are known. Each further
pass reads the same blocks and keeps, per group, only the latencies inside those *windows*
(:mod:`pipeline.ingest.aggregate.windows`): a window with at most ``cap`` distinct values gives
its ranks exactly; a fuller one is counted in ``cap`` sub-windows, and the next pass looks only
inside the sub-window that holds the rank. A listed top path whose count pass 1 could only bound
(some partial dropped it) starts from one window over every float, and its requests and latency
sum are recounted.

Which groups are made exact is data: :data:`PANELS`, one :class:`Panel` per report key, each
with the column that groups a line in a pass and a selection function that picks, from pass 1's
merged partial, the groups the report shows. A new panel with a percentile plugs in with one
entry.

Bounds. Per pass, a read task and each merge hold at most ``cap`` entries (24 bytes) per window
and ``windows <= 8 * groups`` (the median and three percentiles read at most two ranks each);
``cap`` is :data:`~pipeline.ingest.aggregate.limits.EXACT_BUDGET` shared by the windows, at least
:data:`~pipeline.ingest.aggregate.limits.EXACT_MIN_WINDOW`. A window spans at most 2**64 ordered
keys and each pass divides it by ``cap``, so there are at most ``1 + ceil(64 / log2(cap))``
passes in all; a pass-1 bucket at 0.1% spans about 2**43 floats and microsecond latencies near
100 ms are about 2**35 floats apart, so two or three passes in all are typical.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.clients import KeyedPanel
from pipeline.ingest.aggregate.distribution import (
    KEYED,
    Distributions,
    Spec,
    bucket,
    combine,
    empty,
    keep_groups,
)
from pipeline.ingest.aggregate.latency import ranked, wanted_ranks
from pipeline.ingest.aggregate.partial import Partial
from pipeline.ingest.aggregate.timeline import BUCKETS, choose_bucket, fit_bucket
from pipeline.ingest.aggregate.topk import top_rows
from pipeline.ingest.aggregate.windows import (
    PanelWindows,
    Refined,
    from_keys,
    ordered_keys,
    sub_edges,
)
from pipeline.reporting.text import FailedInput

_LOWEST = int(ordered_keys(np.array([-np.inf]))[0])
_HIGHEST = int(ordered_keys(np.array([np.inf]))[0])


@dataclass(frozen=True)
class Context:
    """What a selection needs besides the partial: the report's top length, and the timeline's
    bucket in minutes (None without a timeline)."""

    top: int
    bucket_minutes: int | None


@dataclass(frozen=True)
class Selection:
    """The pass-1 groups of a panel: ``dist`` keyed by :data:`~.distribution.KEYED` on the grid
    ``alpha``; ``unknown``: keys whose values pass 1 could not keep whole (start from every
    float, recount requests and latency sum)."""

    dist: Distributions
    alpha: float
    unknown: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Panel:
    """A report key with percentiles: ``column`` groups a line in a pass (see
    :class:`~.windows.PanelWindows`), ``select`` gives its pass-1 groups."""

    name: str
    column: str
    select: Callable[[Partial, Context], Selection]


def _overall(partial: Partial, context: Context) -> Selection:
    return Selection(combine(partial.latency, limits.LATENCY, lambda f: 0), limits.LATENCY.alpha)


def _by_method(partial: Partial, context: Context) -> Selection:
    dist = combine(partial.latency, limits.LATENCY, lambda frame: frame["method"])
    return Selection(dist, limits.LATENCY.alpha)


def _by_class(partial: Partial, context: Context) -> Selection:
    dist = combine(partial.latency, limits.LATENCY, lambda frame: frame["status_class"])
    return Selection(dist, limits.LATENCY.alpha)


def _top_paths(partial: Partial, context: Context) -> Selection:
    rows, _ = top_rows(partial.paths, context.top)
    listed = keep_groups(partial.path_latency, rows.index, limits.PATH_LATENCY)
    dist = combine(listed, limits.PATH_LATENCY, lambda frame: frame["path"])
    unknown = tuple(str(name) for name in rows.index[rows["error"].to_numpy() > 0])
    return Selection(dist, limits.PATH_LATENCY.alpha, unknown)


def _timeline(partial: Partial, context: Context) -> Selection:
    length = context.bucket_minutes
    spec = limits.TIMELINE_LATENCY
    if length is None:
        return Selection(empty(KEYED), spec.alpha)
    dist = combine(partial.timeline_latency, spec, lambda frame: frame["minute"] // length)
    return Selection(dist, spec.alpha)


def _keyed(
    panel: Callable[[Partial], KeyedPanel], spec: Spec, column: str
) -> Callable[[Partial, Context], Selection]:
    """The listed rows of a keyed panel (``hosts``, ``virtual_hosts``): as :func:`_top_paths`."""

    def select(partial: Partial, context: Context) -> Selection:
        keyed = panel(partial)
        if keyed.latency is None:
            return Selection(empty(KEYED), spec.alpha)
        rows, _ = top_rows(keyed.counts, context.top)
        listed = keep_groups(keyed.latency, rows.index, spec)
        dist = combine(listed, spec, lambda frame: frame[column])
        unknown = tuple(str(name) for name in rows.index[rows["error"].to_numpy() > 0])
        return Selection(dist, spec.alpha, unknown)

    return select


def _hosts(partial: Partial) -> KeyedPanel:
    return partial.panels.hosts


def _virtual_hosts(partial: Partial) -> KeyedPanel:
    return partial.panels.virtual_hosts


#: Every report key whose percentiles ``--exact`` makes exact, with its grouping column (any
#: column of the parsed frame, e.g. ``client`` or ``host``) and its pass-1 groups. A panel with a
#: p95 per group adds one entry here, and its report applies the figures (``_Fixes.apply`` in
#: :mod:`pipeline.ingest.report.result`).
PANELS: Final[tuple[Panel, ...]] = (
    Panel("latency_ms", "", _overall),
    Panel("latency_by_method", "method", _by_method),
    Panel("latency_by_status_class", "status_class", _by_class),
    Panel("top_paths", "path", _top_paths),
    Panel("timeline", "minute", _timeline),
    Panel("hosts", "client", _keyed(_hosts, limits.CLIENT_LATENCY, "client")),
    Panel("virtual_hosts", "host", _keyed(_virtual_hosts, limits.VHOST_LATENCY, "host")),
)


def timeline_minutes(partial: Partial, bucket: str, has_time: bool) -> int | None:
    """The timeline's bucket in minutes, as the report picks it (None: no timeline)."""
    first, last = partial.time_min, partial.time_max
    if not has_time or first is None or last is None:
        return None
    chosen = choose_bucket(first, last, bucket)
    return BUCKETS[fit_bucket(first, last, chosen, partial.timeline_minutes)]


@dataclass(frozen=True)
class ExactFigures:
    """What the later passes found: per panel name, per group key, the exact ``median``, ``p90``,
    ``p95``, ``p99`` (and ``requests``, ``mean`` for recounted groups); ``exact`` the panels
    whose every group was resolved; ``passes`` counts pass 1."""

    figures: dict[str, dict[Any, dict[str, Any]]]
    exact: frozenset[str]
    passes: int
    failed: tuple[FailedInput, ...] = ()


@dataclass
class _Window:
    low: int
    high: int
    below: int
    expected: int | None  # values pass 1 (or the last pass) counted in it; None: unknown


@dataclass
class _Target:
    key: Any
    n: int | None
    windows: list[_Window]
    found: dict[int, float] = field(default_factory=dict)
    broken: bool = False

    def found_at(self, rank: int) -> np.float64:
        """The value found at ``rank``."""
        value: np.float64 = np.float64(self.found[rank])
        return value


@dataclass
class Plan:
    """The state of the passes of one panel."""

    panel: Panel
    divisor: int
    targets: list[_Target]
    unknown: tuple[Any, ...]
    recounts: dict[Any, tuple[int, int, float]] = field(default_factory=dict)

    def request(self) -> PanelWindows:
        """The windows the next pass keeps (sorted by group, then low)."""
        keys = tuple(target.key for target in self.targets)
        entries = sorted(
            (g, window.low, window.high)
            for g, target in enumerate(self.targets)
            for window in target.windows
        )
        recount = tuple(i for i, key in enumerate(keys) if key in self.unknown)
        return PanelWindows(
            self.panel.name,
            self.panel.column,
            self.divisor,
            keys,
            np.array([e[0] for e in entries], dtype=np.int64),
            np.array([e[1] for e in entries], dtype=np.uint64),
            np.array([e[2] for e in entries], dtype=np.uint64),
            recount if not self.recounts else (),
        )

    @property
    def pending(self) -> bool:
        return any(target.windows for target in self.targets)

    def absorb(self, asked: PanelWindows, refined: Refined) -> None:
        """Read the ranks the pass resolved; the others get the sub-windows that hold them."""
        name = self.panel.name
        if name in refined.recount:
            for slot, index in enumerate(asked.recount):
                requests, count, total = refined.recount[name][slot]
                self.recounts[asked.keys[index]] = (int(requests), int(count), float(total))
        values = refined.values.get(name)
        bins = refined.bins.get(name)
        by_window: list[tuple[Any, ...]] = [("v", [], []) for _ in range(len(asked.group))]
        if values is not None:
            for window, key, count in zip(*(column.tolist() for column in values), strict=True):
                by_window[window][1].append(key)
                by_window[window][2].append(count)
        if bins is not None:
            histograms: dict[int, np.ndarray[Any, Any]] = {}
            for window, index, count in zip(*(column.tolist() for column in bins), strict=True):
                histograms.setdefault(window, np.zeros(refined.cap, np.int64))[index] += count
            for window, counts in histograms.items():
                by_window[window] = ("h", counts)
        pairs = zip(asked.group.tolist(), asked.low.tolist(), strict=True)
        position = {pair: w for w, pair in enumerate(pairs)}
        for g, target in enumerate(self.targets):
            states = [(w, by_window[position[(g, w.low)]]) for w in target.windows]
            target.windows = []
            if target.broken:
                continue
            if target.n is None:  # one window over every float: it counted all the values
                target.n = sum(_total(state) for _, state in states)
            for window, state in states:
                total = _total(state)
                if window.expected is not None and total != window.expected:
                    target.broken = True  # the input is not what pass 1 read
                    break
                _read(target, window, state, refined.cap)
            if target.broken:
                target.windows = []

    def figures(self) -> dict[Any, dict[str, Any]]:
        """The exact figures found, per group key."""
        out: dict[Any, dict[str, Any]] = {}
        for target in self.targets:
            if target.broken or target.n is None:
                continue
            figures: dict[str, Any] = {}
            if target.n:
                figures = ranked(target.found_at, target.n)
            if target.key in self.recounts:
                requests, count, total = self.recounts[target.key]
                figures.update(requests=requests, mean=total / count if count else None)
            out[target.key] = figures
        return out


def _total(state: tuple[Any, ...]) -> int:
    return int(sum(state[2])) if state[0] == "v" else int(state[1].sum())


def _wanted(target: _Target, window: _Window) -> list[int]:
    assert target.n is not None
    size = window.expected if window.expected is not None else target.n
    ranks = wanted_ranks(target.n) if target.n else []
    return [r for r in ranks if window.below <= r < window.below + size and r not in target.found]


def _read(target: _Target, window: _Window, state: tuple[Any, ...], cap: int) -> None:
    """The ranks ``window`` holds: found from its values, or narrowed to sub-windows."""
    if window.expected is None:
        window.expected = _total(state)
    ranks = _wanted(target, window)
    if state[0] == "v":
        keys = np.array(state[1], dtype=np.uint64)
        order = np.argsort(keys)
        values = from_keys(keys[order])
        cumulative = np.cumsum(np.array(state[2], dtype=np.int64)[order])
        for rank in ranks:
            index = int(np.searchsorted(cumulative, rank - window.below, side="right"))
            target.found[rank] = float(values[index])
        return
    counts = state[1]
    edges = sub_edges(window.low, window.high, cap)
    cumulative = np.cumsum(counts)
    added: dict[int, _Window] = {}
    for rank in ranks:
        j = int(np.searchsorted(cumulative, rank - window.below, side="right"))
        before = window.below + (int(cumulative[j - 1]) if j else 0)
        added[j] = _Window(edges[j], edges[j + 1] - 1, before, int(counts[j]))
    target.windows.extend(added[j] for j in sorted(added))


def plan(panel: Panel, partial: Partial, context: Context) -> Plan:
    """The first windows of a panel from pass 1's merged partial: one per bucket holding a
    wanted rank of a sketched group, one over every float per unknown group."""
    selection = panel.select(partial, context)
    dist = selection.dist
    targets: list[_Target] = []
    order = np.argsort(dist.gid, kind="stable")
    ends = np.cumsum(np.bincount(dist.gid, minlength=len(dist.groups)))
    sketched = dist.groups["sketched"].to_numpy(dtype=bool)
    names = dist.groups[KEYED.levels[0]].tolist() if len(dist.groups) else []
    unknown = set(selection.unknown)
    for index, key in enumerate(names):
        if key in unknown or not sketched[index]:
            continue
        rows = order[(ends[index - 1] if index else 0) : ends[index]]
        targets.append(_bucket_target(key, dist.value[rows], dist.count[rows], selection.alpha))
    for key in selection.unknown:
        targets.append(_Target(key, None, [_Window(_LOWEST, _HIGHEST, 0, None)]))
    return Plan(panel, context.bucket_minutes or 1, targets, selection.unknown)


def _bucket_target(
    key: Any, value: np.ndarray[Any, Any], count: np.ndarray[Any, Any], alpha: float
) -> _Target:
    """A sketched group's windows: the buckets holding its wanted ranks."""
    order = np.argsort(value)
    value, count = value[order], count[order]
    cumulative = np.cumsum(count)
    n = int(cumulative[-1])
    chosen = sorted({int(np.searchsorted(cumulative, r, side="right")) for r in wanted_ranks(n)})
    low, high = bucket_keys(value[chosen], alpha)
    windows = [
        _Window(int(lo), int(hi), int(cumulative[i] - count[i]), int(count[i]))
        for i, lo, hi in zip(chosen, low.tolist(), high.tolist(), strict=True)
    ]
    return _Target(key, n, windows)


def bucket_keys(
    representatives: np.ndarray[Any, Any], alpha: float
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The closed interval of ordered keys of every float that :func:`~.distribution.bucket`
    maps to each representative: found by bisection (64 steps, all buckets at once), so it is
    exactly the set pass 1 counted, float rounding of the logarithm included (``bucket`` is
    non-decreasing in its argument)."""
    reps = np.asarray(representatives, dtype=np.float64)

    def first_at_least(strict: bool) -> np.ndarray[Any, Any]:
        low = np.full(len(reps), _LOWEST, dtype=np.uint64)
        high = np.full(len(reps), _HIGHEST, dtype=np.uint64)
        while bool((low < high).any()):
            middle = low + (high - low) // np.uint64(2)
            mapped = bucket(from_keys(middle), alpha)
            above = mapped > reps if strict else mapped >= reps
            high = np.where(above, middle, high)
            low = np.where(above, low, middle + np.uint64(1))
        return low

    return first_at_least(False), first_at_least(True) - np.uint64(1)


def window_cap(plans: Sequence[Plan]) -> int:
    """Distinct values a window keeps in the next pass: the budget shared by its windows."""
    windows = sum(len(target.windows) for p in plans for target in p.targets)
    return max(limits.EXACT_MIN_WINDOW, limits.EXACT_BUDGET // max(windows, 1))


def most_passes(cap: int) -> int:
    """The bound on passes at a window cap (pass 1 included).

    >>> most_passes(4096)
    7
    """
    return 1 + math.ceil(64 / math.log2(cap))
