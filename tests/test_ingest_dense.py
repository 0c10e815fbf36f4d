"""Dense input, empty and tiny lines: the parser's memory follows the longest slice it parses,
not the number of lines of a block (issue 22), and the counts stay exact."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest import options
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing import parse
from pipeline.ingest.parsing.parse import parse_text
from pipeline.ingest.report.result import build_result
from pipeline.ingest.stdin import stdin_total
from tests.conftest import SMALL_BLOCKSIZE

GOOD = "[GET] /a, status=200, time=5ms user-agent=curl"


@pytest.fixture
def arrow_pool() -> Iterator[pa.MemoryPool]:
    """A fresh Arrow pool as the default one, so its peak is this test's peak."""
    previous = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(previous)
    pa.set_memory_pool(pool)
    try:
        yield pool
    finally:
        pa.set_memory_pool(previous)


def _peak_bytes(pool: pa.MemoryPool, text: bytes) -> tuple[int, parse.ParsedPartition]:
    """Peak of Arrow's and of Python's (numpy's) allocations while ``text`` is parsed."""
    tracemalloc.start()
    try:
        parsed = parse_text(text)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return pool.max_memory() + python_peak, parsed


@pytest.mark.parametrize("line", [b"\n", b" \r\n"])
def test_parsing_memory_per_blank_line_is_bounded(
    arrow_pool: pa.MemoryPool, monkeypatch: pytest.MonkeyPatch, line: bytes
) -> None:
    """2M empty or blank lines (what a 2-6 MiB block of them holds): the parser allocates under
    2 bytes per line at its peak (it held about 25 per line, the whole block at once), and every
    line is counted."""
    monkeypatch.setattr(parse, "MAX_PARSE_LINES", 2**16)
    count = 2**21
    peak, parsed = _peak_bytes(arrow_pool, line * count)
    assert peak < 2 * count
    assert (parsed.line_count, parsed.lines, len(parsed.malformed_index)) == (count, 0, 0)


def test_tiny_malformed_lines_cost_their_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """One-character lines are malformed: the result holds each (its text and offset, 9 bytes)
    and its index (8 bytes), nothing more per line, and they are all counted, in order."""
    monkeypatch.setattr(parse, "MAX_PARSE_LINES", 2**10)
    count = 2**16
    parsed = parse_text(b"x\n" * count)
    held = parsed.malformed_array.nbytes + parsed.malformed_index.nbytes
    assert held <= 17 * count + 64
    assert (parsed.line_count, parsed.lines, len(parsed.frame)) == (count, count, 0)
    assert parsed.malformed_index.tolist() == list(range(count))
    assert parsed.malformed_array.to_pylist() == ["x"] * count


def _reference(lines: list[str]) -> tuple[int, int, int, list[int]]:
    """Plain count: non-blank lines, parsed, malformed, and the first malformed line numbers."""
    filled = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    bad = [n for n, line in filled if line != GOOD]
    return len(filled), len(filled) - len(bad), len(bad), bad[:5]


@pytest.mark.parametrize(
    ("mode", "path_", "most"),
    [
        ("sync", "whole", 7),
        ("threading", "whole", 7),
        ("sync", "blocks", 4096),
        ("threading", "blocks", 4096),
        ("threading", "stdin", 4096),
    ],
)
def test_counts_of_a_dense_file_are_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, path_: str, most: int
) -> None:
    """Runs of empty lines, tiny malformed lines and valid ones, parsed in many slices of few
    lines each, read whole (a small file's group task), in blocks (each slice aggregated on its
    own) or from standard input: totals and the malformed lines' numbers match a plain count."""
    monkeypatch.setattr(parse, "MAX_PARSE_LINES", most)
    monkeypatch.setattr(options, "MIN_BLOCKSIZE", SMALL_BLOCKSIZE)
    lines = []
    for run in range(60 if path_ == "whole" else 1800):
        lines += [""] * (run % 13) + ["x"] * (run % 3) + [GOOD] * (run % 4) + ["  "] * (run % 2)
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "dense.log"
    path.write_bytes(data)
    settings = ExecutionSettings(mode=mode, workers=2)
    if path_ == "stdin":
        total, _ = stdin_total(settings, blocksize=SMALL_BLOCKSIZE, stream=io.BytesIO(data))
        report = build_result(total, settings, 0.0, formats={"default": 1}).to_dict()["lines"]
    else:
        blocksize = SMALL_BLOCKSIZE if path_ == "blocks" else options.DEFAULT_BLOCKSIZE
        assert (len(data) > 2 * blocksize) == (path_ == "blocks")
        result = run_ingest(str(path), settings, IngestOptions(blocksize=blocksize))
        report = result.to_dict()["lines"]
    total_, parsed, malformed, first = _reference(lines)
    assert (report["total"], report["parsed"], report["malformed"]) == (total_, parsed, malformed)
    assert [entry["line"] for entry in report["malformed_samples"]] == first
