"""Real dask.distributed processes for the tests, on 127.0.0.1 with free ports.

``external_cluster`` starts ``dask scheduler`` and two ``dask worker`` processes (the CLIs that ship
with distributed) from a separate virtual environment that sees dask, distributed, pandas, numpy
and pyarrow but *not* this project, as a cluster provisioned by someone else would be.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    processes: list[subprocess.Popen[bytes]]


def _wait_for_workers(address: str, count: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout=timeout, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=timeout)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def external_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalCluster]:
    root = tmp_path_factory.mktemp("external-cluster")
    python = make_worker_env(root / "env")
    workdir = root / "work"
    workdir.mkdir()
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DASK_SCHEDULER_ADDRESS")}
    common = {
        "cwd": workdir,
        "env": env,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    processes = [
        subprocess.Popen(
            [
                str(python),
                "-m",
                "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                f"127.0.0.1:{free_port()}",
            ],
            **common,  # type: ignore[call-overload]
        )
    ]
    try:
        for index in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        str(python),
                        "-m",
                        "dask",
                        "worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"w{index}",
                        "--local-directory",
                        str(workdir / f"w{index}"),
                    ],
                    **common,  # type: ignore[call-overload]
                )
            )
        _wait_for_workers(address, 2)
        yield ExternalCluster(address=address, python=python, processes=processes)
    finally:
        for process in reversed(processes):
            stop(process)


def wait_until(predicate: object, timeout: float = 30, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return False
