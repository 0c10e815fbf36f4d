"""The per-partition half of ``--exact``: keep only the latencies that fall in given windows.

A *window* is a closed interval of latencies in one group of one panel (overall, a method, a
top path, a timeline bucket...) that holds some of the ranks a percentile needs; the client
knows how many of the group's latencies lie below it (:mod:`pipeline.ingest.aggregate.exact`).
A pass over the input keeps, per window, the count of each distinct latency in it, so the
ranks can be read exactly; a window that holds more distinct values than the pass's per-window
cap is counted instead in ``cap`` sub-windows of equal width, which the next pass refines.

Windows are intervals of *ordered keys*: a float64 latency's bits as an unsigned integer whose
order is the order of the floats (:func:`ordered_keys`), so sub-windows split the floats a
window holds into ``cap`` runs of equally many representable values, exactly, with integer
arithmetic. Each refinement divides the representable values of a window by ``cap``, so a
window is resolved after at most ``ceil(64 / log2(cap))`` refinements.

Like every aggregate here, a :class:`Refined` merges by adding (any order, any grouping), and
its size is bounded by the windows and the cap, not by the input: at most ``cap`` entries per
window.

>>> keys = ordered_keys(np.array([-1.0, 0.0, 0.5, 2.0]))
>>> bool(np.all(np.diff(keys.astype(object)) > 0)), float(from_keys(keys[2:3])[0])
(True, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]

_SIGN = np.uint64(1 << 63)
_ALL = np.uint64((1 << 64) - 1)


def ordered_keys(values: npt.NDArray[np.float64]) -> Keys:
    """Each float's bits as an unsigned integer ordered like the floats (-0.0 counts as 0.0).

    Positive floats get their sign bit set, negative ones all bits flipped: the classic total
    order of IEEE 754 doubles, exact and invertible (:func:`from_keys`).
    """
    bits = (np.asarray(values, dtype=np.float64) + 0.0).view(np.uint64)
    negative = (bits & _SIGN) != 0
    out: Keys = np.where(negative, bits ^ _ALL, bits | _SIGN)
    return out


def from_keys(keys: Keys) -> npt.NDArray[np.float64]:
    """The floats of :func:`ordered_keys`."""
    keys = np.asarray(keys, dtype=np.uint64)
    positive = (keys & _SIGN) != 0
    bits = np.where(positive, keys ^ _SIGN, keys ^ _ALL)
    out: npt.NDArray[np.float64] = bits.view(np.float64)
    return out


@dataclass(frozen=True)
class PanelWindows:
    """The windows of one panel for a pass, as the read tasks need them (small and picklable).

    Attributes
    ----------
    name
        The panel (:data:`pipeline.ingest.aggregate.exact.PANELS`).
    column
        What groups a line in this panel: ``""`` (every line, one group), or a column of
        :class:`Rows`.
    divisor
        The group of a line is its column's value ``// divisor`` (timeline buckets of
        ``divisor`` minutes); 1 otherwise.
    keys
        The groups wanted, by their key; ``group[w]`` indexes it.
    group, low, high
        One entry per window: its group and its closed interval of ordered keys, sorted by
        group then ``low`` (windows of a group never overlap).
    recount
        Groups (indexes into ``keys``) whose requests and latency sum the pass also counts
        (listed paths whose counts pass 1 could not keep exactly).
    """

    name: str
    column: str
    divisor: int
    keys: tuple[Any, ...]
    group: Ints
    low: Keys
    high: Keys
    recount: tuple[int, ...] = ()


@dataclass(frozen=True)
class Request:
    """What a pass's read tasks keep: the windows of every panel, and the per-window cap."""

    panels: tuple[PanelWindows, ...]
    cap: int


@dataclass(frozen=True)
class Rows:
    """The columns of a parsed partition (after filters) that select groups: each column as
    per-row codes into its names (``codes``: int64, -1 for none), plus latency and minute."""

    latency: npt.NDArray[np.float64]
    minute: Ints  # UTC minute of each row, -1 without a time (``timed`` says which)
    timed: npt.NDArray[np.bool_]
    columns: dict[str, tuple[Ints, npt.NDArray[Any]]] = field(default_factory=dict)


