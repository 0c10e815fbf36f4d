"""Standard input and output (issue 22): never an input overwritten through a redirection, ``-``
only for the report, and a report that cannot reach standard output is never lost in silence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import OutputError
from pipeline.reporting.outputs import check_outputs
from tests.conftest import REPO_ROOT

GOOD = "[GET] /x, status=200, time=5ms user-agent=curl/8\n"
BAD = "not a log line\n"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--mode", "sync"])
    return result.exit_code, result.stdout, result.stderr


def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process, standard streams as given (stderr captured)."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "cli.py"), *args, "--mode", "sync"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "a.log"
    path.write_text(GOOD * 3 + BAD)
    return path


def _redirect(monkeypatch: pytest.MonkeyPatch, name: str, path: Path, mode: str) -> IO[str]:
    handle = open(path, mode)  # noqa: SIM115 (closed by the test)
    monkeypatch.setattr(sys, name, handle)
    return handle


# --- standard input and output compared with every input and output -------------------------


@pytest.mark.subprocess
def test_report_appended_to_its_own_input_is_refused(log: Path) -> None:
    """``ingest --path a.log >> a.log`` appended the report to the log."""
    before = log.read_bytes()
    with open(log, "a") as out:
        result = _cli("ingest", "--path", str(log), stdout=out)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: standard output {log} is one of the inputs; refusing to write the report into "
        "it; redirect standard output elsewhere"
    )
    assert [line for line in result.stderr.splitlines() if not line.startswith("INFO")] == [
        result.stderr.splitlines()[-1]
    ]
    assert log.read_bytes() == before


@pytest.mark.subprocess
def test_output_that_is_the_file_on_stdin_is_refused(log: Path) -> None:
    """``ingest --path - --output in.log < in.log`` replaced the log with the report."""
    before = log.read_bytes()
    with open(log) as given:
        result = _cli("ingest", "--path", "-", "--output", str(log), stdin=given)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: --output {log} is the file on standard input; refusing to overwrite it\n"
    )
    assert log.read_bytes() == before


@pytest.mark.subprocess
def test_stdout_into_the_input_directory_is_refused(tmp_path: Path, log: Path) -> None:
    """``ingest --path dir/ > dir/report.txt``: the walk would read the report being written."""
    report = tmp_path / "report.txt"
    with open(report, "w") as out:
        result = _cli("ingest", "--path", str(tmp_path), stdout=out)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(
        f"Error: standard output {report} is one of the inputs (inside --path {tmp_path})"
    )
    assert report.read_text() == ""


@pytest.mark.parametrize("option", ["malformed_out", "profile", "--output"])
def test_any_output_on_the_stdin_file_is_refused(
    tmp_path: Path, log: Path, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    linked = tmp_path / "same-inode.log"  # another name: only device and inode tell
    os.link(log, linked)
    with _redirect(monkeypatch, "stdin", log, "r"):
        with pytest.raises(OutputError) as raised:
            check_outputs({option: linked}, ["-"])
        assert str(raised.value) == (
            f"{option} {linked} is the file on standard input; refusing to overwrite it"
        )
        check_outputs({option: tmp_path / "other.txt"}, ["-"])  # another file is fine
        check_outputs({option: log}, [str(tmp_path / "b.log")])  # stdin not read: fine


def test_stdout_and_another_output_on_one_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--malformed-out out.txt > out.txt``: two writers of one file."""
    out = tmp_path / "out.txt"
    with _redirect(monkeypatch, "stdout", out, "w"):
        with pytest.raises(OutputError) as raised:
            check_outputs({"--malformed-out": out}, [], stdout=True)
        assert str(raised.value) == (
            f"standard output and --malformed-out are the same file: {out}; "
            "give each output its own file"
        )
        check_outputs({"--malformed-out": out}, [], stdout=False)  # --output FILE: stdout unused


def test_stdout_appending_to_the_ranges_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges = tmp_path / "r.json"
    ranges.write_text("[[1, 10]]")
    with _redirect(monkeypatch, "stdout", ranges, "a"), pytest.raises(OutputError):
        check_outputs({"--output": None}, [str(ranges)], stdout=True)
    with _redirect(monkeypatch, "stdout", tmp_path / "x.txt", "a"):
        check_outputs({"--output": None}, [str(ranges)], stdout=True)


# --- "-" means standard output for --output only --------------------------------------------


@pytest.mark.parametrize(
    ("feature", "first_line"),
    [("ingest", "Ingest report"), ("prime", "Prime report")],
)
def test_output_dash_is_standard_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feature: str, first_line: str, log: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    given = ["--path", str(log)] if feature == "ingest" else ["--range", "0:100"]
    code, out, _ = _run(feature, *given, "--output", "-")
    assert code == 0
    assert out.splitlines()[0] == first_line
    assert not (tmp_path / "-").exists()
    code, same, _ = _run(feature, *given, "--output", "-", "--format", "json")
    assert json.loads(same)["feature"] == feature


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["ingest", "--malformed-out", "-"], "--malformed-out"),
        (["ingest", "--profile", "-"], "--profile"),
        (["prime", "--range", "0:100", "--primes-out", "-"], "--primes-out"),
        (["prime", "--range", "0:100", "--profile", "-"], "--profile"),
    ],
)
def test_dash_for_any_other_output_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], flag: str, log: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    if args[0] == "ingest":
        args = [*args, "--path", str(log)]
    code, out, err = _run(*args)
    assert (code, out) == (2, "")
    assert err == (
        f"Error: {flag} cannot be '-': only the report (--output -) goes to standard output; "
        "give a file name\n"
    )
    assert not (tmp_path / "-").exists()


# --- a report that cannot reach standard output ---------------------------------------------


@pytest.mark.subprocess
def test_report_to_dev_full_is_exit_2_with_one_line(log: Path) -> None:
    with open("/dev/full", "w") as full:
        result = _cli("ingest", "--path", str(log), stdout=full)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if not line.startswith("INFO")] == [
        "Error: cannot write the report to standard output: No space left on device"
    ]


@pytest.mark.subprocess
def test_report_to_a_closed_stdout_is_exit_2_with_one_line(log: Path) -> None:
    result = _cli(
        "ingest", "--path", str(log), stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1)
    )
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if not line.startswith("INFO")] == [
        "Error: cannot write the report to standard output: it is closed"
    ]


@pytest.mark.subprocess
@pytest.mark.parametrize("output_format", ["text", "json"])
def test_closed_pipe_ends_quietly_with_141(log: Path, output_format: str) -> None:
    """``| head -1``: the reader is gone before the report is written (closed here first, so
    the write certainly fails); exit 141 like a Unix tool, no error, no traceback."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = _cli("ingest", "--path", str(log), "--format", output_format, stdout=writer)
    finally:
        os.close(writer)
    assert result.returncode == 141
    assert [line for line in result.stderr.splitlines() if not line.startswith("INFO")] == []


# --- extra outputs that fail come after the report ------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_malformed_out_that_fails_prints_the_report_first(log: Path, output_format: str) -> None:
    code, out, err = _run(
        "ingest", "--path", str(log), "--malformed-out", "/dev/full", "--format", output_format
    )
    assert code == 2
    if output_format == "json":
        document = json.loads(out)
        assert (document["requests"]["total"], document["lines"]["malformed"]) == (3, 1)
    else:
        assert out.startswith("Ingest report\n")
    assert err.splitlines()[-1] == (
        "Error: cannot write malformed lines to /dev/full: No space left on device"
    )
