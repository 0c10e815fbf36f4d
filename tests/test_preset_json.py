"""The JSON presets (gcp, caddy, traefik-json) on their genuine samples, field by field against
an independent reference (``json.loads`` per line and a plain loop), and the rules every keyed
format shares: arrays, duration strings, hosts, the no-latency note and the ``--field`` warning.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest.formats.presets import preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions, parse_field_overrides
from pipeline.ingest.parsing.parse import parse_text

DATA = Path(__file__).parent / "data"
FORMATS = DATA / "formats"

#: (method, path, status, latency ms or None, user agent, bytes, host or None, time ms or None,
#: client or None, referer or None)
Row = tuple[str, str, int, float | None, str, int, str | None, int | None, str | None, str | None]


def address(value: Any) -> str | None:
    """A client value without its port (``a.b.c.d:port``, ``[v6]:port``); ``-``/``""``: none."""
    if not isinstance(value, str) or value in ("-", ""):
        return None
    if value.startswith("[") and "]" in value:
        return value[1 : value.index("]")]
    head, colon, port = value.rpartition(":")
    return head if colon and port.isdigit() and head.count(".") == 3 else value


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value not in ("-", "") else None


def iso_ms(text: str) -> int:
    """UTC ms of an ISO 8601 time with Z, fraction truncated to ms (by hand, not the parser)."""
    found = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z", text)
    assert found is not None, text
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    fraction = (found.group(7) or "").ljust(3, "0")[:3]
    return int(moment.timestamp()) * 1000 + int(fraction)


def url_parts(url: str) -> tuple[str, str | None]:
    """Path (+ query) and host of a request URL, by urllib."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url, None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return path, parts.hostname


def gcp_row(record: dict[str, Any]) -> Row:
    http = record["httpRequest"]
    path, host = url_parts(http["requestUrl"])
    latency = http.get("latency")
    ms = float(Decimal(latency.removesuffix("s")) * 1000) if latency is not None else None
    return (
        http["requestMethod"],
        path,
        int(http["status"]),
        ms,
        http.get("userAgent", ""),
        int(http.get("responseSize", 0)),
        host,
        iso_ms(record["timestamp"]),
        address(http.get("remoteIp")),
        text_or_none(http.get("referer")),
    )


def caddy_row(record: dict[str, Any]) -> Row:
    request = record["request"]
    agents = request["headers"].get("User-Agent", [""])
    return (
        request["method"],
        request["uri"],
        record["status"],
        float(Decimal(record["duration"]) * 1000),
        agents[0],
        record["size"],
        request["host"],
        int(Decimal(record["ts"]) * 1000),
        address(request.get("client_ip") or request.get("remote_ip") or request.get("remote_addr")),
        text_or_none(request["headers"].get("Referer", [None])[0]),
    )


def traefik_row(record: dict[str, Any]) -> Row:
    time = record.get("StartUTC") or record["time"]
    return (
        record["RequestMethod"],
        record["RequestPath"],
        int(record["DownstreamStatus"]),
        float(Decimal(record["Duration"]) / 10**6),
        record.get("request_User-Agent", ""),
        record["DownstreamContentSize"],
        record["RequestHost"],
        iso_ms(time),
        address(record.get("ClientHost") or record.get("ClientAddr")),
        text_or_none(record.get("request_Referer")),
    )


def reference(path: Path, row: Callable[[dict[str, Any]], Row]) -> tuple[list[Row], int]:
    """The rows of the request lines of a file and its count of other lines."""
    rows, other = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if " | " in line and not line.startswith("{"):  # docker compose: "caddy  | {...}"
            line = line.split(" | ", 1)[1]
        record = json.loads(line, parse_float=Decimal)
        if (
            "status" not in record
            and "httpRequest" not in record
            and "DownstreamStatus" not in record
        ):
            other += 1
            continue
        rows.append(row(record))
    return rows, other


