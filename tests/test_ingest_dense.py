"""Dense input, empty and tiny lines: the parser's memory follows the longest slice it parses,
not the number of lines of a block (issue 22), and the counts stay exact."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing import parse
from pipeline.ingest.parsing.parse import parse_text

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


@pytest.mark.parametrize("mode", ["sync", "threading"])
def test_counts_of_a_dense_file_are_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A file of runs of empty lines, tiny malformed lines and valid ones, parsed in many slices
    of few lines each: totals and the malformed lines' numbers match a plain count."""
    monkeypatch.setattr(parse, "MAX_PARSE_LINES", 7)
    lines = []
    for run in range(60):
        lines += [""] * (run % 13) + ["x"] * (run % 3) + [GOOD] * (run % 4) + ["  "] * (run % 2)
    path = tmp_path / "dense.log"
    path.write_text("\n".join(lines) + "\n")
    result = run_ingest(str(path), ExecutionSettings(mode=mode, workers=2), IngestOptions())
    report = result.to_dict()["lines"]
    total, parsed, malformed, first = _reference(lines)
    assert (report["total"], report["parsed"], report["malformed"]) == (total, parsed, malformed)
    assert [entry["line"] for entry in report["malformed_samples"]] == first
