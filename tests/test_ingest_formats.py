"""Issue 9 (real web-server logs): whole reports, all keys, against the plain reference.

Every test builds the expected JSON document with ``tests/test_ingest_formats_reference.py``
(hand-written ``re`` patterns, ``json.loads``, ``strptime``, ``Decimal``, numpy over full lists)
and compares it with ``run_ingest(...).to_dict()`` key for key: means and standard deviations up
to rounding, everything else exact (percentiles included). Inputs are the logs a real nginx
1.22 wrote (``tests/data/nginx``, ``tests/data/nginx-real``, see its ``record.sh``) and
synthetic lines that follow what nginx and Apache write (nasty cases included).
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.formats.presets import PRESETS, compile_format
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.parse import parse_text
from tests.conftest import SMALL_BLOCKSIZE, examples
from tests.test_ingest_formats_reference import (
    COMBINED,
    COMMON,
    JSON,
    SECONDS,
    Filters,
    Fmt,
    RefRun,
    Row,
    apache_parser,
    detect,
    json_parser,
    lines_of,
    parse_jsonfmt,
    parse_line,
    parse_main,
    parse_timed,
    parse_upstream,
    parse_vars,
    request_parts,
)
from tests.test_ingest_reference import assert_same_report, ref_decode

pytestmark = pytest.mark.usefixtures("small_blocks")

SYNC = ExecutionSettings(mode="sync")
DATA = Path(__file__).resolve().parent / "data"
REAL = DATA / "nginx-real"
ZONES = ("utc", "plus0200", "minus0530")

# The formats of tests/data/nginx-real/nginx.conf.in, copied verbatim (a test checks it), and
# the single strings their quoted pieces join into (joined here by hand).
MAIN_DIRECTIVE = """log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for" rt=$request_time';"""
MAIN = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time'
)
UPSTREAM = (
    '$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" '
    'urt="$upstream_response_time"'
)
VARS_DIRECTIVE = """log_format vars '$msec "$request_method" "$uri" "$args" "$request_uri" $status '
                    '$body_bytes_sent "$http_user_agent" [$time_iso8601]';"""
VARS = (
    '$msec "$request_method" "$uri" "$args" "$request_uri" $status $body_bytes_sent '
    '"$http_user_agent" [$time_iso8601]'
)
JSONFMT_DIRECTIVE = """log_format jsonfmt escape=json '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",'
                       '"request_method":"$request_method","request_uri":"$request_uri",'
                       '"status":$status,"body_bytes_sent":$body_bytes_sent,'
                       '"request_time":$request_time,"upstream_response_time":"$upstream_response_time",'
                       '"http_user_agent":"$http_user_agent"}';"""  # noqa: E501
JSONFMT = (
    '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",'
    '"request_method":"$request_method","request_uri":"$request_uri",'
    '"status":$status,"body_bytes_sent":$body_bytes_sent,'
    '"request_time":$request_time,"upstream_response_time":"$upstream_response_time",'
    '"http_user_agent":"$http_user_agent"}'
)
#: tests/data/nginx/timed.log (the lead's recording).
TIMED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time" '
    'urt="$upstream_response_time"'
)
APACHE = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" '

F_MAIN = Fmt(f"nginx:{MAIN}", parse_main, latency=True, time=True, size=True)
F_UPSTREAM = Fmt(f"nginx:{UPSTREAM}", parse_upstream, latency=True, time=True, size=True)
F_VARS = Fmt(f"nginx:{VARS}", parse_vars, latency=False, time=True, size=True)
F_JSONFMT = Fmt(f"nginx:{JSONFMT}", parse_jsonfmt, latency=True, time=True, size=True)
F_TIMED = Fmt(f"nginx:{TIMED}", parse_timed, latency=True, time=True, size=True)


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _check(got: dict[str, Any], reference: RefRun) -> None:
    """The job's document equals the reference's, all keys; failure messages by prefix."""
    want = reference.report()
    got = json.loads(json.dumps(got))  # a copy, and what --format json would print
    got_failed = got["inputs"].pop("failed")
    want_failed = want["inputs"].pop("failed")
    assert [f["path"] for f in got_failed] == [f["path"] for f in want_failed]
    for have, expect in zip(got_failed, want_failed, strict=True):
        assert have["error"].startswith(expect["error"] + "first line: "), have
    assert_same_report(got, want)


def _file(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _run(path: Path, **options: Any) -> dict[str, Any]:
    return run_ingest(str(path), SYNC, IngestOptions(**options)).to_dict()


# ----------------------------------------------------------------------------------------------
# Real nginx output


def test_formats_are_copied_verbatim_from_the_recorded_config() -> None:
    conf = (REAL / "nginx.conf.in").read_text()
    for directive in (MAIN_DIRECTIVE, VARS_DIRECTIVE, JSONFMT_DIRECTIVE):
        assert directive.replace("log_format", "    log_format", 1) in conf
    assert "log_format upstream '" + UPSTREAM[:60] in conf


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    ("log", "option", "fmt"),
    [
        ("combined.log", "auto", COMBINED),
        ("combined.log", "combined", COMBINED),
        ("main.log", MAIN_DIRECTIVE, F_MAIN),
        ("main.log", MAIN, F_MAIN),
        ("upstream.log", UPSTREAM, F_UPSTREAM),
        ("json.log", "auto", JSON),
        pytest.param(
            "vars.log", VARS_DIRECTIVE, F_VARS,
        ),
        pytest.param(
            "json.log", JSONFMT_DIRECTIVE, F_JSONFMT,
        ),
    ],
)  # fmt: skip
def test_real_nginx_logs(zone: str, log: str, option: str, fmt: Fmt) -> None:
    path = REAL / zone / log
    got = _run(path, log_format=option)
    _check(got, RefRun([(str(path), _text(path), fmt)], auto=option == "auto"))
    assert got["lines"]["malformed"] == 0  # nginx wrote every line: all of them must parse


