"""The ``w3c`` and ``cloudfront`` presets against an independent reference, line by line.

The reference (:func:`_reference`) reads a file as a person would with the W3C draft and the
IIS and CloudFront documentation at hand: one line at a time, the ``#Fields:`` in force names
the columns, values are cut with a plain character loop (spaces) or ``str.split("\\t")``, times
with :mod:`datetime`, agents decoded with ``str.replace`` / :func:`urllib.parse.unquote`. It
shares no code with :mod:`pipeline.ingest.parsing.w3c`.
"""

from __future__ import annotations

import calendar
import math
import re
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.formats.presets import LogFormat, preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing import parse
from pipeline.ingest.parsing.parse import parse_text
from pipeline.ingest.parsing.w3c_state import directive_lines, state_after
from tests.conftest import examples

FORMATS = Path(__file__).parent / "data" / "formats"
W3C_FILES = sorted((FORMATS / "w3c").iterdir())
CLOUDFRONT_FILES = sorted((FORMATS / "cloudfront").iterdir())

IIS_DEFAULT = [
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "cs(Referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
]
IIS_DEFAULT_HOST = [*IIS_DEFAULT[:11], "cs-host", *IIS_DEFAULT[11:]]
CLOUDFRONT_DEFAULT = (
    (FORMATS / "cloudfront" / "elastic-integrations-test-cloudfront.log")
    .read_text(encoding="utf-8")
    .splitlines()[1]
    .lower()
    .split()[1:]
)

Row = tuple[str, str, int, float, str, Any, int, Any, Any, Any]


def _values(line: str) -> list[str]:
    """Values separated by runs of spaces; ``"..."`` may hold spaces, ``""`` is a quote."""
    values, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        if line[i] == '"':
            j = i + 1
            while j < len(line) and not (line[j] == '"' and line[j + 1 : j + 2] != '"'):
                j += 2 if line[j] == '"' else 1
            values.append(line[i : j + 1])
            i = j + 1
        else:
            j = line.find(" ", i)
            j = len(line) if j < 0 else j
            values.append(line[i:j])
            i = j
    return values


def _plain(value: str) -> tuple[str, bool]:
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('""', '"'), True
    return value, False


def _reference(path: Path, cloudfront: bool) -> tuple[list[Row], int, int]:
    """(rows of the parsed lines, malformed lines, directive lines) of one file."""
    fields: list[str] | None = None
    software, day = "", ""
    rows: list[Row] = []
    malformed = directives = 0
    for raw in path.read_bytes().decode("utf-8", errors="replace").split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            directives += 1
            key, _, value = line[1:].partition(":")
            if key.strip().lower() == "fields":
                fields = value.lower().split()
            elif key.strip().lower() == "software":
                software = value.strip()
            elif key.strip().lower() == "date":
                day = value.split()[0]
            continue
        values = line.split("\t") if cloudfront else _values(line)
        names = fields
        if names is None:
            names = CLOUDFRONT_DEFAULT if cloudfront else None
            for candidate in (IIS_DEFAULT, IIS_DEFAULT_HOST):
                if not cloudfront and len(values) == len(candidate):
                    names = [name.lower() for name in candidate]
        row = _row(values, names, software, day, cloudfront)
        if row is None:
            malformed += 1
        else:
            rows.append(row)
    return rows, malformed, directives


