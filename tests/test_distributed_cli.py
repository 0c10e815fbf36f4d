"""The real CLI in subprocesses on dask.distributed: external cluster, dashboard, no leaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cluster_fixtures import (
    ExternalCluster,
    LineReader,
    default_sigint,
    processes_tagged,
    wait_until,
)
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(240)

CLI = str(REPO_ROOT / "cli.py")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, CLI, *args],
        cwd="/",
        capture_output=True,
        text=True,
        env=env,
        timeout=200,
    )


def without_execution(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "execution"}


#: The prime job is one compiled task (0 to 1e8 is one segment): each worker process of the
#: external cluster compiles the kernel shipped to it (numba cannot cache code imported from the
#: uploaded zip), so the default ranges' four tasks cost two compilations instead of one.
@pytest.mark.parametrize(
    ("feature", "options"),
    [("ingest", ()), ("prime", ("--range", "0:1e8"))],
    ids=["ingest", "prime"],
)
def test_external_cluster_gives_threading_results(
    external_cluster: ExternalCluster, feature: str, options: tuple[str, ...]
) -> None:
    threaded = run_cli(feature, *options, "--format", "json", "--mode", "threading")
    remote = run_cli(feature, *options, "--format", "json", "--scheduler", external_cluster.address)
    assert threaded.returncode == 0, threaded.stderr
    assert remote.returncode == 0, remote.stderr
    remote_doc = json.loads(remote.stdout)
    assert without_execution(remote_doc) == without_execution(json.loads(threaded.stdout))
    assert remote_doc["execution"]["mode"] == "distributed"
    assert remote_doc["execution"]["workers"] == 2


@pytest.mark.subprocess
def test_local_cluster_leaves_no_process_behind() -> None:
    tag = uuid.uuid4().hex
    env = {**os.environ, "MINI_ORCH_TEST_TAG": tag}
    result = run_cli(
        "prime",
        "--mode",
        "distributed",
        "--worker",
        "2",
        "--format",
        "json",
        "--dashboard-address",
        "127.0.0.1:0",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)["execution"]
    assert (execution["mode"], execution["workers"]) == ("distributed", 2)
    assert wait_until(lambda: not processes_tagged(tag), timeout=20), processes_tagged(tag)


@pytest.mark.subprocess
def test_dashboard_serves_on_loopback_only_and_ctrl_c_stops_everything() -> None:
    tag = uuid.uuid4().hex
    process = subprocess.Popen(
        [
            sys.executable,
            CLI,
            "prime",
            "--mode",
            "distributed",
            "--worker",
            "1",
            "--keep-alive",
            "--dashboard-address",
            "127.0.0.1:0",
        ],
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINI_ORCH_TEST_TAG": tag},
        preexec_fn=default_sigint,
    )
    try:
        assert process.stderr is not None
        stderr = LineReader(process.stderr)
        match = stderr.wait_for(r"kept alive; dashboard: (http://127\.0\.0\.1:(\d+)/status)", 120)
        url, port = match.group(1), int(match.group(2))
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
        listening = [
            conn.laddr
            for proc in processes_tagged(tag)
            for conn in proc.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        ]
        assert any(addr.port == port for addr in listening)
        assert {addr.ip for addr in listening} == {"127.0.0.1"}, listening
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert wait_until(lambda: not processes_tagged(tag), timeout=20), processes_tagged(tag)


@pytest.mark.subprocess
def test_real_subprocess_profile_in_distributed_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = run_cli(
        "prime",
        "--mode",
        "distributed",
        "--worker",
        "1",
        "--profile",
        str(target),
        "--dashboard-address",
        "127.0.0.1:0",
    )
    assert result.returncode == 0, result.stderr
    assert "Dask Performance Report" in target.read_text()
