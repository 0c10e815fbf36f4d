"""W3C state across pieces, blocks, modes, standard input, parsed_frame and small files.

A generated IIS file of several 64 KiB blocks whose ``#Fields:`` (and ``#Software:``, ``#Date:``)
change in later blocks, read every way a large file is read, against the plain per-line
reference of :mod:`tests.test_preset_w3c`.
"""

from __future__ import annotations

import functools
import math
import random
from pathlib import Path
from typing import Any

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest import read
from pipeline.ingest.inputs.stream import line_pieces
from pipeline.ingest.job import parsed_frame, run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.stdin import stdin_total
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_preset_w3c import FORMATS, IIS_DEFAULT, _reference

pytestmark = pytest.mark.usefixtures("small_blocks")


def _generated_iis(path: Path, lines: int) -> None:
    """An IIS file of several 64 KiB blocks whose #Fields changes twice in later blocks: to a
    reordered IIS set with cs-host and sc-bytes, then to a non-IIS set (seconds)."""
    rng = random.Random(7)
    first = "#Software: Microsoft Internet Information Services 10.0\n#Date: 2024-03-01 00:00:00\n"
    first += "#Fields: " + " ".join(IIS_DEFAULT) + "\n"
    second = (
        "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query cs-host sc-status "
        "sc-bytes time-taken\n"
    )
    third = (
        "#Software: Example Server 1.0\n#Date: 2024-03-02 00:00:00\n"
        "#Fields: time cs-method cs-uri-stem sc-status time-taken\n"
    )
    out = [first]
    for i in range(lines):
        status = rng.choice([200, 200, 304, 404, 500])
        taken = rng.randint(0, 5000)
        if i == lines // 2:
            out.append(second)
        if i == 4 * lines // 5:
            out.append(third)
        if i < lines // 2:
            out.append(
                f"2024-03-01 10:{i % 60:02d}:00 10.0.0.1 GET /p{i % 37} q={i} 443 - 1.2.3.4 "
                f"Agent+{i % 5} - {status} 0 0 {taken}\n"
            )
        elif i < 4 * lines // 5:
            out.append(
                f"2024-03-01 11:00:00 W3SVC1 POST /s{i % 11} - h{i % 3}.example "
                f"{status} {i} {taken}\n"
            )
        else:
            out.append(f"12:00:{i % 60:02d} PUT /t{i % 7} {status} {taken / 1000}\n")
        if i % 997 == 0:
            out.append(f"2024-03-01 broken line {i}\n")
    path.write_text("".join(out), encoding="utf-8")


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    latency = document["latency_ms"]
    return {
        "lines": {k: document["lines"][k] for k in ("parsed", "malformed", "directives", "total")},
        "by_status": document["requests"]["by_status"],
        "by_method": document["requests"]["by_method"],
        "latency": (
            latency["count"],
            latency["min"],
            latency["max"],
            round(latency["mean"] * latency["count"], 3),
        ),
    }


def _reference_summary(path: Path) -> dict[str, Any]:
    rows, malformed, directives = _reference(path, cloudfront=False)
    latencies = [row[3] for row in rows if not math.isnan(row[3])]
    by_status: dict[str, int] = {}
    by_method: dict[str, int] = {}
    for row in rows:
        by_status[str(row[2])] = by_status.get(str(row[2]), 0) + 1
        by_method[row[0]] = by_method.get(row[0], 0) + 1
    return {
        "lines": {
            "parsed": len(rows),
            "malformed": malformed,
            "directives": directives,
            "total": len(rows) + malformed + directives,
        },
        "by_status": dict(sorted(by_status.items())),
        "by_method": dict(sorted(by_method.items())),
        "latency": (len(latencies), min(latencies), max(latencies), round(sum(latencies), 3)),
    }


