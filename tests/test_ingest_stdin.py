"""``ingest --path -``: standard input, plain or gzip, in pieces, as one input named <stdin>."""

from __future__ import annotations

import gzip
import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.report.result import build_result
from pipeline.ingest.stdin import stdin_total
from pipeline.loggen.generate import generate_logs
from tests.conftest import REPO_ROOT, SMALL_BLOCKSIZE
from tests.test_ingest_reference import assert_same_report, ref_decode, ref_report

pytestmark = [pytest.mark.timeout(200), pytest.mark.usefixtures("small_blocks")]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stdin") / "a.log"
    generate_logs(path, lines=4000, seed=3, malformed_rate=0.02)  # ~370 KB: several pieces
    return path


def _cli(stdin: bytes | int, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "cli.py"), "ingest", *args],
        input=stdin if isinstance(stdin, bytes) else None,
        stdin=stdin if isinstance(stdin, int) else None,
        capture_output=True,
        timeout=150,
    )


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_stdin_matches_the_reference_in_pieces(log: Path, compress: bool) -> None:
    data = log.read_bytes()
    stream = io.BytesIO(gzip.compress(data) if compress else data)
    settings = ExecutionSettings(mode="threading", workers=2)
    total, detection = stdin_total(settings, blocksize=SMALL_BLOCKSIZE, stream=stream)
    assert detection.format.name == "default"
    document = build_result(total, settings, time.perf_counter(), formats={"default": 1}).to_dict()
    assert_same_report(document, ref_report([("<stdin>", ref_decode("a.log", data))]))


@pytest.mark.subprocess
@pytest.mark.parametrize("nginx", [False, True], ids=["default-gzip", "combined-plain"])
def test_cli_reads_a_pipe_as_one_input_with_its_format(log: Path, nginx: bool) -> None:
    source = REPO_ROOT / "tests" / "data" / "nginx" / "combined.log" if nginx else log
    data = source.read_bytes()
    piped = _cli(data if nginx else gzip.compress(data), "--path", "-", "--format", "json")
    direct = _cli(b"", "--path", str(source), "--format", "json")
    assert piped.returncode == direct.returncode == 0, piped.stderr
    got, want = json.loads(piped.stdout), json.loads(direct.stdout)
    for sample in want["lines"]["malformed_samples"]:  # the same lines, named <stdin>
        sample["file"] = "<stdin>"
    assert got["inputs"] == {
        "files": 1,
        "formats": {"combined" if nginx else "default": 1},
        "failed": [],
    }
    assert {k: v for k, v in got.items() if k != "execution"} == {
        k: v for k, v in want.items() if k != "execution"
    }


@pytest.mark.subprocess
def test_corrupt_gzip_on_stdin_is_a_failed_input() -> None:
    truncated = gzip.compress(b"[GET] /x, status=200, time=5ms user-agent=a\n")[:15]
    result = _cli(truncated, "--path", "-")
    assert result.returncode == 3
    assert result.stderr.decode().splitlines() == [
        "WARNING input failed: <stdin>: EOFError: Compressed file ended before the "
        "end-of-stream marker was reached"
    ]


@pytest.mark.subprocess
def test_a_terminal_on_stdin_is_exit_2() -> None:
    controller, terminal = pty.openpty()
    try:
        result = _cli(terminal, "--path", "-")
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 2
    assert result.stdout == b""
    message = "Error: no input on standard input (pipe a log into --path -)\n"
    assert result.stderr.decode() == message


@pytest.mark.parametrize("log_format", ["auto", "json"])
def test_field_overrides_apply_to_json_lines_on_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_format: str
) -> None:
    from pipeline.ingest.job import run_ingest
    from tests.test_ingest_formats_reference import json_parser

    # detectable as JSON lines without the overrides (status, path); the overrides change
    # which key is the path and where the latency is
    records = [
        {"status": 200 + i % 2, "path": "/p", "route": f"/r{i % 3}", "took": 1000 * i + 7}
        for i in range(50)
    ]
    text = "".join(json.dumps(record) + "\n" for record in records)
    fields = ["path=route", "latency=took:us"]
    parse = json_parser(fields)  # the reference, written from the alias table of docs/formats.md
    rows = [parse(line) for line in text.splitlines()]
    assert all(row is not None for row in rows)
    stream = io.TextIOWrapper(io.BytesIO(text.encode()))
    monkeypatch.setattr(sys, "stdin", stream)
    result = run_ingest(
        "-", ExecutionSettings(mode="sync"), IngestOptions(log_format=log_format, field=fields)
    )
    document = result.to_dict()
    assert document["inputs"]["formats"] == {"json": 1}
    assert document["requests"]["total"] == len(rows)
    latencies = sorted(row.latency for row in rows if row is not None and row.latency is not None)
    assert document["latency_ms"]["count"] == len(latencies) == 50
    assert document["latency_ms"]["max"] == latencies[-1]
    paths = {row.path for row in rows if row is not None}
    assert {entry["path"] for entry in document["top_paths"]} == paths


def test_pieces_hold_at_most_a_chunk_whatever_the_blocksize(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 22: the main process holds two pieces per worker; a 256 MiB blocksize must not make
    # them 256 MiB each. Pieces end at a line break, so a piece is at most a chunk plus a line.
    from pipeline.ingest import stdin

    monkeypatch.setattr(stdin, "STREAM_CHUNK", 4096)
    data = log.read_bytes()
    pieces = list(stdin._pieces(io.BytesIO(data), blocksize=2**28))
    assert b"".join(p for p in pieces if isinstance(p, bytes)) == data
    longest = max(map(len, data.splitlines(keepends=True)))
    assert max(len(p) for p in pieces if isinstance(p, bytes)) <= 4096 + longest
    assert len(pieces) >= len(data) // (4096 + longest)
