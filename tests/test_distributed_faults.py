"""Faults in the middle of a distributed run: the CLI ends with one line and the right exit code,
never hangs, and prints none of distributed's tracebacks (without --verbose). Also a
``--scheduler`` that is no Dask scheduler, and Ctrl-C sent by a terminal to the whole process
group."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
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

CLI = (sys.executable, str(REPO_ROOT / "cli.py"))

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


@contextlib.contextmanager
def _silent_server() -> Iterator[str]:
    """A 127.0.0.1 port that accepts connections (the kernel completes them) and never speaks."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"tcp://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def _http_server() -> Iterator[str]:
    """An HTTP server on a 127.0.0.1 port (``python3 -m http.server``), in a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.subprocess
@pytest.mark.parametrize("server", ["silent", "http"])
def test_a_port_that_is_no_scheduler_fails_after_the_connect_timeout(server: str) -> None:
    """distributed.Client's handshake waited forever for such a port; the HTTP server is given
    through DASK_SCHEDULER_ADDRESS."""
    serve = _silent_server if server == "silent" else _http_server
    with serve() as address:
        option = ["--scheduler", address] if server == "silent" else []
        done = subprocess.run(
            [*CLI, "prime", "--range", "0:100", *option, "--connect-timeout", "2"],
            cwd="/",
            capture_output=True,
            text=True,
            env={**os.environ, "DASK_SCHEDULER_ADDRESS": address},
            timeout=60,
        )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"Error: no Dask scheduler answered at {address} within 2 s: the port accepts "
        "connections but does not speak Dask's protocol\n"
    )


@pytest.mark.subprocess
@pytest.mark.parametrize(("phase", "code"), [("start", 130), ("run", 130), ("keep-alive", 0)])
def test_ctrl_c_to_the_process_group_is_one_line(
    long_job: list[str], phase: str, code: int
) -> None:
    """A terminal sends Ctrl-C to every process of the group, the local cluster's workers
    included: while they start, while they compute, and after a --keep-alive report (which
    keeps the run's own exit code)."""
    tag = uuid.uuid4().hex
    job = ["prime", "--range", "0:1000", "--keep-alive"] if phase == "keep-alive" else long_job
    process = subprocess.Popen(
        [*CLI, *job, "--mode", "distributed", "--worker", "2", "--dashboard-address", ":0"],
        cwd="/",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINI_ORCH_TEST_TAG": tag},
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    assert process.stderr is not None
    stderr = LineReader(process.stderr)
    try:
        if phase == "start":  # the worker processes exist and are still importing
            workers = lambda: len(psutil.Process(process.pid).children()) >= 3  # noqa: E731
            assert wait_until(workers, timeout=60, interval=0.02)
        elif phase == "run":
            stderr.wait_for(r"^INFO prime: 1 range\(s\)", timeout=120)
            time.sleep(1.0)  # the segment tasks are running on the workers
        else:
            stderr.wait_for(r"^INFO cluster kept alive", timeout=120)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == code
    finally:
        if process.poll() is None:
            kill_tree(psutil.Process(process.pid))
    lines = [line.rstrip("\n") for line in stderr.all_lines(timeout=10)]
    ours = [line for line in lines if not line.startswith("INFO ")]
    assert ours == ([] if phase == "keep-alive" else ["Aborted."]), lines
    assert wait_until(lambda: not processes_tagged(tag), timeout=20), processes_tagged(tag)