@pytest.fixture(scope="module")
def big_iis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("w3c") / "u_ex240301.log"
    _generated_iis(path, 6000)
    assert path.stat().st_size > 5 * SMALL_BLOCKSIZE
    return path


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "settings",
    [
        ExecutionSettings(mode="sync"),
        ExecutionSettings(mode="threading", workers=3),
        ExecutionSettings("process", 2),
        ExecutionSettings("distributed", 2),
    ],
    ids=["sync", "threading", "process", "distributed"],
)
def test_blocks_know_the_directives_in_force(big_iis: Path, settings: ExecutionSettings) -> None:
    options = IngestOptions(blocksize=SMALL_BLOCKSIZE)
    document = run_ingest(str(big_iis), settings, options).to_dict()
    got = _summary(document)
    want = _reference_summary(big_iis)
    assert got["lines"] == want["lines"]
    assert got["by_status"] == {k: v for k, v in want["by_status"].items()}
    assert {k: v for k, v in got["by_method"].items() if v} == want["by_method"]
    assert got["latency"][:3] == want["latency"][:3]
    assert got["latency"][3] == pytest.approx(want["latency"][3], rel=1e-9)
    assert document["inputs"]["formats"] == {"w3c": 1}


def test_state_crosses_stream_pieces(big_iis: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _summary(run_ingest(str(big_iis), ExecutionSettings(mode="sync")).to_dict())
    monkeypatch.setattr(read, "line_pieces", functools.partial(line_pieces, chunk_size=32768))
    pieces = _summary(run_ingest(str(big_iis), ExecutionSettings(mode="sync")).to_dict())
    assert pieces == whole == _summary_of_reference(big_iis)


def _summary_of_reference(path: Path) -> dict[str, Any]:
    want = _reference_summary(path)
    want["by_method"] = {k: v for k, v in want["by_method"].items()}
    return want


def test_state_crosses_stdin_pieces(big_iis: Path) -> None:
    """A W3C log piped in pieces: each piece starts with the directives in force."""
    with big_iis.open("rb") as stream:
        total, detection = stdin_total(
            ExecutionSettings(mode="sync"), blocksize=SMALL_BLOCKSIZE, stream=stream
        )
    assert detection.format.name == "w3c"
    want = _reference_summary(big_iis)["lines"]
    got = (total.parsed, total.malformed, total.directives)
    assert got == (want["parsed"], want["malformed"], want["directives"])


def test_parsed_frame_blocks_know_the_directives_in_force(big_iis: Path) -> None:
    frame = parsed_frame(str(big_iis), IngestOptions(blocksize=SMALL_BLOCKSIZE)).compute(
        scheduler="sync"
    )
    rows, _, _ = _reference(big_iis, cloudfront=False)
    assert len(frame) == len(rows)
    assert frame["path"].tolist() == [row[1] for row in rows]
    assert frame["latency_ms"].sum() == pytest.approx(sum(row[3] for row in rows), rel=1e-12)


def test_small_files_read_together_each_start_with_no_directive(tmp_path: Path) -> None:
    """Small files share one read task; the #Fields of one must not reach the next."""
    (tmp_path / "a.log").write_text(
        "#Fields: date time cs-method cs-uri-stem sc-status\n2024-01-02 03:04:05 GET /a 200\n"
    )
    line = "2024-01-02 03:04:05 10.0.0.1 GET /b - 80 - 1.2.3.4 curl - 200 0 0 7\n"
    (tmp_path / "b.log").write_text(line)  # headerless: IIS's default fields
    options = IngestOptions(log_format="w3c")
    lines = run_ingest(str(tmp_path), ExecutionSettings(mode="sync"), options).to_dict()["lines"]
    assert (lines["parsed"], lines["malformed"], lines["directives"]) == (2, 0, 1)


def test_time_filter_and_bytes_of_w3c_files() -> None:
    """W3C files may have a time and a size (their #Fields say): --since applies, bytes count."""
    path = FORMATS / "w3c" / "beats-filebeat-iis-test.log"
    options = IngestOptions(since="2018-01-01T09:00:00Z")
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), options).to_dict()
    rows, _, _ = _reference(path, cloudfront=False)
    kept = [row for row in rows if row[5] is not None and row[5] >= 1514797200000]
    assert document["lines"]["parsed"] == len(kept)
    assert document["lines"]["filtered"] == len(rows) - len(kept)
    assert document["requests"]["bytes_sent"] == sum(row[6] for row in kept)
