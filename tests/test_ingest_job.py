"""pipeline.ingest.job: whole runs against the reference, every mode, and every bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.execution import ExecutionSettings
from pipeline.ingest.generate import generate_logs
from pipeline.ingest.job import MIN_BLOCKSIZE, parsed_frame, run_ingest
from pipeline.report import render_json
from tests.test_ingest_reference import assert_same_report, ref_decode, ref_report

SYNC = ExecutionSettings(mode="sync")


def _reference(paths: list[Path]) -> dict[str, object]:
    return ref_report([(str(p), ref_decode(p.name, p.read_bytes())) for p in paths])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three files, ~600 KB in all, so the 64 KiB minimum blocksize cuts many blocks."""
    root = tmp_path_factory.mktemp("logs")
    generate_logs(root, lines=6000, files=3, seed=11, malformed_rate=0.02)
    generate_logs(root / "z.log", lines=500, seed=12, malformed_rate=0.05, gzip=True)
    return root


@pytest.mark.parametrize(
    "settings",
    [SYNC, ExecutionSettings(mode="threading", workers=3), ExecutionSettings("process", 2)],
    ids=["sync", "threading", "process"],
)
def test_modes_match_reference(generated: Path, settings: ExecutionSettings) -> None:
    result = run_ingest(str(generated), settings, blocksize=MIN_BLOCKSIZE)
    want = _reference(sorted(generated.iterdir()))
    assert_same_report(result.to_dict(), want)
    assert result.to_dict()["execution"]["mode"] == settings.mode


def test_blocksize_does_not_change_the_answer(generated: Path) -> None:
    small = run_ingest(str(generated), SYNC, blocksize=MIN_BLOCKSIZE).to_dict()
    large = run_ingest(str(generated), SYNC).to_dict()
    small.pop("execution")
    large.pop("execution")
    assert small == large


def test_bundled_sample_matches_reference() -> None:
    root = Path(__file__).resolve().parent.parent / "data" / "logs"
    result = run_ingest(str(root), SYNC)
    files = [root / "archive" / "2026-11-27.log.gz", root / "sample.log"]
    assert_same_report(result.to_dict(), _reference(files))
    doc = result.to_dict()
    assert set(doc["requests"]["by_method"]) >= {"GET", "POST", "PUT", "DELETE", "PURGE"}
    assert all(doc["requests"]["by_status_class"].values())
    assert doc["lines"]["malformed"] > 0