def test_real_nginx_upstream_lists_are_summed() -> None:
    """The recorded lists ("0.000, 0.000", "0.000 : 0.000") parse; the slow requests count."""
    text = _text(REAL / "utc" / "upstream.log")
    assert 'urt="0.000, 0.000"' in text and 'urt="0.000 : 0.000"' in text
    got = _run(REAL / "utc" / "upstream.log", log_format=UPSTREAM)
    rows = [parse_upstream(line) for line in lines_of(text)]
    assert got["latency_ms"]["count"] == sum(r is not None and r.latency is not None for r in rows)
    assert got["latency_ms"]["max"] > 100  # the rate-limited /pair/slow and /back/slow


@pytest.mark.parametrize(
    ("log", "option", "fmt"),
    [
        ("combined.log", "auto", COMBINED),
        ("timed.log", TIMED, F_TIMED),
        ("timed.log", "auto", COMBINED),  # extra fields after combined are ignored
        ("json.log", "auto", JSON),
    ],
)
def test_lead_recorded_nginx_logs(log: str, option: str, fmt: Fmt) -> None:
    path = DATA / "nginx" / log
    reference = RefRun([(str(path), _text(path), fmt)], auto=option == "auto")
    _check(_run(path, log_format=option), reference)


def test_auto_detection_on_the_real_directory() -> None:
    """Each file its own format; nginx formats no preset reads are failed inputs (default)."""
    root = REAL / "minus0530"
    files = sorted(root.iterdir())
    expected = []
    for path in files:
        text = _text(path)
        expected.append((str(path), text, detect(text)))
    assert [fmt.name for _, _, fmt in expected] == [
        "combined", "json", "combined", "default", "default",
    ]  # fmt: skip
    got = _run(root)
    _check(got, RefRun(expected, auto=True))
    assert got["inputs"]["formats"] == {"combined": 2, "default": 2, "json": 1}


# ----------------------------------------------------------------------------------------------
# Synthetic nasty lines

NASTY = [
    '192.0.2.1 - - [28/Nov/2026:16:00:00 +0000] "GET /ok?x=1 HTTP/1.1" 200 512 '
    '"https://example.com/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"',
    '2001:db8::7 - alice [28/Nov/2026:18:00:01 +0200] "POST /api/v1/items HTTP/2.0" 201 - '
    '"-" "curl/8.5.0"',
    '::1 - - [28/Nov/2026:10:30:02 -0530] "-" 408 0 "-" "-"',
    '198.51.100.9 - - [28/Nov/2026:16:00:03 +0000] "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC'
    '\\x03\\x03" 400 157 "-" "-"',
    '203.0.113.5 - - [28/Nov/2026:16:00:04 +0000] "GET /search?q=\\"x\\" HTTP/1.1" 200 10 '
    '"-" "Agent \\"with\\" quotes \\\\ slash"',
    '203.0.113.5 - - [28/Nov/2026:16:00:05 +0000] "GET /a\\x22b HTTP/1.1" 404 153 "-" '
    '"evil \\x22quoted\\x22 agent \\x5C backslash"',
    '203.0.113.6 - - [28/Nov/2026:16:00:06 +0000] "GET /päth/ünïcode?q=€ HTTP/1.1" 200 5 "-" '
    '"Mozilla/5.0 (Macintosh) Safari/605.1.15"',
    '203.0.113.6 - - [28/Nov/2026:16:00:07 +0000] "GET /p\\xC3\\xA4th HTTP/1.1" 200 5 "-" ""',
    '203.0.113.7 - - [28/Nov/2026:16:01:08 +0000] "GET /extra HTTP/1.1" 200 5 "-" "Wget/1.21" '
    '"-" rt=0.123 uct="0.001"',
    '203.0.113.7 - - [28/Nov/2026:16:01:09 +0000] "GET /http09" 404 153 "-" "-"',
    '203.0.113.7 - - [28/Nov/2026:16:01:10 +0000] "get /lower HTTP/1.1" 400 157 "-" "-"',
    '203.0.113.7 - - [28/Nov/2026:16:01:11 +0000] "GET /a b HTTP/1.1" 400 157 "-" "-"',
    '203.0.113.7 - - [28/Nov/2026:16:01:12 +0000] "PURGE /cache HTTP/1.1" 405 157 "-" '
    '"Googlebot/2.1"',
    '203.0.113.8 - - [01/Jan/2027:01:00:00 +0200] "GET /new-year HTTP/1.1" 503 0 "-" "-"',
    '203.0.113.8 - - [28/Nov/2026:16:02:13 +0000] "DELETE /x HTTP/1.1" 500 0 "-" '
    '"python-requests/2.31"',
    # common lines (no referer, no agent): malformed as combined, parsed as common
    '203.0.113.9 - - [28/Nov/2026:16:02:14 +0000] "GET /common HTTP/1.0" 200 2326',
    '203.0.113.9 - frank [28/Nov/2026:09:02:15 -0700] "HEAD /common HTTP/1.0" 304 -',
    # malformed in every format
    '203.0.113.9 - - [31/Feb/2026:16:02:16 +0000] "GET /feb31 HTTP/1.1" 200 1 "-" "-"',
    '203.0.113.9 - - [28/Nov/2026:24:00:00 +0000] "GET /hour24 HTTP/1.1" 200 1 "-" "-"',
    '203.0.113.9 - - [28/Nov/2026:16:02:17 +0000] "GET /s600 HTTP/1.1" 600 1 "-" "-"',
    '203.0.113.9 - - [28/Nov/2026:16:02:18 +0000] "GET /raw"quote HTTP/1.1" 200 1 "-" "-"',
    '203.0.113.9 - - 28/Nov/2026:16:02:19 +0000 "GET /nobrackets HTTP/1.1" 200 1 "-" "-"',
    "[GET] /default, status=200, time=5ms user-agent=curl/8",
    '203.0.113.9 - - [28/Nov/2026:16:02:20 +0000] "GET /truncated HTTP/1.1" 200',
]