def frame_rows(frame: pd.DataFrame) -> list[Row]:
    rows: list[Row] = []
    records: list[dict[Any, Any]] = frame.to_dict("records")
    for item in records:
        latency = None if math.isnan(item["latency_ms"]) else float(item["latency_ms"])
        time = None if pd.isna(item["time"]) else int(item["time"].value // 10**6)
        host = None if pd.isna(item["host"]) else str(item["host"])
        rows.append(
            (
                str(item["method"]),
                str(item["path"]),
                int(item["status"]),
                latency,
                str(item["user_agent"]),
                int(item["bytes"]),
                host,
                time,
                None if pd.isna(item["client"]) else str(item["client"]),
                None if pd.isna(item["referer"]) else str(item["referer"]),
            )
        )
    return rows


CASES = [
    ("gcp", FORMATS / "gcp" / "elastic-integrations-test-load-balancer.log", gcp_row),
    ("gcp", FORMATS / "gcp" / "otel-contrib-compacted.log", gcp_row),
    ("caddy", FORMATS / "caddy" / "lnav-logfile_caddy_log.1.log", caddy_row),
    ("caddy", FORMATS / "caddy" / "lnav-logfile_caddy_log.0-compose.log", caddy_row),
    ("caddy", DATA / "caddy-real" / "access.log", caddy_row),
    (
        "traefik-json",
        FORMATS / "traefik-json" / "elastic-integrations-test-format-json.log",
        traefik_row,
    ),
]


@pytest.mark.parametrize(("name", "path", "row"), CASES, ids=[p.name for _, p, _ in CASES])
def test_fields_match_the_reference(
    name: str, path: Path, row: Callable[[dict[str, Any]], Row]
) -> None:
    expected, other = reference(path, row)
    parsed = parse_text(path.read_text(encoding="utf-8"), preset(name))
    assert frame_rows(parsed.frame) == expected
    assert len(parsed.malformed) == other
    assert all(row[8] is not None for row in expected)  # every sample line names its client


@pytest.mark.parametrize(("name", "path", "row"), CASES, ids=[p.name for _, p, _ in CASES])
def test_report_figures_match_a_plain_loop(
    name: str, path: Path, row: Callable[[dict[str, Any]], Row]
) -> None:
    expected, _ = reference(path, row)
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    assert document["inputs"]["formats"] == {name: 1}
    statuses: dict[str, int] = {}
    for item in expected:
        statuses[str(item[2])] = statuses.get(str(item[2]), 0) + 1
    assert document["requests"]["total"] == len(expected)
    assert document["requests"]["by_status"] == statuses
    assert document["requests"]["bytes_sent"] == sum(item[5] for item in expected)
    latencies = [item[3] for item in expected if item[3] is not None]
    figures = document["latency_ms"]
    assert figures["count"] == len(latencies)
    if latencies:
        assert figures["min"] == min(latencies) and figures["max"] == max(latencies)
        assert figures["mean"] == pytest.approx(sum(latencies) / len(latencies), rel=1e-8)


def test_gcp_compacted_sample_is_the_pretty_printed_entries() -> None:
    originals = sorted((DATA / "gcp-pretty").glob("*.log"))
    compacted = [
        json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) for p in originals
    ]
    derived = (FORMATS / "gcp" / "otel-contrib-compacted.log").read_text(encoding="utf-8")
    assert derived.splitlines() == compacted and len(compacted) == 3


def _parse(lines: list[str], name: str = "json") -> pd.DataFrame:
    parsed = parse_text("\n".join(lines) + "\n", preset(name))
    assert parsed.malformed == []
    return parsed.frame


def test_arrays_take_their_first_element() -> None:
    line = '{"path": ["/a", "/b"], "status": [404], "ua": ["x/1", "y/2"], "request_time": []}'
    frame = _parse([line])
    assert frame[["path", "status", "user_agent"]].to_dict("records") == [
        {"path": "/a", "status": 404, "user_agent": "x/1"}
    ]
    assert math.isnan(frame["latency_ms"][0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"0.005018s"', 5.018),
        ('"12ms"', 12.0),
        ('"1.2us"', 0.0012),
        ('"5µs"', 0.005),
        ('"3ns"', 3e-06),
        ('"0.25"', 250.0),  # a bare number string: the key's unit (request_time: seconds)
        ("0.25", 250.0),
        ("1.5e-07", 1.5e-04),  # Go writes tiny floats with an exponent
    ],
)
def test_latency_duration_strings(value: str, expected: float) -> None:
    frame = _parse([f'{{"path": "/", "status": 200, "request_time": {value}}}'])
    assert frame["latency_ms"].tolist() == [expected]


def test_gcp_latency_without_a_unit_is_malformed() -> None:
    line = '{"httpRequest": {"requestUrl": "/x", "status": 200, "latency": "0.5"}}'
    assert parse_text(line, preset("gcp")).malformed == [line]


@pytest.mark.parametrize(
    ("line", "host", "path"),
    [
        ('{"path": "/a", "status": 200, "host": "a.example"}', "a.example", "/a"),
        ('{"path": "/a", "status": 200, "server_name": "b.example"}', "b.example", "/a"),
        ('{"url": "https://c.example:8443/x?q=1", "status": 200}', "c.example", "/x?q=1"),
        ('{"url": "https://c.example/x", "status": 200, "host": "d.example"}', "d.example", "/x"),
        ('{"path": "/a", "status": 200, "host": "-"}', None, "/a"),
    ],
)
def test_host_from_host_keys_or_the_url(line: str, host: str | None, path: str) -> None:
    frame = _parse([line])
    assert frame["path"].tolist() == [path]
    assert [None if pd.isna(h) else h for h in frame["host"]] == [host]


