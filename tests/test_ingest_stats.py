"""pipeline.ingest.aggregate.partial: exact statistics from value counts, and merging partials."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.aggregate.latency import latency_summary
from pipeline.ingest.aggregate.partial import Partial, aggregate_partition, merge_partials
from pipeline.ingest.parsing.parse import parse_text
from tests.conftest import examples
from tests.test_ingest_reference import ref_stats

_values = st.lists(
    st.one_of(
        st.integers(0, 50).map(float),
        st.floats(0, 1e6, allow_nan=False),
        st.sampled_from([0.1, 0.2, 0.3, 12.5]),
    ),
    max_size=60,
)


@settings(max_examples=examples(300), deadline=None)
@given(_values)
def test_summary_equals_numpy_on_expanded_data(data: list[float]) -> None:
    values, counts = np.unique(np.array(data, dtype=np.float64), return_counts=True)
    got = latency_summary(values, counts)
    want = ref_stats(data)
    for key in ("count", "median", "min", "max", "p90", "p95", "p99"):
        assert got[key] == want[key], key  # exact, operation for operation
    for key in ("mean", "std"):
        if want[key] is None:
            assert got[key] is None
        else:
            assert np.isclose(got[key], want[key], rtol=1e-9, atol=1e-9), key


def test_summary_empty_and_single() -> None:
    empty = latency_summary(np.array([]), np.array([], dtype=np.int64))
    assert empty["count"] == 0
    assert all(value is None for key, value in empty.items() if key != "count")
    single = latency_summary(np.array([3.5]), np.array([1]))
    assert (single["median"], single["p99"], single["std"]) == (3.5, 3.5, None)


_line = st.sampled_from(
    [
        "[GET] /a?x=1, status=200, time=5ms user-agent=curl/8",
        "[POST] /b, status=500, time=12.5ms user-agent=",
        "[GET] ?q, status=302, time=5ms user-agent=Mozilla/5.0",
        "[PUT] /a, status=404, time=0.25ms user-agent=curl/8",
        "broken line",
        "",
    ]
)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(_line, max_size=30), st.lists(st.integers(0, 30), max_size=4))
def test_merge_is_independent_of_partitioning(lines: list[str], cuts: list[int]) -> None:
    # partitions end at a line break, as blocks do; their samples' line numbers are shifted
    whole = aggregate_partition(parse_text("".join(f"{x}\n" for x in lines)), "f")
    bounds = [0, *sorted(min(c, len(lines)) for c in cuts), len(lines)]
    parts = [
        aggregate_partition(parse_text("".join(f"{x}\n" for x in lines[a:b])), "f")
        for a, b in itertools.pairwise(bounds)
    ]
    merged = merge_partials(parts)
    assert (merged.parsed, merged.malformed) == (whole.parsed, whole.malformed)
    assert merged.malformed_samples == whole.malformed_samples
    for name in _TABLES:
        assert _normal(merged, name) == _normal(whole, name), name


_TABLES = ("requests", "latency", "path_latency", "paths", "error_paths", "agents", "timeline")


def _normal(partial: Partial, name: str) -> list[tuple[object, ...]]:
    """A table of a partial as sorted rows, whatever its type and row order."""
    table = getattr(partial, name)
    if isinstance(table, pd.Series):
        summed = table.groupby(level=list(range(table.index.nlevels))).sum()
        return sorted((*((k,) if not isinstance(k, tuple) else k), v) for k, v in summed.items())
    frame = table.values if hasattr(table, "moments") else table.table.reset_index()
    return sorted(tuple(row) for row in frame.itertuples(index=False))


def test_merging_no_partials_is_the_empty_partial() -> None:
    empty = merge_partials([])
    assert (empty.files, empty.parsed, empty.malformed, empty.failed) == (0, 0, 0, [])
    for name in _TABLES:
        assert _normal(empty, name) == [], name
    one = aggregate_partition(parse_text("[GET] /a, status=200, time=5ms user-agent=x\nbad"), "f")
    merged = merge_partials([empty, one])
    assert (merged.parsed, merged.malformed) == (1, 1)
    assert sorted(merged.requests.items()) == sorted(one.requests.items())