@pytest.mark.parametrize(
    ("option", "fmt"), [("combined", COMBINED), ("common", COMMON), ("auto", None)]
)
def test_nasty_lines(tmp_path: Path, option: str, fmt: Fmt | None) -> None:
    path = _file(tmp_path, "access.log", NASTY)
    got = _run(path, log_format=option)
    _check(got, RefRun([(str(path), _text(path), fmt or detect(_text(path)))], auto=fmt is None))
    assert got["requests"]["by_method"]["-"] >= 4  # "-", TLS bytes, lowercase, space in target


def test_nasty_lines_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.log"
    path.write_bytes(("\r\n\n   \n".join(NASTY) + "\r\n").encode())
    _check(_run(path, log_format="combined"), RefRun([(str(path), _text(path), COMBINED)]))


UPSTREAM_VALUES = [
    "0.010, 0.020",
    "0.010 : 0.020",
    "-, 0.030",
    "0.250 : -",
    "- : -",
    "-",
    "0.100, 0.200 : 0.300",
    "1.500",
    "0.007",
    "0.010,0.020",  # nginx always writes ", ": malformed
    "0.010 :0.020",  # malformed
    "",  # malformed (nginx writes "-" for no upstream)
]


def test_upstream_response_time_lists(tmp_path: Path) -> None:
    lines = [
        f'10.0.0.{i} [28/Nov/2026:16:00:{i:02d} +0000] "GET /u{i % 3} HTTP/1.1" 502 0 '
        f'"curl/8" urt="{value}"'
        for i, value in enumerate(UPSTREAM_VALUES)
    ]
    path = _file(tmp_path, "upstream.log", lines)
    got = _run(path, log_format=UPSTREAM)
    _check(got, RefRun([(str(path), _text(path), F_UPSTREAM)]))
    assert got["latency_ms"]["max"] == 1500.0 and got["latency_ms"]["count"] == 7


def test_upstream_sum_is_the_float_nearest_the_exact_sum(tmp_path: Path) -> None:
    """nginx writes ms resolution; docs/formats.md promises the float nearest the decimal."""
    line = '::1 [28/Nov/2026:16:00:00 +0000] "GET /u HTTP/1.1" 200 1 "-" urt="0.0001, 0.0002"'
    path = _file(tmp_path, "upstream.log", [line])
    _check(_run(path, log_format=UPSTREAM), RefRun([(str(path), _text(path), F_UPSTREAM)]))


@pytest.mark.parametrize(
    ("directive", "factor", "values"),
    [
        ("%D", SECONDS / 10**6, ["51000", "1", "999999", "0", "123456789"]),
        ("%{us}T", SECONDS / 10**6, ["51000", "1", "7"]),
        ("%{ms}T", SECONDS / 10**3, ["51", "0", "1234"]),
        ("%T", SECONDS, ["0", "1", "12"]),
        ("%{s}T", SECONDS, ["3", "1"]),
    ],
)
def test_apache_formats(tmp_path: Path, directive: str, factor: Any, values: list[str]) -> None:
    """Apache escapes '"' as '\\"' and '\\' as '\\\\'; %b writes '-' for no body."""
    base = [
        '192.0.2.1 - - [28/Nov/2026:16:00:00 +0000] "GET /a?x=1 HTTP/1.1" 200 512 "-" '
        '"Mozilla/5.0 \\"quoted\\" \\\\"',
        '2001:db8::1 - bob [28/Nov/2026:18:00:01 +0200] "POST /b HTTP/1.1" 201 - "-" "curl/8"',
        '192.0.2.2 - - [28/Nov/2026:10:30:02 -0530] "\\x16\\x03\\x01" 400 226 "-" "-"',
        '192.0.2.3 - - [28/Nov/2026:16:00:03 +0000] "-" 408 - "-" "-"',
        '192.0.2.4 - - [28/Nov/2026:16:00:04 +0000] "GET /c HTTP/1.1" 500 0 "-" "-"',
    ]
    lines = [f"{line} {value}" for line, value in zip(base, values * 5, strict=False)]
    lines.append(base[0] + " -")  # %D is never "-": malformed
    lines.append(base[0] + " 1.5")  # nor a decimal
    path = _file(tmp_path, "apache.log", lines)
    fmt = Fmt(f"apache:{APACHE}{directive}", apache_parser(factor), True, True, True)
    _check(_run(path, log_format=APACHE + directive), RefRun([(str(path), _text(path), fmt)]))
    pasted = "LogFormat " + json.dumps(APACHE + directive) + " withtime"
    _check(_run(path, log_format=pasted), RefRun([(str(path), _text(path), fmt)]))


# ----------------------------------------------------------------------------------------------
# JSON lines

