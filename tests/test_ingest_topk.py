"""Capped counts against a plain dict of true counts: bounds hold, "exact" is never a lie."""

from __future__ import annotations

import random
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.aggregate.topk import capped_counts, merge_capped, top_rows
from tests.conftest import examples

#: Names whose code-point order is easy to get wrong: a trailing NUL, non-ASCII, astral and
#: replacement characters, and a lone surrogate (no UTF-8 form: Arrow cannot sort it).
NAMES = [f"n{i}" for i in range(30)] + ["é", "Z", "a", "a\x00", "\U0001f600", "\ufffd", "\ud800"]


def _partition_counts(names: list[str] | Counter[str]) -> pd.Series:
    counted = Counter(names)
    index = pd.Index(list(counted.keys()), dtype=object)  # as the job builds them
    return pd.Series(list(counted.values()), index=index, dtype="int64")


def _reference_top(true: Counter[str], top: int) -> list[tuple[str, int]]:
    return sorted(true.items(), key=lambda item: (-item[1], item[0]))[:top]


@settings(max_examples=examples(300), deadline=None)
@given(
    data=st.lists(
        st.lists(st.sampled_from(NAMES), max_size=40),
        min_size=1,
        max_size=8,
    ),
    cap=st.integers(1, 12),
    top=st.integers(1, 10),
    seed=st.integers(0, 1000),
)
def test_bounds_hold_and_exact_means_exact(
    data: list[list[str]], cap: int, top: int, seed: int
) -> None:
    true = Counter(name for part in data for name in part)
    parts = [capped_counts(_partition_counts(part), cap) for part in data]
    # merge in a random tree shape, as dask's tree reduction would
    rng = random.Random(seed)
    while len(parts) > 1:
        size = rng.randint(2, min(4, len(parts)))
        start = rng.randint(0, len(parts) - size)
        parts[start : start + size] = [merge_capped(parts[start : start + size], cap)]
    merged = parts[0]
    listed = set(merged.table.index)
    for name, row in merged.table.iterrows():
        assert row["count"] <= true[str(name)] <= row["count"] + row["error"]
    for name, count in true.items():
        if name not in listed:
            assert count <= merged.dropped_max
    rows, exact = top_rows(merged, top)
    if exact:
        assert list(zip(rows.index, rows["count"], strict=True)) == _reference_top(true, top)


def test_exact_in_the_common_case_and_flagged_when_not() -> None:
    heavy = ["/a"] * 50 + ["/b"] * 30
    parts = [
        capped_counts(_partition_counts(heavy + [f"/rare{p}{i}" for i in range(20)]), 5)
        for p in range(4)
    ]
    rows, exact = top_rows(merge_capped(parts, 5), 2)
    assert exact and list(rows.index) == ["/a", "/b"] and list(rows["count"]) == [200, 120]
    # a name dropped from one partition and kept elsewhere: not provably exact
    parts = [
        capped_counts(_partition_counts(["/a"] * 3 + ["/b"] * 2 + ["/c"]), 2),
        capped_counts(_partition_counts(["/c"] * 3), 2),
    ]
    rows, exact = top_rows(merge_capped(parts, 2), 2)
    assert not exact
    assert rows.loc["/c", "error"] == 1


@pytest.mark.parametrize("extra", ["", "\ud800"], ids=["arrow-sort", "python-sort"])
def test_rows_ordered_by_count_then_code_point(extra: str) -> None:
    # a lone surrogate has no UTF-8 form, so that table is sorted by Python instead of Arrow
    counts = {"b": 1, "é": 3, "a": 3, "a\x00": 2, "\U0001f600": 2, "Z": 2, "\ufffd": 1}
    if extra:
        counts[extra] = 2
    table = capped_counts(_partition_counts(Counter(counts)), 100).table
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    assert list(zip(table.index, table["count"], strict=True)) == expected
