"""Unique visitors per UTC day, as GoAccess counts them: exact up to a cap, then HLL sketches.

A visitor is a distinct ``(client address, UTC day, user agent)`` triple; a request without a
user agent has the empty agent. A request without a client address or without a time is no
visitor (GoAccess needs both); it still counts everywhere else. A day's figure is its number of
distinct ``(client, agent)`` pairs, and the report's ``total`` is the sum over days (a client
seen on two days is two visitors, as in GoAccess).

Each pair is a 64-bit hash: :func:`~pipeline.ingest.aggregate.distinct.value_hash` of the
client and of the agent (once per distinct string of a partition), mixed into one number by
:func:`_mix` (SplitMix64's finalizer: a bijection of 64-bit integers, so two pairs share a hash
only if their inputs do, with the collision odds :mod:`~pipeline.ingest.aggregate.distinct`
states). A partial holds sorted, distinct ``(day, hash)`` pairs while there are at most
:data:`~pipeline.ingest.aggregate.limits.VISITORS_EXACT` of them; past that, every day becomes
an HLL sketch of the hashes (``lg_k`` :data:`~pipeline.ingest.aggregate.limits.VISITOR_LG_K`),
merged through ``hll_union`` (registers are maxima: any merge order gives the same sketch).
Whether the final figures are exact does not depend on the merge order either: a merge that
passes the cap holds a subset of the final union, which passes it too.

>>> part = visitors_of(np.array([0, 0, 1]), np.array(["a", "a", "a"], dtype=object),
...                    np.array(["x", "x", "x"], dtype=object))
>>> day_counts(part)
[(0, 1), (1, 1)]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias

import datasketches
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.distinct import value_hash

_HLL_TYPE: Final = datasketches.tgt_hll_type.HLL_8

Ints = npt.NDArray[np.int64]
Hashes = npt.NDArray[np.uint64]
Strings: TypeAlias = "pa.Array | npt.NDArray[np.object_]"


@dataclass(frozen=True, eq=False)
class Visitors:
    """Distinct visitors of a partition or run: exact pairs, or one sketch per day.

    Attributes
    ----------
    days, hashes
        While exact: the distinct ``(day, hash)`` pairs, sorted by day then hash (``days``: UTC
        days since the epoch). Once sketched: the days with a visitor, sorted, and no hashes.
    sketches
        Once sketched: one serialized HLL sketch per entry of ``days``; None while exact.
    dropped_days
        True once days older than the :data:`~pipeline.ingest.aggregate.limits.PANEL_DAYS`
        most recent were dropped.
    """

    days: Ints
    hashes: Hashes
    sketches: tuple[bytes, ...] | None = None
    dropped_days: bool = False

    @property
    def exact(self) -> bool:
        """True while every pair is held (exact up to a 64-bit hash collision)."""
        return self.sketches is None


def empty_visitors() -> Visitors:
    """No visitor at all."""
    return Visitors(np.zeros(0, np.int64), np.zeros(0, np.uint64))


def relative_standard_error(lg_k: int | None = None) -> float:
    """Relative standard error of one day's estimate after a union (DataSketches' figure)."""
    lg_k = limits.VISITOR_LG_K if lg_k is None else lg_k
    return abs(float(datasketches.hll_sketch.get_rel_err(True, True, lg_k, 1)))


def visitors_of(days: Ints, clients: Strings, agents: Strings) -> Visitors:
    """The visitors of one partition's requests that have a time and a client.

    ``days``: UTC day of each request; ``clients``: its client address; ``agents``: its user
    agent (``""`` when none; a null is read as ``""`` too). The three are aligned, repeats
    allowed; strings as an Arrow array or a numpy array of ``str``.
    """
    hashes = _mix(_hashed(clients) ^ _mix(_hashed(agents)))
    return _capped(*_unique_pairs(np.asarray(days, dtype=np.int64), hashes))


def merge_visitors(parts: Sequence[Visitors]) -> Visitors:
    """The visitors of several partials together (any number at once; associative)."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return empty_visitors()
    dropped = any(part.dropped_days for part in parts)
    if all(part.exact for part in parts):
        days = np.concatenate([part.days for part in parts])
        hashes = np.concatenate([part.hashes for part in parts])
        return _capped(*_unique_pairs(days, hashes), dropped=dropped)
    unions: dict[int, datasketches.hll_union] = {}
    lg_k = limits.VISITOR_LG_K
    for part in parts:
        for day, sketch in _day_sketches(part):
            unions.setdefault(day, datasketches.hll_union(lg_k)).update(sketch)
    return _recent(_from_unions(unions), dropped)


