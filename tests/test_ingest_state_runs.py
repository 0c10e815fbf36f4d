"""``--state`` in every mode, and a ``--state`` run killed with SIGKILL at random points.

The same incremental sequence (a first run, appends, a rotation with compression, a second run)
gives the sync report of one full run in threading, process and distributed modes (the state
lives with the client). A CLI run killed with SIGKILL at random moments, again and again while
lines are appended, leaves a state that the next run uses to give exactly the full run's report.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.engine.execution import session
from pipeline.engine.settings import ExecutionSettings
from tests.state_helpers import RotatingLog, assert_same_report, run_report, write_reference

REPO = Path(__file__).resolve().parents[1]


def _sequence(root: Path, mode: str) -> tuple[dict[str, object], dict[str, object]]:
    """The incremental report after a rotation, and the sync report of one full run."""
    logs = root / "logs"
    logs.mkdir()
    state = str(root / "s.state")
    log = RotatingLog(logs)
    log.append(30, partial=True)
    run_report(str(logs), mode, state=state)
    log.append(20)
    log.rotate_once(copytruncate=False, compress="compress", dateext=False)
    log.append(25, partial=True)
    log.finish_line()
    incremental = run_report(str(logs), mode, state=state)
    full = run_report(write_reference(log.written, root / "all.log"))
    return incremental, full


def test_threading_mode(tmp_path: Path) -> None:
    incremental, full = _sequence(tmp_path, "threading")
    assert_same_report(incremental, full)


@pytest.mark.subprocess
def test_process_mode(tmp_path: Path) -> None:
    incremental, full = _sequence(tmp_path, "process")
    assert_same_report(incremental, full)


@pytest.mark.subprocess
@pytest.mark.timeout(180)
def test_distributed_mode(tmp_path: Path) -> None:
    with session(ExecutionSettings(mode="distributed", workers=2, dashboard_address=":0")):
        incremental, full = _sequence(tmp_path, "distributed")
    assert_same_report(incremental, full)


def _start(logs: Path, state: Path, report: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(REPO / "cli.py"), "ingest", "--mode", "sync"]
    command += ["--path", str(logs), "--state", str(state), "--format", "json"]
    command += ["--output", str(report)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.subprocess
@pytest.mark.timeout(240)
def test_sigkill_at_random_points_then_a_rerun_equals_a_full_run(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state, report = tmp_path / "s.state", tmp_path / "report.json"
    log = RotatingLog(logs)
    log.append(4000)
    started = time.monotonic()
    first = _start(logs, state, report)
    assert first.wait(120) == 0
    span = time.monotonic() - started  # one run: the kills land anywhere in it
    chance = random.Random(24)
    killed = 0
    for round_ in range(6):
        log.append(1500, partial=round_ % 2 == 1)
        if round_ == 3:
            log.rotate_once(copytruncate=False, compress="delaycompress", dateext=False)
        run = _start(logs, state, report)
        time.sleep(chance.uniform(0, span))
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
            killed += 1
        run.wait(60)
        # whatever the moment, the state is the previous one or the new one, whole
        assert run.returncode in (0, -signal.SIGKILL), run.stderr.read() if run.stderr else ""
    log.finish_line()
    last = _start(logs, state, report)
    assert last.wait(120) == 0
    incremental = json.loads(report.read_text())
    full = run_report(write_reference(log.written, tmp_path / "all.log"))
    assert killed >= 1
    assert_same_report(incremental, full)
    assert sorted(os.listdir(tmp_path)) == [
        ".s.state.lock",
        "all.log",
        "logs",
        "report.json",
        "s.state",
    ]