def _row(
    values: list[str], names: list[str] | None, software: str, day: str, cloudfront: bool
) -> Row | None:
    if names is None or (len(values) != len(names) and not cloudfront):
        return None
    if cloudfront and len(values) < names.index("time-taken") + 1:
        return None
    quoted = {name: _plain(value)[1] for name, value in zip(names, values, strict=False)}
    got = {name: _plain(value)[0] for name, value in zip(names, values, strict=False)}
    status = got.get("sc-status", "")
    if not re.fullmatch(r"[1-5][0-9][0-9]" + ("|000" if cloudfront else ""), status):
        return None
    path = got.get("cs-uri-stem", got.get("cs-uri", "-"))
    if "cs-uri-stem" in got and got.get("cs-uri-query", "-") != "-":
        path += "?" + got["cs-uri-query"]
    iis = "microsoft internet information services" in software.lower() or bool(
        {"s-sitename", "s-computername", "sc-substatus", "sc-win32-status"} & set(names)
    )
    latency = math.nan
    if "time-taken" in got and got["time-taken"] != "-":
        latency = float(got["time-taken"]) * (1000 if cloudfront or not iis else 1)
    elif "timetakenms" in got:
        latency = float(got["timetakenms"])
    when = None
    if "time" in got and (got.get("date") or day):
        text = f"{got.get('date', day)} {got['time']}"
        stamp = datetime.strptime(
            text, "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
        )
        when = calendar.timegm(stamp.timetuple()) * 1000 + stamp.microsecond // 1000

    def decoded(name: str) -> str:
        """An agent or a referer: ``-`` is none; CloudFront URL-encodes, IIS writes ``+``."""
        value = got.get(name, "-")
        if value == "-":
            return ""
        if cloudfront:
            return urllib.parse.unquote(value)
        return value if quoted[name] else value.replace("+", " ")

    agent = decoded("cs(user-agent)")
    referer = decoded("cs(referer)")
    client = got.get("c-ip", "-")
    size = got.get("sc-bytes", got.get("bytes", "-"))
    host_names = ["x-host-header"] if cloudfront else ["cs-host", "cs(host)"]
    host = next((got[name] for name in host_names if name in got), None)
    method = got.get("cs-method", "-")
    return (
        method,
        path,
        0 if status == "000" else int(status),
        latency,
        agent,
        when,
        0 if size == "-" else int(size),
        None if host in (None, "-", "") else host,
        None if client in ("-", "") else client,
        referer or None,
    )


def _rows(fmt: LogFormat, text: bytes) -> tuple[list[Row], int, int]:
    parsed = parse_text(text, fmt)
    rows: list[Row] = []
    for record in parsed.frame.to_dict("records"):
        time: Any = record["time"]
        host: Any = record["host"]
        rows.append(
            (
                str(record["method"]),
                str(record["path"]),
                int(record["status"]),
                float(record["latency_ms"]),
                str(record["user_agent"]),
                None if str(time) == "NaT" else time.value // 10**6,
                int(record["bytes"]),
                host if isinstance(host, str) else None,
                record["client"] if isinstance(record["client"], str) else None,
                record["referer"] if isinstance(record["referer"], str) else None,
            )
        )
    return rows, len(parsed.malformed), parsed.directives


def _same(got: list[Row], want: list[Row]) -> None:
    assert len(got) == len(want)
    for one, other in zip(got, want, strict=True):
        assert one[:3] == other[:3] and one[4:] == other[4:], (one, other)
        assert (math.isnan(one[3]) and math.isnan(other[3])) or one[3] == pytest.approx(other[3])


@pytest.mark.parametrize("path", W3C_FILES + CLOUDFRONT_FILES, ids=lambda p: p.name)
def test_sample_file_matches_reference(path: Path) -> None:
    cloudfront = path.parent.name == "cloudfront"
    got = _rows(preset("cloudfront" if cloudfront else "w3c"), path.read_bytes())
    want = _reference(path, cloudfront)
    _same(got[0], want[0])
    assert got[1:] == want[1:]


def test_sample_files_exercise_the_rules() -> None:
    """The samples hold what the rules are about (else the comparison above proves little)."""
    rows = {
        p.name: _reference(p, p.parent.name == "cloudfront") for p in W3C_FILES + CLOUDFRONT_FILES
    }
    assert rows["beats-filebeat-iis-test.log"][1:] == (2, 12)  # 3 #Fields blocks, 2 mismatched
    assert rows["lnav-logfile_w3c.5.log"] == ([], 1, 1)
    assert rows["elastic-integrations-test-iis10-access.log"][1:] == (5, 0)
    oracle = rows["lnav-logfile_w3c.1.log"][0][0]
    assert oracle[3] == 370879 * 1000.0  # not IIS: time-taken in seconds
    assert oracle[4] == "Mozilla/4.5 [en] (WinNT; I)"  # quoted, with spaces
    undated = rows["plaso-iis_without_date.log"][0][0]
    assert undated[5] == calendar.timegm((2013, 7, 30, 0, 0, 0)) * 1000  # the day of #Date
    cloud = rows["logstash-patterns-core-aws_spec-cloudfront.log"][0][0]
    assert cloud[4].startswith("Mozilla/5.0%20(Windows%20NT%206.1;")  # %2520 decoded once
    assert cloud[3] == 36.0 and cloud[7] == "host.example.com"
    statuses = [row[2] for row in rows["elastic-integrations-test-cloudfront.log"][0]]
    assert 0 in statuses  # 000: no response


