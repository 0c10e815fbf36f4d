"""pipeline.engine.memory: the wrapper releases after the task, whatever happens, and does
release; a threading run trims glibc's heap only once it grew."""

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


class _FakeLibc:
    def __init__(self) -> None:
        self.trims = 0

    def malloc_trim(self, pad: int) -> int:
        assert pad == 0
        self.trims += 1
        return 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc only on Linux")
def test_resident_bytes_is_the_kernels_vmrss() -> None:
    with open("/proc/self/status") as handle:
        vmrss_kib = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    resident = memory.resident_bytes()
    assert resident is not None
    assert abs(resident - vmrss_kib * 1024) < 16 * 2**20  # read a moment apart


def test_the_heap_is_trimmed_after_every_task_unless_growth_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    libc = _FakeLibc()
    monkeypatch.setattr(memory, "_glibc", lambda: libc)
    monkeypatch.setattr(memory._Trims, "growth", 0)
    monkeypatch.setattr(memory._Trims, "floor", None)
    monkeypatch.setattr(memory, "resident_bytes", lambda: 100)
    memory.release_memory()
    memory.release_memory()
    assert libc.trims == 2


def test_with_growth_allowed_the_heap_is_trimmed_once_it_grew_that_much(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    libc = _FakeLibc()
    resident = [1000]
    monkeypatch.setattr(memory, "_glibc", lambda: libc)
    monkeypatch.setattr(memory, "HEAP_GROWTH", 50)
    monkeypatch.setattr(memory._Trims, "growth", 0)
    monkeypatch.setattr(memory._Trims, "floor", None)
    monkeypatch.setattr(memory, "resident_bytes", lambda: resident[0])
    memory.allow_heap_growth()
    memory.release_memory()  # the first release trims and sets the floor
    assert (libc.trims, memory._Trims.floor) == (1, 1000)
    resident[0] = 1050
    memory.release_memory()
    assert libc.trims == 1  # grew by the allowance, not more
    resident[0] = 1051
    memory.release_memory()
    assert (libc.trims, memory._Trims.floor) == (2, 1051)


def test_an_unknown_resident_set_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _FakeLibc()
    monkeypatch.setattr(memory, "_glibc", lambda: libc)
    monkeypatch.setattr(memory._Trims, "growth", 10)
    monkeypatch.setattr(memory._Trims, "floor", 5)
    monkeypatch.setattr(memory, "resident_bytes", lambda: None)
    memory.release_memory()
    assert libc.trims == 1


@pytest.mark.subprocess
def test_only_the_process_mode_main_process_fixes_its_heap_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "keep_heap_small", lambda: calls.append("fixed"))
    task = dask.delayed(sum)([1, 2])
    monkeypatch.setattr(memory, "allow_heap_growth", lambda: calls.append("growth"))
    assert compute(task, settings=ExecutionSettings("threading", 2)) == (3,)
    assert calls == ["growth"]  # it runs the tasks: trims when grown; the threshold costs
    assert compute(task, settings=ExecutionSettings("process", 1)) == (3,)
    assert calls == ["growth", "fixed"]  # its workers trim after every task
