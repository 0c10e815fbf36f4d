"""The CLI never loses data: outputs are checked first, written whole, escaped, exit codes exact."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

GOOD = "[GET] /x, status=200, time=5ms user-agent=curl/8\n"
BAD = "not a log line\n"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--mode", "sync"])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("option", ["--output", "--malformed-out"])
def test_ingest_refuses_to_overwrite_its_input(tmp_path: Path, option: str) -> None:
    log = tmp_path / "a.log"
    log.write_text(GOOD + BAD)
    for given in (log, tmp_path / "." / "a.log", tmp_path):
        code, out, err = _run("ingest", "--path", str(given), option, str(log))
        assert code == 2, err
        assert out == "" and len(err.splitlines()) == 1
        assert err.startswith(f"Error: {option} {log} is one of the inputs")
        assert log.read_text() == GOOD + BAD


@pytest.mark.parametrize("option", ["--output", "--primes-out"])
def test_prime_refuses_to_overwrite_its_ranges_file(tmp_path: Path, option: str) -> None:
    ranges = tmp_path / "r.json"
    ranges.write_text("[[1, 10]]")
    code, out, err = _run("prime", "--path", str(ranges), option, str(ranges))
    assert (code, out) == (2, "")
    assert err == f"Error: {option} {ranges} is one of the inputs; refusing to overwrite it\n"
    assert ranges.read_text() == "[[1, 10]]"


def test_two_outputs_on_one_file_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(GOOD)
    target = tmp_path / "out.txt"
    code, _, err = _run(
        "ingest", "--path", str(tmp_path / "a.log"), "--output", str(target),
        "--malformed-out", str(target),
    )  # fmt: skip
    assert code == 2
    assert err == (
        f"Error: --output and --malformed-out are the same file: {target}; "
        "give each output its own file\n"
    )
    assert not target.exists()


@pytest.mark.parametrize("option", ["--output", "--malformed-out", "--profile"])
def test_an_unwritable_output_fails_before_computing(tmp_path: Path, option: str) -> None:
    (tmp_path / "a.log").write_text(GOOD)
    target = tmp_path / "missing" / "x.txt"
    code, out, err = _run("ingest", "--path", str(tmp_path / "a.log"), option, str(target))
    assert (code, out) == (2, "")  # no report computed and thrown away
    assert err.splitlines()[-1] == f"Error: cannot write {option} to {target}: no such directory"
    assert "INFO" not in err


def test_output_inside_the_input_directory_warns_once(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(GOOD)
    report = tmp_path / "report.txt"
    code, _, err = _run("ingest", "--path", str(tmp_path), "--output", str(report))
    assert code == 0
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == [
        f"WARNING --output {report} is inside the input directory {tmp_path}: "
        "the next run over it will read it"
    ]
    assert report.read_text().startswith("Ingest report\n")


@pytest.mark.subprocess
def test_profile_to_a_full_device_is_exit_2_after_the_report(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(GOOD)
    code, out, err = _run("ingest", "--path", str(tmp_path / "a.log"), "--profile", "/dev/full")
    assert code == 2
    assert out.startswith("Ingest report\n")
    last = err.splitlines()[-1]
    assert last == "Error: cannot write profile to /dev/full: No space left on device"
    assert "Internal error" not in err


def test_output_failure_wins_over_failed_inputs(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(GOOD)
    (tmp_path / "b.log.gz").write_bytes(b"not gzip")
    code, _, err = _run("ingest", "--path", str(tmp_path), "--output", "/dev/full")
    assert code == 2
    assert f"WARNING input failed: {tmp_path / 'b.log.gz'}" in err  # still named
    assert err.splitlines()[-1].startswith("Error: cannot write report to /dev/full")


def _undecodable(tmp_path: Path) -> tuple[Path, str]:
    name = os.fsdecode(b"bad\xff.gz")
    tmp_path.mkdir()
    (tmp_path / name).write_bytes(b"not gzip at all")
    (tmp_path / "a.log").write_text(GOOD)
    return tmp_path, str(tmp_path / "bad\\xff.gz")


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_undecodable_file_names_are_escaped_in_the_report(
    tmp_path: Path, output_format: str
) -> None:
    inputs, shown = _undecodable(tmp_path / "in")
    report = tmp_path / "report.out"
    report.write_text("previous content\n")
    code, _, err = _run(
        "ingest", "--path", str(inputs), "--output", str(report), "--format", output_format
    )
    assert code == 3, err
    text = report.read_text(encoding="utf-8")
    if output_format == "json":
        assert json.loads(text)["inputs"]["failed"][0]["path"] == shown
    else:
        assert shown in text
    assert f"WARNING input failed: {shown}: " in err


def test_file_names_cannot_forge_log_lines_or_malformed_records(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    forged = inputs / "x.gz\nWARNING fake.gz"
    forged.write_bytes(b"corrupt")
    tabbed = inputs / "tab\there\nnext.log"
    tabbed.write_text(GOOD * 3 + BAD + BAD)
    records = tmp_path / "bad.txt"
    code, _, err = _run("ingest", "--path", str(inputs), "--malformed-out", str(records))
    assert code == 3
    warnings = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert warnings == [f"WARNING input failed: {inputs}/x.gz\\nWARNING fake.gz: " + _gz_error()]
    lines = records.read_text().splitlines()
    source = f"{inputs}/tab\\there\\nnext.log"
    assert [line.split("\t", 1) for line in lines] == [[source, BAD.strip()]] * 2


def _gz_error() -> str:
    try:
        gzip.decompress(b"corrupt")
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("not reached")