JSON_LINES = [
    '{"request_method":"GET","request_uri":"/a?x=1","status":200,"request_time":0.051,'
    '"http_user_agent":"curl/8","time_iso8601":"2026-11-28T18:00:00+02:00","body_bytes_sent":10}',
    '{"method":"POST","uri":"/b","status_code":201,"duration_ms":12.5,"user_agent":"Mozilla/5.0",'
    '"time_local":"28/Nov/2026:10:30:00 -0530","bytes_sent":20}',
    '{"http_method":"PUT","path":"/c","statusCode":"204","latency_ms":"7","userAgent":"Googlebot",'
    '"msec":1795881600.123,"bytes":30}',
    '{"request":{"method":"DELETE","uri":"/d","user_agent":"okhttp/4"},"response_status":404,'
    '"response_time_ms":3,"ts":1795881601}',
    '{"http":{"method":"PATCH"},"url":"/e","http_status":500,"elapsed_ms":0.5,"ua":"-",'
    '"timestamp":"1795881602.5"}',
    '{"request":{"path":"/f"},"response":{"status":502,"duration_ms":250},'
    '"time":"2026-11-28T16:00:03.5Z"}',
    '{"request":{"url":"/g"},"response":{"status_code":503},"duration_us":1500,'
    '"@timestamp":"2026-11-28T16:00:04.123456Z"}',
    '{"url":"/h","status":200,"latency_us":250,"time":1795881605}',
    '{"request_path":"/i","status":200,"duration_ns":1500000}',
    '{"path":"/earliest","status":200,"@timestamp":"2026-11-28T15:59:59.999+00:00"}',
    '{"request":"GET /j?k=v HTTP/1.1","status":"301","upstream_response_time":"0.020"}',
    '{"request":"\\u0016\\u0003\\u0001","status":400,"request_time":"-"}',
    '{"path":"/k","status":200,"request_time":"-","time_iso8601":"2026-11-28T16:00:05-05:30"}',
    '{"request.method":"OPTIONS","path":"/literal-dot","status":200,"request_time":0}',
    '{"request_method":"","request_uri":"","status":400,"request_time":0.000}',
    '{"path":"/null-first","uri":null,"status":null,"status_code":200,"request_time":null,'
    '"duration_ms":4}',
    # malformed
    '{"path":"/m","status":"20x"}',
    '{"path":"/n","status":600}',
    '{"status":200}',
    '{"path":"/q","status":true}',
    '{"path":"/o","status":200,"request_time":-1}',
    '{"path":"/p","status":200,"time":"yesterday"}',
    '{"path":"/r","status":200,"latency_ms":1e10}',
    '{"path":"/s","status":200,"time_iso8601":"2026-02-30T00:00:00Z"}',
    '{"path":"/t","status":200,"time_iso8601":"2026-11-28T16:00:00"}',
    "[1, 2]",
    "not json",
]


def test_json_lines_every_alias(tmp_path: Path) -> None:
    path = _file(tmp_path, "app.json", JSON_LINES)
    got = _run(path)
    _check(got, RefRun([(str(path), _text(path), JSON)], auto=True))
    assert got["lines"]["malformed"] == 11


def test_json_url_path_alias_is_reachable(tmp_path: Path) -> None:
    """ECS logs write {"url": {"path": ...}}; docs/formats.md lists url.path among the path keys."""
    path = _file(tmp_path, "ecs.json", ['{"url":{"path":"/h"},"status":200}'])
    assert _run(path)["lines"]["parsed"] == 1


FIELD_LINES = [
    '{"verb":"GET","route":"/x","code":"200","took":1500,"t":1795881600123,'
    '"client":{"agent":"curl/8"},"request_time":9}',
    '{"verb":"POST","route":"/y?z=1","code":503,"took":"250","t":"1795881660000.5",'
    '"client":{"agent":"Mozilla/5.0"}}',
    '{"method":"PUT","path":"/fallback","status":200,"duration_ms":3,"ts":1795881700}',
    '{"verb":"GET","route":"/bad-time","code":200,"t":"soon"}',
]


@pytest.mark.parametrize(
    "fields",
    [
        ["method=verb", "path=route", "status=code", "latency=took:us", "time=t:ms",
         "user_agent=client.agent"],
        ["path=route", "status=code", "latency=took", "time=t:ns", "method=verb"],
        ["status=code", "path=route", "latency=took:s"],
    ],
)  # fmt: skip
def test_json_field_overrides(tmp_path: Path, fields: list[str]) -> None:
    path = _file(tmp_path, "app.json", FIELD_LINES)
    fmt = Fmt("json", json_parser(fields), latency=True, time=True, size=True)
    _check(_run(path, field=fields), RefRun([(str(path), _text(path), fmt)]))


# ----------------------------------------------------------------------------------------------
# Detection, failed files, warnings, formats without latency or time


def test_detection_on_a_mixed_directory(tmp_path: Path) -> None:
    default = [f"[GET] /d{i}, status=200, time={i}ms user-agent=curl/8" for i in range(5)]
    combined = [line for line in NASTY if parse_line(COMBINED, line) is not None]
    common = [line.split(' "-" "', 1)[0] for line in combined if ' "-" "' in line]
    _file(tmp_path, "a-default.log", [*default, "oops"])
    _file(tmp_path, "b-combined.log", combined)
    _file(tmp_path, "c-common.log", common)
    _file(tmp_path, "d-app.json", JSON_LINES)
    _file(tmp_path, "e-garbage.txt", ["nothing here", "at all"])
    (tmp_path / "f-empty.log").write_text("\n\n")
    (tmp_path / "g-combined.log.gz").write_bytes(gzip.compress("\n".join(NASTY).encode()))
    texts = {p: ref_decode(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())}
    expected = [(str(p), text, detect(text)) for p, text in texts.items()]
    names = [fmt.name for _, _, fmt in expected]
    assert names == ["default", "combined", "common", "json", "default", "default", "common"]
    got = _run(tmp_path)
    _check(got, RefRun(expected, auto=True))
    assert got["inputs"]["formats"] == {"combined": 1, "common": 2, "default": 3, "json": 1}
    assert [f["path"] for f in got["inputs"]["failed"]] == [str(tmp_path / "e-garbage.txt")]


