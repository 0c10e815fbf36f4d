"""run_prime end to end: union semantics, modes, segment sizes, --primes-out, the JSON schema."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import pipeline.prime.job as prime_job
from pipeline import ExecutionSettings, run_prime
from pipeline.errors import InputError
from pipeline.prime.graph import build_graph, plan
from pipeline.prime.options import PrimeOptions
from pipeline.prime.ranges import PrimeRange, load_ranges, parse_ranges
from pipeline.prime.report.result import RangeStats
from pipeline.prime.report.text import render_prime
from pipeline.prime.sieve.summary import Summary
from tests.test_prime_kernel import reference_primes, reference_summary

SYNC = ExecutionSettings(mode="sync")


def write(tmp_path: Path, ranges: object) -> str:
    path = tmp_path / "ranges.json"
    path.write_text(json.dumps(ranges), encoding="utf-8")
    return str(path)


def union_reference(ranges: list[list[int]]) -> list[int]:
    numbers = sorted({n for a, b in ranges for n in range(a, b + 1)})
    flags = set(reference_primes(0, max(numbers) + 1))
    return [n for n in numbers if n in flags]


RANGES = [[0, 100], [90, 1000], [90, 1000], [5, 5], [7, 7], [3000, 3001], [2000, 2999], [29, 31]]


@pytest.mark.parametrize("segment_size", [30, 97, 1000, 2**27])
def test_ranges_and_union_match_reference(tmp_path: Path, segment_size: int) -> None:
    result = run_prime(write(tmp_path, RANGES), SYNC, PrimeOptions(segment_size=segment_size))
    for (a, b), stats in zip(RANGES, result.ranges, strict=True):
        ref = reference_summary(a, b + 1, reference_primes(a, b + 1))
        assert (stats.count, stats.smallest, stats.largest) == (ref.count, ref.first, ref.last)
        assert stats.twin_pairs == ref.twin_pairs
        expected_gap = (ref.max_gap, ref.gap_after) if ref.count >= 2 else (None, None)
        assert (stats.max_gap, stats.gap_after) == expected_gap
    union = union_reference(RANGES)
    assert result.total_primes == len(union)
    assert result.first_primes == tuple(union[:20])
    assert (result.smallest, result.largest) == (union[0], union[-1])
    twins = sum(1 for p in union if p + 2 in set(union))
    assert result.twin_pairs == twins


def test_twin_pair_split_between_two_ranges(tmp_path: Path) -> None:
    result = run_prime(write(tmp_path, [[5, 5], [7, 7], [11, 11]]), SYNC)
    assert [r.twin_pairs for r in result.ranges] == [0, 0, 0]
    assert result.twin_pairs == 1  # (5, 7); 7 and 11 are not twins
    assert result.total_primes == 3


def test_identical_ranges_count_once(tmp_path: Path) -> None:
    result = run_prime(
        write(tmp_path, [[0, 10**5], [0, 10**5]]), SYNC, PrimeOptions(segment_size=10**4)
    )
    assert [r.count for r in result.ranges] == [9592, 9592]
    assert result.total_primes == 9592
    assert result.density["overall"] == pytest.approx(9592 / 100_001)


def test_one_segment_plus_one(tmp_path: Path) -> None:
    result = run_prime(write(tmp_path, [[0, 1000]]), SYNC, PrimeOptions(segment_size=1000))
    assert result.segments == 2
    assert result.ranges[0].count == 168


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "settings",
    [
        ExecutionSettings(mode="sync"),
        ExecutionSettings(mode="threading", workers=2),
        ExecutionSettings(mode="threading", workers=3),
        ExecutionSettings(mode="process", workers=2),
    ],
    ids=["sync", "threading-2", "threading-3", "process-2"],
)
def test_same_answers_in_every_mode(tmp_path: Path, settings: ExecutionSettings) -> None:
    ranges = [[0, 2_000_000], [1_500_000, 3_000_000], [10**12, 10**12 + 10**5]]
    expected = run_prime(
        write(tmp_path, ranges), SYNC, PrimeOptions(segment_size=300_000)
    ).to_dict()
    got = run_prime(write(tmp_path, ranges), settings, PrimeOptions(segment_size=300_000)).to_dict()
    expected_execution = expected.pop("execution")
    execution = got.pop("execution")
    assert got == expected
    assert execution["mode"] == settings.mode
    assert execution["segments"] == expected_execution["segments"]


def test_json_schema(tmp_path: Path) -> None:
    path = write(tmp_path, {"ranges": [{"start": 1e2, "end": 2e2, "name": "a"}, [13, 13], [8, 10]]})
    doc = json.loads(json.dumps(run_prime(path, SYNC).to_dict()))
    assert set(doc) == {
        "feature", "ranges", "total_primes", "smallest", "largest", "first_primes",
        "density", "twin_pairs", "execution",
    }  # fmt: skip
    first = doc["ranges"][0]
    assert first == {
        "name": "a", "start": 100, "end": 200, "count": 21, "density": 21 / 101,
        "smallest": 101, "largest": 199, "twin_pairs": 7, "max_gap": {"gap": 14, "after": 113},
    }  # fmt: skip
    assert isinstance(first["start"], int)
    assert doc["ranges"][1]["max_gap"] is None and doc["ranges"][1]["count"] == 1
    assert doc["ranges"][2] == {
        "name": None, "start": 8, "end": 10, "count": 0, "density": 0.0, "smallest": None,
        "largest": None, "twin_pairs": 0, "max_gap": None,
    }  # fmt: skip
    assert set(doc["density"]) == {"overall", "min", "max", "mean"}
    assert set(doc["execution"]) == {"mode", "workers", "elapsed_s", "segments"}
    assert doc["feature"] == "prime" and doc["total_primes"] == 22


def test_primes_out_streams_the_union(tmp_path: Path) -> None:
    out = tmp_path / "primes.txt"
    ranges = [[0, 5000], [4000, 9000], [20000, 20100]]
    result = run_prime(
        write(tmp_path, ranges), SYNC, PrimeOptions(segment_size=1000, primes_out=str(out))
    )
    lines = [int(line) for line in out.read_text().splitlines()]
    assert lines == union_reference(ranges)
    assert result.total_primes == len(lines)


def test_bad_options(tmp_path: Path) -> None:
    path = write(tmp_path, [[0, 10]])
    with pytest.raises(InputError, match="segment_size must be between 30"):
        run_prime(path, SYNC, PrimeOptions(segment_size=10))
    with pytest.raises(InputError, match="cannot write primes to"):
        run_prime(path, SYNC, PrimeOptions(primes_out=str(tmp_path / "missing-dir" / "p.txt")))


def test_graph_shape() -> None:
    ranges = parse_ranges("[[0, 999], [500, 1999]]")
    job_plan = plan(ranges, 300)
    graph = dict(build_graph(job_plan).__dask_graph__())
    keys = [str(k) for k in graph]
    assert sum(k.startswith("prime-sieve-") for k in keys) == len(job_plan.tasks)
    assert sum(k.startswith("prime-reduce-") for k in keys) == 1
    windows = [w for task in job_plan.tasks for w in task]
    assert [(lo, hi, cuts) for lo, hi, cuts in windows] == [
        (0, 300, ()), (300, 600, (500,)), (600, 900, ()), (900, 1200, (1000,)),
        (1200, 1500, ()), (1500, 1800, ()), (1800, 2000, ()),
    ]  # fmt: skip
    assert job_plan.spans == ((0, 5), (2, 9))


def test_elapsed_covers_reading_ranges_and_building_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fake clock: reading the ranges file (10 s) and each range's statistics (1 s each)
    are in ``elapsed_s``, not only the sieve (issue 22)."""
    now = [1000.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    read, summarise = load_ranges, RangeStats.from_summary

    def slow_read(path: str) -> Any:
        now[0] += 10.0
        return read(path)

    def slow_summary(cls: type[RangeStats], r: PrimeRange, s: Summary) -> RangeStats:
        now[0] += 1.0
        return summarise(r, s)

    monkeypatch.setattr(prime_job, "load_ranges", slow_read)
    monkeypatch.setattr(RangeStats, "from_summary", classmethod(slow_summary))
    result = run_prime(write(tmp_path, [[0, 100], [50, 200], [7, 9]]), SYNC)
    assert result.elapsed_s == 13.0
    assert result.to_dict()["execution"]["elapsed_s"] == 13.0
    assert "computed in 13.000 s, mode sync, 1 worker" in render_prime(result)


@pytest.mark.parametrize(
    ("ranges", "tuplets"),
    [
        ([PrimeRange(0, 100)], False),  # the plain sieve
        ([PrimeRange(0, 10**7), PrimeRange(10, 20)], True),  # the compiled kernel, one task
        ([PrimeRange(10**12, 10**12 + 10**6)], True),
    ],
    ids=["trivial", "one-task-kernel", "high"],
)
def test_a_one_task_plan_gives_the_same_results_inline_and_through_dask(
    ranges: list[PrimeRange], tuplets: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.engine import execution
    from pipeline.prime.graph import graph_calls

    job_plan = plan(ranges, 2**28, tuplets=tuplets)
    assert len(job_plan.tasks) == 1
    threads = ExecutionSettings(mode="threading", workers=2)
    through_dask = execution.compute(build_graph(job_plan), settings=threads)
    monkeypatch.setattr(execution, "compute", None)  # the inline path must not call it
    inline = execution.compute_calls(graph_calls(job_plan), settings=threads)
    assert inline == through_dask
    ((per_range, union),) = inline
    first, last = min(r.start for r in ranges), max(r.end for r in ranges)  # one interval here
    assert union.count == len(reference_primes(first, last + 1))
    assert [s.count for s in per_range] == [
        len(reference_primes(r.start, r.end + 1)) for r in ranges
    ]
