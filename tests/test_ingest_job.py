"""pipeline.ingest.job: whole runs against the reference, every mode, and every bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest.job import parsed_frame, run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.loggen.generate import generate_logs
from pipeline.reporting.text import render_json
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_ingest_reference import assert_same_report, ref_decode, ref_report

pytestmark = pytest.mark.usefixtures("small_blocks")

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


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "settings",
    [SYNC, ExecutionSettings(mode="threading", workers=3), ExecutionSettings("process", 2)],
    ids=["sync", "threading", "process"],
)
def test_modes_match_reference(generated: Path, settings: ExecutionSettings) -> None:
    result = run_ingest(str(generated), settings, IngestOptions(blocksize=SMALL_BLOCKSIZE))
    want = _reference(sorted(generated.iterdir()))
    assert_same_report(result.to_dict(), want)
    assert result.to_dict()["execution"]["mode"] == settings.mode


def test_blocksize_does_not_change_the_answer(generated: Path) -> None:
    small = run_ingest(str(generated), SYNC, IngestOptions(blocksize=SMALL_BLOCKSIZE)).to_dict()
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
    classes = doc["requests"]["by_status_class"]
    assert all(count for name, count in classes.items() if name != "none")
    assert classes["none"] == 0
    assert doc["lines"]["malformed"] > 0


def test_edge_case_bytes(tmp_path: Path) -> None:
    good = b"[GET] /x, status=200, time=5ms user-agent=ua"
    files = {
        "crlf.log": good + b"\r\n" + good + b"\r\n",
        "no-newline.log": good + b"\n" + good,
        "nul.log": b"[GET] /\x00, status=200, time=1ms user-agent=\x00\x00\n\x00\n",
        "utf8.log": b"[GET] /\xff\xfe, status=200, time=1ms user-agent=\xe2\x82\n\xc3(\n",
        # a 1 MiB line across 16 blocks; the filler is in the path (in the agent, the pure-Python
        # reference parser would spend 14 s on it)
        "long.log": good.replace(b"/x", b"/" + b"x" * 2**20) + b"\n" + good + b"\n",
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
    result = run_ingest(str(tmp_path), SYNC, IngestOptions(blocksize=SMALL_BLOCKSIZE))
    assert result.failed_inputs == ()
    assert_same_report(result.to_dict(), _reference(sorted(tmp_path.iterdir())))
    agents = {entry["user_agent"] for entry in result.to_dict()["user_agents"]["top"]}
    assert "\x00\x00" in agents
    assert result.parsed == 12


def test_invalid_utf8_in_split_blocks_is_replaced(tmp_path: Path) -> None:
    # a file larger than the blocksize is parsed block by block from its bytes (used in place
    # when valid UTF-8): a block with invalid bytes reads as decode(errors="replace") would
    good = b"[GET] /x, status=200, time=5ms user-agent=ua\n"
    bad = b"[GET] /\xff\xfe, status=200, time=1ms user-agent=\xe2\x82\n\xc3(\n"
    (tmp_path / "mixed.log").write_bytes((good * 1500 + bad) * 4)
    assert (tmp_path / "mixed.log").stat().st_size > 4 * SMALL_BLOCKSIZE  # several blocks
    result = run_ingest(str(tmp_path), SYNC, IngestOptions(blocksize=SMALL_BLOCKSIZE))
    assert_same_report(result.to_dict(), _reference(sorted(tmp_path.iterdir())))
    agents = {entry["user_agent"] for entry in result.to_dict()["user_agents"]["top"]}
    assert "\ufffd" in agents


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
        "directives": 0,
        "malformed_samples": [],
    }


def test_failed_file_contributes_nothing_even_when_split(tmp_path: Path) -> None:
    """A file cut into several blocks where only one block's read fails is dropped whole."""
    from pipeline.ingest.aggregate.partial import merge_file
    from pipeline.ingest.inputs.files import Block
    from pipeline.ingest.read import block_partial

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
    result = run_ingest(str(tmp_path / "*.log"), SYNC, IngestOptions(malformed_out=str(out)))
    lines = out.read_text().splitlines()
    assert lines[:2] == [f"{tmp_path / 'a.log'}\tbad one", f"{tmp_path / 'b.log'}\tbad two"]
    assert len(lines) == result.malformed == 9
    assert len(result.malformed_samples) == 5
    with pytest.raises(InputError, match="no such directory"):
        run_ingest(str(tmp_path), SYNC, IngestOptions(malformed_out=str(tmp_path / "nope" / "x")))


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^no such file or directory: .*missing$"):
        run_ingest(str(tmp_path / "missing"), SYNC)
    with pytest.raises(InputError, match="blocksize"):
        run_ingest(str(tmp_path), SYNC, IngestOptions(blocksize=10))