@pytest.mark.parametrize(
    ("keys", "client", "referer"),
    [
        (
            '"remote_addr": "10.0.0.1", "http_referer": "https://r.example/"',
            "10.0.0.1",
            "https://r.example/",
        ),
        ('"client_ip": "2001:db8::5", "referer": "-"', "2001:db8::5", None),
        ('"clientip": "10.0.0.2:5555", "referrer": ""', "10.0.0.2", None),
        ('"remote_ip": "[2001:db8::6]:443", "http_referrer": "x"', "2001:db8::6", "x"),
        ('"ip": "-"', None, None),
        ('"request": {"client_ip": "10.0.0.3", "remote_ip": "10.9.9.9"}', "10.0.0.3", None),
        ('"remote_addr": "10.0.0.4", "ip": "10.9.9.9"', "10.0.0.4", None),  # first alias wins
        (
            '"ClientHost": "10.0.0.5", "request_Referer": "https://t.example/"',
            "10.0.0.5",
            "https://t.example/",
        ),
        ('"request": {"headers": {"Referer": ["https://c.example/"]}}', None, "https://c.example/"),
    ],
)
def test_client_and_referer_aliases(keys: str, client: str | None, referer: str | None) -> None:
    frame = _parse([f'{{"path": "/", "status": 200, {keys}}}'])
    assert [None if pd.isna(c) else c for c in frame["client"]] == [client]
    assert [None if pd.isna(r) else r for r in frame["referer"]] == [referer]


def test_field_sets_client_and_referer() -> None:
    line = (
        '{"path": "/", "status": 200, "ip": "10.9.9.9", "peer": "10.0.0.7", "from": "https://f/"}'
    )
    fmt = replace(preset("json"), json_fields=(("client", "peer", None), ("referer", "from", None)))
    frame = parse_text(line, fmt).frame
    assert frame[["client", "referer"]].values.tolist() == [["10.0.0.7", "https://f/"]]
    assert parse_field_overrides(["client=peer", "referer=a.b"]) == (
        ("client", "peer", None),
        ("referer", "a.b", None),
    )
    with pytest.raises(InputError, match="only latency and time take a unit"):
        parse_field_overrides(["client=peer:ms"])


def test_named_preset_reads_only_its_keys() -> None:
    nginx = '{"request_uri": "/a", "status": 200, "request_time": 0.1}'
    assert parse_text(nginx, preset("caddy")).malformed == [nginx]
    assert parse_text(nginx, preset("gcp")).malformed == [nginx]


def test_no_latency_note_names_the_keys(tmp_path: Path) -> None:
    log = tmp_path / "lb.log"
    log.write_text((FORMATS / "gcp" / "elastic-integrations-test-load-balancer.log").read_text())
    document = run_ingest(str(log), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    assert document["latency_ms"]["count"] == 0
    assert (
        "no request read as 'gcp' has a latency; the keys read for it: httpRequest.latency "
        "(pass --field latency=KEY[:UNIT] if the latency is under another key)"
    ) in document["notes"]


def test_field_key_absent_from_every_line_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_text('{"path": "/a", "status": 200, "took": 5}\n')
    options = IngestOptions(field=("latency=elapsed:ms",))
    with caplog.at_level(logging.WARNING):
        run_ingest(str(tmp_path), ExecutionSettings(mode="sync"), options)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "--field latency=elapsed: no line has the key 'elapsed'; keys seen: path, status, took"
    ]


@pytest.fixture(scope="module")
def keyed_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every genuine JSON and logfmt preset sample in one directory (small files: their group
    task parses them together)."""
    root = tmp_path_factory.mktemp("keyed")
    for _, path, _ in CASES:
        (root / path.name).write_bytes(path.read_bytes())
    for path in sorted((FORMATS / "heroku").iterdir()):
        (root / path.name).write_bytes(path.read_bytes())
    return root


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "settings",
    [ExecutionSettings(mode="threading", workers=3), ExecutionSettings("process", 2)],
    ids=["threading", "process"],
)
def test_modes_give_the_sync_report(keyed_samples: Path, settings: ExecutionSettings) -> None:
    want = run_ingest(str(keyed_samples), ExecutionSettings(mode="sync")).to_dict()
    got = run_ingest(str(keyed_samples), settings).to_dict()
    assert want["inputs"]["formats"] == {"caddy": 3, "gcp": 2, "heroku": 2, "traefik-json": 1}
    want.pop("execution")
    got.pop("execution")
    assert got == want


def test_a_lone_surrogate_latency_is_one_malformed_line() -> None:
    line = '{"path": "/a", "status": 200, "request_time": "\\ud800"}'
    good = '{"path": "/\\ud800", "status": 200, "request_time": "0.5"}'
    parsed = parse_text(f"{line}\n{good}\n", preset("json"))
    assert parsed.malformed == [line]
    assert parsed.frame["path"].tolist() == ["/\ufffd"]
