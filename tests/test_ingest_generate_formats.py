"""generate-logs in web-server formats, read back by ``cli.py ingest`` and by a plain ``re`` loop.

The reference below shares no code with ``pipeline.ingest``: one ``re.fullmatch`` (or
``json.loads``) per line, ``datetime.strptime`` for the times and ``Decimal`` for the latencies.
Each generated file must be read by ingest with the expected format, no malformed line at
``malformed_rate=0``, and exactly the reference's counts.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.loggen.generate import FORMATS, NGINX_TIMED_FORMAT, generate_logs

QUOTED = r'"((?:[^"\\]|\\.)*)"'
TEXT_LINE = re.compile(
    r"(\S+) - (\S+) \[([^\]]+)\] " + QUOTED + r" ([0-9]{3}) ([0-9]+|-)"
    r"(?: " + QUOTED + " " + QUOTED + r"(?: rt=([0-9]+\.[0-9]{3}))?)?"
)
REQUEST = re.compile(r"([A-Z]+) (\S+) HTTP/[0-9.]+")

#: Which fields each text format has: (referer and agent, rt=).
TEXT_SHAPES = {"common": (False, False), "combined": (True, False), "nginx-timed": (True, True)}

#: What ``--log-format auto`` must detect for each generated format.
DETECTED = {"common": "common", "combined": "combined", "nginx-timed": "combined", "json": "json"}


class Ref:
    """What the reference saw in a file: counts, sizes, times and latencies of parsed lines."""

    def __init__(self) -> None:
        self.malformed = 0
        self.methods: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.bytes_sent = 0
        self.times: list[datetime] = []
        self.latencies: list[float] = []

    def add(self, method: str, status: int, size: int, time: datetime, rt: str | None) -> None:
        self.methods[method] += 1
        self.statuses[str(status)] += 1
        self.bytes_sent += size
        self.times.append(time)
        if rt is not None:
            self.latencies.append(float(Decimal(rt) * 1000))


def ref_text(text: str, fmt: str) -> Ref:
    """The plain reference for ``common``, ``combined`` and ``nginx-timed`` lines."""
    agents, timed = TEXT_SHAPES[fmt]
    ref = Ref()
    for line in filter(None, (raw.strip() for raw in text.split("\n"))):
        match = TEXT_LINE.fullmatch(line)
        fields = match.groups() if match else ()
        if (
            not match
            or (fields[6] is not None) != agents
            or (fields[8] is not None) != timed
            or not 100 <= int(fields[4]) <= 599
        ):
            ref.malformed += 1
            continue
        try:
            time = datetime.strptime(fields[2], "%d/%b/%Y:%H:%M:%S %z")
        except ValueError:
            ref.malformed += 1
            continue
        request = REQUEST.fullmatch(fields[3])
        size = 0 if fields[5] == "-" else int(fields[5])
        ref.add(request.group(1) if request else "-", int(fields[4]), size, time, fields[8])
    return ref


def ref_json(text: str) -> Ref:
    """The plain reference for the generated JSON lines (nginx variable names as keys)."""
    ref = Ref()
    for line in filter(None, (raw.strip() for raw in text.split("\n"))):
        try:
            record = json.loads(line)
            status = int(record["status"])
            time = datetime.fromisoformat(record["time_iso8601"])
            assert isinstance(record["request_uri"], str) and 100 <= status <= 599
        except (ValueError, KeyError, TypeError, AssertionError):
            ref.malformed += 1
            continue
        rt = record["request_time"]
        ref.add(record["request_method"], status, record["body_bytes_sent"], time, str(rt))
    return ref


def ingest(path: Path, log_format: str = "auto") -> dict[str, Any]:
    args = ["ingest", "--path", str(path), "--format", "json", "--mode", "sync"]
    result = CliRunner().invoke(cli, [*args, "--log-format", log_format])
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def iso(time: datetime) -> str:
    return time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_matches(report: dict[str, Any], ref: Ref, latency: bool) -> None:
    assert report["lines"]["malformed"] == ref.malformed
    assert report["lines"]["parsed"] == ref.methods.total()
    assert report["requests"]["by_method"] == dict(ref.methods)
    assert report["requests"]["by_status"] == dict(ref.statuses)
    assert report["requests"]["bytes_sent"] == ref.bytes_sent
    assert report["time_range"]["first"] == iso(min(ref.times))
    assert report["time_range"]["last"] == iso(max(ref.times))
    assert sum(row["requests"] for row in report["timeline"]["rows"]) == len(ref.times)
    stats = report["latency_ms"]
    if latency:
        assert stats["count"] == len(ref.latencies)
        assert (stats["min"], stats["max"]) == (min(ref.latencies), max(ref.latencies))
        assert stats["median"] == statistics.median(ref.latencies)
        assert stats["mean"] == pytest.approx(statistics.fmean(ref.latencies), rel=1e-9)
    else:
        assert stats["count"] == 0


@pytest.mark.parametrize("fmt", ["common", "combined", "nginx-timed", "json"])
def test_read_back_by_auto_detection(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "access.log"
    summary = generate_logs(path, lines=8000, seed=11, log_format=fmt)
    report = ingest(path)
    assert report["inputs"]["formats"] == {DETECTED[fmt]: 1}
    assert report["lines"]["malformed"] == summary.malformed == 0
    text = path.read_text(encoding="utf-8")
    # auto reads nginx-timed as plain combined (extra fields ignored): same counts, no latency
    ref = ref_json(text) if fmt == "json" else ref_text(text, fmt)
    assert_matches(report, ref, latency=fmt == "json")


@pytest.mark.parametrize("rate", [0.0, 0.02])
def test_nginx_timed_read_with_its_log_format(tmp_path: Path, rate: float) -> None:
    path = tmp_path / "timed.log"
    summary = generate_logs(path, lines=8000, seed=3, log_format="nginx-timed", malformed_rate=rate)
    report = ingest(path, NGINX_TIMED_FORMAT)
    assert report["inputs"]["formats"] == {f"nginx:{NGINX_TIMED_FORMAT}": 1}
    ref = ref_text(path.read_text(encoding="utf-8"), "nginx-timed")
    assert ref.malformed == summary.malformed
    assert (ref.malformed == 0) == (rate == 0.0)
    assert_matches(report, ref, latency=True)


@pytest.mark.parametrize("fmt", ["common", "combined", "json"])
def test_malformed_lines_are_malformed_for_ingest_and_reference(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "bad.log"
    summary = generate_logs(path, lines=6000, seed=8, log_format=fmt, malformed_rate=0.05)
    report = ingest(path, fmt)
    text = path.read_text(encoding="utf-8")
    ref = ref_json(text) if fmt == "json" else ref_text(text, fmt)
    assert 200 < summary.malformed == ref.malformed < 420
    assert_matches(report, ref, latency=fmt == "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_for_a_seed(tmp_path: Path, fmt: str) -> None:
    texts = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_logs(tmp_path / name, lines=3000, seed=seed, log_format=fmt, malformed_rate=0.01)
        texts.append((tmp_path / name).read_bytes())
    assert texts[0] == texts[1] != texts[2]


def test_times_fill_the_period_and_files_follow_each_other(tmp_path: Path) -> None:
    summary = generate_logs(
        tmp_path / "rotated",
        lines=9000,
        files=3,
        seed=2,
        log_format="combined",
        start="2026-03-01T06:00:00+02:00",
        period="6h",
        gzip=True,
    )
    start = datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc)
    spans = []
    for path in summary.files:
        ref = ref_text(gzip.decompress(path.read_bytes()).decode(), "combined")
        assert ref.malformed == 0 and ref.methods.total() == 3000
        seconds = [(time - start).total_seconds() for time in ref.times]
        assert min(seconds) >= 0 and max(seconds) < 6 * 3600
        spans.append((min(seconds), max(seconds)))
    assert spans[0][0] < 60 and spans[-1][1] > 6 * 3600 - 60
    # rotated files: each starts (within the jitter) where the previous one ended
    assert spans[0][1] < spans[1][0] + 60 and spans[1][1] < spans[2][0] + 60


def test_realistic_oddities_are_present(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    generate_logs(path, lines=10_000, seed=1, log_format="combined")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert any('] "-" 400 ' in line for line in lines)  # connection closed before a request
    assert any('] "\\x16\\x03' in line for line in lines)  # TLS handshake on a plain port
    assert any(re.match(r"[0-9a-f]+:[0-9a-f:]+ - ", line) for line in lines)  # IPv6 client
    assert any(re.search(r'" [0-9]{3} - "', line) for line in lines)  # "-" size
    assert any("\\x22" in line for line in lines)  # a quote escaped the nginx way
    assert any(re.search(r'" [0-9]{3} [0-9]+ "https://', line) for line in lines)  # referers


def test_cli_writes_the_format(tmp_path: Path) -> None:
    out = tmp_path / "x.log"
    result = CliRunner().invoke(
        cli,
        [
            *("generate-logs", "--lines", "10", "--out", str(out), "--log-format", "json"),
            *("--start", "2026-01-01", "--period", "1h"),
        ],
    )
    assert result.exit_code == 0
    assert result.stderr.startswith("wrote 10 lines (0 malformed, ")
    first = json.loads(out.read_text().splitlines()[0])
    assert first["time_iso8601"].startswith("2026-01-01T00:")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"log_format": "apache"}, "unknown log format 'apache'; valid names: default, common"),
        ({"log_format": "json", "start": "yesterday"}, "--start must be an ISO 8601"),
        ({"log_format": "json", "period": "1 day"}, "--period must be a duration"),
        ({"log_format": "json", "period": "0s"}, "--period must be at least 1s"),
        ({"start": "2026-01-01"}, "--start and --period need a format with times"),
        ({"period": "1d"}, "--start and --period need a format with times"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        generate_logs(tmp_path / "x.log", lines=1, **kwargs)


#: Client and referer as the generated web formats write them: the first word, then the
#: first quoted field after the request, status and size (combined), vcombined after ``%v:%p``.
CLIENT_REFERER = {
    "combined": re.compile(r'(\S+) \S+ \S+ \[[^\]]*\] "(?:[^"\\]|\\.)*" \S+ \S+ "([^"]*)"'),
    "nginx-timed": re.compile(r'(\S+) \S+ \S+ \[[^\]]*\] "(?:[^"\\]|\\.)*" \S+ \S+ "([^"]*)"'),
    "vcombined": re.compile(r'\S+ (\S+) \S+ \S+ \[[^\]]*\] "(?:[^"\\]|\\.)*" \S+ \S+ "([^"]*)"'),
}


@pytest.mark.parametrize("fmt", sorted(CLIENT_REFERER))
def test_web_formats_have_varied_clients_and_referers(tmp_path: Path, fmt: str) -> None:
    from pipeline.ingest.formats.presets import preset
    from pipeline.ingest.parsing.parse import parse_text

    path = tmp_path / "access.log"
    generate_logs(path, lines=3000, seed=5, log_format=fmt)
    lines = path.read_text(encoding="utf-8").splitlines()
    want = []
    for line in lines:
        found = CLIENT_REFERER[fmt].match(line)
        assert found is not None, line
        want.append((found.group(1), None if found.group(2) == "-" else found.group(2)))
    frame = parse_text(path.read_bytes(), preset("combined" if fmt != "vcombined" else fmt)).frame
    got = [
        (client, referer if isinstance(referer, str) else None)
        for client, referer in zip(frame["client"], frame["referer"], strict=True)
    ]
    assert got == want
    clients = Counter(client for client, _ in want)
    assert len(clients) > 500 and max(clients.values()) > 5  # a pool, some clients repeat
    assert 0.05 < sum(":" in client for client in clients) / len(clients) < 0.5  # some IPv6
    referers = Counter(referer for _, referer in want)
    assert 0.3 < referers[None] / len(want) < 0.8  # direct requests, and referred ones
    sites = {re.sub(r"^[a-z-]+://([^/]*).*", r"\1", r) for r in referers if r is not None}
    assert len(sites) >= 4