def test_json_is_strict_and_nulls_when_empty(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("only junk\n")
    doc = run_ingest(str(tmp_path), SYNC).to_dict()
    assert doc["latency_ms"] == dict.fromkeys(doc["latency_ms"], None) | {"count": 0}
    assert doc["latency_by_method"] == {} and doc["top_paths"] == []
    assert "NaN" not in render_json(run_ingest(str(tmp_path), SYNC))


def test_parsed_frame_matches_job(generated: Path) -> None:
    frame = parsed_frame(str(generated), IngestOptions(blocksize=SMALL_BLOCKSIZE))
    assert frame.npartitions > 3
    pandas_frame = frame.compute(scheduler="sync")
    result = run_ingest(str(generated), SYNC)
    assert len(pandas_frame) == result.parsed
    counts = pandas_frame["method"].astype(str).value_counts().sort_index().to_dict()
    assert counts == dict(result.by_method)


def _method_lines(method: str, count: int) -> str:
    """``count`` log lines of one method; GET and PUT give files of the same size."""
    return "".join(
        f"[{method}] /p{i % 7}, status=200, time={i % 90 + 1}.5ms user-agent=curl/8.0\n"
        for i in range(count)
    )


def _rewrite(path: Path, text: str) -> None:
    """Rewrite ``path``; make sure its mtime moves even within the file system's timestamp
    granularity (a few ms on Linux), which a rewrite of the same size could otherwise share."""
    before = path.stat()
    path.write_text(text)
    if path.stat().st_mtime_ns == before.st_mtime_ns:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))


def _capture_graphs(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record the graph each run_ingest computes (the real compute still runs)."""
    from pipeline.engine.execution import compute as real
    from pipeline.ingest import job

    graphs: list[object] = []

    def capturing(*collections: object, settings: ExecutionSettings) -> tuple[object, ...]:
        graphs.extend(collections)
        return real(*collections, settings=settings)

    monkeypatch.setattr(job, "compute", capturing)
    return graphs


def _keys(graph: object) -> set[str]:
    return {str(key) for key in dict(graph.__dask_graph__())}  # type: ignore[attr-defined]


def test_task_keys_change_when_only_the_mtime_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Size and mtime (ns) are in the keys: touching one file renames exactly its tasks."""
    small, big = tmp_path / "a.log", tmp_path / "b.log"
    small.write_text(_method_lines("GET", 10))
    big.write_text(_method_lines("GET", 4000))  # ~260 KB: several blocks of SMALL_BLOCKSIZE
    graphs = _capture_graphs(monkeypatch)

    def run() -> dict[str, set[str]]:
        result = run_ingest(str(tmp_path), SYNC, IngestOptions(blocksize=SMALL_BLOCKSIZE))
        assert result.parsed == 4010
        keys = _keys(graphs[-1])
        return {
            kind: {key for key in keys if key.startswith(kind + "-")}
            for kind in ("block_partial", "files_partial")
        }

    first = run()
    assert len(first["block_partial"]) > 3
    assert len(first["files_partial"]) == 3  # the group task, its blocks and its formats
    assert run() == first  # nothing changed: the same keys (a shared client may reuse them)
    stat = big.stat()
    os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # same bytes, 1 ns later
    touched_big = run()
    assert not touched_big["block_partial"] & first["block_partial"]
    assert touched_big["files_partial"] == first["files_partial"]
    stat = small.stat()
    os.utime(small, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    touched_small = run()
    assert touched_small["block_partial"] == touched_big["block_partial"]
    assert not touched_small["files_partial"] & touched_big["files_partial"]


@pytest.mark.subprocess
@pytest.mark.timeout(120)
@pytest.mark.parametrize("blocksize", [SMALL_BLOCKSIZE, 2**26], ids=["split-file", "small-file"])
def test_shared_client_reads_a_rewritten_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocksize: int
) -> None:
    """On a long-lived distributed client that still holds the first run's results, a file
    rewritten in place (same size, then another size) is read again, not taken from memory."""
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "app.log"
    path.write_text(_method_lines("GET", 4000))
    graphs = _capture_graphs(monkeypatch)
    with distributed.Client(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as client:
        settings = ExecutionSettings()
        assert settings.resolved_mode == "distributed"
        first = run_ingest(str(path), settings, IngestOptions(blocksize=blocksize))
        assert dict(first.by_method) == {"GET": 4000}
        kept = client.persist(graphs[-1])  # the first run's results stay in the cluster
        distributed.wait(kept)  # (computed from the old content before it is rewritten)
        size = path.stat().st_size
        _rewrite(path, _method_lines("PUT", 4000))
        assert path.stat().st_size == size
        same_size = run_ingest(str(path), settings, IngestOptions(blocksize=blocksize))
        assert dict(same_size.by_method) == {"PUT": 4000}
        kept_too = client.persist(graphs[-1])
        distributed.wait(kept_too)
        _rewrite(path, _method_lines("POST", 3000))
        other_size = run_ingest(str(path), settings, IngestOptions(blocksize=blocksize))
        assert dict(other_size.by_method) == {"POST": 3000}
        assert other_size.parsed == 3000
        del kept, kept_too