@dataclass
class Refined:
    """What a pass kept, per panel: per window either value counts or a sub-window histogram.

    ``values[panel]``: arrays ``(window, key, count)``, one entry per distinct latency of a
    window that is not histogrammed; ``bins[panel]``: ``(window, bin, count)`` of histogrammed
    windows (``bin`` from 0 to ``cap - 1``); ``recount[panel]``: ``(group, requests, latencies,
    latency_sum)`` as float64 columns of one array per recounted group. ``request``: the
    pass's windows (for merging).
    """

    request: Request
    values: dict[str, tuple[Ints, Keys, Ints]] = field(default_factory=dict)
    bins: dict[str, tuple[Ints, Ints, Ints]] = field(default_factory=dict)
    recount: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    @property
    def cap(self) -> int:
        """Distinct values a window keeps before it is histogrammed."""
        return self.request.cap


def sub_edges(low: int, high: int, cap: int) -> list[int]:
    """The ``cap + 1`` edges of the sub-windows of ``[low, high]``: sub-window ``j`` is
    ``[edges[j], edges[j + 1] - 1]`` (empty when those cross), Python integers (exact).

    >>> sub_edges(0, 9, 3)
    [0, 3, 6, 10]
    """
    span = high - low + 1
    return [low + (span * j) // cap for j in range(cap + 1)]


def refine_rows(rows: Rows, request: Request) -> Refined:
    """The windows' latencies of one partition (value counts, a histogram past the cap)."""
    out = Refined(request)
    known = ~np.isnan(rows.latency)
    keys = ordered_keys(np.where(known, rows.latency, 0.0))
    for panel in request.panels:
        group = _groups(rows, panel)
        if panel.recount:
            out.recount[panel.name] = _recount(group, rows.latency, known, panel)
        chosen = (group >= 0) & known
        if not chosen.any() or not len(panel.group):
            continue
        window = _find(panel, group[chosen], keys[chosen])
        inside = window >= 0
        window, key = window[inside], keys[chosen][inside]
        wid, distinct, count = _count_pairs(window, key, np.ones(len(key), dtype=np.int64))
        out.values[panel.name] = (wid, distinct, count)
        _cap_windows(out, panel)
    return out


def merge_refined(parts: Sequence[Refined]) -> Refined:
    """Add up the partials of one pass (a window histogrammed anywhere is histogrammed)."""
    out = Refined(parts[0].request)
    for panel in out.request.panels:
        name = panel.name
        values = [part.values[name] for part in parts if name in part.values]
        bins = [part.bins[name] for part in parts if name in part.bins]
        counts = [part.recount[name] for part in parts if name in part.recount]
        if counts:
            out.recount[name] = np.sum(counts, axis=0)
        if bins:
            wid, index, count = (np.concatenate(column) for column in zip(*bins, strict=True))
            out.bins[name] = (wid, index, count)
        if values:
            wid, key, count = (np.concatenate(column) for column in zip(*values, strict=True))
            out.values[name] = _count_pairs(wid, key, count)
        if bins:
            _to_bins(out, panel, np.unique(out.bins[name][0]))
        _cap_windows(out, panel)
    return out


def _groups(rows: Rows, panel: PanelWindows) -> Ints:
    """Each row's group (index into ``panel.keys``), -1 when not in a wanted group."""
    size = len(rows.latency)
    if not panel.column:
        return np.zeros(size, dtype=np.int64) if panel.keys else np.full(size, -1, np.int64)
    if panel.column == "minute":
        lookup = {int(key): i for i, key in enumerate(panel.keys)}
        bucket = np.where(rows.timed, rows.minute // panel.divisor, 0)
        distinct, inverse = np.unique(bucket, return_inverse=True)
        mapped = np.array([lookup.get(int(key), -1) for key in distinct], dtype=np.int64)
        found: Ints = np.where(rows.timed, mapped[inverse.reshape(-1)], -1)
        return found
    codes, names = rows.columns[panel.column]
    lookup = {key: i for i, key in enumerate(panel.keys)}
    per_name = np.array([lookup.get(_plain(name), -1) for name in names], dtype=np.int64)
    per_name = np.append(per_name, -1)  # code -1: no value
    out: Ints = per_name[codes]
    return out


def _plain(name: Any) -> Any:
    """A numpy scalar as the Python value the panel's keys hold."""
    return name.item() if isinstance(name, np.generic) else name


def _find(panel: PanelWindows, group: Ints, key: Keys) -> Ints:
    """The window of each (group, key), -1 for none: a vectorised binary search among the
    windows of the row's group (sorted by ``low``)."""
    sizes = np.bincount(panel.group, minlength=len(panel.keys))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    low, high = starts[group], starts[group + 1]  # search [low, high) for the last start <= key
    while True:
        open_ = low < high
        if not open_.any():
            break
        middle = (low + high) // 2
        probe = np.minimum(middle, len(panel.low) - 1)
        right = open_ & (panel.low[probe] <= key)
        left = open_ & ~right
        low = np.where(right, middle + 1, low)
        high = np.where(left, middle, high)
    found = low - 1
    valid = found >= starts[group]
    probe = np.clip(found, 0, max(len(panel.low) - 1, 0))
    valid &= panel.high[probe] >= key
    out: Ints = np.where(valid, found, -1)
    return out


def _count_pairs(window: Ints, key: Keys, count: Ints) -> tuple[Ints, Keys, Ints]:
    """One entry per distinct ``(window, key)`` with the counts added."""
    if not len(window):
        return np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, np.int64)
    order = np.lexsort((key, window))
    window, key, count = window[order], key[order], count[order]
    new = np.ones(len(window), dtype=bool)
    new[1:] = (window[1:] != window[:-1]) | (key[1:] != key[:-1])
    starts = np.flatnonzero(new)
    return window[starts], key[starts], np.add.reduceat(count, starts)


def _cap_windows(out: Refined, panel: PanelWindows) -> None:
    """Histogram every window of ``out`` with more than ``out.cap`` distinct values."""
    if panel.name not in out.values:
        return
    wid = out.values[panel.name][0]
    distinct = np.bincount(wid, minlength=len(panel.group))
    over = np.flatnonzero(distinct > out.cap)
    if len(over):
        _to_bins(out, panel, over)


def _to_bins(out: Refined, panel: PanelWindows, windows: Ints) -> None:
    """Move the value counts of ``windows`` into their sub-window histograms (in place)."""
    name = panel.name
    if name not in out.values:
        return
    wid, key, count = out.values[name]
    moving = np.isin(wid, windows)
    if not moving.any():
        return
    out.values[name] = (wid[~moving], key[~moving], count[~moving])
    pieces = [out.bins[name]] if name in out.bins else []
    for window in np.unique(wid[moving]).tolist():
        rows = moving & (wid == window)
        edges = sub_edges(int(panel.low[window]), int(panel.high[window]), out.cap)
        index = np.searchsorted(np.array(edges, dtype=np.uint64), key[rows], side="right") - 1
        pieces.append((np.full(int(rows.sum()), window, np.int64), index, count[rows]))
    wid_b, index_b, count_b = (np.concatenate(column) for column in zip(*pieces, strict=True))
    summed = _count_pairs(wid_b, index_b.astype(np.uint64), count_b)
    out.bins[name] = (summed[0], summed[1].astype(np.int64), summed[2])


def _recount(
    group: Ints, latency: npt.NDArray[np.float64], known: npt.NDArray[np.bool_], panel: PanelWindows
) -> npt.NDArray[np.float64]:
    """``(requests, latencies, latency_sum)`` per recounted group, one row each."""
    wanted = np.full(len(panel.keys) + 1, -1, dtype=np.int64)
    wanted[list(panel.recount)] = np.arange(len(panel.recount))
    slot = wanted[group]  # group -1 reads the last entry, -1
    size = len(panel.recount)
    rows = slot >= 0
    requests = np.bincount(slot[rows], minlength=size).astype(np.float64)
    timed = rows & known
    count = np.bincount(slot[timed], minlength=size).astype(np.float64)
    total = np.bincount(slot[timed], weights=latency[timed], minlength=size)
    return np.stack([requests, count, total], axis=1)
