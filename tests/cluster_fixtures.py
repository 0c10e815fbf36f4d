"""Real dask.distributed processes for the tests, on 127.0.0.1, free of port races.

``external_cluster`` starts ``dask scheduler`` and two ``dask worker`` processes (the CLIs that ship
with distributed) from a separate virtual environment that sees dask, distributed, pandas, numpy
and pyarrow but *not* this project, as a cluster provisioned by someone else would be.

No port is chosen by binding, releasing and reusing it (another process could take it in between):
the scheduler binds port 0 and writes its real address to a scheduler file, dashboards bind port 0,
and an address where nothing listens is a socket we keep bound without listening
(:func:`refused_address`), so connecting to it is refused for as long as the test needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypedDict

import psutil
import pytest


@contextlib.contextmanager
def refused_address() -> Iterator[str]:
    """A ``tcp://127.0.0.1:PORT`` that refuses connections while the block runs: the port is
    bound (so nobody else can take it) but never listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"tcp://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def occupied_port() -> Iterator[int]:
    """A 127.0.0.1 port with a listening socket on it while the block runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port: int = sock.getsockname()[1]
        yield port


def make_worker_env(folder: Path) -> Path:
    """A venv whose site-packages points at ours *without* running our .pth files, so the
    editable install of this project is invisible to it. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "borrowed_packages.pth").write_text(ours + "\n")
    return python


@dataclass
class ExternalCluster:
    address: str
    python: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [self.scheduler, *self.workers]


def _wait_for_workers(address: str, count: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout=timeout, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=timeout)


def _read_address(scheduler_file: Path, process: subprocess.Popen[bytes], timeout: float) -> str:
    """The address the scheduler bound, from the file it writes once it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {process.returncode}")
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            address: str = json.loads(scheduler_file.read_text())["address"]
            return address
        time.sleep(0.05)
    raise TimeoutError(f"dask scheduler wrote no {scheduler_file} within {timeout:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(psutil.NoSuchProcess):
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
            process.kill()
            process.wait()


class _PopenOptions(TypedDict):
    """The keyword arguments the scheduler and worker processes share."""

    cwd: Path
    env: dict[str, str]
    stdout: int
    stderr: int


@contextlib.contextmanager
def start_external_cluster(python: Path, workdir: Path, workers: int) -> Iterator[ExternalCluster]:
    """``dask scheduler`` plus ``workers`` single-threaded ``dask worker`` processes."""
    workdir.mkdir(parents=True, exist_ok=True)
    scheduler_file = workdir / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DASK_SCHEDULER_ADDRESS")}
    common: _PopenOptions = {
        "cwd": workdir,
        "env": env,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    scheduler = subprocess.Popen(
        [
            str(python),
            *("-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0"),
            *("--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)),
        ],
        **common,
    )
    cluster = ExternalCluster(address="", python=python, scheduler=scheduler, workers=[])
    try:
        cluster.address = _read_address(scheduler_file, scheduler, timeout=60)
        for index in range(workers):
            cluster.workers.append(
                subprocess.Popen(
                    [
                        str(python),
                        *("-m", "dask", "worker", cluster.address, "--host", "127.0.0.1"),
                        *("--nthreads", "1", "--no-dashboard", "--name", f"w{index}"),
                        *("--local-directory", str(workdir / f"w{index}")),
                    ],
                    **common,
                )
            )
        _wait_for_workers(cluster.address, workers)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            stop(process)


@pytest.fixture(scope="session")
def worker_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of an environment without this project (see :func:`make_worker_env`)."""
    return make_worker_env(tmp_path_factory.mktemp("worker-env") / "env")


@pytest.fixture(scope="session")
def external_cluster(
    tmp_path_factory: pytest.TempPathFactory, worker_python: Path
) -> Iterator[ExternalCluster]:
    """A scheduler and two workers shared by the tests that do not break them."""
    with start_external_cluster(
        worker_python, tmp_path_factory.mktemp("external-cluster"), workers=2
    ) as cluster:
        yield cluster


def processes_tagged(tag: str) -> list[psutil.Process]:
    """Processes whose environment has ``MINI_ORCH_TEST_TAG=tag`` (a CLI run and its children)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("MINI_ORCH_TEST_TAG") == tag:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def default_sigint() -> None:
    """``preexec_fn`` for a child that must react to SIGINT: a shell without job control starts
    background jobs with SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_tree(process: psutil.Process) -> None:
    """SIGKILL a process and its descendants (a ``dask worker`` runs its worker in a child)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        family = [*process.children(recursive=True), process]
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(family, timeout=10)


def wait_until(predicate: object, timeout: float = 30, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return False


class LineReader:
    """Lines of a subprocess's text stream, read by a thread, so waiting for one has a timeout
    (a plain ``for line in stream`` hangs until pytest's timeout if the line never comes)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in a line yet to come; AssertionError after
        ``timeout`` seconds or at the end of the stream, quoting what was read."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.0))
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r} within {timeout:g} s; read: {self.lines}"
                ) from None
            if line is None:
                raise AssertionError(f"stream ended without {pattern!r}; read: {self.lines}")
            self.lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def all_lines(self, timeout: float) -> list[str]:
        """Every line of the stream, once it has ended (wait at most ``timeout`` seconds)."""
        self._thread.join(timeout)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return self.lines
            if line is not None:
                self.lines.append(line)