def test_no_matching_line_is_a_failed_input_and_exit_3(tmp_path: Path) -> None:
    path = _file(tmp_path, "access.log", NASTY[:5])
    got = _run(path, log_format="json")
    _check(got, RefRun([(str(path), _text(path), JSON)]))
    assert got["lines"]["malformed"] == 5 and got["lines"]["parsed"] == 0
    bad = tmp_path / "bad.txt"
    result = CliRunner().invoke(
        cli,
        ["ingest", "--path", str(path), "--log-format", "json", "--mode", "sync", "--format",
         "json", "--malformed-out", str(bad)],
    )  # fmt: skip
    assert result.exit_code == 3, result.stderr
    doc = json.loads(result.stdout)
    assert doc["inputs"]["failed"][0]["error"].startswith(
        "no line matches log format 'json'; first line: "
    )
    assert bad.read_text().splitlines() == [f"{path}\t{line}" for line in NASTY[:5]]


@pytest.mark.parametrize(("good", "bad", "warned"), [(3, 4, True), (4, 4, False), (1, 0, False)])
def test_mostly_malformed_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, good: int, bad: int, warned: bool
) -> None:
    lines = [NASTY[0]] * good + ["garbage line"] * bad
    path = _file(tmp_path, "access.log", lines)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        got = _run(path, log_format="combined")
    _check(got, RefRun([(str(path), _text(path), COMBINED)]))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if warned:
        share = f"{100 * bad / (good + bad):.0f}%"
        assert len(warnings) == 1
        assert str(path) in warnings[0] and share in warnings[0]
        assert "'combined'" in warnings[0] and "--log-format" in warnings[0]
    else:
        assert warnings == []


def test_mixed_formats_with_and_without_time_and_latency(tmp_path: Path) -> None:
    """default (latency, no time) + common (time, no latency): notes, requests_without_time."""
    _file(tmp_path, "a.log", [f"[GET] /d{i}, status=500, time={i}ms user-agent=" for i in range(3)])
    _file(tmp_path, "b.log", NASTY[15:17])  # common lines
    expected = [(str(p), _text(p), detect(_text(p))) for p in sorted(tmp_path.iterdir())]
    assert [fmt.name for _, _, fmt in expected] == ["default", "common"]
    got = _run(tmp_path)
    _check(got, RefRun(expected, auto=True))
    assert len(got["notes"]) == 2
    assert got["time_range"]["requests_without_time"] == 3


def test_format_without_latency_or_time(tmp_path: Path) -> None:
    fmt_text = '$remote_addr "$request" $status $body_bytes_sent'
    lines = ['192.0.2.1 "GET /a HTTP/1.1" 200 5', '192.0.2.1 "-" 400 -', "x"]
    path = _file(tmp_path, "plain.log", lines)
    got = _run(path, log_format=fmt_text)

    def parse(line: str) -> Row | None:
        match = re.fullmatch(r'([^ ]*) "((?:[^"\\]|\\.)*)" ([1-5][0-9][0-9]) ([0-9]+|-)', line)
        if not match:
            return None
        method, target = request_parts(match.group(2))
        size = 0 if match.group(4) == "-" else int(match.group(4))
        return Row(method, target, int(match.group(3)), None, "", None, size)

    fmt = Fmt(f"nginx:{fmt_text}", parse, latency=False, time=False, size=True)
    _check(got, RefRun([(str(path), _text(path), fmt)]))
    assert "time_range" not in got and "timeline" not in got
    assert got["latency_ms"]["count"] == 0 and got["latency_by_method"] == {}
    assert got["requests"]["bytes_sent"] == 5
    assert got["notes"] == [
        f"format 'nginx:{fmt_text}' has no latency field: its requests are counted but are not "
        "in the latency statistics"
    ]


def test_msec_and_uri_args_format(tmp_path: Path) -> None:
    """$msec (epoch seconds with ms: time_range keeps the ms), $uri without $args, $request_time."""
    fmt_text = '$msec $remote_addr "$request_method $uri?$args" $status $request_time'
    lines = [
        '1795881600.123 ::1 "GET /a?x=1" 200 0.051',
        '1795881599.999 ::1 "POST /b?" 503 -',
        '1795881659.5 ::1 "PUT /c?y" 404 1.5',  # nginx writes 3 decimals, any are read
        '1795881600 ::1 "GET /d?" 200 0.001',  # no fraction: malformed
        '1795881601.000 ::1 "GET /e?" 200 1e3',  # malformed latency
    ]
    path = _file(tmp_path, "msec.log", lines)

    def parse(line: str) -> Row | None:
        match = re.fullmatch(
            r'([0-9]+\.[0-9]+) ([^ ]*) "([A-Za-z]+) ([^ "]*)\?([^ "]*)" ([1-5][0-9][0-9]) '
            r"([0-9]+(?:\.[0-9]+)?|-)",
            line,
        )
        if not match:
            return None
        when, _, method, uri, _, status, took = match.groups()
        millis = int(Decimal(when) * 1000)
        value = None if took == "-" else float(Decimal(took) * SECONDS)
        return Row(method, uri, int(status), value, "", millis, 0)

    fmt = Fmt(f"nginx:{fmt_text}", parse, latency=True, time=True, size=False)
    got = _run(path, log_format=fmt_text)
    _check(got, RefRun([(str(path), _text(path), fmt)]))
    assert got["time_range"]["first"] == "2026-11-28T15:59:59.999Z"


