"""The first run: the numpy sieve used while the kernel compiles, and the switch to the kernel.

The oracle is the plain sieve (:mod:`pipeline.prime.sieve.plain`, itself tested against a
bytearray sieve and primesieve); summaries include tuplets, so every field must agree.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.prime import background_compile, graph
from pipeline.prime.sieve import cache_dir, interim, plain, warmup
from tests.conftest import REPO_ROOT, examples


@settings(max_examples=examples(200), deadline=None)
@given(
    lo=st.one_of(st.integers(0, 300), st.integers(0, 10**7), st.integers(10**9, 10**10)),
    width=st.integers(0, 5000),
)
def test_odd_chunk_lists_what_the_plain_sieve_lists(lo: int, width: int) -> None:
    assert interim.odd_chunk(lo, lo + width).tolist() == plain.plain_primes(lo, lo + width).tolist()


@settings(max_examples=examples(100), deadline=None)
@given(
    lo=st.one_of(st.integers(0, 100), st.integers(10**9, 10**9 + 10**6)),
    widths=st.lists(st.integers(1, 3000), min_size=1, max_size=4),
    tuplets=st.booleans(),
)
def test_summaries_across_tiny_chunks_equal_the_plain_ones(
    lo: int, widths: list[int], tuplets: bool
) -> None:
    bounds = [lo]
    for w in widths:
        bounds.append(bounds[-1] + w)
    got = interim.summaries(lo, bounds[-1], bounds[1:-1], tuplets, chunk=64)  # many seams
    expected = plain.summaries(plain.plain_primes(lo, bounds[-1]), bounds, tuplets)
    assert got == expected


WINDOWS: list[graph.Window] = [
    (10**9, 10**9 + 30_000, (10**9 + 10_000,)),
    (10**9 + 40_000, 10**9 + 50_000, ()),
]
HIGH: list[graph.Window] = [
    (2**40, 2**40 + 20_000, (2**40 + 10_000,))
]  # just above INTERIM_MAX_END


def _reference(windows: Sequence[graph.Window], tuplets: bool) -> tuple[object, ...]:
    return tuple(
        s
        for lo, hi, cuts in windows
        for s in plain.summaries(plain.plain_primes(lo, hi), [lo, *cuts, hi], tuplets)
    )


@pytest.mark.parametrize("ready", [False, True], ids=["compiling", "compiled"])
def test_a_first_run_task_gives_the_plain_summaries_before_and_after_the_switch(
    ready: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    original = interim.summaries

    def numpy_sieve(*args: object) -> object:
        used.append("numpy")
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(warmup, "kernel_ready", lambda: ready)
    monkeypatch.setattr(interim, "summaries", numpy_sieve)
    packed = graph.pack_windows(WINDOWS)
    got = graph.sieve_task(packed, True, True, True)
    assert got == _reference(WINDOWS, True)
    assert used == ([] if ready else ["numpy", "numpy"])


def test_a_first_run_task_above_the_numpy_limit_waits_for_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[bool] = []
    monkeypatch.setattr(warmup, "kernel_ready", lambda: False)

    def wait_ready() -> bool:
        waited.append(True)
        return True

    monkeypatch.setattr(warmup, "wait_ready", wait_ready)
    monkeypatch.setattr(interim, "summaries", None)  # must not be called
    got = graph.sieve_task(graph.pack_windows(HIGH), True, False, True)
    assert got == _reference(HIGH, False)
    assert waited == [True]


def test_wait_ready_gives_up_after_its_limit_and_returns_once_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warmup, "_ready", False)
    monkeypatch.setattr(cache_dir, "kernel_cached", lambda source, name: False)
    assert warmup.wait_ready(0.0) is False
    answers = iter([False, False, True])
    monkeypatch.setattr(cache_dir, "kernel_cached", lambda source, name: next(answers))
    assert warmup.wait_ready(10.0) is True
    assert warmup.kernel_ready() is True  # remembered: no third look at the files


def test_the_graph_carries_the_first_run_flag_into_its_keys() -> None:
    from pipeline.prime.ranges import PrimeRange

    job_plan = graph.plan([PrimeRange(0, 10**8)], 2**26)
    first = graph.build_graph(dataclasses.replace(job_plan, interim=True))
    later = graph.build_graph(job_plan)
    assert first.key != later.key


def test_no_background_compile_when_numba_cannot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_dir, "choose_cache_dir", lambda: None)
    assert background_compile.start() is None  # and no process started (conftest counts them)


@pytest.mark.subprocess
def test_the_background_compile_is_a_module_that_fills_the_cache_and_exits() -> None:
    # with the kernel cached (the suite's set-up fills the cache) it loads it and exits 0
    process = background_compile.start()
    assert process is not None
    assert process.wait(timeout=120) == 0
    assert warmup.kernel_ready()
    assert np.array_equal(interim.odd_chunk(0, 30), plain.plain_primes(0, 30))


def test_the_first_run_stops_the_compile_at_exit_and_a_later_one_waits_for_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    registered: list[tuple[object, ...]] = []
    monkeypatch.setattr(atexit, "register", lambda *args: registered.append(args))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: _Sleeper())
    caplog.set_level("INFO", logger="pipeline.prime.background_compile")
    first = background_compile.start()
    assert registered == [(background_compile.finish, first)]  # at exit, after the report
    assert isinstance(first, _Sleeper)
    assert not warmup.stopped_before()
    background_compile.finish(first)
    assert (first.killed, first.waited) == (True, True)  # stopped, and reaped
    assert warmup.stopped_before()  # the mark, in numba's cache directory
    assert (tmp_path / warmup.STOPPED_MARK).is_file()
    later = background_compile.start()
    assert isinstance(later, _Sleeper)
    background_compile.finish(later)
    assert (later.killed, later.waited) == (False, True)  # waited for to the end
    assert [r.message for r in caplog.records] == [
        "prime: the sieve kernel's background compile was stopped at exit; the next run "
        "continues it (what it compiled is cached)",
        "prime: finishing the sieve kernel's compile before exiting (once; Ctrl-C skips it)",
    ]


def test_a_mark_older_than_the_kernel_does_not_count(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    warmup.mark_stopped()
    assert warmup.stopped_before()
    changed = warmup.KERNEL_SOURCE.stat().st_mtime
    os.utime(tmp_path / warmup.STOPPED_MARK, (changed - 10, changed - 10))  # an upgrade since
    assert not warmup.stopped_before()


class _Sleeper:
    """A stand-in for the compile's process: running until waited for or killed."""

    def __init__(self) -> None:
        self.waited = False
        self.killed = False

    def poll(self) -> int | None:
        return 0 if self.waited else None

    def wait(self) -> int:
        self.waited = True
        return 0

    def kill(self) -> None:
        self.killed = True


