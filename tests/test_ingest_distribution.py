"""Latency distributions against numpy on the expanded values: exact below the cap, within alpha
above it (percentiles only), merge order irrelevant, the exact flag true exactly when it can be."""

from __future__ import annotations

import itertools
import pickle
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.aggregate.distribution import (
    KEYED,
    Distributions,
    Spec,
    bucket,
    combine,
    distributions,
    from_codes,
    merge,
    summaries,
)
from tests.conftest import examples

SPEC = Spec(("group",), cap=6, alpha=0.01)
TWO = Spec(("method", "klass"), cap=5, alpha=0.02)


def _numpy_stats(values: list[float]) -> dict[str, Any]:
    data = np.array(values, dtype=np.float64)
    return {
        "count": len(data),
        "mean": float(np.mean(data)),
        "min": float(data.min()),
        "max": float(data.max()),
        "std": float(np.std(data, ddof=1)) if len(data) > 1 else None,
        "median": float(np.median(data)),
        "p90": float(np.percentile(data, 90)),
        "p95": float(np.percentile(data, 95)),
        "p99": float(np.percentile(data, 99)),
    }


def _partition(rows: list[tuple[Any, ...]], spec: Spec) -> Distributions:
    frame = pd.DataFrame(rows, columns=[*spec.levels, "latency_ms"])
    counts = frame.groupby([*spec.levels, "latency_ms"]).size()
    return distributions(counts, spec)


def _merge_randomly(parts: list[Distributions], spec: Spec, seed: int) -> Distributions:
    rng = random.Random(seed)
    while len(parts) > 1:
        size = rng.randint(2, min(3, len(parts)))
        start = rng.randint(0, len(parts) - size)
        parts[start : start + size] = [merge(parts[start : start + size], spec)]
    return parts[0]


def _check(got: dict[str, Any], exact: bool, values: list[float], alpha: float) -> None:
    want = _numpy_stats(values)
    for key in ("count", "min", "max"):
        assert got[key] == want[key], key
    for key in ("mean", "std"):
        if want[key] is None:
            assert got[key] is None
        else:
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    for key in ("median", "p90", "p95", "p99"):
        if exact:
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12), key
        else:
            assert abs(got[key] - want[key]) <= alpha * abs(want[key]) + 1e-12, key


_latency = st.one_of(
    st.sampled_from([0.0, 1.0, 2.5, 7.0, 51.0]),
    st.floats(0.001, 5000.0, allow_nan=False).map(lambda x: round(x, 3)),
)


@settings(max_examples=examples(200), deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _latency), min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    seed=st.integers(0, 100),
)
def test_groups_match_numpy(rows: list[tuple[str, float]], cuts: list[int], seed: int) -> None:
    bounds = [0, *sorted(min(c, len(rows)) for c in cuts), len(rows)]
    parts = [_partition(rows[a:b], SPEC) for a, b in itertools.pairwise(bounds)]
    merged = _merge_randomly(parts, SPEC, seed)
    got = summaries(merged, SPEC)
    by_group: dict[str, list[float]] = {}
    for group, value in rows:
        by_group.setdefault(group, []).append(value)
    assert sorted(got) == sorted(by_group)
    for group, values in by_group.items():
        stats, exact = got[group]
        assert exact == (len(set(values)) <= SPEC.cap), group
        _check(stats, exact, values, SPEC.alpha)


@settings(max_examples=examples(100), deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["GET", "PUT"]), st.sampled_from([2, 5]), _latency),
        min_size=1,
        max_size=60,
    ),
    cut=st.integers(0, 60),
)
def test_combined_groups_match_numpy(rows: list[tuple[str, int, float]], cut: int) -> None:
    parts = [_partition(rows[:cut], TWO), _partition(rows[cut:], TWO)]
    merged = merge(parts, TWO)
    overall, exact = summaries(combine(merged, TWO, lambda frame: 0), KEYED)[0]
    groups = {(m, k): [v for m2, k2, v in rows if (m2, k2) == (m, k)] for m, k, _ in rows}
    all_exact = all(len(set(v)) <= TWO.cap for v in groups.values())
    assert exact == all_exact
    _check(overall, exact, [v for _, _, v in rows], TWO.alpha)
    by_method = summaries(combine(merged, TWO, lambda frame: frame["method"]), KEYED)
    for method, (stats, exact) in by_method.items():
        values = [v for m, _, v in rows if m == method]
        member_exact = all(len(set(v)) <= TWO.cap for (m, _), v in groups.items() if m == method)
        assert exact == member_exact
        _check(stats, exact, values, TWO.alpha)


def test_bucket_representatives_are_within_alpha_and_fixed_points() -> None:
    rng = np.random.default_rng(1)
    values = np.exp(rng.uniform(-7, 20, 10_000))
    for alpha in (0.001, 0.01, 0.02):
        reps = bucket(values, alpha)
        assert np.all(np.abs(reps - values) <= alpha * values * (1 + 1e-9))
        assert np.allclose(bucket(reps, alpha), reps, rtol=1e-12)
    assert bucket(np.array([0.0]), 0.01).tolist() == [0.0]