def test_edge_case_bytes(tmp_path: Path) -> None:
    good = b"[GET] /x, status=200, time=5ms user-agent=ua"
    files = {
        "crlf.log": good + b"\r\n" + good + b"\r\n",
        "no-newline.log": good + b"\n" + good,
        "nul.log": b"[GET] /\x00, status=200, time=1ms user-agent=\x00\x00\n\x00\n",
        "utf8.log": b"[GET] /\xff\xfe, status=200, time=1ms user-agent=\xe2\x82\n\xc3(\n",
        "long.log": good + b"x" * 2**20 + b"\n" + good + b"\n",
        "empty.log": b"",
        "empty.log.gz": b"",
        "empty.log.bz2": b"",
        "empty.log.xz": b"",
        "blank.log": b"\n\n   \r\n\t\n",
        "multi.log.gz": gzip.compress(good + b"\n") + gzip.compress(good + b"\n"),
        "data.log.BZ2": bz2.compress(good + b"\n"),
        "data.log.xz": lzma.compress(good + b"\nbad\n"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = run_ingest(str(tmp_path), SYNC, blocksize=MIN_BLOCKSIZE)
    assert result.failed_inputs == ()
    assert_same_report(result.to_dict(), _reference(sorted(tmp_path.iterdir())))
    agents = {entry["user_agent"] for entry in result.to_dict()["user_agents"]["top"]}
    assert "\x00\x00" in agents
    assert result.parsed == 12


def test_bad_files_are_reported_not_fatal(tmp_path: Path) -> None:
    """Failures are returned in the result; the CLI names each on stderr (test_ingest_cli)."""
    good = b"[GET] /x, status=200, time=5ms user-agent=ua\n"
    (tmp_path / "good.log").write_bytes(good * 3)
    (tmp_path / "corrupt.log.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate" * 4)
    (tmp_path / "truncated.log.bz2").write_bytes(bz2.compress(good * 100)[:-20])
    (tmp_path / "truncated.log.xz").write_bytes(lzma.compress(good * 100)[:-20])
    # Root ignores file permissions, so an unreadable entry is simulated by a dangling link.
    os.symlink(tmp_path / "vanished.log", tmp_path / "dangling.log")
    result = run_ingest(str(tmp_path), ExecutionSettings(mode="threading", workers=2))
    failed = {Path(f.path).name: f.error for f in result.failed_inputs}
    assert sorted(failed) == [
        "corrupt.log.gz",
        "dangling.log",
        "truncated.log.bz2",
        "truncated.log.xz",
    ]
    assert failed["truncated.log.bz2"].startswith("EOFError")
    assert failed["dangling.log"].startswith("FileNotFoundError")
    doc = result.to_dict()
    assert doc["inputs"]["files"] == 5
    assert doc["lines"] == {
        "total": 3,
        "parsed": 3,
        "malformed": 0,
        "filtered": 0,
        "malformed_samples": [],
    }


def test_failed_file_contributes_nothing_even_when_split(tmp_path: Path) -> None:
    """A file cut into several blocks where only one block's read fails is dropped whole."""
    from pipeline.ingest.files import Block
    from pipeline.ingest.read import block_partial
    from pipeline.ingest.stats import merge_file

    path = tmp_path / "x.log"
    path.write_bytes(b"[GET] /x, status=200, time=5ms user-agent=ua\n" * 10)
    ok = block_partial(Block(str(path), 0, 100))
    broken = block_partial(Block(str(tmp_path / "gone.log"), 100, 100))
    merged = merge_file([ok, broken], str(path))
    assert ok.parsed > 0
    assert (merged.files, merged.parsed, len(merged.failed)) == (1, 0, 1)


def test_malformed_out(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("bad one\n[GET] /x, status=200, time=5ms user-agent=\n")
    (tmp_path / "b.log").write_text("  bad two \r\n" + "junk\n" * 7)
    out = tmp_path / "out" / "malformed.txt"
    out.parent.mkdir()
    result = run_ingest(str(tmp_path / "*.log"), SYNC, malformed_out=str(out))
    lines = out.read_text().splitlines()
    assert lines[:2] == [f"{tmp_path / 'a.log'}\tbad one", f"{tmp_path / 'b.log'}\tbad two"]
    assert len(lines) == result.malformed == 9
    assert len(result.malformed_samples) == 5
    with pytest.raises(InputError, match="no such directory"):
        run_ingest(str(tmp_path), SYNC, malformed_out=str(tmp_path / "nope" / "x"))


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^no such file or directory: .*missing$"):
        run_ingest(str(tmp_path / "missing"), SYNC)
    with pytest.raises(InputError, match="blocksize"):
        run_ingest(str(tmp_path), SYNC, blocksize=10)


def test_json_is_strict_and_nulls_when_empty(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("only junk\n")
    doc = run_ingest(str(tmp_path), SYNC).to_dict()
    assert doc["latency_ms"] == dict.fromkeys(doc["latency_ms"], None) | {"count": 0}
    assert doc["latency_by_method"] == {} and doc["top_paths"] == []
    assert "NaN" not in render_json(run_ingest(str(tmp_path), SYNC))


def test_parsed_frame_matches_job(generated: Path) -> None:
    frame = parsed_frame(str(generated), blocksize=MIN_BLOCKSIZE)
    assert frame.npartitions > 3
    pandas_frame = frame.compute(scheduler="sync")
    result = run_ingest(str(generated), SYNC)
    assert len(pandas_frame) == result.parsed
    counts = pandas_frame["method"].astype(str).value_counts().sort_index().to_dict()
    assert counts == dict(result.by_method)
