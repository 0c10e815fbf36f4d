"""``ingest --state FILE`` through the CLI: the state file's safety rules, exit codes and messages.

A state that is corrupt, truncated, foreign, from another schema or written with other options
is exit 2 with one line, and is left byte for byte as it was; a state in use is exit 2 "state
in use"; a state that a later run would read as a log is refused; the state is written only
after the report, atomically, with no temporary file left behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.ingest.aggregate import limits
from pipeline.ingest.state import store
from tests.state_helpers import line


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ingest", "--mode", "sync", "--format", "json", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "access.log").write_text("".join(line(n) for n in range(20)))
    return folder


def _saved(logs: Path, tmp_path: Path, *extra: str) -> Path:
    state = tmp_path / "s.state"
    code, _, err = _run("--path", str(logs), "--state", str(state), *extra)
    assert (code, err) == (0, "")
    return state


def test_first_and_second_run(logs: Path, tmp_path: Path) -> None:
    state = _saved(logs, tmp_path)
    with open(logs / "access.log", "a") as handle:
        handle.write(line(20) + line(21))
    code, out, _ = _run("--path", str(logs), "--state", str(state))
    assert code == 0
    assert json.loads(out)["lines"]["total"] == 22
    assert sorted(os.listdir(tmp_path)) == [".s.state.lock", "logs", "s.state"]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda data: data[:-1], "is truncated or corrupt (its checksum does not match)"),
        (
            lambda data: data[: len(data) // 2],
            "is truncated or corrupt (its checksum does not match)",
        ),
        (
            lambda data: data[:60] + bytes([data[60] ^ 1]) + data[61:],
            "is truncated or corrupt (its checksum does not match)",
        ),
        (lambda data: b"", "is not an ingest state file"),
        (lambda data: b"PK\x03\x04 a zip file", "is not an ingest state file"),
        (lambda data: b"hello\n" * 100, "is not an ingest state file"),
    ],
)
def test_a_damaged_or_foreign_state_is_exit_2_and_left_unchanged(
    logs: Path, tmp_path: Path, damage: object, why: str
) -> None:
    state = _saved(logs, tmp_path)
    damaged = damage(state.read_bytes())  # type: ignore[operator]
    state.write_bytes(damaged)
    code, out, err = _run("--path", str(logs), "--state", str(state))
    assert (code, out) == (2, "")
    assert (
        err == f"Error: --state {state} {why}; it was left as it is (move it away to start over)\n"
    )
    assert state.read_bytes() == damaged


def _rewritten(state: Path, change: dict[str, object]) -> bytes:
    """The state with header keys changed and a valid checksum (a state of another version)."""
    data = state.read_bytes()
    body = data[:-32]
    position = len(store.MAGIC)
    length = int.from_bytes(body[position : position + 8], "big")
    header = json.loads(body[position + 8 : position + 8 + length])
    header.update(change)
    encoded = json.dumps(header).encode()
    rest = body[position + 8 + length :]
    new = store.MAGIC + len(encoded).to_bytes(8, "big") + encoded + rest
    return new + store._digest(new)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"schema_version": 5}, "was written for report schema version 5; this version writes 6"),
        ({"state_version": 99}, "has state format version 99; this version reads 2"),
    ],
)
def test_another_schema_is_exit_2_and_left_unchanged(
    logs: Path, tmp_path: Path, change: dict[str, object], why: str
) -> None:
    state = _saved(logs, tmp_path)
    state.write_bytes(_rewritten(state, change))
    before = state.read_bytes()
    code, _, err = _run("--path", str(logs), "--state", str(state))
    assert code == 2
    assert err.startswith(f"Error: --state {state} {why}")
    assert err.endswith("; it was left as it is (move it away to start over)\n")
    assert err.count("\n") == 1
    assert state.read_bytes() == before


@pytest.mark.parametrize(
    ("first", "second", "named"),
    [
        ((), ("--status", "5xx"), "was written with no --status; this run has --status '5xx'"),
        (
            ("--log-format", "combined"),
            (),
            "with --log-format 'combined'; this run has --log-format 'auto'",
        ),
        ((), ("--raw-paths",), "was written with no --raw-paths; this run has --raw-paths"),
        (
            ("--anonymize-ip",),
            (),
            "was written with --anonymize-ip; this run has no --anonymize-ip",
        ),
        ((), ("--field", "latency=t"), "with no --field; this run has --field 'latency=t'"),
        ((), ("--since", "2026-12-01"), "with no --since; this run has --since '2026-12-01'"),
        (("--method", "GET"), ("--method", "POST"), "--method 'GET'; this run has --method 'POST'"),
        ((), ("--path-regex", "^/a"), "no --path-regex; this run has --path-regex '^/a'"),
    ],
)
def test_other_options_are_exit_2_naming_the_option(
    logs: Path, tmp_path: Path, first: tuple[str, ...], second: tuple[str, ...], named: str
) -> None:
    state = _saved(logs, tmp_path, *first)
    before = state.read_bytes()
    code, _, err = _run("--path", str(logs), "--state", str(state), *second)
    assert code == 2
    assert named in err
    assert err.count("\n") == 1
    assert state.read_bytes() == before


def test_top_and_bucket_may_change(logs: Path, tmp_path: Path) -> None:
    state = _saved(logs, tmp_path)
    code, out, _ = _run("--path", str(logs), "--state", str(state), "--top", "2", "--bucket", "1h")
    assert code == 0
    assert json.loads(out)["timeline"]["bucket"] == "1h"


def test_other_caps_are_exit_2(logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _saved(logs, tmp_path)
    monkeypatch.setattr(limits, "PATHS", 10)
    code, _, err = _run("--path", str(logs), "--state", str(state))
    assert code == 2
    assert "was written with other caps" in err


def test_a_state_in_use_is_exit_2(logs: Path, tmp_path: Path) -> None:
    state = _saved(logs, tmp_path)
    before = state.read_bytes()
    with open(tmp_path / ".s.state.lock", "w") as held:  # what a running ingest holds
        fcntl.flock(held, fcntl.LOCK_EX)
        code, out, err = _run("--path", str(logs), "--state", str(state))
    assert (code, out) == (2, "")
    assert err == (
        f"Error: --state {state}: state in use by another run; try again when it has finished\n"
    )
    assert state.read_bytes() == before
    assert _run("--path", str(logs), "--state", str(state))[0] == 0  # released: usable again


def test_standard_input_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["ingest", "--path", "-", "--state", str(tmp_path / "s")], input=line(0)
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --state cannot be used with --path - (standard input has no offsets)\n"
    )
    assert not (tmp_path / "s").exists()


def test_a_state_that_a_later_run_would_read_is_refused(logs: Path, tmp_path: Path) -> None:
    inside = logs / "nginx.state"
    code, _, err = _run("--path", str(logs), "--state", str(inside))
    assert code == 2
    assert err == (
        f"Error: --state {inside} is inside the input directory {logs}: a later run would "
        "read it as a log; put it elsewhere\n"
    )
    assert not inside.exists()
    pattern = str(logs / "access.log*")
    code, _, err = _run("--path", pattern, "--state", str(logs / "access.log.state"))
    assert (code, err.split(":")[0]) == (2, "Error")
    assert "matches the input pattern" in err
    code, _, err = _run("--path", str(logs / "access.log"), "--state", str(logs / "access.log"))
    assert code == 2
    assert "is one of the inputs" in err
    assert sorted(os.listdir(logs)) == ["access.log"]


def test_the_state_is_not_written_when_the_report_is_not(logs: Path, tmp_path: Path) -> None:
    state = _saved(logs, tmp_path)
    before = state.read_bytes()
    with open(logs / "access.log", "a") as handle:
        handle.write(line(20))
    code, _, err = _run("--path", str(logs), "--state", str(state), "--output", "/dev/full")
    assert code == 2
    assert err.startswith("Error: cannot write report to /dev/full")
    assert state.read_bytes() == before  # the next run reads line 20 again
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    code, out, _ = _run("--path", str(logs), "--state", str(state))
    assert json.loads(out)["lines"]["total"] == 21


def test_a_crafted_cursor_format_is_refused(logs: Path, tmp_path: Path) -> None:
    state = _saved(logs, tmp_path)
    data = state.read_bytes()
    header_start = len(store.MAGIC) + 8
    length = int.from_bytes(data[len(store.MAGIC) : header_start], "big")
    header = json.loads(data[header_start : header_start + length])
    header["cursors"][0]["format"] = {"__reduce__": "os.system"}
    state.write_bytes(_rewritten(state, {"cursors": header["cursors"]}))
    code, _, err = _run("--path", str(logs), "--state", str(state))
    assert code == 2
    assert err.startswith(f"Error: --state {state} is corrupt (a cursor is malformed")


def test_the_state_and_the_report_cannot_be_one_file(logs: Path, tmp_path: Path) -> None:
    state = tmp_path / "s.state"
    code, _, err = _run("--path", str(logs), "--state", str(state), "--output", str(state))
    assert code == 2
    assert err == (
        f"Error: --output and --state are the same file: {state}; give each output its own file\n"
    )
    assert not state.exists()


def test_a_temporary_file_left_by_a_killed_save_is_removed(logs: Path, tmp_path: Path) -> None:
    state = _saved(logs, tmp_path)
    (tmp_path / ".s.state.0badcafe.tmp").write_bytes(b"half a state")  # what SIGKILL leaves
    (tmp_path / ".other.0badcafe.tmp").write_bytes(b"not ours")
    assert _run("--path", str(logs), "--state", str(state))[0] == 0
    assert sorted(os.listdir(tmp_path)) == [
        ".other.0badcafe.tmp",
        ".s.state.lock",
        "logs",
        "s.state",
    ]