def day_counts(part: Visitors) -> list[tuple[int, int]]:
    """``(day, visitors)`` per day with a visitor, in order (estimates once sketched)."""
    if part.sketches is None:
        days, counts = np.unique(part.days, return_counts=True)
        return list(zip(days.tolist(), counts.tolist(), strict=True))
    return [
        (day, round(float(datasketches.hll_sketch.deserialize(sketch).get_estimate())))
        for day, sketch in zip(part.days.tolist(), part.sketches, strict=True)
    ]


def _hashed(values: Strings) -> Hashes:
    """:func:`value_hash` of each value, computed once per distinct value (Arrow encoding)."""
    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.large_string())
    array = pc.fill_null(pc.cast(array, pa.large_string()), "")
    encoded = pc.dictionary_encode(array)
    distinct = encoded.dictionary.to_pylist()
    table = np.fromiter(map(value_hash, distinct), np.uint64, len(distinct))
    out: Hashes = table[encoded.indices.to_numpy(zero_copy_only=False)]
    return out


def _mix(values: Hashes) -> Hashes:
    """SplitMix64's finalizer: a bijection on 64-bit integers that spreads every input bit."""
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _unique_pairs(days: Ints, hashes: Hashes) -> tuple[Ints, Hashes]:
    """The distinct ``(day, hash)`` pairs, sorted by day then hash."""
    order = np.lexsort((hashes, days))
    days, hashes = days[order], hashes[order]
    if len(days) < 2:
        return days, hashes
    first = np.empty(len(days), dtype=bool)
    first[0] = True
    first[1:] = (days[1:] != days[:-1]) | (hashes[1:] != hashes[:-1])
    return days[first], hashes[first]


def _recent(part: Visitors, dropped: bool = False) -> Visitors:
    """``part`` with only its :data:`~pipeline.ingest.aggregate.limits.PANEL_DAYS` most recent
    days (``dropped``: days were dropped before)."""
    distinct = np.unique(part.days) if part.sketches is None else part.days
    if len(distinct) <= limits.PANEL_DAYS:
        return part if part.dropped_days == dropped else replace(part, dropped_days=dropped)
    keep = part.days >= distinct[-limits.PANEL_DAYS]
    if part.sketches is None:
        return Visitors(part.days[keep], part.hashes[keep], None, True)
    kept = tuple(sketch for sketch, wanted in zip(part.sketches, keep, strict=True) if wanted)
    return Visitors(part.days[keep], part.hashes, kept, True)


def _capped(days: Ints, hashes: Hashes, dropped: bool = False) -> Visitors:
    """The most recent days only, then exact while the pairs fit under the cap, else one
    sketch per day."""
    recent = _recent(Visitors(days, hashes), dropped)
    days, hashes, dropped = recent.days, recent.hashes, recent.dropped_days
    if len(days) <= limits.VISITORS_EXACT:
        return Visitors(days, hashes, None, dropped)
    lg_k = limits.VISITOR_LG_K
    unions: dict[int, datasketches.hll_union] = {}
    for day, sketch in _day_sketches(Visitors(days, hashes)):
        unions.setdefault(day, datasketches.hll_union(lg_k)).update(sketch)
    return replace(_from_unions(unions), dropped_days=dropped)


def _day_sketches(part: Visitors) -> list[tuple[int, datasketches.hll_sketch]]:
    """One sketch per day of ``part`` (built from its hashes while it is exact)."""
    if part.sketches is not None:
        return [
            (day, datasketches.hll_sketch.deserialize(sketch))
            for day, sketch in zip(part.days.tolist(), part.sketches, strict=True)
        ]
    out = []
    starts: np.ndarray[Any, Any] = np.zeros(0, dtype=np.int64)
    if len(part.days):
        starts = np.flatnonzero(np.r_[True, part.days[1:] != part.days[:-1]])
    bounds = [*map(int, starts), len(part.days)]
    for start, end in itertools.pairwise(bounds):
        sketch = datasketches.hll_sketch(limits.VISITOR_LG_K, _HLL_TYPE)
        update = sketch.update
        for value in part.hashes[start:end].view(np.int64).tolist():
            update(value)
        out.append((int(part.days[start]), sketch))
    return out


def _from_unions(unions: dict[int, datasketches.hll_union]) -> Visitors:
    days = sorted(unions)
    sketches = tuple(unions[day].get_result(_HLL_TYPE).serialize_compact() for day in days)
    return Visitors(np.array(days, dtype=np.int64), np.zeros(0, np.uint64), sketches)
