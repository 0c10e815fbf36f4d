"""The proxy presets (envoy, traefik, ingress-nginx, vcombined, vcommon, lighttpd) and varnishncsa
and Apache read as combined or through their format strings, field by field on every genuine
sample line against an independent reference: a plain tokeniser per line and a plain loop for the
figures of the report.

The reference splits a line into quoted strings, bracketed strings and bare words
(:func:`_tokens`), reads the fields each format documents by position, and converts them with the
standard library (``datetime`` for times, ``Decimal`` for latencies, ``urlsplit`` for full-URL
targets); it shares no code with the compiled patterns.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.formats.presets import LogFormat, compile_format, preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.parse import parse_text

DATA = Path(__file__).parent / "data"

Row = dict[str, Any]
Reference = Callable[[str], "Row | None"]


def _tokens(line: str, lists: bool = False) -> list[str]:
    """Quoted strings, bracketed strings and bare words; with ``lists``, nginx's ``a, b`` lists
    after the last quoted field stay one word."""
    if lists:
        head, tail = line.rsplit('"', 1)
        line = head + '"' + tail.replace(", ", ",")
    return re.findall(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]\S*|\S+', line)


def _unquote(token: str) -> str:
    return token[1:-1] if token.startswith('"') and token.endswith('"') else token


def _clf_ms(token: str) -> int:
    moment = datetime.strptime(token.strip("[]"), "%d/%b/%Y:%H:%M:%S %z")
    return int(moment.timestamp()) * 1000


def _iso_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1000)


def _request(text: str) -> tuple[str, str, str | None]:
    """(method, path, host of a full URL) of a request line, as the docs define them."""
    match = re.fullmatch(r"([A-Z]+) (\S+)(?: HTTP/[0-9.]+)?", text)
    if match is None:
        return "-", "-", None
    method, target = match.groups()
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", target):
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return method, path, parts.hostname
    return method, target, None


def _row(
    request: str,
    status: str,
    *,
    time_ms: int | None,
    latency: float = math.nan,
    agent: str = "",
    size: str = "0",
    host: str | None = None,
    client: str | None = None,
    referer: str | None = None,
) -> Row | None:
    if status in ("-", "0", "000"):
        code = 0
    elif re.fullmatch(r"[1-5][0-9][0-9]", status):
        code = int(status)
    else:
        return None
    method, path, url_host = _request(request)
    return {
        "method": method,
        "path": path,
        "status": code,
        "latency_ms": latency,
        "user_agent": "" if agent == "-" else agent,
        "time": time_ms,
        "bytes": 0 if size == "-" else int(size),
        "host": host if host not in (None, "-", "") else url_host,
        "client": client if client not in ("-", "") else None,
        "referer": referer if referer not in ("-", "") else None,
    }


def _envoy(line: str) -> Row | None:
    words = _tokens(line.removeprefix("ACCESS "))
    if len(words) != 13 or not words[0].startswith("["):
        return None
    status, sent, duration = words[2], words[5], words[6]
    if status == "0":
        status = "-"
    return _row(
        _unquote(words[1]),
        status,
        time_ms=_iso_ms(words[0].strip("[]")),
        latency=math.nan if duration == "-" else float(duration),
        agent=_unquote(words[9]),
        size=sent,
        host=_unquote(words[11]),
    )


def _traefik(line: str) -> Row | None:
    words = _tokens(line)
    if len(words) != 13 or not re.fullmatch(r"[0-9]+ms", words[12]):
        return None
    return _row(
        _unquote(words[4]),
        words[5],
        time_ms=_clf_ms(words[3]),
        latency=float(words[12].removesuffix("ms")),
        agent=_unquote(words[8]),
        size=words[6],
        client=words[0],
        referer=_unquote(words[7]),
    )


def _ingress_nginx(line: str) -> Row | None:
    words = _tokens(line, lists=True)
    if len(words) != 18 or status_not_http(words[5]):
        return None
    return _row(
        _unquote(words[4]),
        words[5],
        time_ms=_clf_ms(words[3]),
        latency=float(Decimal(words[10]) * 1000),
        agent=_unquote(words[8]),
        size=words[6],
        client=words[0],
        referer=_unquote(words[7]),
    )


def status_not_http(status: str) -> bool:
    return re.fullmatch(r"[1-5][0-9][0-9]", status) is None


def _vcombined(line: str) -> Row | None:
    words = _tokens(line)
    if len(words) < 10 or not re.fullmatch(r".+:[0-9]+", words[0]) or words[4][0] != "[":
        return None
    return _row(
        _unquote(words[5]),
        words[6],
        time_ms=_clf_ms(words[4]),
        agent=_unquote(words[9]),
        size=words[7],  # %O, read as the size (docs/formats.md)
        host=words[0].rsplit(":", 1)[0],
        client=words[1],
        referer=_unquote(words[8]),
    )


def _vcommon(line: str) -> Row | None:
    words = _tokens(line)
    if len(words) < 8 or words[4][0] != "[":
        return None
    return _row(
        _unquote(words[5]),
        words[6],
        time_ms=_clf_ms(words[4]),
        size=words[7],
        host=words[0].split(":")[0],
        client=words[1],
    )


def _lighttpd(line: str) -> Row | None:
    words = _tokens(line)
    if len(words) != 9 or status_not_http(words[5]):
        return None
    return _row(
        _unquote(words[4]),
        words[5],
        time_ms=_clf_ms(words[3]),
        agent=_unquote(words[8]),
        size=words[6],
        host=words[1],
        client=words[0],
        referer=_unquote(words[7]),
    )


def _combined(latency_unit: Decimal | None = None, size: bool = True) -> Reference:
    """Combined, optionally followed by one latency in ``latency_unit`` ms (Apache ``%D``)."""

    def reference(line: str) -> Row | None:
        words = _tokens(line)
        wanted = 9 if latency_unit is None else 10
        if len(words) < wanted or words[1] != "-" or status_not_http(words[5]):
            return None
        if latency_unit is not None and len(words) != 10:
            return None
        latency = math.nan if latency_unit is None else float(Decimal(words[9]) * latency_unit)
        return _row(
            _unquote(words[4]),
            words[5],
            time_ms=_clf_ms(words[3]),
            latency=latency,
            agent=_unquote(words[8]),
            size=words[6] if size else "0",
            client=words[0],
            referer=_unquote(words[7]),
        )

    return reference


#: (file under tests/data, format: preset name or format string, reference).
CASES: list[tuple[str, str, Reference]] = [
    ("formats/envoy/elastic-integrations-test-log.log", "envoy", _envoy),
    ("formats/traefik/elastic-integrations-test-format-common.log", "traefik", _traefik),
    (
        "formats/ingress-nginx/elastic-integrations-test-ingest-raw.log",
        "ingress-nginx",
        _ingress_nginx,
    ),
    ("formats/vcombined/plaso-apache_access.log", "vcombined", _vcombined),
    ("formats/vcombined/elastic-integrations-test-access-vhost.log", "vcommon", _vcommon),
    ("apache2-real/vhost_combined.log", "vcombined", _vcombined),
    ("lighttpd-real/access.log", "lighttpd", _lighttpd),
    ("varnish-real/access.log", "combined", _combined()),
    ("varnish-real/time.log", "combined", _combined()),
    (
        "varnish-real/time.log",
        '%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i" %D',
        _combined(Decimal("0.001")),
    ),
    ("apache2-real/combined.log", "combined", _combined()),
    (
        "apache2-real/combined-D.log",
        '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D',
        _combined(Decimal("0.001"), size=False),
    ),
    (
        "apache2-real/combined-msT.log",
        '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %{ms}T',
        _combined(Decimal(1), size=False),
    ),
]


def _parsed_rows(path: Path, fmt: LogFormat) -> tuple[list[Row], list[str]]:
    parsed = parse_text(path.read_bytes(), fmt)
    rows = []
    for record in parsed.frame.to_dict("records"):
        time = record["time"]
        host = record["host"]
        rows.append(
            {
                "method": str(record["method"]),
                "path": record["path"],
                "status": int(record["status"]),
                "latency_ms": float(record["latency_ms"]),
                "user_agent": record["user_agent"],
                "time": None if time is None or time != time else int(time.value // 10**6),
                "bytes": int(record["bytes"]),
                "host": None if not isinstance(host, str) else host,
                "client": _string(record["client"]),
                "referer": _string(record["referer"]),
            }
        )
    return rows, parsed.malformed


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _same(got: list[Row], want: list[Row]) -> None:
    assert len(got) == len(want)
    for index, (mine, theirs) in enumerate(zip(got, want, strict=True)):
        for key in theirs:
            a, b = mine[key], theirs[key]
            if isinstance(b, float) and math.isnan(b):
                assert isinstance(a, float) and math.isnan(a), (index, key, mine, theirs)
            else:
                assert a == b, (index, key, mine, theirs)


@pytest.mark.parametrize(
    ("name", "spec", "reference"), CASES, ids=[f"{c[0]}:{c[1][:10]}" for c in CASES]
)
def test_sample_fields_equal_the_reference(name: str, spec: str, reference: Reference) -> None:
    path = DATA / name
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    want = [reference(line) for line in lines]
    got, malformed = _parsed_rows(path, compile_format(spec))
    _same(got, [row for row in want if row is not None])
    assert malformed == [line for line, row in zip(lines, want, strict=True) if row is None]
    # envoy's default format writes no client address and no referer; every other does
    assert any(row["client"] for row in got) == (spec != "envoy")


@pytest.mark.parametrize(
    ("name", "spec", "reference"), CASES, ids=[f"{c[0]}:{c[1][:10]}" for c in CASES]
)
def test_report_figures_equal_a_plain_loop(name: str, spec: str, reference: Reference) -> None:
    path = DATA / name
    rows = [reference(line.strip()) for line in path.read_text().splitlines() if line.strip()]
    kept = [row for row in rows if row is not None]
    options = IngestOptions(log_format=spec)
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), options).to_dict()
    requests = document["requests"]
    assert requests["total"] == len(kept)
    assert document["lines"]["malformed"] == len(rows) - len(kept)
    want_status = Counter(f"{row['status']:03d}" for row in kept)
    assert requests["by_status"] == dict(sorted(want_status.items()))
    if compile_format(spec).has_bytes:
        assert requests["bytes_sent"] == sum(row["bytes"] for row in kept)
    else:
        assert "bytes_sent" not in requests
    latencies = [row["latency_ms"] for row in kept if not math.isnan(row["latency_ms"])]
    if latencies:
        assert document["latency_ms"]["count"] == len(latencies)
        assert document["latency_ms"]["mean"] == pytest.approx(sum(latencies) / len(latencies))
        assert document["latency_ms"]["max"] == max(latencies)


@pytest.mark.parametrize(
    ("name", "detected"),
    [
        ("apache2-real/vhost_combined.log", "vcombined"),
        ("apache2-real/combined.log", "combined"),
        ("lighttpd-real/access.log", "lighttpd"),
        ("varnish-real/access.log", "combined"),
    ],
)
def test_real_server_files_are_detected(name: str, detected: str) -> None:
    document = run_ingest(str(DATA / name), ExecutionSettings(mode="sync"), IngestOptions())
    assert document.to_dict()["inputs"]["formats"] == {detected: 1}


def test_envoy_tcp_line_is_a_request_without_status() -> None:
    line = '[2019-04-08T16:50:12.533Z] "- - -" 0 - 87 254 4 - "-" "-" "-" "-" "172.27.0.2:80"\n'
    frame = parse_text(line, preset("envoy")).frame
    assert frame[["method", "path", "status", "latency_ms", "bytes"]].values.tolist() == [
        ["-", "-", 0, 4.0, 254]
    ]
    assert frame["host"].isna().all()


def test_envoy_status_other_than_documented_is_malformed() -> None:
    line = '[2019-04-08T16:50:12.533Z] "GET / HTTP/1.1" 000 - 0 0 4 - "-" "-" "-" "-" "-"\n'
    assert parse_text(line, preset("envoy")).malformed == [line.strip()]


def test_ingress_nginx_lists_are_values() -> None:
    """Upstream lists (addresses, lengths, times, statuses) never make a line malformed; the
    status is $status and the latency $request_time, not the upstream's."""
    line = (
        '10.0.0.9 - - [07/Feb/2020:11:48:51 +0000] "GET /a HTTP/1.1" 200 59 "-" "curl/8" 89 '
        "0.125 [default-web-8080] [] 10.0.0.1:80, 10.0.0.2:80 0, 59 0.004, 0.010 502, 200 abc\n"
    )
    frame = parse_text(line, preset("ingress-nginx")).frame
    assert frame[["status", "latency_ms"]].values.tolist() == [[200, 125.0]]


