"""Graphs of plain calls: chains run inline without Dask, anything else goes through Dask.

The oracle for results is the same graph computed by Dask (``to_delayed`` then
:func:`pipeline.engine.execution.compute`); for which path ran, the engine's ``compute`` is
replaced by one that records its calls.
"""

from __future__ import annotations

import operator
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.engine import execution
from pipeline.engine.calls import Call, call, is_chain, ordered, run_inline, to_delayed
from pipeline.engine.settings import ExecutionSettings
from tests.conftest import REPO_ROOT


def _pid(_: int) -> int:
    return os.getpid()


@pytest.fixture
def dask_computes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of collections each call of the engine's Dask ``compute`` received."""
    seen: list[int] = []
    original = execution.compute

    def recording(*collections: Any, settings: ExecutionSettings, **kwargs: Any) -> Any:
        seen.append(len(collections))
        return original(*collections, settings=settings, **kwargs)

    monkeypatch.setattr(execution, "compute", recording)
    yield seen


def _chain() -> Call:
    leaf = call(operator.mul, 6, 7, name="leaf")
    return call(operator.add, leaf, 1, name="root")


def _fan() -> Call:
    left = call(operator.mul, 6, 7, name="left")
    right = call(operator.mul, 2, 3, name="right")
    return call(operator.add, left, right, name="root")


def test_ordered_lists_each_call_once_after_its_dependencies() -> None:
    shared = call(operator.neg, 5, name="shared")
    a = call(operator.add, shared, 1, name="a")
    b = call(operator.add, shared, a, name="b")
    order = ordered([b, a])
    assert [c.name for c in order] == ["shared", "a", "b"]


def test_is_chain_needs_every_call_to_depend_on_the_one_before() -> None:
    assert is_chain([call(operator.neg, 1, name="one")])
    assert is_chain([_chain()])
    assert not is_chain([_fan()])  # left and right could run at once
    two_roots = [call(operator.neg, 1, name="a"), call(operator.neg, 2, name="b")]
    assert not is_chain(two_roots)


def test_run_inline_computes_what_dask_computes() -> None:
    sync = ExecutionSettings(mode="sync")
    for graph in (_chain(), _fan()):
        assert run_inline([graph]) == execution.compute(*to_delayed([graph]), settings=sync)
    assert run_inline([_chain(), _fan()]) == (43, 48)


def test_keys_follow_the_inputs() -> None:
    (first,) = to_delayed([_chain()])
    (again,) = to_delayed([_chain()])
    (other,) = to_delayed(
        [call(operator.add, call(operator.mul, 6, 8, name="leaf"), 1, name="root")]
    )
    assert first.key == again.key and first.key.startswith("root-")
    assert other.key != first.key  # a different leaf changes its dependant's key too


@pytest.mark.parametrize("mode", ["threading", "process", "sync"])
def test_a_chain_runs_inline_in_every_local_mode(mode: str, dask_computes: list[int]) -> None:
    settings = ExecutionSettings(mode=mode, workers=2)
    root = call(operator.add, call(_pid, 0, name="pid"), 0, name="root")
    assert execution.compute_calls(root, settings=settings) == (os.getpid(),)
    assert dask_computes == []


@pytest.mark.subprocess
def test_a_graph_with_parallel_tasks_goes_through_dask(dask_computes: list[int]) -> None:
    settings = ExecutionSettings(mode="process", workers=2)
    pids = [call(_pid, i, name="pid") for i in range(4)]
    root = call(_distinct, *pids, name="distinct")
    (found,) = execution.compute_calls(root, settings=settings)
    assert dask_computes == [1]
    assert os.getpid() not in found  # the processes scheduler ran the tasks


def _distinct(*values: int) -> set[int]:
    return set(values)


def test_a_profile_sends_even_a_chain_through_dask(dask_computes: list[int]) -> None:
    settings = ExecutionSettings(mode="threading", workers=2, profile="run.html")
    assert execution.compute_calls(_chain(), settings=settings) == (43,)
    assert dask_computes == [1]


def test_distributed_never_runs_inline() -> None:
    assert execution.runs_inline(ExecutionSettings(mode="threading"))
    assert not execution.runs_inline(ExecutionSettings(mode="distributed"))
    assert not execution.runs_inline(ExecutionSettings(mode="sync", profile="p.html"))


def test_a_single_item_of_compute_ordered_starts_no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for one item")

    monkeypatch.setattr(execution, "_process_pool", no_pool)
    settings = ExecutionSettings(mode="process", workers=2)
    assert list(execution.compute_ordered(_pid, [0], settings=settings)) == [os.getpid()]


NO_DASK = """
import sys
from pipeline.engine.calls import call
from pipeline.engine.execution import compute_calls
from pipeline.engine.settings import ExecutionSettings
root = call(pow, call(pow, 2, 3, name="inner"), 2, name="outer")
print(compute_calls(root, settings=ExecutionSettings(mode="process", workers=2)))
print(sorted({m.split(".")[0] for m in sys.modules} & {"dask", "distributed"}))
"""


@pytest.mark.subprocess
def test_a_chain_imports_no_dask() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_DASK],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split("\n")[:2] == ["(64,)", "[]"]
