"""Faults in the middle of a distributed run: the CLI ends with one line and the right exit code,
never hangs, and prints none of distributed's tracebacks (without --verbose)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.cluster_fixtures import (
    ExternalCluster,
    LineReader,
    default_sigint,
    kill_tree,
    processes_tagged,
    start_external_cluster,
    wait_until,
)
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(240)

#: Signs of distributed's internals reaching the user.
NOISE = ("Traceback", "never retrieved", "distributed.", "Exception", "CancelledError")


@pytest.fixture
def lone_worker_cluster(tmp_path: Path, worker_python: Path) -> Iterator[ExternalCluster]:
    """A scheduler with a single worker, for a test that breaks it."""
    with start_external_cluster(worker_python, tmp_path / "cluster", workers=1) as cluster:
        yield cluster


@pytest.fixture
def long_job(tmp_path: Path) -> list[str]:
    """Arguments of a prime run of hundreds of tasks: far longer than the tests wait."""
    ranges = tmp_path / "ranges.json"
    ranges.write_text("[[0, 30000000000]]")
    return ["prime", "--path", str(ranges), "--segment-size", "10000000"]


def _start_cli(*args: str, tag: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "cli.py"), *args],
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINI_ORCH_TEST_TAG": tag or uuid.uuid4().hex},
        preexec_fn=default_sigint,
    )


def _wait_until_tasks_run(address: str) -> None:
    """Return once the scheduler has tasks processing on a worker: the run is under way."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        assert wait_until(lambda: any(client.processing().values()), timeout=120, interval=0.05)


def _finish(process: subprocess.Popen[str], timeout: float) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            kill_tree(psutil.Process(process.pid))
    return process.returncode, stderr


def test_losing_the_only_worker_fails_after_the_connect_timeout(
    lone_worker_cluster: ExternalCluster, long_job: list[str]
) -> None:
    process = _start_cli(
        *long_job, "--scheduler", lone_worker_cluster.address, "--connect-timeout", "3"
    )
    _wait_until_tasks_run(lone_worker_cluster.address)
    killed_at = time.monotonic()  # before the kill: the CLI may notice the loss while we wait
    kill_tree(psutil.Process(lone_worker_cluster.workers[0].pid))
    code, stderr = _finish(process, timeout=90)
    assert code == 2, stderr
    assert stderr.splitlines()[-1] == (
        "Error: the Dask cluster lost all its workers and none joined within 3 s"
    )
    assert "WARNING the Dask cluster has no workers; waiting up to 3 s for one" in stderr
    assert time.monotonic() - killed_at >= 3
    assert not any(word in stderr for word in NOISE), stderr


def test_losing_the_scheduler_is_one_line(
    lone_worker_cluster: ExternalCluster, long_job: list[str]
) -> None:
    address = lone_worker_cluster.address
    process = _start_cli(*long_job, "--scheduler", address, "--connect-timeout", "3")
    _wait_until_tasks_run(address)
    kill_tree(psutil.Process(lone_worker_cluster.scheduler.pid))
    code, stderr = _finish(process, timeout=90)
    assert code == 2, stderr
    assert stderr.splitlines()[-1] == (
        f"Error: lost the connection to the Dask scheduler at {address}; the run was aborted"
    )
    assert not any(word in stderr for word in NOISE), stderr


@pytest.mark.subprocess
def test_ctrl_c_in_distributed_mode_is_quiet_and_leaves_nothing(long_job: list[str]) -> None:
    tag = uuid.uuid4().hex
    process = _start_cli(
        *long_job,
        *("--mode", "distributed", "--worker", "2", "--dashboard-address", "127.0.0.1:0"),
        tag=tag,
    )
    assert process.stderr is not None
    stderr = LineReader(process.stderr)
    stderr.wait_for(r"^INFO prime: 1 range\(s\)", timeout=120)
    time.sleep(1.0)  # the segment tasks are running on the workers
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=60) == 130
    finally:
        if process.poll() is None:
            kill_tree(psutil.Process(process.pid))
    lines = stderr.all_lines(timeout=10)
    assert not any(word in line for line in lines for word in NOISE), lines
    assert wait_until(lambda: not processes_tagged(tag), timeout=20), processes_tagged(tag)
