"""``--state`` through Debian's own ``logrotate``, driven by a configuration in a temporary dir.

Lines are appended (some cut in two, finished before each rotation as a server's write would
be), ``logrotate --force`` rotates with a real configuration (``create`` or ``copytruncate``,
``compress`` with or without ``delaycompress``, ``dateext``, ``rotate 2`` deleting old files),
and ``ingest --state`` runs in between over the directory: the last report equals one run over
every line written. Without ``logrotate`` installed the test skips with the reason (CI installs
it, .ci/run, and fails instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.state_helpers import RotatingLog, assert_same_report, run_report, write_reference

LOGROTATE = shutil.which("logrotate") or (
    "/usr/sbin/logrotate" if os.path.exists("/usr/sbin/logrotate") else None
)

CONFIGS = {
    "create-delaycompress": "create\n    compress\n    delaycompress",
    "create-compress": "create\n    compress",
    "copytruncate-delaycompress": "copytruncate\n    compress\n    delaycompress",
    "create-dateext-compress": "create\n    dateext\n    dateformat -%s\n    compress",
}


def _logrotate() -> str:
    if LOGROTATE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but logrotate is missing (apt-get install -y logrotate)")
        pytest.skip("logrotate is not installed (apt-get install -y logrotate)")
    return LOGROTATE


def _rotate(logrotate: str, root: Path, log: RotatingLog) -> None:
    """One forced rotation (the writer finishes its line first); dated names need a new second."""
    log.finish_line()
    second = int(time.time())
    while int(time.time()) == second:
        time.sleep(0.05)
    done = subprocess.run(
        [logrotate, "--force", "--state", str(root / "logrotate.status"), str(root / "conf")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.subprocess
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_logrotate_between_incremental_runs(tmp_path: Path, name: str) -> None:
    logrotate = _logrotate()
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    (tmp_path / "conf").write_text(
        f"{logs / 'access.log'} {{\n    rotate 2\n    {CONFIGS[name]}\n    missingok\n}}\n"
    )
    state = str(tmp_path / "nginx.state")
    log = RotatingLog(logs)
    log.append(40)
    run_report(str(logs), state=state)
    for cycle in range(4):
        log.append(25 + cycle, partial=True)
        if cycle % 2:
            run_report(str(logs), state=state)
        log.append(10)
        _rotate(logrotate, tmp_path, log)
        run_report(str(logs), state=state)
    log.append(5)
    incremental = run_report(str(logs), state=state)
    full = run_report(write_reference(log.written, tmp_path / "all.log"))
    names = sorted(os.listdir(logs))
    assert any(name.endswith(".gz") for name in names), names
    assert_same_report(incremental, full)