# ----------------------------------------------------------------------------------------------
# Filters

BASE = datetime(2026, 11, 28, 16, 0, tzinfo=timezone.utc)


def _timed_line(moment: datetime, offset_minutes: int, method: str, target: str, status: int,
                took: str) -> str:  # fmt: skip
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone).strftime("%d/%b/%Y:%H:%M:%S %z")
    return (
        f'192.0.2.1 - - [{local}] "{method} {target} HTTP/1.1" {status} 10 "-" "curl/8" '
        f'rt={took} uct="-" urt="-"'
    )


FILTER_LINES = [
    _timed_line(BASE + timedelta(minutes=i), [0, 120, -330][i % 3], m, t, s, f"0.{i:03d}")
    for i, (m, t, s) in enumerate(
        [
            ("GET", "/api/a?x=1", 200), ("POST", "/api/b", 404), ("GET", "/static/x=1", 500),
            ("PUT", "/api/c?q=/static", 503), ("GET", "/é/x", 404), ("DELETE", "/apix", 200),
            ("GET", "/api/a", 301), ("HEAD", "/", 502),
        ]
    )
]  # fmt: skip


@pytest.mark.parametrize(
    "filters",
    [
        Filters(since="2026-11-28T16:02:00Z"),  # exactly the third line: kept
        Filters(until="2026-11-28T16:05:00"),  # exactly the sixth line: dropped
        Filters(since="2026-11-28T18:02:00+02:00", until="2026-11-28T10:35:00-05:30"),
        Filters(since="2026-11-28", until="2026-11-29"),
        Filters(since="2026-11-29"),
        Filters(status="5xx,404"),
        Filters(status="2XX"),
        Filters(method="get,post"),
        Filters(method="-"),
        Filters(path_regex="^/api/"),
        Filters(path_regex="x=1"),  # the query string is not searched
        Filters(path_regex="é"),
        Filters(since="2026-11-28T16:01:00Z", status="5xx", method="GET,PUT", path_regex="a"),
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.options().items()),
)
def test_filters_at_their_boundaries(tmp_path: Path, filters: Filters) -> None:
    path = _file(tmp_path, "access.log", [*FILTER_LINES, "malformed"])
    got = _run(path, log_format=TIMED, **filters.options())
    _check(got, RefRun([(str(path), _text(path), F_TIMED)], filters))
    assert got["lines"]["filtered"] == got["lines"]["total"] - got["lines"]["parsed"] - 1


@pytest.mark.parametrize(
    "filters", [Filters(since="2026-11-28T16:03:00Z"), Filters(until="2026-11-28T16:05:00Z")]
)
def test_time_filters_drop_untimed_lines_of_a_mixed_run(tmp_path: Path, filters: Filters) -> None:
    _file(tmp_path, "a.log", [f"[GET] /d{i}, status=200, time={i}ms user-agent=" for i in range(4)])
    _file(tmp_path, "b.log", FILTER_LINES)
    expected = [(str(p), _text(p), detect(_text(p))) for p in sorted(tmp_path.iterdir())]
    got = _run(tmp_path, **filters.options())
    _check(got, RefRun(expected, filters, auto=True))
    assert got["lines"]["filtered"] == 4 + 3
    assert got["time_range"]["requests_without_time"] == 0


def test_filtered_method_matches_case_insensitively(tmp_path: Path) -> None:
    """--method is case-insensitive; a JSON method written in lower case is still that method."""
    path = _file(tmp_path, "app.json", ['{"method":"get","path":"/x","status":200}'] * 2)
    filters = Filters(method="GET")
    got = _run(path, **filters.options())
    _check(got, RefRun([(str(path), _text(path), JSON)], filters, auto=True))


# ----------------------------------------------------------------------------------------------
# Timeline


def _timeline_lines(times_ms: list[int], seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for t in times_ms:
        moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=t)
        status = rng.choice([200, 200, 304, 404, 500, 503])
        took = rng.choice(["-", f"{rng.randint(0, 2000) / 1000:.3f}"])
        lines.append(_timed_line(moment, rng.choice([0, 120, -330]), "GET", "/t", status, took))
    return lines


START = int(BASE.timestamp() * 1000)
MIN = 60_000


