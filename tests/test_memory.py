"""pipeline.engine.memory: the wrapper releases after the task, whatever happens, and does
release."""

from __future__ import annotations

import pickle
import sys

import dask
import pytest

from pipeline.engine import memory
from pipeline.engine.execution import compute
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate.partial import merge_task
from pipeline.ingest.read import block_partial


def test_the_wrapped_task_returns_its_result_then_memory_is_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "release_memory", lambda: calls.append("released"))

    @memory.releasing_memory
    def task(value: int) -> int:
        calls.append("ran")
        return value * 2

    assert task(21) == 42
    assert calls == ["ran", "released"]


def test_memory_is_released_when_the_task_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "release_memory", lambda: calls.append("released"))

    @memory.releasing_memory
    def task() -> None:
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        task()
    assert calls == ["released"]


def test_wrapped_task_functions_pickle_by_reference() -> None:
    # the processes scheduler and remote workers ship task functions by name
    for function in (block_partial, merge_task):
        assert pickle.loads(pickle.dumps(function)) is function


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only on Linux")
def test_glibc_is_found_and_a_release_runs() -> None:
    assert memory._glibc() is not None  # else the heap is never trimmed, silently
    memory.release_memory()


@pytest.mark.subprocess
def test_only_the_process_mode_main_process_fixes_its_heap_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "keep_heap_small", lambda: calls.append("fixed"))
    task = dask.delayed(sum)([1, 2])
    assert compute(task, settings=ExecutionSettings("threading", 2)) == (3,)
    assert calls == []  # it runs the tasks: the per-task trims are enough, the threshold costs
    assert compute(task, settings=ExecutionSettings("process", 1)) == (3,)
    assert calls == ["fixed"]
