"""Detection (``--log-format auto``): the tie-break rule, the failed-file message, the notes on a
trailing number and on a time filter that kept nothing, and ``--help``'s preset list.

Expected values come from plain ``re`` per line and plain loops, written here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest import detect
from pipeline.ingest.formats.presets import (
    DETECTION_ORDER,
    WRAPPERS,
    LogFormat,
    compile_pattern,
    preset,
)
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from tests.conftest import REPO_ROOT

DATA = REPO_ROOT / "tests" / "data"

#: Three formats over lines "STATUS PATH LATENCY": one reads the status only, one every field,
#: one reads the same fields as "many" under another name (a tie that only table order breaks).
FEW = r"^(?P<status>[0-9]{3}) .*$"
MANY = r"^(?P<status>[0-9]{3}) (?P<path>/[^ ]*) (?P<latency_ms>[0-9]+) (?P<bytes>[0-9]+)$"


def _formats(*pairs: tuple[str, str]) -> list[LogFormat]:
    return [compile_pattern(pattern, name) for name, pattern in pairs]


def _reference_choice(sample: str, pairs: list[tuple[str, str]]) -> str:
    """The rule, plainly: most parsed lines, then most fields filled, then the earlier one."""
    lines = [line.strip() for line in sample.splitlines() if line.strip()]

    def score(index: int) -> tuple[int, int, int]:
        pattern = re.compile(pairs[index][1])
        parsed = filled = 0
        for line in lines:
            match = pattern.match(line)
            if match is None:
                continue
            parsed += 1
            found = match.groupdict()
            filled += found["status"] != "000"
            filled += bool(found.get("path"))
            filled += found.get("latency_ms") is not None
            filled += int(found.get("bytes") or 0) > 0
        return parsed, filled, -index

    return pairs[max(range(len(pairs)), key=score)][0]


@pytest.mark.parametrize(
    ("sample", "pairs", "winner"),
    [
        # more parsed lines win over more fields: "few" reads the third line too
        ("200 /a 5 10\n200 /b 6 10\n404 oops", [("many", MANY), ("few", FEW)], "few"),
        # a tie on lines: more fields win, whatever the order
        ("200 /a 5 10\n200 /b 6 10", [("few", FEW), ("many", MANY)], "many"),
        # a tie on lines and fields: the earlier row
        ("200 /a 5 10\n200 /b 6 10", [("first", MANY), ("many", MANY)], "first"),
        # bytes of 0 fill nothing: "many" fills status, path, latency (3) like "three"
        (
            "200 /a 5 0\n200 /b 6 0",
            [
                ("three", r"^(?P<status>[0-9]{3}) (?P<path>/[^ ]*) (?P<latency_ms>[0-9]+) .*$"),
                ("many", MANY),
            ],
            "three",
        ),
    ],
)
def test_tie_break_rule(sample: str, pairs: list[tuple[str, str]], winner: str) -> None:
    assert _reference_choice(sample, pairs) == winner
    assert detect.detect_sample(sample, _formats(*pairs)).format.name == winner
    # batched with other samples, the same choice
    batch = detect._detect_batch(["999 x", sample, ""], _formats(*pairs))
    assert batch[1].format.name == winner


def test_combined_beats_common_on_fields_even_when_listed_after() -> None:
    line = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326 "-" "curl/8"'
    tried = [preset("common"), preset("combined")]  # common reads these lines too (extras)
    assert detect.detect_sample(line, tried).format.name == "combined"


def test_directive_lines_go_to_the_parse_but_are_not_sample_lines() -> None:
    text = "#Fields: a b\n" + "[GET] /x, status=200, time=1ms user-agent=c\n" * 150
    sample = detect.head_of_text(text)
    lines = sample.split("\n")
    assert lines[0] == "#Fields: a b" and len(lines) == 1 + detect.SAMPLE_LINES
    assert detect.detect_sample(sample).format.name == "default"


# --- the failed-file message -------------------------------------------------------------


def _ingest(path: Path, **options: Any) -> dict[str, Any]:
    result = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions(**options))
    return result.to_dict()


def test_a_file_no_preset_matches_names_no_preset(tmp_path: Path) -> None:
    (tmp_path / "go.log").write_text("2024/04/16 06:21:30 Starting server...\nsecond line\n")
    failed = _ingest(tmp_path)["inputs"]["failed"]
    assert failed == [
        {
            "path": str(tmp_path / "go.log"),
            "error": "no known log format matches; first line: '2024/04/16 06:21:30 Starting "
            "server...'; no preset matches any sample line; pass --log-format with the "
            "server's own format string",
        }
    ]


def test_a_file_whose_values_do_not_convert_names_the_closest_presets(tmp_path: Path) -> None:
    # three lines combined's pattern matches, with a 31 February: no line parses
    line = '1.2.3.4 - - [31/Feb/2024:13:55:36 +0000] "GET /a HTTP/1.0" 200 2 "-" "curl/8"\n'
    odd = "2024/04/16 06:21:30 Starting server...\n"
    (tmp_path / "feb.log").write_text(line * 3 + odd)
    # reference: share of the 4 sample lines each preset's whole-line pattern matches
    shares = {"combined": round(100 * 3 / 4), "common": round(100 * 3 / 4)}
    document = _ingest(tmp_path)
    assert document["inputs"]["failed"][0]["error"] == (
        f"no known log format matches; first line: {line.strip()!r}; closest: combined "
        f"({shares['combined']}% of sample lines), common ({shares['common']}%); pass "
        "--log-format with the server's own format string"
    )
    explicit = _ingest(tmp_path, log_format="combined")["inputs"]["failed"][0]["error"]
    assert explicit == f"no line matches log format 'combined'; first line: {line.strip()!r}"


@pytest.mark.parametrize(
    ("sample", "first"),
    [
        ("formats/cri/plaso-cri.log", "2016-10-06T00:17:09.669794202Z stdout P log content 1"),
        ("formats/docker-json/plaso-container-json.log", None),
    ],
)
def test_wrapped_lines_that_are_no_access_lines_fail(sample: str, first: str | None) -> None:
    """plaso's CRI file wraps a Go server's own lines and "log content N"; its Docker file wraps
    shell output: no line is any preset's, inside or outside the wrapper, so each file fails
    (every line malformed, exit 3)."""
    path = DATA / sample
    document = _ingest(path)
    text = path.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    shown = lines[0] if len(lines[0]) <= 120 else lines[0][:120] + "..."
    assert first is None or shown == first
    assert document["lines"]["malformed"] == len(lines) and document["lines"]["parsed"] == 0
    assert document["inputs"]["failed"] == [
        {
            "path": str(path),
            "error": f"no known log format matches; first line: {shown!r}; no preset matches "
            "any sample line; pass --log-format with the server's own format string",
        }
    ]


# --- notes --------------------------------------------------------------------------------


def test_a_trailing_number_is_never_a_latency_and_a_note_says_so() -> None:
    path = DATA / "apache2-real" / "combined-D.log"
    assert all(re.search(r'" [0-9]+$', line) for line in path.read_text().splitlines())
    document = _ingest(path)
    assert document["inputs"]["formats"] == {"combined": 1}
    assert document["latency_ms"]["count"] == 0
    assert (
        "lines read as 'combined' end with one more number: it may be a latency in microseconds "
        "(%D) or in seconds (%T), or a size in bytes (%O), so it is not read; if it is a latency, "
        "pass your server's format string, e.g. --log-format '%h %l %u %t \"%r\" %>s %b "
        '"%{Referer}i" "%{User-Agent}i" %D\''
    ) in document["notes"]


def test_other_trailing_fields_keep_their_note(tmp_path: Path) -> None:
    lines = (DATA / "apache2-real" / "combined.log").read_text().splitlines()
    (tmp_path / "rt.log").write_text("".join(line + " rt=0.1 x\n" for line in lines))
    notes = _ingest(tmp_path)["notes"]
    assert [note for note in notes if note.startswith("lines read as")] == [
        "lines read as 'combined' carry more fields after the format's last one (ignored); if "
        "they hold a latency, pass your server's format string, e.g. --log-format "
        "'<log_format string>'"
    ]


CLF = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]")


def _clf_range(path: Path) -> tuple[str, str, int]:
    times = [
        datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z").astimezone(timezone.utc)
        for line in path.read_text().splitlines()
        if (m := CLF.search(line))
    ]
    shown = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in (min(times), max(times))]
    return shown[0], shown[1], len(times)


def test_a_time_filter_that_keeps_nothing_says_where_the_lines_were() -> None:
    path = DATA / "nginx-real" / "plus0200" / "combined.log"
    first, last, count = _clf_range(path)
    document = _ingest(path, since="2030-01-01")
    assert document["lines"]["filtered"] == count and document["requests"]["total"] == 0
    assert (
        f"--since/--until kept no request: all {count:,} parsed lines were between {first} and "
        f"{last} (UTC); a time without an offset is UTC"
    ) in document["notes"]
    # another filter may have removed the lines inside the window: no note
    around = _ingest(path, since="2000-01-01", status="599")
    assert not [note for note in around["notes"] if note.startswith("--since")]


def test_help_lists_every_preset_and_wrapper() -> None:
    result = CliRunner().invoke(cli, ["ingest", "--help"], terminal_width=200)
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    for name in (*DETECTION_ORDER, *WRAPPERS):
        assert re.search(rf"[ (]{re.escape(name)}[,)]", flat), name
