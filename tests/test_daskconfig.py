"""Dask's configuration from the environment: one line and exit 2, never a traceback (issue 22)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import REPO_ROOT
from tests.test_ingest_hostile import FAR_TIMES, GOOD_LINES, HOSTILE, MSEC


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ingest", "--mode", "sync", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


BAD_FILES = [
    ("a: [1, 2\n", "expected ',' or ']', but got '<stream end>' (line 2, column 1)"),
    (
        "- a\n- b\n",
        "config files must have a dict as the top level object, got a list instead",
    ),
    (
        b"\xff: 1\n",
        "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
    ),
]


@pytest.mark.parametrize(("content", "problem"), BAD_FILES)
def test_a_malformed_dask_config_file_is_one_line(
    tmp_path: Path, content: str | bytes, problem: str
) -> None:
    config = tmp_path / "dask.yaml"
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    for named in (config, tmp_path):  # DASK_CONFIG names the file, or its directory
        code, out, err = _run({"DASK_CONFIG": str(named)})
        assert (code, out) == (2, "")
        assert err == (f"Error: DASK_CONFIG: Dask config file '{config}' is malformed: {problem}\n")


@pytest.mark.parametrize(
    ("name", "value", "kind", "default"),
    [
        ("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "abc", "a duration", "'30s'"),
        ("DASK_DISTRIBUTED__WORKER__MEMORY__TARGET", "abc", "a number", "0.6"),
        ("DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING", "abc", "true or false", "True"),
        ("DASK_DISTRIBUTED__WORKER__MEMORY__TARGET", "[1]", "a number", "0.6"),
    ],
)
def test_an_absurd_dask_variable_is_one_line(
    name: str, value: str, kind: str, default: str
) -> None:
    code, out, err = _run({name: value})
    key = name.removeprefix("DASK_").lower().replace("__", ".")
    assert (code, out) == (2, "")
    assert err == f"Error: {name}={value!r} is not {kind} (Dask's default for {key} is {default})\n"


@pytest.mark.parametrize(
    "env",
    [
        {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "10s"},
        {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5"},
        {"DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "False"},
        {"DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "0.5"},
        {"DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD": "fork"},
        {"DASK_DISTRIBUTED__NO_SUCH__KEY": "anything"},
        {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "inf"},
        {"DASK_DISTRIBUTED__WORKER__MEMORY__MAX_SPILL": "10GB"},  # default false: not judged
        {"DASK_DISTRIBUTED__COMM__COMPRESSION": "lz4"},
    ],
)
def test_a_sound_dask_variable_passes(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "--format", "json")
    assert code == 0
    assert json.loads(out)["lines"]["total"] == 491


def _subprocess(
    tmp_path: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "cli.py"), *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.subprocess
def test_the_scheduler_settings_in_the_environment_do_not_reach_a_run(tmp_path: Path) -> None:
    """The scheduler, its workers and its pool are ours: DASK_POOL=abc used to be exit 1. Dask
    reads the variables when first imported, hence a fresh process."""
    args = ("ingest", "--mode", "threading", "--worker", "2", "--format", "json")
    plain = _subprocess(tmp_path, {}, *args)
    assert plain.returncode == 0, plain.stderr
    env = {"DASK_POOL": "abc", "DASK_SCHEDULER": "nonsense", "DASK_NUM_WORKERS": "-3"}
    odd = _subprocess(tmp_path, env, *args)
    assert odd.returncode == 0, odd.stderr
    drop = {"execution"}
    want = {k: v for k, v in json.loads(plain.stdout).items() if k not in drop}
    assert {k: v for k, v in json.loads(odd.stdout).items() if k not in drop} == want


@pytest.mark.subprocess
def test_a_malformed_dask_config_file_at_import_is_one_line(tmp_path: Path) -> None:
    """Dask reads DASK_CONFIG when first imported: the real entry point still says one line."""
    config = tmp_path / "bad.yaml"
    config.write_text("a: [1, 2\n")
    result = _subprocess(tmp_path, {"DASK_CONFIG": str(config)}, "ingest", "--mode", "sync")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: DASK_CONFIG: Dask config file '{config}' is malformed: "
        "expected ',' or ']', but got '<stream end>' (line 2, column 1)\n"
    )


@pytest.mark.subprocess
def test_no_python_warning_reaches_stderr_on_hostile_logs(tmp_path: Path) -> None:
    """Every hostile line with warnings turned into errors (``-W error``): exit 0, and stderr
    holds only our INFO lines and our own WARNING (the share of malformed lines)."""
    for fmt in ("json", MSEC):
        lines = [line for name, kind, _, line in HOSTILE if kind == fmt and name not in FAR_TIMES]
        log = tmp_path / "hostile.log"
        log.write_bytes(GOOD_LINES[fmt].encode() + b"\n" + b"\n".join(lines) + b"\n")
        options = [
            "--path",
            str(log),
            "--log-format",
            fmt,
            "--mode",
            "threading",
            "--format",
            "json",
        ]
        result = subprocess.run(
            [sys.executable, "-W", "error", str(REPO_ROOT / "cli.py"), "ingest", *options],
            cwd=tmp_path,
            env={**os.environ, "PYTHONWARNINGS": "error"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["lines"]["total"] == len(lines) + 1
        others = [
            line
            for line in result.stderr.splitlines()
            if not line.startswith("INFO ") and "% of " not in line
        ]
        assert others == []
        assert "Warning" not in result.stderr


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc", "'abc' is not a duration (Dask's default for {key} is '30s')"),
        ("5s", None),
    ],
)
def test_a_dask_config_file_value_is_judged_like_a_variable(
    tmp_path: Path, value: str, problem: str | None
) -> None:
    config = tmp_path / "dask.yaml"
    config.write_text(f"distributed:\n  comm:\n    timeouts:\n      connect: {value}\n")
    code, out, err = _run({"DASK_CONFIG": str(config)}, "--format", "json")
    if problem is None:
        assert code == 0
        assert json.loads(out)["lines"]["total"] == 491
    else:
        assert (code, out) == (2, "")
        key = "distributed.comm.timeouts.connect"
        message = problem.format(key=key)
        assert err == f"Error: DASK_CONFIG: Dask config file '{config}': {key}: {message}\n"


def test_config_paths_are_the_ones_dask_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Computed without importing Dask, so checked against Dask's own list (a private function:
    this test is where a change in Dask shows)."""
    import dask.config

    from pipeline.engine.daskconfig import config_paths

    for name in ("DASK_CONFIG", "DASK_ROOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert config_paths(os.environ) == dask.config._get_paths()
    monkeypatch.setenv("DASK_ROOT_CONFIG", "/nowhere/root")
    monkeypatch.setenv("DASK_CONFIG", "/nowhere/mine")
    assert config_paths(os.environ) == dask.config._get_paths()
    assert config_paths(os.environ)[0] == "/nowhere/root"


@pytest.mark.subprocess
def test_a_malformed_file_in_the_users_dask_config_stops_even_a_one_task_run(
    tmp_path: Path,
) -> None:
    """No DASK_* variable: the file is found by its place (~/.config/dask), so the check still
    runs, and imports Dask, before a run that would not have imported it."""
    folder = tmp_path / ".config" / "dask"
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text("a: [1, 2\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    env["XDG_CACHE_HOME"] = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "cli.py", "prime", "--range", "0:100"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: Dask config file '{folder / 'bad.yaml'}' is malformed: "
        "expected ',' or ']', but got '<stream end>' (line 2, column 1)\n"
    )
