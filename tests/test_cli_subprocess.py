"""The real ``python cli.py`` in a subprocess, from another working directory, in local modes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "cli.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.subprocess
@pytest.mark.parametrize("feature", ["ingest", "prime"])
def test_threading_and_process_agree_from_another_directory(feature: str, tmp_path: Path) -> None:
    documents = {}
    for mode in ("threading", "process"):
        result = run_cli(tmp_path, feature, "--mode", mode, "--worker", "2", "--format", "json")
        assert result.returncode == 0, result.stderr
        documents[mode] = json.loads(result.stdout)  # stdout is exactly one JSON document
        assert documents[mode]["feature"] == feature
        assert documents[mode]["execution"]["mode"] == mode
    strip = {"execution"}
    assert {k: v for k, v in documents["threading"].items() if k not in strip} == {
        k: v for k, v in documents["process"].items() if k not in strip
    }


@pytest.mark.subprocess
def test_text_report_and_console_script_agree(tmp_path: Path) -> None:
    text = run_cli(tmp_path, "prime", "--mode", "sync")
    assert text.returncode == 0, text.stderr
    script = Path(sys.executable).parent / "mini-orchestrator"
    same = subprocess.run(
        [str(script), "prime", "--mode", "sync"], cwd=tmp_path, capture_output=True, text=True
    )
    assert same.returncode == 0
    assert _without_timing(same.stdout) == _without_timing(text.stdout)
    assert text.stdout.startswith("Prime report\n")


def _without_timing(report: str) -> str:
    """Drop the wall-clock figures, the only part of a report that differs between runs."""
    return re.sub(r"computed in [0-9.]+ s", "computed in ? s", report)


@pytest.mark.subprocess
def test_usage_error_in_a_real_process_is_one_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "prime", "--worker", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid value for '--worker' / '--workers': 0 is not in the range x>=1."
    ]


@pytest.mark.subprocess
def test_python_c_can_use_the_process_scheduler(tmp_path: Path) -> None:
    code = (
        "from pipeline import ExecutionSettings, run_prime\n"
        f"r = run_prime({str(REPO_ROOT / 'data' / 'ranges.json')!r}, "
        "ExecutionSettings(mode='process', workers=2))\n"
        "print(r.to_dict()['total_primes'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 0