@pytest.mark.parametrize(
    ("span_ms", "bucket", "chosen"),
    [
        (2 * 3_600_000, "auto", "1m"),
        (299 * MIN, "auto", "1m"),  # 15:59:59 to 20:58:59: 300 one-minute rows exactly
        (299 * MIN + 1_000, "auto", "5m"),  # to 20:59:00: 301 one-minute rows
        (10 * 3_600_000, "auto", "5m"),
        (3 * 86_400_000 - MIN, "auto", "15m"),
        (10 * 86_400_000, "auto", "1h"),
        (250 * 86_400_000, "auto", "1d"),
        (400 * 86_400_000, "auto", "7d"),  # past 1d, with a note naming the span
        (10 * 365 * 86_400_000, "auto", "30d"),
        (100 * 365 * 86_400_000, "auto", "365d"),
        (3 * 86_400_000, "7d", "7d"),
        (2 * 3_600_000, "15m", "15m"),
        (5 * MIN, "1h", "1h"),
        (3 * 86_400_000, "1d", "1d"),
    ],
)
def test_timeline_buckets(tmp_path: Path, span_ms: int, bucket: str, chosen: str) -> None:
    """Out-of-order lines; gaps give empty rows; starts are epoch multiples of the bucket."""
    rng = random.Random(span_ms)
    first = START - 1_000  # 15:59:59 UTC: not aligned to any bucket
    times = [first, first + span_ms] + [first + rng.randrange(span_ms // 3) for _ in range(60)]
    rng.shuffle(times)
    path = _file(tmp_path, "access.log", _timeline_lines(times, span_ms))
    got = _run(path, log_format=TIMED, bucket=bucket)
    _check(got, RefRun([(str(path), _text(path), F_TIMED)], bucket=bucket))
    assert got["timeline"]["bucket"] == chosen
    rows = got["timeline"]["rows"]
    if len(rows) > 10:  # the last two thirds of the span hold one line: empty rows
        assert any(row["requests"] == 0 and row["latency_p50"] is None for row in rows)


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    offsets=st.lists(st.integers(0, 6 * 3_600_000), min_size=1, max_size=40),
    bucket=st.sampled_from(["auto", "1m", "5m", "1h"]),
    seed=st.integers(0, 1000),
)
def test_timeline_random(tmp_path: Path, offsets: list[int], bucket: str, seed: int) -> None:
    path = _file(tmp_path, f"t{seed}.log", _timeline_lines([START + t for t in offsets], seed))
    got = _run(path, log_format=TIMED, bucket=bucket)
    _check(got, RefRun([(str(path), _text(path), F_TIMED)], bucket=bucket))


# ----------------------------------------------------------------------------------------------
# CLI errors


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ingest", "--mode", "sync", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def small_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    combined = _file(root, "access.log", NASTY[:3])
    default = _file(root, "default.log", ["[GET] /x, status=200, time=5ms user-agent=curl/8"])
    return combined, default


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--log-format", "nginx-main"], "valid names: " + ", ".join(PRESETS)),
        (["--log-format", "%h %Z"], "%Z"),
        (["--since", "yesterday"], "--since"),
        (["--until", "2026-13-01"], "--until"),
        (["--since", "2026-11-28", "--until", "2026-11-28"], "is not before --until"),
        (["--since", "2026-11-28T01:00:00+01:00", "--until", "2026-11-28"], "is not before"),
        (["--status", "6xx"], "--status"),
        (["--status", "20"], "--status"),
        (["--path-regex", "("], "--path-regex"),
        (["--field", "speed=took"], "--field"),
        (["--bucket", "2m"], "--bucket"),
    ],
)
def test_cli_bad_values_exit_2_with_one_line(
    small_logs: tuple[Path, Path], args: list[str], needle: str
) -> None:
    code, out, err = _cli("--path", str(small_logs[0]), *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_cli_since_without_any_time_field_exits_2(small_logs: tuple[Path, Path]) -> None:
    code, out, err = _cli("--path", str(small_logs[1]), "--since", "2026-11-28")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "time field" in err, err


def test_cli_reads_a_real_log_with_no_option() -> None:
    code, out, err = _cli("--path", str(REAL / "utc" / "combined.log"), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["inputs"]["formats"] == {"combined": 1}
    assert doc["time_range"]["first"].startswith("2026-11-28T")
    assert doc["timeline"]["rows"]


# ----------------------------------------------------------------------------------------------
# Every mode and two blocksizes, on a file of many 64 KiB blocks


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 650 KB (10 blocks of 64 KiB) of TIMED lines, nasty and malformed ones included."""
    rng = random.Random(9)
    lines = []
    for i in range(6000):
        moment = BASE + timedelta(milliseconds=rng.randrange(8 * 3_600_000))
        status = rng.choice([200, 200, 200, 201, 301, 404, 500, 503])
        target = rng.choice(["/", f"/api/items?id={i % 50}", "/päth", "/a\\x22b", "/static"])
        took = rng.choice(["-", f"{rng.lognormvariate(-3, 1.2):.3f}"])
        line = _timed_line(moment, rng.choice([0, 120, -330, 60]), rng.choice(
            ["GET", "GET", "POST", "PUT"]), target, status, took)  # fmt: skip
        if i % 97 == 0:
            line = line.replace("GET /", "\\x16\\x03 /", 1)
        if i % 89 == 0:
            line = line[: len(line) // 2]  # malformed
        lines.append(line)
    path = _file(tmp_path_factory.mktemp("big"), "big.log", lines)
    assert path.stat().st_size > 9 * SMALL_BLOCKSIZE
    return path


@pytest.fixture(scope="module")
def big_reference(big_log: Path) -> dict[str, RefRun]:
    text = _text(big_log)
    filters = Filters(since="2026-11-28T18:00:00Z", status="2xx,503", path_regex="^/api")
    return {
        "plain": RefRun([(str(big_log), text, F_TIMED)]),
        "filtered": RefRun([(str(big_log), text, F_TIMED)], filters),
    }


THREADING = ExecutionSettings(mode="threading", workers=3)
PROCESS = ExecutionSettings(mode="process", workers=2)


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("settings_", "blocksize", "case"),
    [
        (SYNC, SMALL_BLOCKSIZE, "plain"),
        (SYNC, 16 * 2**20, "plain"),
        (THREADING, SMALL_BLOCKSIZE, "plain"),
        (THREADING, SMALL_BLOCKSIZE, "filtered"),
        (PROCESS, SMALL_BLOCKSIZE, "filtered"),
    ],
    ids=["sync-64KiB", "sync-16MiB", "threading-64KiB", "threading-64KiB-filtered",
         "process-64KiB-filtered"],
)  # fmt: skip
def test_every_mode_and_blocksize(
    big_log: Path,
    big_reference: dict[str, RefRun],
    settings_: ExecutionSettings,
    blocksize: int,
    case: str,
) -> None:
    reference = big_reference[case]
    options = IngestOptions(blocksize=blocksize, log_format=TIMED, **reference.filters.options())
    got = run_ingest(str(big_log), settings_, options).to_dict()
    _check(got, reference)


# ----------------------------------------------------------------------------------------------
# Random combined lines, line by line against the reference (hypothesis)

_SAFE = st.characters(blacklist_characters='"\\\n', blacklist_categories=["Cs"])
_ESCAPED = st.sampled_from(['\\"', "\\\\", "\\x22", "\\x5C", "\\xC3\\xA4", "\\x16"])
_QUOTED = st.lists(st.one_of(_SAFE, _ESCAPED), max_size=8).map("".join)
_TARGET_CHAR = st.characters(blacklist_characters=' "\\\n', blacklist_categories=["Cs"])
_TARGET = st.lists(st.one_of(_TARGET_CHAR, _ESCAPED), min_size=1, max_size=8).map(
    lambda parts: "/" + "".join(parts)
)
_REQUEST = st.one_of(
    st.builds(
        lambda m, t, p: f"{m} {t}{p}",
        st.sampled_from(["GET", "POST", "PURGE", "DELETE"]),
        _TARGET,
        st.sampled_from([" HTTP/1.1", " HTTP/2.0", ""]),
    ),
    st.builds(
        lambda m, t, p: f"{m} {t}{p}",
        st.sampled_from(["GET", "get", "G3T", ""]),
        _TARGET,
        st.sampled_from([" HTTP/1.1", " HTTP/x", " FOO", " HTTP/1.1 x"]),
    ),
    st.sampled_from(["-", "\\x16\\x03\\x01\\x00", "GARBAGE", "GET /a b HTTP/1.1", ""]),
    _QUOTED,
)
_VALID_TIME = st.builds(
    lambda when, zone: when.astimezone(timezone(timedelta(minutes=zone))).strftime(
        "%d/%b/%Y:%H:%M:%S %z"
    ),
    st.datetimes(datetime(2000, 1, 2), datetime(2037, 1, 1), timezones=st.just(timezone.utc)),
    st.sampled_from([0, 120, -330, 345, -720, 840]),
)
_ANY_TIME = st.builds(
    lambda d, mon, y, h, mi, s, zone: f"{d:02d}/{mon}/{y}:{h:02d}:{mi:02d}:{s:02d} {zone}",
    st.integers(0, 32),
    st.sampled_from(["Jan", "Feb", "Nov", "Dec", "nov", "Foo"]),
    st.integers(1999, 2040),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["+0000", "+0200", "-0530", "+1400", "-1200", "+2400", "+0060", "+0545"]),
)
_TIME = st.one_of(_VALID_TIME, _ANY_TIME)
_LINE = st.builds(
    lambda addr, user, when, request, status, size, referer, agent, extra: (
        f'{addr} - {user} [{when}] "{request}" {status} {size} "{referer}" "{agent}"{extra}'
    ),
    st.sampled_from(["127.0.0.1", "2001:db8::1", "::1", "-", "host.example", ""]),
    st.sampled_from(["-", "alice", "b\\x22ob"]),
    _TIME,
    _REQUEST,
    st.one_of(st.integers(100, 599).map(str), st.sampled_from(["600", "099", "20", "2000"])),
    st.sampled_from(["0", "-", "123456", "12a"]),
    _QUOTED,
    _QUOTED,
    st.sampled_from(["", "", ' "-" rt=0.123', " extra", '"glued"']),
)


def _frame_rows(text: str, option: str) -> tuple[list[Row], list[str]]:
    parsed = parse_text(text, compile_format(option))
    rows = []
    for record in parsed.frame.to_dict("records"):
        when = record["time"]
        rows.append(
            Row(
                str(record["method"]),
                record["path"],
                int(record["status"]),
                None if pd.isna(record["latency_ms"]) else float(record["latency_ms"]),
                record["user_agent"],
                None if pd.isna(when) else int(when.value // 1_000_000),
                int(record["bytes"]),
            )
        )
    return rows, parsed.malformed


@settings(max_examples=examples(60), deadline=None)
@given(lines=st.lists(_LINE, min_size=1, max_size=20))
def test_random_combined_lines_match_the_reference(lines: list[str]) -> None:
    text = "\n".join(lines)
    for option, fmt in (("combined", COMBINED), ("common", COMMON)):
        want_rows: list[Row] = []
        want_bad: list[str] = []
        for line in lines_of(text):
            row = parse_line(fmt, line)
            if row is None:
                want_bad.append(line)
            else:
                want_rows.append(row)
        assert _frame_rows(text, option) == (want_rows, want_bad)


_UPSTREAM_ITEM = st.one_of(
    st.just("-"), st.integers(0, 99_999).map(lambda ms: f"{ms // 1000}.{ms % 1000:03d}")
)


@settings(max_examples=examples(40), deadline=None)
@given(
    lists=st.lists(
        st.lists(st.tuples(_UPSTREAM_ITEM, st.sampled_from([", ", " : "])), min_size=1,
                 max_size=4),
        min_size=1, max_size=10,
    )
)  # fmt: skip
def test_random_upstream_lists_match_the_reference(lists: list[list[tuple[str, str]]]) -> None:
    lines = []
    for items in lists:
        value = "".join(item + sep for item, sep in items)[: -len(items[-1][1])]
        lines.append(f'::1 [28/Nov/2026:16:00:00 +0000] "GET /u HTTP/1.1" 200 1 "-" urt="{value}"')
    text = "\n".join(lines)
    want = [parse_upstream(line) for line in lines]
    assert _frame_rows(text, UPSTREAM) == ([row for row in want if row is not None], [])