def test_mismatched_file_reads_with_the_option() -> None:
    path = FORMATS / "w3c" / "lnav-logfile_w3c.5.log"
    result = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions(log_format="w3c"))
    lines = result.to_dict()["lines"]
    assert (lines["parsed"], lines["malformed"], lines["directives"], lines["total"]) == (
        0,
        1,
        1,
        2,
    )


W3C_TEXT = (
    "#Fields: date time cs-method cs-uri-stem cs-uri-query sc-status time-taken cs(User-Agent)\n"
    "2024-01-02 03:04:05 GET /a q=1 200 250 Mozilla/5.0+(X11;+Linux)\n"
)


@pytest.mark.parametrize(
    ("header", "latency"),
    [
        ("", 250_000.0),  # the W3C draft: seconds
        ("#Software: Microsoft Internet Information Services 10.0\n", 250.0),
        ("#Software: Microsoft HTTP Server API 2.0\n", 250_000.0),
    ],
    ids=["spec-seconds", "iis-software-ms", "other-software-seconds"],
)
def test_time_taken_unit_by_software(header: str, latency: float) -> None:
    frame = parse_text(header + W3C_TEXT, preset("w3c")).frame
    assert frame["latency_ms"].tolist() == [latency]
    assert frame["path"].tolist() == ["/a?q=1"]
    assert frame["user_agent"].tolist() == ["Mozilla/5.0 (X11; Linux)"]


@pytest.mark.parametrize(
    "iis_field", ["s-sitename", "s-computername", "sc-substatus", "sc-win32-status"]
)
def test_time_taken_unit_by_iis_fields(iis_field: str) -> None:
    text = (
        f"#Fields: date time cs-method cs-uri-stem sc-status time-taken {iis_field}\n"
        "2024-01-02 03:04:05 GET /a 200 250 x\n"
    )
    assert parse_text(text, preset("w3c")).frame["latency_ms"].tolist() == [250.0]


def test_cloudfront_time_taken_is_seconds_whatever_the_software() -> None:
    text = "#Software: Microsoft Internet Information Services 10.0\n" + "\t".join(
        [
            "2024-01-02",
            "03:04:05",
            "LAX1",
            "10",
            "1.2.3.4",
            "GET",
            "d.cloudfront.net",
            "/x",
            "000",
            "-",
            "curl/8%2520x",
            "-",
            "-",
            "Error",
            "id",
            "viewer.example",
            "https",
            "5",
            "0.250",
        ]
    )
    parsed = parse_text(text, preset("cloudfront"))
    frame = parsed.frame
    assert frame["latency_ms"].tolist() == [250.0]
    assert frame["status"].tolist() == [0]
    assert frame["host"].tolist() == ["viewer.example"]
    assert frame["user_agent"].tolist() == ["curl/8%20x"]
    assert frame["bytes"].tolist() == [10]
    assert parsed.directives == 1