@pytest.mark.subprocess
def test_a_first_run_exits_without_waiting_for_the_compile(tmp_path: Path) -> None:
    import psutil

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "cli.py", "prime", "--range", "1e9:1.01e9", "--format", "json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout)["total_primes"] == 482_449  # pi(1.01e9) - pi(1e9 - 1)
    assert done.stderr.splitlines()[-1] == (
        "INFO prime: the sieve kernel's background compile was stopped at exit; the next run "
        "continues it (what it compiled is cached)"
    )
    assert (tmp_path / warmup.STOPPED_MARK).is_file()

    def compiling(process: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            return process.environ().get("NUMBA_CACHE_DIR") == str(tmp_path)
        return False

    assert not any(compiling(p) for p in psutil.process_iter())  # nothing outlived the run


@pytest.mark.subprocess
def test_the_background_compile_dies_with_its_parent(tmp_path: Path) -> None:
    import psutil

    # a cold cache, so the compile runs for seconds; the parent exits at once without cleanup
    script = (
        "import os\nfrom pipeline.prime import background_compile\n"
        "process = background_compile.start()\nprint(process.pid, flush=True)\nos._exit(0)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    child = int(out.stdout)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and psutil.pid_exists(child):
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                break
        time.sleep(0.05)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    assert not list(tmp_path.rglob("*.nbi"))  # killed before its compile was cached


def test_the_compile_lowers_its_own_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    niced: list[int] = []
    monkeypatch.setattr(os, "nice", niced.append)
    background_compile.main(None)  # the kernel is cached: it loads and returns
    assert niced == [warmup.COMPILE_NICENESS]
