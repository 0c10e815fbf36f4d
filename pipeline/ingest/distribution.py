"""Latency distributions per group: exact value counts up to a cap, then a log-bucket sketch.

The report's percentiles are exact when they can be: a group (a method and status class, a path,
a time bucket) keeps the count of each distinct latency. Real logs with microsecond latencies
have as many distinct values as requests, so a group that exceeds ``cap`` distinct values is
*sketched*: each latency ``x > 0`` is replaced by the representative of its logarithmic bucket
``(g^(k-1), g^k]``, ``g = (1 + alpha) / (1 - alpha)``, representative ``2 g^k / (g + 1)``, which is
within ``alpha`` (relative) of every value in the bucket (the DDSketch construction, on a fixed
grid, so sketches merge by adding counts and do not depend on the order of merges). Zero stays
zero. Percentiles read from representatives are within ``alpha`` (relative) of the exact ones,
because the mapping keeps the order of values and linear interpolation keeps the bound.

A sketched group also keeps exact moments (count, mean, sum of squared deviations, min, max,
merged with Chan's formula), so count, mean, min, max and standard deviation stay exact; only
the percentiles of a sketched group are approximate, and the report says so.

Memory per group is at most ``cap`` rows while exact, and at most the number of buckets its
values span once sketched (``ln(max/min) / ln(g)``: about 1,150 per decade at alpha 0.1%,
115 at 1%).

>>> spec = Spec(("group",), cap=2, alpha=0.01)
>>> raw = pd.Series([1, 1, 1], index=pd.MultiIndex.from_tuples(
...     [("a", 1.0), ("a", 2.0), ("a", 3.0)], names=["group", "latency_ms"]))
>>> stats, exact = summaries(distributions(raw, spec), spec)["a"]
>>> exact, stats["mean"], stats["max"], abs(stats["median"] - 2.0) <= 0.01 * 2.0
(False, 2.0, 3.0, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.ingest.latency import latency_summary

VALUE = "latency_ms"
_MOMENTS = ("n", "mean", "m2", "min", "max")


@dataclass(frozen=True)
class Spec:
    """How a kind of group is kept: its key columns, its exact cap and the sketch's accuracy.

    ``cap``: distinct latencies a group keeps exactly (at least 1); ``alpha``: relative error of
    a sketched group's percentiles (0 < alpha < 0.5).
    """

    levels: tuple[str, ...]
    cap: int
    alpha: float

    @property
    def gamma(self) -> float:
        """Ratio between consecutive bucket bounds."""
        return (1 + self.alpha) / (1 - self.alpha)


@dataclass(frozen=True)
class Distributions:
    """Latency counts per group (see the module docstring).

    Attributes
    ----------
    values
        Columns ``*levels``, ``latency_ms``, ``count``: one row per group and distinct value
        (bucket representative in a sketched group).
    moments
        Columns ``*levels``, ``n``, ``mean``, ``m2``, ``min``, ``max``: one row per sketched group
        (a group is sketched exactly when it has a row here).
    """

    values: pd.DataFrame
    moments: pd.DataFrame

    @property
    def exact(self) -> bool:
        """True when no group is sketched."""
        return len(self.moments) == 0


def empty(spec: Spec) -> Distributions:
    """No group."""
    values = pd.DataFrame({**{level: [] for level in spec.levels}, VALUE: [], "count": []})
    values["count"] = values["count"].astype(np.int64)
    moments = pd.DataFrame({level: [] for level in (*spec.levels, *_MOMENTS)})
    return Distributions(values, moments)


def distributions(counts: pd.Series, spec: Spec) -> Distributions:
    """Distributions of one partition from its exact counts by ``(*levels, latency_ms)``;
    NaN latencies (requests without one) are left out."""
    values = counts.rename("count").reset_index()
    values = values[values[VALUE].notna() & (values["count"] > 0)]
    values["count"] = values["count"].astype(np.int64)
    return _apply_cap(Distributions(values.reset_index(drop=True), empty(spec).moments), spec)


def merge(parts: Sequence[Distributions], spec: Spec) -> Distributions:
    """Add up distributions; a group sketched anywhere is sketched in the result."""
    nonempty = [part for part in parts if len(part.values)]
    if len(nonempty) <= 1:
        return nonempty[0] if nonempty else parts[0] if parts else empty(spec)
    sketched = [part.moments for part in nonempty if len(part.moments)]
    if not sketched:
        values = pd.concat([part.values for part in nonempty], ignore_index=True)
        summed = values.groupby([*spec.levels, VALUE], sort=False)["count"].sum().reset_index()
        return _apply_cap(Distributions(summed, empty(spec).moments), spec)
    groups = pd.concat(sketched, ignore_index=True)
    value_parts: list[pd.DataFrame] = []
    moment_parts = list(sketched)
    for part in nonempty:
        # exact rows of a group sketched elsewhere: their moments join, their values are bucketed
        fresh = _in_groups(part.values, groups, spec) & ~_in_groups(part.values, part.moments, spec)
        if fresh.any():
            moment_parts.append(_moments_of(part.values[fresh], spec))
            value_parts.append(_bucketed(part.values[fresh], spec))
        value_parts.append(part.values[~fresh])
    values = pd.concat(value_parts, ignore_index=True)
    summed = values.groupby([*spec.levels, VALUE], sort=False)["count"].sum().reset_index()
    moments = _combine_moments(pd.concat(moment_parts, ignore_index=True), spec.levels)
    return _apply_cap(Distributions(summed, moments), spec)


def keep_groups(dist: Distributions, keys: pd.Index, spec: Spec) -> Distributions:
    """Only the groups whose key (``spec`` has one level) is in ``keys``."""
    (level,) = spec.levels
    return Distributions(
        dist.values[dist.values[level].isin(keys)].reset_index(drop=True),
        dist.moments[dist.moments[level].isin(keys)].reset_index(drop=True),
    )


def combine(dist: Distributions, spec: Spec, key: Callable[[pd.DataFrame], Any]) -> Distributions:
    """Groups combined into coarser ones, keyed by one level ``key``: ``key(frame)`` computes the
    new key from a frame with the ``spec.levels`` columns (a Series, or a scalar for one group).

    Built once, for the report, so not capped; a new group is sketched when any of its members
    is, and then its exact members are bucketed on the same grid and their moments join.

    >>> spec = Spec(("m", "c"), cap=10, alpha=0.01)
    >>> raw = pd.Series([2, 1], index=pd.MultiIndex.from_tuples(
    ...     [("GET", 2, 1.0), ("PUT", 2, 3.0)], names=["m", "c", "latency_ms"]))
    >>> everything = combine(distributions(raw, spec), spec, lambda frame: 0)
    >>> summaries(everything, KEYED)[0][0]["mean"]
    1.6666666666666667
    """
    member = _in_groups(dist.values, dist.moments, spec)
    values = dist.values.assign(_key=key(dist.values))
    moments = dist.moments.assign(_key=key(dist.moments)) if len(dist.moments) else dist.moments
    if len(moments):
        keyed = Spec(("_key",), spec.cap, spec.alpha)
        fresh = _in_groups(values, moments, keyed) & ~member
        extra = _moments_of(values[fresh], keyed)
        values = pd.concat([values[~fresh], _bucketed(values[fresh], spec)], ignore_index=True)
        moments = _combine_moments(pd.concat([moments, extra], ignore_index=True), ("_key",))
    else:
        moments = empty(KEYED).moments
    summed = values.groupby(["_key", VALUE], sort=False)["count"].sum().reset_index()
    return Distributions(summed, moments)


#: The spec of a :func:`combine` result (its cap and alpha are not used again).
KEYED = Spec(("_key",), cap=1, alpha=0.01)


def summaries(
    dist: Distributions, spec: Spec, keys: Sequence[Any] | None = None
) -> dict[Any, tuple[dict[str, Any], bool]]:
    """Statistics (``latency_summary`` keys) of each group of a one-level ``spec``, and whether
    they are exact; only ``keys`` when given (a group without latencies is absent)."""
    (level,) = spec.levels
    values, moments = dist.values, dist.moments
    if keys is not None:
        values = values[values[level].isin(keys)]
        moments = moments[moments[level].isin(keys)]
    out: dict[Any, tuple[dict[str, Any], bool]] = {}
    for name, rows in values.groupby(level, sort=True):
        out[name] = (latency_summary(rows[VALUE].to_numpy(), rows["count"].to_numpy()), True)
    records: list[dict[Any, Any]] = moments.to_dict("records")
    for row in records:
        name = row[level]
        stats = out[name][0]
        n = int(row["n"])
        stats.update(
            count=n,
            mean=float(row["mean"]),
            min=float(row["min"]),
            max=float(row["max"]),
            std=float(np.sqrt(row["m2"] / (n - 1))) if n > 1 else None,
        )
        out[name] = (stats, False)
    return out


def bucket(values: np.ndarray[Any, Any], alpha: float) -> np.ndarray[Any, Any]:
    """The bucket representative of each value (0 stays 0, the sign is kept).

    >>> bucket(np.array([0.0, 1.0, 100.0]), 0.01).round(3).tolist()
    [0.0, 0.99, 100.495]
    """
    gamma = (1 + alpha) / (1 - alpha)
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        index = np.ceil(np.log(magnitude) / np.log(gamma))
    representative = 2 * np.power(gamma, index) / (gamma + 1)
    out: np.ndarray[Any, Any] = np.where(magnitude > 0, np.sign(values) * representative, 0.0)
    return out


def _apply_cap(dist: Distributions, spec: Spec) -> Distributions:
    """Sketch every exact group with more than ``spec.cap`` distinct values."""
    levels = list(spec.levels)
    values = dist.values
    if len(values) <= spec.cap:
        return dist
    codes = _codes(values, spec)
    over = (np.bincount(codes) > spec.cap)[codes]
    if len(dist.moments):
        over &= ~_in_groups(values, dist.moments, spec)
    if not over.any():
        return dist
    rows = values[over]
    moments = pd.concat([dist.moments, _moments_of(rows, spec)], ignore_index=True)
    bucketed = _bucketed(rows, spec)
    bucketed = bucketed.groupby([*levels, VALUE], sort=False)["count"].sum().reset_index()
    return Distributions(
        pd.concat([values[~over], bucketed], ignore_index=True), moments.reset_index(drop=True)
    )


def _codes(rows: pd.DataFrame, spec: Spec) -> np.ndarray[Any, Any]:
    """Group number of each row, numbered in order of first appearance."""
    if len(spec.levels) == 1:
        codes, _ = pd.factorize(rows[spec.levels[0]], sort=False)
        return codes
    grouped = rows.groupby(list(spec.levels), sort=False, observed=True)
    numbered: np.ndarray[Any, Any] = grouped.ngroup().to_numpy()
    return numbered


def _bucketed(rows: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    out: pd.DataFrame = rows.copy()
    out[VALUE] = bucket(rows[VALUE].to_numpy(dtype=np.float64), spec.alpha)
    return out


def _in_groups(values: pd.DataFrame, groups: pd.DataFrame, spec: Spec) -> np.ndarray[Any, Any]:
    """Which rows of ``values`` belong to a group listed in ``groups``."""
    levels = list(spec.levels)
    if not len(groups) or not len(values):
        return np.zeros(len(values), dtype=bool)
    if len(levels) == 1:
        inside: np.ndarray[Any, Any] = values[levels[0]].isin(groups[levels[0]]).to_numpy()
        return inside
    listed = pd.MultiIndex.from_frame(groups[levels].drop_duplicates())
    found: np.ndarray[Any, Any] = pd.MultiIndex.from_frame(values[levels]).isin(listed)
    return found


def _moments_of(rows: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Exact moments per group of exact value rows (numpy over group numbers)."""
    levels = list(spec.levels)
    codes = _codes(rows, spec)
    size = int(codes.max()) + 1 if len(codes) else 0
    value = rows[VALUE].to_numpy(dtype=np.float64)
    count = rows["count"].to_numpy(dtype=np.float64)
    n = np.bincount(codes, count, size)
    mean = np.bincount(codes, value * count, size) / n
    m2 = np.bincount(codes, count * (value - mean[codes]) ** 2, size)
    low = np.full(size, np.inf)
    high = np.full(size, -np.inf)
    np.minimum.at(low, codes, value)
    np.maximum.at(high, codes, value)
    first = np.unique(codes, return_index=True)[1]
    out: pd.DataFrame = rows[levels].iloc[first].reset_index(drop=True)
    out["n"] = n.astype(np.int64)
    out["mean"], out["m2"], out["min"], out["max"] = mean, m2, low, high
    return out


