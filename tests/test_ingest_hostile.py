"""Hostile inputs to ingest: devices, FIFOs, fake zips, endless lines, bugs that look like I/O."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest import group, read
from pipeline.ingest.inputs.stream import MAX_LINE_BYTES
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import MAX_BLOCKSIZE, IngestOptions
from pipeline.ingest.parsing import joined
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_ingest_reference import assert_same_report, ref_report

pytestmark = pytest.mark.usefixtures("small_blocks")

SYNC = ExecutionSettings(mode="sync")
GOOD = b"[GET] /x, status=200, time=5ms user-agent=curl/8\n"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--mode", "sync"])
    return result.exit_code, result.stdout, result.stderr


def test_a_device_is_a_failed_input_not_an_endless_read() -> None:
    result = run_ingest("/dev/zero", SYNC)
    assert [(f.path, f.error) for f in result.failed] == [
        ("/dev/zero", "UnsupportedFileType: not a regular file or FIFO (character device)")
    ]
    assert result.parsed == result.malformed == 0


def test_a_fifo_is_read_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "live.log"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as handle:
            handle.write(GOOD * 3 + b"junk\n")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = run_ingest(str(fifo), ExecutionSettings(mode="threading", workers=2))
    thread.join(timeout=10)
    assert (result.parsed, result.malformed, result.failed) == (3, 1, ())


def test_a_line_over_the_cap_is_one_malformed_line(tmp_path: Path) -> None:
    long_valid = b"[GET] /y, status=200, time=5ms user-agent=" + b"u" * MAX_LINE_BYTES + b"\n"
    log = tmp_path / "a.log"
    log.write_bytes(GOOD + long_valid + GOOD)
    bad = tmp_path / "bad.txt"
    for blocksize in (SMALL_BLOCKSIZE, MAX_BLOCKSIZE):  # the line spans many blocks, or lies in one
        result = run_ingest(
            str(log), SYNC, IngestOptions(blocksize=blocksize, malformed_out=str(bad))
        )
        assert (result.parsed, result.malformed) == (2, 1)
        expected = (
            f"<line of {len(long_valid)} bytes at byte {len(GOOD)} skipped: "
            f"longer than {MAX_LINE_BYTES} bytes>"
        )
        sample = {"file": str(log), "line": 2, "text": expected}
        assert result.to_dict()["lines"]["malformed_samples"] == [sample]
        assert bad.read_text() == f"{log}\t{expected}\n"


def test_a_zip_url_that_is_not_a_zip_is_a_failed_input(tmp_path: Path) -> None:
    (tmp_path / "s.log").write_bytes(GOOD)
    url = f"zip://x::file://{tmp_path / 's.log'}"
    code, out, err = _run("ingest", "--path", url)
    assert code == 3
    assert "Ingest report" in out
    lines = [line for line in err.splitlines() if not line.startswith("INFO ")]
    assert lines == [f"WARNING input failed: {url}: BadZipFile: File is not a zip file"]


def test_an_oserror_from_parsing_is_a_bug_not_a_failed_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.log").write_bytes(GOOD)

    def broken(*args: object) -> object:
        raise OSError("a bug in the parser")

    monkeypatch.setattr(read, "parse_text", broken)  # a block of a large file
    monkeypatch.setattr(group, "parse_text", broken)  # small files read one by one
    monkeypatch.setattr(joined, "parse_text", broken)  # small files read together
    with pytest.raises(OSError, match="a bug in the parser"):
        run_ingest(str(tmp_path / "a.log"), SYNC)
    code, _, err = _run("ingest", "--path", str(tmp_path / "a.log"))
    assert code == 1
    lines = [line for line in err.splitlines() if not line.startswith("INFO ")]
    assert lines[0].startswith("Internal error: OSError: a bug in the parser")


def _random_line(rng: random.Random, valid: bool) -> str:
    if not valid and rng.random() < 0.1:
        return "junk\n"
    method, status = rng.choice(["GET", "POST"]), rng.choice([200, 404])
    return (
        f"[{method}] /p{rng.randint(0, 9)}, status={status}, time={rng.randint(1, 50)}ms "
        f"user-agent=ua{rng.randint(0, 3)}\n"
    )


@pytest.mark.subprocess
def test_many_small_files_grouped_match_the_reference(tmp_path: Path) -> None:
    rng = random.Random(5)
    texts = []
    for index in range(400):
        count = rng.randint(0, 4)  # a non-empty file starts with a valid line (else it fails)
        lines = [_random_line(rng, valid=i == 0) for i in range(count)]
        texts.append("".join(lines))
        (tmp_path / f"{index:03}.log").write_text(texts[-1])
    (tmp_path / "150.5.log.gz").write_bytes(b"corrupt")  # a failed file in the middle of a group
    for settings in (SYNC, ExecutionSettings(mode="process", workers=2)):
        result = run_ingest(str(tmp_path), settings, IngestOptions(blocksize=SMALL_BLOCKSIZE))
        document = result.to_dict()
        assert [f["path"] for f in document["inputs"]["failed"]] == [str(tmp_path / "150.5.log.gz")]
        document["inputs"]["failed"] = []
        named = [(str(tmp_path / f"{index:03}.log"), text) for index, text in enumerate(texts)]
        assert_same_report(document, ref_report(named, files=401))