def test_a_sketched_group_stays_small() -> None:
    rng = np.random.default_rng(2)
    values = np.round(rng.lognormal(3, 1, 200_000), 3)  # microsecond resolution, ~all distinct
    spec = Spec(("group",), cap=1000, alpha=0.01)
    dist = _partition([("g", float(v)) for v in values], spec)
    assert not dist.exact
    decades = np.log10(values.max() / values[values > 0].min())
    assert len(dist.values) <= decades * np.log(10) / np.log(spec.gamma) + 2
    stats, exact = summaries(dist, spec)["g"]
    assert not exact
    _check(stats, False, values.tolist(), spec.alpha)


def test_exact_rows_merged_into_a_sketched_group_are_bucketed() -> None:
    rng = np.random.default_rng(3)
    spec = Spec(("group",), cap=50, alpha=0.01)
    many = np.round(rng.lognormal(3, 1, 5_000), 3)  # over the cap: sketched
    few = np.round(rng.lognormal(3, 1, 40), 3)  # under the cap: exact on its own
    sketched = _partition([("g", float(v)) for v in many], spec)
    exact = _partition([("g", float(v)) for v in few], spec)
    assert not sketched.exact and exact.exact
    for parts in ([sketched, exact], [exact, sketched]):
        merged = merge(parts, spec)
        values = merged.values["latency_ms"].to_numpy()
        # every value is a bucket representative: the exact side was bucketed, not kept raw
        assert np.allclose(bucket(values, spec.alpha), values, rtol=1e-12)
        stats, is_exact = summaries(merged, spec)["g"]
        assert not is_exact
        _check(stats, False, [*many.tolist(), *few.tolist()], spec.alpha)


def test_large_groups_are_counted_like_pandas() -> None:
    # groups above the own-pass threshold (4,096 entries) and small ones side by side, repeats
    rng = np.random.default_rng(5)
    gid = np.concatenate([np.zeros(9_000, np.int64), np.full(30, 1), np.full(6_000, 2)])
    latency = np.round(rng.lognormal(2, 1, len(gid)), 1)
    order = rng.permutation(len(gid))
    gid, latency = gid[order], latency[order]
    keys = pd.DataFrame({"group": ["a", "b", "c"]})
    dist = from_codes(keys, gid, latency, Spec(("group",), cap=100_000, alpha=0.01))
    got = dist.values.groupby(["group", "latency_ms"])["count"].sum().sort_index()
    frame = pd.DataFrame({"group": keys["group"].to_numpy()[gid], "latency_ms": latency})
    expected = frame.groupby(["group", "latency_ms"]).size().sort_index()
    assert len(dist.count) == len(expected)  # one entry per distinct (group, value)
    assert got.to_dict() == expected.to_dict()


def test_pickled_distributions_are_narrow_and_come_back_int64() -> None:
    gid = np.repeat(np.arange(3), 20_000)
    latency = np.arange(60_000, dtype=np.float64) / 1000
    keys = pd.DataFrame({"group": ["a", "b", "c"]})
    dist = from_codes(keys, gid, latency, Spec(("group",), cap=100_000, alpha=0.01))
    data = pickle.dumps(dist)
    assert len(data) < 60_000 * 11  # value 8 bytes, group and count 1 byte each (+ the groups)
    back = pickle.loads(data)
    assert back.gid.dtype == np.int64 and back.count.dtype == np.int64
    assert np.array_equal(back.gid, dist.gid) and np.array_equal(back.count, dist.count)
    assert np.array_equal(back.value, dist.value)
    assert back.groups.equals(dist.groups)


def test_groups_sketched_together_keep_their_own_moments() -> None:
    # several groups over the cap in one step: each keeps its own count, mean, min, max and std
    rng = np.random.default_rng(9)
    spec = Spec(("group",), cap=50, alpha=0.01)
    names = ["a", "b", "c", "d"]
    values = {name: rng.lognormal(i, 0.5, 200 + 100 * i) for i, name in enumerate(names)}
    gid = np.concatenate([np.full(len(values[name]), i) for i, name in enumerate(names)])
    latency = np.concatenate([values[name] for name in names])
    order = rng.permutation(len(gid))
    dist = from_codes(pd.DataFrame({"group": names}), gid[order], latency[order], spec)
    got = summaries(dist, spec)
    for name in names:
        stats, exact = got[name]
        assert not exact
        data = values[name]
        assert stats["count"] == len(data)
        assert stats["mean"] == pytest.approx(float(np.mean(data)), rel=1e-12)
        assert stats["min"] == float(data.min()) and stats["max"] == float(data.max())
        assert stats["std"] == pytest.approx(float(np.std(data, ddof=1)), rel=1e-9)
