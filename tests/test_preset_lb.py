"""The load balancer and proxy presets (``alb``, ``elb``, ``haproxy``, ``squid``, ``s3``) read
every genuine sample line as an independent reference does.

The reference reads each line with plain Python (a tokenizer of bare, ``"quoted"`` and
``[bracketed]`` fields, ``str.split``, :func:`urllib.parse.urlsplit`, :mod:`datetime` and
:class:`decimal.Decimal`), never with the presets' patterns, and says which lines are not
requests of the format. Every parsed row is compared field by field, the malformed lines by
text, and the report's counts, bytes and latency sum against a plain loop over the reference's
rows. The converters these presets added (HAProxy's offset-less time, status ``-1``) have their
own known-answer tests.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.formats.presets import preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.convert import status_codes
from pipeline.ingest.parsing.parse import parse_text
from pipeline.ingest.parsing.utc_times import clf_ms_utc_to_ms
from tests.conftest import SMALL_BLOCKSIZE

DATA = Path(__file__).parent / "data"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Row(NamedTuple):
    """One request as the reference reads it (the parsed frame's columns)."""

    method: str
    path: str
    status: int
    latency_ms: float | None
    user_agent: str
    time_ms: int | None
    bytes: int
    host: str | None


def _tokens(line: str) -> list[str]:
    """Bare words, ``"quoted"`` (backslash escapes kept) and ``[bracketed]`` fields."""
    return re.findall(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^ ]+', line)


def _unquote(token: str) -> str:
    assert token[0] == token[-1] == '"', token
    return token[1:-1]


def _request(text: str) -> tuple[str, str, str | None]:
    """(method, path, host) of ``METHOD TARGET [HTTP/x]``; anything else is ``-``, ``-``."""
    parts = text.split(" ")
    if len(parts) == 3 and not re.fullmatch(r"HTTP/[0-9.]+", parts[2]):
        return "-", "-", None
    if len(parts) not in (2, 3) or not parts[0].isalpha() or not parts[0].isupper():
        return "-", "-", None
    if not parts[1]:
        return "-", "-", None
    return (parts[0], *_target(parts[1]))


def _target(target: str) -> tuple[str, str | None]:
    """An absolute URL as its path (and query) and host; anything else as is, no host."""
    split = urlsplit(target)
    if not split.scheme or not target.startswith(split.scheme + "://"):
        return target, None
    host = split.netloc.rpartition("@")[2]
    host = host.rsplit(":", 1)[0] if ":" in host else host
    rest = target[len(split.scheme) + 3 + len(split.netloc) :]
    return (rest if rest.startswith("/") else "/" + rest), host


def _ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _seconds(text: str) -> float | None:
    """A processing time in seconds as ms; ``-1`` is none."""
    return None if text == "-1" else float(Decimal(text) * 1000)


def _status(text: str) -> int | None:
    """A status: 100-599; ``-``, ``-1``, ``000`` are none (0); anything else: not a status."""
    if text in ("-", "-1", "000"):
        return 0
    return int(text) if re.fullmatch(r"[1-5][0-9]{2}", text) else None


def ref_alb(line: str) -> Row | None:
    t = _tokens(line)
    if len(t) < 14 or t[0] not in ("http", "https", "h2", "grpcs", "ws", "wss"):
        return None
    times = t[5:8]
    if not all(re.fullmatch(r"-1|[0-9]+(\.[0-9]+)?", x) for x in times):
        return None
    if not re.fullmatch(r"[1-5][0-9]{2}", t[8]) or not t[11].isdigit():
        return None
    if not (t[12].startswith('"') and t[13].startswith('"')):
        return None
    values = [_seconds(x) for x in times]
    latency = None if None in values else sum(v for v in values if v is not None)
    method, path, host = _request(_unquote(t[12]))
    agent = _unquote(t[13])
    time = _ms(datetime.fromisoformat(t[1]))
    return Row(method, path, int(t[8]), latency, "" if agent == "-" else agent, time,
               int(t[11]), host)  # fmt: skip


def ref_elb(line: str) -> Row | None:
    t = _tokens(line)
    if len(t) not in (12, 13, 15) or not re.fullmatch(r"[0-9-]+T[0-9:.]+Z", t[0]):
        return None
    times = t[4:7]
    if not all(re.fullmatch(r"-1|[0-9]+(\.[0-9]+)?", x) for x in times):
        return None
    status = _status(t[7]) if t[7] != "000" else None
    if status is None or (t[10] != "-1" and not t[10].isdigit()):
        return None
    if not t[11].startswith('"') or (len(t) > 12 and not t[12].startswith('"')):
        return None
    values = [_seconds(x) for x in times]
    latency = None if None in values else sum(v for v in values if v is not None)
    method, path, host = _request(_unquote(t[11]))
    agent = _unquote(t[12]) if len(t) > 12 else ""
    size = 0 if t[10] == "-1" else int(t[10])
    time = _ms(datetime.fromisoformat(t[0]))
    return Row(method, path, status, latency, "" if agent == "-" else agent, time, size, host)


def ref_haproxy(line: str) -> Row | None:
    """Find the bracketed accept date, then read the fields after it by position."""
    found = re.search(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] ", line)
    if found is None:
        return None
    head = line[: found.start()].split()
    if not (len(head) == 1 or (len(head) in (4, 6) and head[-2].endswith(":"))):
        return None
    rest = line[found.end() :]
    fields = rest.split(" ", 10)
    if len(fields) < 11:
        return None
    timers = fields[2].split("/")
    if len(timers) != 5 or not all(re.fullmatch(r"\+?(-1|\d+)", x) for x in timers):
        return None
    status = _status(fields[3]) if fields[3] not in ("-", "000") else None
    if status is None:
        return None
    tail = fields[10]
    quote = tail.find('"')
    if quote < 0:
        return None
    before = tail[:quote].strip()
    if before and not re.fullmatch(r"\{[^}]*\}( \{[^}]*\})?", before):
        return None
    request = tail[quote + 1 :]
    request = request[:-1] if request.endswith('"') else request
    method, path, host = _request(request)
    total = timers[4].lstrip("+")
    latency = None if total == "-1" else float(total)
    moment = datetime.strptime(found.group(1), "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    size = int(fields[4].lstrip("+"))
    return Row(method, path, status, latency, "", _ms(moment), size, host)


def ref_squid(line: str) -> Row | None:
    t = line.split()
    if len(t) < 10 or not re.fullmatch(r"\d+\.\d{3}", t[0]) or not t[1].isdigit():
        return None
    code, _, status_text = t[3].partition("/")
    status = _status(status_text) if status_text not in ("-", "-1") else None
    if not re.fullmatch(r"[A-Z_]+", code) or status is None:
        return None
    if not t[4].isdigit() or "/" not in t[8]:
        return None
    path, host = _target(t[6])
    time = int(Decimal(t[0]) * 1000)
    return Row(t[5], path, status, float(t[1]), "", time, int(t[4]), host)


def ref_s3(line: str) -> Row | None:
    t = _tokens(line)
    if len(t) < 17 or not t[2].startswith("["):
        return None
    moment = datetime.strptime(t[2][1:-1], "%d/%b/%Y:%H:%M:%S %z")
    method, path, host = _request(_unquote(t[8]))
    status = _status(t[9])
    assert status is not None
    size = 0 if t[11] == "-" else int(t[11])
    latency = None if t[13] == "-" else float(t[13])
    agent = _unquote(t[16])
    return Row(method, path, status, latency, "" if agent == "-" else agent, _ms(moment), size,
               t[1] if t[1] != "-" else host)  # fmt: skip


REFERENCES: dict[str, Callable[[str], Row | None]] = {
    "alb": ref_alb,
    "elb": ref_elb,
    "haproxy": ref_haproxy,
    "squid": ref_squid,
    "s3": ref_s3,
}


def _address(text: str, port: bool) -> str | None:
    """A client field as the ``client`` column holds it: ``-`` is none; with ``port`` the field
    is ``address:port`` and loses its last ``:digits``; ``[v6]`` loses its brackets."""
    if text in ("-", ""):
        return None
    if port:
        address, _, number = text.rpartition(":")
        assert address and number.isdigit(), text
        text = address
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text


def _haproxy_client(line: str) -> str | None:
    before = line[: line.index(" [")].split()  # the syslog prefix, then client:port
    return _address(before[-1], port=True)


#: (client, referer) of a line each reference reads (plain split, no pattern).
CLIENTS: dict[str, Callable[[str], tuple[str | None, str | None]]] = {
    "alb": lambda line: (_address(_tokens(line)[3], port=True), None),
    "elb": lambda line: (_address(_tokens(line)[2], port=True), None),
    "haproxy": lambda line: (_haproxy_client(line), None),
    "squid": lambda line: (_address(line.split()[2], port=False), None),
    "s3": lambda line: (
        _address(_tokens(line)[3], port=False),
        _unquote(_tokens(line)[15]) if _unquote(_tokens(line)[15]) not in ("-", "") else None,
    ),
}


def _files() -> list[tuple[str, Path]]:
    files = [
        (name, path) for name in REFERENCES for path in sorted((DATA / "formats" / name).iterdir())
    ]
    files += [("haproxy", path) for path in sorted((DATA / "haproxy-real").glob("*.log"))]
    files.append(("squid", DATA / "squid-real" / "access.log"))
    return files


FILES = _files()
IDS = [f"{name}-{path.parent.name}-{path.name}" for name, path in FILES]


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _frame_rows(frame: pd.DataFrame) -> list[Row]:
    rows = []
    for record in frame.to_dict("records"):
        latency = record["latency_ms"]
        time = record["time"]
        host = record["host"]
        rows.append(
            Row(
                str(record["method"]),
                record["path"],
                int(record["status"]),
                None if math.isnan(latency) else latency,
                record["user_agent"],
                None if pd.isna(time) else int(time.value // 1_000_000),
                int(record["bytes"]),
                None if not isinstance(host, str) else host,
            )
        )
    return rows


def _same(got: Row, want: Row) -> bool:
    if (got.latency_ms is None) != (want.latency_ms is None):
        return False
    latency_ok = got.latency_ms is None or math.isclose(
        got.latency_ms, want.latency_ms or 0.0, rel_tol=1e-12, abs_tol=1e-9
    )
    return latency_ok and got._replace(latency_ms=None) == want._replace(latency_ms=None)


@pytest.mark.parametrize(("name", "path"), FILES, ids=IDS)
def test_fields_equal_the_reference(name: str, path: Path) -> None:
    lines = _lines(path)
    reference = [REFERENCES[name](line) for line in lines]
    parsed = parse_text(path.read_text(encoding="utf-8"), preset(name))
    want = [row for row in reference if row is not None]
    got = _frame_rows(parsed.frame)
    assert len(got) == len(want)
    for got_row, want_row in zip(got, want, strict=True):
        assert _same(got_row, want_row), (got_row, want_row)
    malformed = [line for line, row in zip(lines, reference, strict=True) if row is None]
    assert parsed.malformed == malformed


@pytest.mark.parametrize(("name", "path"), FILES, ids=IDS)
def test_client_and_referer_equal_the_reference(name: str, path: Path) -> None:
    lines = [line for line in _lines(path) if REFERENCES[name](line) is not None]
    want = [CLIENTS[name](line) for line in lines]
    frame = parse_text(path.read_text(encoding="utf-8"), preset(name)).frame
    got = [
        tuple(value if isinstance(value, str) else None for value in pair)
        for pair in zip(frame["client"], frame["referer"], strict=True)
    ]
    assert got == want
    assert all(client is not None for client, _ in got)  # every line of these has a client


def test_s3_referer_and_ipv6_client() -> None:
    # the genuine samples all write "-": a sample line with a referer and an IPv6 remote_ip
    line = next(
        line
        for line in _lines(DATA / "formats" / "s3" / "lnav-s3_log-samples.log")
        if ref_s3(line) is not None
    )
    tokens = _tokens(line)
    tokens[3], tokens[15] = "2001:db8::7", '"https://example.com/a?b=1"'
    changed = " ".join(tokens)
    assert CLIENTS["s3"](changed) == ("2001:db8::7", "https://example.com/a?b=1")
    frame = parse_text(changed, preset("s3")).frame
    assert frame[["client", "referer"]].values.tolist() == [
        ["2001:db8::7", "https://example.com/a?b=1"]
    ]


@pytest.mark.parametrize(("name", "path"), FILES, ids=IDS)
def test_report_figures_equal_a_plain_loop(name: str, path: Path) -> None:
    rows = [row for row in map(REFERENCES[name], _lines(path)) if row is not None]
    by_status: dict[str, int] = {}
    none = size = timed = 0
    latency_sum = 0.0
    for row in rows:
        key = f"{row.status:03d}"
        by_status[key] = by_status.get(key, 0) + 1
        none += row.status == 0
        size += row.bytes
        if row.latency_ms is not None:
            timed += 1
            latency_sum += row.latency_ms
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    assert document["inputs"]["formats"] == {name: 1}
    requests = document["requests"]
    assert requests["total"] == len(rows)
    assert requests["by_status"] == dict(sorted(by_status.items()))
    assert requests["by_status_class"]["none"] == none
    assert requests["bytes_sent"] == size
    latency = document["latency_ms"]
    assert latency["count"] == timed
    if timed:
        assert math.isclose(latency["mean"] * timed, latency_sum, rel_tol=1e-9)


def test_alb_and_elb_do_not_read_each_others_lines() -> None:
    """Classic ELB lines (no type word) are not ALB's, ALB lines not Classic ELB's."""
    mixed = _lines(DATA / "formats" / "alb" / "plaso-aws_elb_access.log")
    text = "\n".join(mixed)
    alb_rows = parse_text(text, preset("alb")).frame
    elb_rows = parse_text(text, preset("elb")).frame
    assert len(alb_rows) == sum(ref_alb(line) is not None for line in mixed) == 10
    assert len(elb_rows) == sum(ref_elb(line) is not None for line in mixed) == 4
    for path in sorted((DATA / "formats" / "elb").iterdir()):
        assert len(parse_text(path.read_text(encoding="utf-8"), preset("alb")).frame) == 0


def test_haproxy_report_notes_the_utc_reading() -> None:
    path = DATA / "haproxy-real" / "syslog.log"
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    assert (
        "format 'haproxy' writes times without a UTC offset: they are read as UTC"
        in (document["notes"])
    )
    alb = DATA / "formats" / "alb" / "lnav-alb_log-samples.log"
    document = run_ingest(str(alb), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    assert not any("UTC offset" in note for note in document["notes"])


def test_haproxy_logasap_and_no_prefix() -> None:
    """A raw line (no syslog prefix) with ``option logasap``: ``+`` before Tt and bytes."""
    line = (
        "127.0.0.1:39759 [09/Dec/2013:12:59:46.633] lb default/i8 0/51536/1/48082/+99627 200 "
        '+83285 - - ---- 87/87/87/1/0 0/67 {77.24.148.74} "GET / HTTP/1.1"'
    )
    row = _frame_rows(parse_text(line, preset("haproxy")).frame)
    assert row == [ref_haproxy(line)]
    assert row[0].latency_ms == 99627.0 and row[0].bytes == 83285


def test_haproxy_status_minus_one_is_no_status() -> None:
    line = (
        "10.0.0.1:1 [01/Jan/2024:00:00:00.000] fe be/srv 0/0/0/-1/5 -1 0 - - CD-- "
        '1/1/0/0/0 0/0 "GET /x HTTP/1.1"'
    )
    frame = parse_text(line, preset("haproxy")).frame
    assert frame["status"].tolist() == [0]
    assert frame["latency_ms"].tolist() == [5.0]


@pytest.mark.parametrize(
    "text",
    [
        "09/Feb/2009:16:31:28.430",
        "29/Feb/2024:23:59:59.999",
        "01/jan/1970:00:00:00.000",
        "31/Dec/9999:23:59:59.001",
    ],
)
def test_clf_ms_utc_known_answers(text: str) -> None:
    want = _ms(datetime.strptime(text, "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=timezone.utc))
    millis, ok = clf_ms_utc_to_ms(pa.array([text]))
    assert ok.tolist() == [True]
    assert millis.tolist() == [want]


@pytest.mark.parametrize(
    "text",
    [
        "31/Feb/2009:16:31:28.430",
        "09/Feb/2009:16:31:28",
        "09/Feb/2009:24:00:00.000",
        "09/Feb/2009:16:31:28.43x",
    ],
)
def test_clf_ms_utc_rejects(text: str) -> None:
    millis, ok = clf_ms_utc_to_ms(pa.array([text]))
    assert ok.tolist() == [False]
    assert millis.tolist() == [0]


def test_status_minus_one_is_status_none() -> None:
    assert status_codes(pa.array(["-1", "000", "-", "0", "599"])).tolist() == [0, 0, 0, 0, 599]


def _all_samples(directory: Path) -> Path:
    """Every sample file of the five presets copied into ``directory`` (detected per file)."""
    for index, (_, path) in enumerate(FILES):
        (directory / f"{index:02d}-{path.name}").write_bytes(path.read_bytes())
    return directory


def _figures(path: Path, settings: ExecutionSettings, blocksize: int) -> dict[str, Any]:
    options = IngestOptions(blocksize=blocksize)
    document = run_ingest(str(path), settings, options).to_dict()
    return {key: value for key, value in document.items() if key != "execution"}


@pytest.mark.usefixtures("small_blocks")
def test_threading_mode_gives_the_sync_report(tmp_path: Path) -> None:
    """Every sample at once (small files grouped into tasks that detect each file's format)
    gives the same report in threading mode as in sync mode."""
    directory = _all_samples(tmp_path)
    want = _figures(directory, ExecutionSettings(mode="sync"), 16 * 2**20)
    assert want["inputs"]["formats"] == {"alb": 3, "elb": 2, "haproxy": 9, "s3": 2, "squid": 4}
    threading = ExecutionSettings(mode="threading", workers=3)
    assert _figures(directory, threading, SMALL_BLOCKSIZE) == want


@pytest.mark.subprocess
@pytest.mark.usefixtures("small_blocks")
def test_process_mode_gives_the_sync_report(tmp_path: Path) -> None:
    """The formats and their converters travel to worker processes (pickled) unchanged."""
    directory = _all_samples(tmp_path)
    want = _figures(directory, ExecutionSettings(mode="sync"), 16 * 2**20)
    process = ExecutionSettings(mode="process", workers=2)
    assert _figures(directory, process, SMALL_BLOCKSIZE) == want


def test_gzipped_alb_object_reads_as_the_plain_file(tmp_path: Path) -> None:
    """ALB writes gzipped objects (``*.log.gz``): detected and read like the plain text."""
    plain = DATA / "formats" / "alb" / "plaso-aws_elb_access.log"
    packed = tmp_path / "123456789012_elasticloadbalancing_us-east-2_app.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    sync = ExecutionSettings(mode="sync")
    want = run_ingest(str(plain), sync, IngestOptions()).to_dict()
    got = run_ingest(str(packed), sync, IngestOptions()).to_dict()
    assert got["inputs"]["formats"] == {"alb": 1}
    for key in ("requests", "latency_ms", "time_range", "top_paths"):
        assert got[key] == want[key], key
    assert {k: v for k, v in got["lines"].items() if k != "malformed_samples"} == {
        k: v for k, v in want["lines"].items() if k != "malformed_samples"
    }