def test_fields_change_mid_text_and_the_date_directive_dates_time_only_lines() -> None:
    text = (
        "#Date: 2020-05-06 00:00:00\n"
        "#Fields: time cs-method cs-uri-stem sc-status\n"
        "01:02:03 GET /one 200\n"
        "#Fields: sc-status cs-uri-stem cs-method date time sc-bytes\n"
        "404 /two POST 2021-01-01 00:00:00.250 77\n"
        "01:02:03 GET /three 200\n"  # the old layout: malformed now
    )
    parsed = parse_text(text, preset("w3c"))
    frame = parsed.frame
    assert frame["path"].tolist() == ["/one", "/two"]
    assert frame["method"].astype(str).tolist() == ["GET", "POST"]
    assert frame["status"].tolist() == [200, 404]
    assert frame["bytes"].tolist() == [0, 77]
    stamps = [t.value // 10**6 for t in frame["time"]]
    assert stamps == [
        calendar.timegm((2020, 5, 6, 1, 2, 3)) * 1000,
        calendar.timegm((2021, 1, 1, 0, 0, 0)) * 1000 + 250,
    ]
    assert parsed.malformed == ["01:02:03 GET /three 200"]
    assert parsed.directives == 3


def test_double_space_does_not_shift_columns_and_quotes_hold_spaces() -> None:
    text = (
        "#Fields: date time cs-method cs-uri-stem sc-status cs(User-Agent) cs(Host)\n"
        '2024-01-02 03:04:05  GET   /a 200 "A ""q"" +b" "h.example"\n'
    )
    frame = parse_text(text, preset("w3c")).frame
    assert frame["user_agent"].tolist() == ['A "q" +b']  # quoted: + stays
    assert frame["host"].tolist() == ["h.example"]
    assert frame["path"].tolist() == ["/a"]


def test_no_status_field_or_bad_status_is_malformed() -> None:
    text = "#Fields: date time cs-uri-stem\n2024-01-02 03:04:05 /a\n"
    assert parse_text(text, preset("w3c")).malformed == ["2024-01-02 03:04:05 /a"]
    text = "#Fields: cs-uri-stem sc-status\n/a 000\n/b 200\n"
    assert parse_text(text, preset("w3c")).malformed == ["/a 000"]  # 000 is CloudFront's


def test_directive_lines_and_state() -> None:
    text = b"#Version: 1.0\n a#b\n\t#Fields: x  y\n#x\xff\n"
    assert directive_lines(text) == ["#Version: 1.0", "#Fields: x  y", "#x\ufffd"]
    fmt = state_after(preset("w3c"), directive_lines(text))
    assert fmt == state_after(fmt, ["#Version: 2.0"])  # only Fields, Software, Date are state
    assert dict(fmt.options)["in_force_fields"] == "x y"


def test_state_crosses_parse_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    path = FORMATS / "w3c" / "beats-filebeat-iis-test.log"
    whole = _rows(preset("w3c"), path.read_bytes())
    monkeypatch.setattr(parse, "MAX_PARSE_LINES", 3)
    assert _rows(preset("w3c"), path.read_bytes()) == whole


@pytest.mark.parametrize(
    "line",
    [
        "2024-01-02 03:04:05 GET /a 200 abc 5",
        "2024-01-02 03:04:05 GET /a 200 -5 5",
        '2024-01-02 03:04:05 GET /a 200 0.000" 5',
        "2024-01-02 03:04:05 GET /a 200 5 x",
        "2024-01-02 03:04:05 GET /a 200 5 -1",
        "2024-02-30 03:04:05 GET /a 200 5 5",
        "2024-01-02 3:04 GET /a 200 5 5",
        "2024-01-02 03:04:05 GET /a 600 5 5",
    ],
)
def test_values_of_the_wrong_shape_are_malformed(line: str) -> None:
    text = "#Fields: date time cs-method cs-uri-stem sc-status time-taken sc-bytes\n" + line
    parsed = parse_text(text, preset("w3c"))
    assert (len(parsed.frame), parsed.malformed, parsed.directives) == (0, [line], 1)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.text(alphabet=' #"\t-+.:0123456789abGET/\n', max_size=40), min_size=1, max_size=8),
    st.sampled_from(["w3c", "cloudfront"]),
)
def test_any_text_parses_without_error(lines: list[str], name: str) -> None:
    """Detection tries these presets on every file: no text may raise; every non-blank line
    is parsed, malformed or a directive."""
    text = "\n".join(lines)
    parsed = parse_text(text, preset(name))
    nonblank = sum(1 for line in text.split("\n") if line.strip())
    assert len(parsed.frame) + len(parsed.malformed) + parsed.directives == nonblank
