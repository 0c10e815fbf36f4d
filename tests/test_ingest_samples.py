"""``lines.malformed_samples``: the first malformed lines as ``{"file", "line", "text"}``.

The reference enumerates every line of every file (blank lines included, numbered from 1) and
judges each on its own (``tests/test_ingest_reference.py``); the job finds the same lines from
partitions that keep each malformed line's index and their own line count, shifted as they
merge. Blocks are small here, so the samples come from several blocks of a split file, from
small files grouped into one task and from a compressed file.
"""

from __future__ import annotations

import gzip
import html
import random
from pathlib import Path

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.report.text import render_ingest
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_ingest_reference import ref_samples

pytestmark = pytest.mark.usefixtures("small_blocks")

GOOD = "[GET] /x, status=200, time=5ms user-agent=curl/8"


def _split_file(rng: random.Random, lines: int, bad_at: set[int]) -> str:
    out = []
    for number in range(1, lines + 1):
        if number in bad_at:
            out.append(f"bad line {number}\t\x1b[31m")
        elif rng.random() < 0.05:
            out.append(" " * rng.randint(0, 3))  # blank lines count in line numbers
        else:
            out.append(GOOD)
    return "\n".join(out) + "\n"


@pytest.fixture
def logs(tmp_path: Path) -> list[tuple[str, str]]:
    """Five inputs in walk order, as ``(path, text)``; six malformed lines in all."""
    rng = random.Random(3)
    texts = {
        # about 50 bytes a line: 64 KiB blocks hold ~1,300 lines; no bad line in the first block
        "a.log": _split_file(rng, 4000, {1900, 3100}),
        "b.log": f"{GOOD}\n\n{GOOD}\n",  # grouped with the next: line numbers restart
        "ba.log": f"{GOOD}\n\n   junk   \n{'y' * 1000}\n{GOOD}",  # a line cut at 300
        "c.log.gz": f"\n{GOOD}\nnot a request\n",  # compressed: its own task
        "d.log": f"{GOOD}\nsixth: past the five quoted\n",
    }
    for name, text in texts.items():
        path = tmp_path / name
        if name.endswith(".gz"):
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text)
    split = texts["a.log"].encode()
    starts = [split.index(f"bad line {n}".encode()) // SMALL_BLOCKSIZE for n in (1900, 3100)]
    assert starts == [1, 2]  # in the second and the third block
    return [(str(tmp_path / name), text) for name, text in texts.items()]


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "settings",
    [ExecutionSettings(mode="sync"), ExecutionSettings(mode="process", workers=2)],
    ids=["sync", "process"],
)
def test_samples_match_a_plain_reference(
    logs: list[tuple[str, str]], settings: ExecutionSettings
) -> None:
    root = str(Path(logs[0][0]).parent)
    document = run_ingest(root, settings, IngestOptions(blocksize=SMALL_BLOCKSIZE)).to_dict()
    want = ref_samples(logs)
    assert document["lines"]["malformed_samples"] == want
    assert document["lines"]["malformed"] == 6
    # several blocks of one file, then a grouped file and a compressed one
    assert [(Path(s["file"]).name, s["line"]) for s in want] == [
        ("a.log", 1900),
        ("a.log", 3100),
        ("ba.log", 3),
        ("ba.log", 4),
        ("c.log.gz", 3),
    ]
    assert len(want[3]["text"]) == 300 and want[3]["text"].endswith("…")


def test_samples_in_the_text_and_html_reports(logs: list[tuple[str, str]]) -> None:
    from datetime import datetime, timezone

    from pipeline.ingest.report.html import render_ingest_html
    from pipeline.reporting.page import PageContext

    root = str(Path(logs[0][0]).parent)
    result = run_ingest(
        root, ExecutionSettings(mode="sync"), IngestOptions(blocksize=SMALL_BLOCKSIZE)
    )
    text = render_ingest(result)
    where, quoted = f"{logs[0][0]}:1900:", "bad line 1900\\x09\\x1b[31m"  # escaped
    lines = text.splitlines()
    if len(f"  {where} {quoted}") <= 100:
        assert f"  {where} {quoted}" in lines
    else:  # the text on a line of its own (tmp_path can be long)
        at = lines.index(f"  {where}" if len(where) <= 98 else f"  {where}"[:99] + "…")
        assert lines[at + 1] == f"    {quoted}"
    assert max(map(len, lines)) <= 100
    assert "\x1b" not in text
    page = render_ingest_html(result, PageContext("ingest", root, datetime.now(timezone.utc)))
    assert html.escape(f"{logs[0][0]}:1900: bad line 1900\\x09\\x1b[31m") in page
