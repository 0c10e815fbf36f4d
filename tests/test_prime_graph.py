"""The plan and the graph: linear structure, identical ranges once, a task cap, unique keys."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import dask
import pytest

from pipeline import ExecutionSettings, prime_graph, run_prime
from pipeline.prime.graph import build_graph, plan, reduce_pieces
from pipeline.prime.options import PrimeOptions
from pipeline.prime.ranges import PrimeRange, parse_ranges
from pipeline.prime.sieve.summary import Summary
from pipeline.prime.tuning import MAX_TASKS, SEGMENT_TREE_SPAN
from tests.test_prime_kernel import reference_primes, reference_summary

SYNC = ExecutionSettings(mode="sync")


def disjoint(count: int, width: int = 10, base: int = 0) -> list[PrimeRange]:
    return [PrimeRange(base + 1000 * i, base + 1000 * i + width) for i in range(count)]


@pytest.mark.parametrize("count", [1000, 2000, 4000])
def test_structure_grows_linearly_with_disjoint_ranges(count: int) -> None:
    job_plan = plan(disjoint(count), 2**28, bridge=False)
    assert job_plan.pieces == count  # one piece per range
    assert job_plan.spans == tuple((i, i + 1) for i in range(count))
    # high up, the gaps are cheaper to sieve than starting new windows
    bridged = plan(disjoint(count, base=10**9), 2**28)
    assert bridged.pieces == 2 * count - 1 and bridged.outside == tuple(range(1, 2 * count - 1, 2))
    assert sum(len(task) for task in bridged.tasks) == 1
    # tasks group many small windows: about cost / segment size of them, not one per range
    assert len(job_plan.tasks) <= job_plan.cost // job_plan.segment_size + 1
    graph = dict(build_graph(job_plan).__dask_graph__())
    assert len(graph) == len(job_plan.tasks) + 1


def test_identical_ranges_are_sieved_once() -> None:
    ranges = [PrimeRange(0, 10**6)] * 10_000
    job_plan = plan(ranges, 2**28)
    assert len(job_plan.tasks) == 1 and job_plan.pieces == 1
    assert set(job_plan.spans) == {(0, 1)}
    assert len(dict(build_graph(job_plan).__dask_graph__())) == 2


def _counted(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[None]:
    """Wrap ``owner.name`` so each call appends to the returned list (its length counts calls)."""
    calls: list[None] = []
    real = getattr(owner, name)

    def counting(*args: Any) -> Any:
        calls.append(None)
        return real(*args)

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_identical_ranges_are_reduced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 copies of a range cost the merges of one copy: one reduction per distinct span."""
    from pipeline.prime import graph

    merges = _counted(monkeypatch, graph, "merge")
    bounds = [(0, 100), (100, 200), (200, 300), (300, 400)]
    pieces = tuple(Summary.of(lo, hi, reference_primes(lo, hi)) for lo, hi in bounds)
    reduce_pieces([(0, 4), (1, 3)], (), pieces)
    one_copy = len(merges)
    merges.clear()
    per_range, union = reduce_pieces([(0, 4), (1, 3)] * 10_000, (), pieces)
    assert len(merges) == one_copy == 3 + 1 + 3  # two spans, then the union
    assert len({id(s) for s in per_range}) == 2  # one object per distinct span
    whole, middle = reference_primes(0, 400), reference_primes(100, 300)
    assert [s.count for s in per_range[:4]] == [len(whole), len(middle)] * 2
    assert union.count == len(whole) and union.head == tuple(whole[:20])