def _combine_moments(moments: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """One row per group from several (Chan et al.'s parallel variance formula, vectorised)."""
    levels = list(key)
    frame = moments[[*levels, *_MOMENTS]].copy()
    frame["weighted"] = frame["mean"] * frame["n"]
    grouped = frame.groupby(levels, sort=False)
    n = grouped["n"].transform("sum")
    mean = grouped["weighted"].transform("sum") / n
    frame["spread"] = frame["m2"] + frame["n"] * (frame["mean"] - mean) ** 2
    out = frame.groupby(levels, sort=False).agg(
        n=("n", "sum"),
        total=("weighted", "sum"),
        m2=("spread", "sum"),
        min=("min", "min"),
        max=("max", "max"),
    )
    out["mean"] = out.pop("total") / out["n"]
    result: pd.DataFrame = out.reset_index()[[*levels, *_MOMENTS]]
    return result


def rekey(dist: Distributions, spec: Spec, key: Callable[[pd.DataFrame], Any]) -> Distributions:
    """The groups of a one-level ``spec`` relabelled by ``key`` (groups that get the same label
    are combined), capped again: for coarser timeline slots."""
    (level,) = spec.levels
    if not len(dist.values):
        return dist
    combined = combine(dist, spec, key)
    return _apply_cap(
        Distributions(
            combined.values.rename(columns={"_key": level}),
            combined.moments.rename(columns={"_key": level}),
        ),
        spec,
    )