def _figures(document: dict[str, Any]) -> dict[str, Any]:
    keys = ("inputs", "lines", "requests", "latency_ms", "time_range")
    figures = {key: document[key] for key in keys}
    figures["inputs"] = {k: v for k, v in figures["inputs"].items() if k == "formats"}
    return figures


@pytest.mark.subprocess
def test_every_mode_reads_the_proxy_samples_alike(tmp_path: Path) -> None:
    """The presets give the same report in threading mode as in sync, and a strftime time (its
    format travels in the LogFormat's options) in threading and process modes."""
    proxies = tmp_path / "proxies"
    proxies.mkdir()
    for name in (
        "formats/envoy/elastic-integrations-test-log.log",
        "formats/traefik/elastic-integrations-test-format-common.log",
        "formats/ingress-nginx/elastic-integrations-test-ingest-raw.log",
        "apache2-real/vhost_combined.log",
        "lighttpd-real/access.log",
    ):
        (proxies / Path(name).name).write_text((DATA / name).read_text() * 20)
    timed = tmp_path / "strftime.log"
    days = range(1, 30)
    timed.write_text(
        "".join(f'1.2.3.4 [2024-02-{d:02d} 10:00:00] "GET /{d} HTTP/1.1" 200\n' for d in days)
    )
    strftime = IngestOptions(log_format='%h [%{%Y-%m-%d %T}t] "%r" %>s')
    runs = []
    for mode, workers in (("sync", 1), ("threading", 3), ("process", 2)):
        settings = ExecutionSettings(mode=mode, workers=workers)
        # one process-mode run: a pasted format with a strftime time (its LogFormat, options
        # included, crosses to the worker processes); the presets cross the same way
        sources = [(timed, strftime)] if mode == "process" else [(proxies, IngestOptions())]
        sources += [(proxies, IngestOptions())] if mode == "threading" else [(timed, strftime)]
        runs.append(
            {str(p): _figures(run_ingest(str(p), settings, o).to_dict()) for p, o in sources}
        )
    for run in runs[1:]:
        assert all(run[path] == runs[0][path] for path in run)
    assert runs[0][str(proxies)]["inputs"]["formats"] == {
        "envoy": 1,
        "traefik": 1,
        "ingress-nginx": 1,
        "vcombined": 1,
        "lighttpd": 1,
    }
    assert runs[0][str(timed)]["requests"]["total"] == 29