def test_identical_ranges_share_one_result_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each distinct range (bounds and name) becomes one RangeStats, listed once per copy."""
    from pipeline.prime.report.result import RangeStats

    made = _counted(monkeypatch, RangeStats, "from_summary")
    ranges: list[object] = [[0, 5000]] * 3000 + [{"start": 0, "end": 5000, "name": "n"}, [7, 9]]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ranges))
    result = run_prime(str(path), SYNC, PrimeOptions(segment_size=1000))
    assert len(made) == 3
    assert len(result.ranges) == 3002 and len({id(r) for r in result.ranges}) == 3
    expected = len(reference_primes(0, 5001))
    assert [r.count for r in result.ranges] == [expected] * 3001 + [len(reference_primes(7, 10))]
    assert [r.name for r in result.ranges[-3:]] == [None, "n", None]
    entries = result.to_dict()["ranges"]
    assert len(entries) == 3002 and entries[0] == entries[2999]
    assert entries[2999]["count"] == expected


def test_segment_size_grows_to_cap_the_number_of_tasks() -> None:
    job_plan = plan([PrimeRange(0, 10**15)], 30)
    assert len(job_plan.tasks) <= MAX_TASKS
    assert job_plan.segment_size > 10**15 // MAX_TASKS
    many = plan(disjoint(50_000, width=500), 30, bridge=False)
    assert len(many.tasks) <= MAX_TASKS
    assert many.pieces == 50_000


def test_too_many_ranges_are_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import InputError
    from pipeline.prime import graph

    monkeypatch.setattr(graph, "MAX_RANGES", 100)
    with pytest.raises(InputError, match="101 ranges exceed the supported 100"):
        plan(disjoint(101), 2**28)


def test_reduction_with_long_and_short_spans_matches_reference(tmp_path: Path) -> None:
    """A range spanning more than SEGMENT_TREE_SPAN pieces goes through the segment tree."""
    rng = random.Random(7)
    small = [[a, a + rng.randrange(0, 50)] for a in sorted(rng.sample(range(0, 20_000), 150))]
    ranges = [[0, 20_000], *small, [5000, 5000], [19_990, 20_050]]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ranges))
    job_plan = plan(parse_ranges(path.read_text()), 1000)
    assert max(b - a for a, b in job_plan.spans) > SEGMENT_TREE_SPAN
    result = run_prime(str(path), SYNC, PrimeOptions(segment_size=1000))
    for (a, b), stats in zip(ranges, result.ranges, strict=True):
        ref = reference_summary(a, b + 1, reference_primes(a, b + 1))
        assert (stats.count, stats.smallest, stats.largest) == (ref.count, ref.first, ref.last)
        assert (stats.twin_pairs, stats.max_gap or 0, stats.gap_after) == (
            ref.twin_pairs,
            ref.max_gap,
            ref.gap_after,
        )
    assert result.total_primes == len(reference_primes(0, 20_051))


def test_reduce_pieces_of_empty_and_single_pieces() -> None:
    pieces = (Summary.of(0, 10, [2, 3, 5, 7]), Summary(10, 11), Summary.of(11, 12, [11]))
    per_range, union = reduce_pieces(((0, 1), (1, 2), (0, 3)), (), pieces)
    assert [s.count for s in per_range] == [4, 0, 5]
    assert union.count == 5 and union.max_gap == 4 and union.gap_after == 7


@pytest.mark.parametrize("base", [10**9, 10**12])
def test_bridged_gaps_never_count(tmp_path: Path, base: int) -> None:
    """Ranges close together share a window; the primes of the gaps count nowhere."""
    rng = random.Random(base)
    ranges = [[base + a, base + a + rng.randrange(0, 40)] for a in range(0, 6000, 300)]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ranges))
    job_plan = plan(parse_ranges(path.read_text()), 2**28)
    assert job_plan.outside and sum(len(task) for task in job_plan.tasks) == 1
    result = run_prime(str(path), SYNC)
    expected = [reference_primes(a, b + 1) for a, b in ranges]
    assert [r.count for r in result.ranges] == [len(e) for e in expected]
    union = [p for e in expected for p in e]
    assert result.total_primes == len(union) and result.first_primes == tuple(union[:20])
    assert result.twin_pairs == sum(1 for p, q in itertools.pairwise(union) if q - p == 2)


def test_keys_carry_a_token_of_their_inputs() -> None:
    a = build_graph(plan(parse_ranges("[[0, 2000]]"), 1000))
    b = build_graph(plan(parse_ranges("[[0, 1000]]"), 1000))
    keys_a, keys_b = set(dict(a.__dask_graph__())), set(dict(b.__dask_graph__()))
    assert a.key != b.key
    assert not {k for k in keys_a & keys_b if str(k).startswith("prime-reduce")}
    again = build_graph(plan(parse_ranges("[[0, 2000]]"), 1000))
    assert again.key == a.key  # same input, same key: a shared client computes it once


def test_shared_distributed_client_runs_two_different_jobs(tmp_path: Path) -> None:
    """Persisting one job's graph must not make another job read its results."""
    distributed = pytest.importorskip("distributed")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("[[0, 1000]]")
    second.write_text("[[0, 2000]]")
    with distributed.Client(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as client:
        graph = prime_graph(str(first), segment_size=1000)
        persisted = client.persist(graph.result)
        result = run_prime(str(second), ExecutionSettings(), PrimeOptions(segment_size=1000))
        assert result.mode == "distributed"
        assert result.total_primes == 303
        ((_, total),) = dask.compute(persisted)
        assert total.count == 168
        out = tmp_path / "primes.txt"  # --primes-out streams through the same client
        streamed = run_prime(
            str(second), ExecutionSettings(), PrimeOptions(segment_size=300, primes_out=str(out))
        )
        assert [int(p) for p in out.read_text().split()] == reference_primes(0, 2001)
        assert streamed.total_primes == 303 and streamed.segments > 3
