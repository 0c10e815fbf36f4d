"""The logfmt kind and the heroku preset: Heroku router samples field by field against an
independent reference (a plain ``re`` per line and a plain loop), and the generic logfmt rules
(quoted values, ``--field``, JSON lines left alone)."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.formats.presets import LogFormat, preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.logfmt import decode_logfmt, may_be_logfmt, parse_logfmt
from pipeline.ingest.parsing.parse import parse_text
from tests.conftest import examples

HEROKU = Path(__file__).parent / "data" / "formats" / "heroku"
FILES = sorted(HEROKU.iterdir())
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: (method, path, status, latency ms, bytes, host, time ms, client)
Row = tuple[str, str, int, float, int, str, int, str]


def heroku_row(line: str) -> Row:
    """One router line by plain regular expressions: the first ISO time, then the pairs."""
    moment = re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d", line)
    assert moment is not None
    pairs = {key: value.strip('"') for key, value in re.findall(r'(\w+)=("[^"]*"|\S*)', line)}
    assert pairs["service"].endswith("ms")
    millis = (datetime.fromisoformat(moment.group(0)) - EPOCH) // timedelta(milliseconds=1)
    return (
        pairs["method"],
        pairs["path"],
        int(pairs["status"]),
        float(pairs["service"][:-2]),
        int(pairs["bytes"]),
        pairs["host"],
        millis,
        pairs["fwd"],  # the client address the router saw (X-Forwarded-For)
    )


def frame_rows(frame: pd.DataFrame) -> list[Row]:
    records: list[dict[Any, Any]] = frame.to_dict("records")
    return [
        (
            str(item["method"]),
            str(item["path"]),
            int(item["status"]),
            float(item["latency_ms"]),
            int(item["bytes"]),
            str(item["host"]),
            int(item["time"].value // 10**6),
            str(item["client"]),
        )
        for item in records
    ]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_heroku_fields_match_the_reference(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = parse_text(path.read_text(encoding="utf-8"), preset("heroku"))
    assert parsed.malformed == []
    assert frame_rows(parsed.frame) == [heroku_row(line) for line in lines]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_heroku_report_matches_a_plain_loop(path: Path) -> None:
    rows = [heroku_row(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    assert document["inputs"]["formats"] == {"heroku": 1}
    assert document["requests"]["total"] == len(rows)
    assert document["requests"]["bytes_sent"] == sum(row[4] for row in rows)
    latencies = [row[3] for row in rows]
    assert document["latency_ms"]["count"] == len(latencies)
    assert document["latency_ms"]["min"] == min(latencies)
    assert document["latency_ms"]["max"] == max(latencies)
    assert document["latency_ms"]["mean"] == pytest.approx(sum(latencies) / len(latencies))


def test_heroku_needs_a_dyno_key() -> None:
    line = "method=GET path=/ host=a status=200 service=5ms bytes=1"
    assert parse_text(line, preset("heroku")).malformed == [line]
    assert len(parse_text(line + " dyno=web.1", preset("heroku")).frame) == 1


def test_decode_quoted_empty_and_bare_words() -> None:
    line = r'2024 x[1]: at=info path="/a b \"c\"" fwd= msg="k=v inside" status=200 status=201'
    assert decode_logfmt(line) == {
        "at": "info",
        "path": '/a b "c"',
        "fwd": "",
        "msg": "k=v inside",
        "status": "201",
    }


def _logfmt(fields: tuple[tuple[str, str, str | None], ...] = ()) -> LogFormat:
    return LogFormat("logfmt", "logfmt", json_fields=fields)


def test_generic_logfmt_reads_the_json_aliases_and_field_overrides() -> None:
    line = 'ts=1700000000.5 method=POST path="/x?y=1" status=503 took=1.5 request_time=0.25'
    plain = parse_text(line, _logfmt()).frame
    assert plain[["method", "path", "status", "latency_ms"]].to_dict("records") == [
        {"method": "POST", "path": "/x?y=1", "status": 503, "latency_ms": 250.0}
    ]
    assert plain["time"][0] == pd.Timestamp(1_700_000_000_500, unit="ms", tz="UTC")
    overridden = parse_text(line, _logfmt((("latency", "took", "s"),))).frame
    assert overridden["latency_ms"].tolist() == [1500.0]


def test_logfmt_leaves_json_lines_alone() -> None:
    line = '{"msg": "status=200 path=/x from a JSON log"}'
    assert parse_text(line, _logfmt()).malformed == [line]


def test_logfmt_duration_and_dash() -> None:
    frame = parse_text(
        "path=/ status=200 duration_ms=- \npath=/ status=200 duration_ms=7", _logfmt()
    )
    assert math.isnan(frame.frame["latency_ms"][0]) and frame.frame["latency_ms"][1] == 7.0


_TOKENS = st.sampled_from(
    ["status=200", "path=/a", "request=x", "method=GET", "dyno=web.1", "service=3ms", "a=b", "=",
     '"', " ", "  ", "x", "status", "path", '"status=1"', "{", "k=\"v w\"", "uri=/u", "code=404",
     "2014-01-01T00:00:00Z heroku[router]: ", "url.path=/p", "status=\"200\""]
)  # fmt: skip


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(st.lists(_TOKENS, max_size=8).map("".join), min_size=1, max_size=20))
def test_the_detection_test_never_drops_a_line_logfmt_reads(lines: list[str]) -> None:
    """may_be_logfmt (detection's cheap test) is true on every line parse_logfmt reads, for the
    generic logfmt row and Heroku's (a prefix, a required key)."""
    array = pa.array(lines, type=pa.large_string())
    for name in ("logfmt", "heroku"):
        fmt = preset(name)
        read = parse_logfmt(array, fmt.json_fields, fmt.options).ok
        may = may_be_logfmt(array, fmt.json_fields, fmt.options).to_pylist()
        assert all(may[i] for i in range(len(lines)) if read[i]), (name, lines)
