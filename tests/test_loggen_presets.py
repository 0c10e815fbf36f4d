"""generate-logs writes every preset of issue 23: each line read back by a plain reference.

Every reference below shares no code with ``pipeline`` (nor with the ingest parsers being written
for these presets): one ``split``, ``re.fullmatch`` or ``json.loads`` per line, ``datetime`` for
the times, ``urllib.parse`` for URLs and the units each format documents. The drawn fields
(:func:`pipeline.loggen.presets.preset_draws`) are the oracle: method, path and query, status,
latency (within the format's rounding), bytes, user agent, time (at the format's resolution) and
virtual host of every line must come back as drawn, where the format has them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.loggen import PRESETS
from pipeline.loggen.generate import PRESET_WRITERS, generate_logs
from pipeline.loggen.mix import METHODS, REFERERS
from pipeline.loggen.presets import (
    HOSTS,
    PRESET_AGENTS,
    PRESET_PATHS,
    PresetDraws,
    preset_draws,
    preset_plan,
)

START_S = 1_795_737_600  # 2026-11-27T00:00:00Z


@dataclass
class Seen:
    """What a reference read from one line (``None``: the format has no such field)."""

    method: str
    target: str  # path and query
    status: int  # 0: no status
    latency_ms: float | None  # None: no latency on this line
    time_us: int
    bytes: int | None = None
    agent: str | None = None  # "" for none
    host: str | None = None
    referer: str | None = None


def _us(text: str, fmt: str | None = None) -> int:
    """Epoch microseconds of a UTC time (``fmt``: strptime, else ISO 8601)."""
    if fmt is None:
        when = datetime.fromisoformat(text)
    else:
        when = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    return round(when.timestamp() * 1_000_000)


def _ms(seconds: str) -> float:
    return float(seconds) * 1000


def _target(url: str) -> tuple[str, str]:
    """(path and query, host) of a full URL."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else ""), parts.hostname or ""


def _dash(text: str) -> str:
    return "" if text == "-" else text


QUOTED = r'"([^"]*)"'
CLF = (
    r"(\S+) - - \[([^\]]+)\] \"([A-Z]+) (\S+) HTTP/[0-9.]+\" ([0-9]{3}) ([0-9]+|-)"
    rf"(?: {QUOTED} {QUOTED})?"
)
CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"


def _clf(match: re.Match[str], first: int = 1) -> Seen:
    """The Apache/nginx fields of a CLF match whose groups start at ``first``."""
    g = [match.group(first + index) for index in range(8)]
    agent = None if g[7] is None else _dash(g[7])
    return Seen(
        method=g[2],
        target=g[3],
        status=int(g[4]),
        latency_ms=None,
        time_us=round(datetime.strptime(g[1], CLF_TIME).timestamp() * 1_000_000),
        bytes=0 if g[5] == "-" else int(g[5]),
        agent=agent,
        referer=None if g[6] is None else _dash(g[6]),
    )


def ref_w3c(line: str) -> Seen:
    f = line.split(" ")
    assert len(f) == 15
    return Seen(
        method=f[3],
        target=f[4] + ("" if f[5] == "-" else f"?{f[5]}"),
        status=int(f[11]),
        latency_ms=float(int(f[14])),  # IIS: time-taken in ms
        time_us=_us(f"{f[0]} {f[1]}", "%Y-%m-%d %H:%M:%S"),
        agent=_dash(f[9]).replace("+", " "),
        referer=_dash(f[10]),
    )


def ref_cloudfront(line: str) -> Seen:
    f = line.split("\t")
    assert len(f) == 33
    return Seen(
        method=f[5],
        target=f[7] + ("" if f[11] == "-" else f"?{f[11]}"),
        status=int(f[8]),  # 000: no status
        latency_ms=_ms(f[18]),
        time_us=_us(f"{f[0]} {f[1]}", "%Y-%m-%d %H:%M:%S"),
        bytes=int(f[3]),
        agent=unquote(_dash(f[10])),
        host=f[15],
        referer=_dash(f[9]),
    )


ALB = re.compile(
    r"(http|https|h2) (\S+) \S+ \S+ \S+ (\S+) (\S+) (\S+) ([0-9]{3}) \S+ [0-9]+ ([0-9]+) "
    rf"\"([A-Z]+) (\S+) HTTP/[0-9.]+\" {QUOTED} \S+ \S+ \S+ {QUOTED} {QUOTED} .*"
)
ELB = re.compile(
    r"(\S+) \S+ \S+ \S+ (\S+) (\S+) (\S+) ([0-9]{3}) \S+ [0-9]+ ([0-9]+) "
    rf"\"([A-Z]+) (\S+) HTTP/[0-9.]+\" {QUOTED} \S+ \S+"
)


def _balancer(g: tuple[str, ...]) -> Seen:
    """ALB/ELB groups: time, three timers, status, sent bytes, method, URL, agent."""
    timers = [float(value) for value in g[1:4]]
    target, host = _target(g[7])
    return Seen(
        method=g[6],
        target=target,
        status=int(g[4]),
        latency_ms=None if -1 in timers else sum(timers) * 1000,
        time_us=_us(g[0]),
        bytes=int(g[5]),
        agent=_dash(g[8]),
        host=host,
    )


def ref_alb(line: str) -> Seen:
    match = ALB.fullmatch(line)
    assert match is not None
    seen = _balancer(match.groups()[1:10])
    assert match.group(12) == (seen.host if match.group(1) != "http" else "-")  # domain_name
    return seen


def ref_elb(line: str) -> Seen:
    match = ELB.fullmatch(line)
    assert match is not None
    return _balancer(match.groups())


def ref_gcp(line: str) -> Seen:
    entry = json.loads(line)
    request = entry["httpRequest"]
    target, host = _target(request["requestUrl"])
    assert request["latency"].endswith("s")
    return Seen(
        method=request["requestMethod"],
        target=target,
        status=request["status"],
        latency_ms=_ms(request["latency"][:-1]),
        time_us=_us(entry["timestamp"]),
        bytes=int(request["responseSize"]),  # int64 as a JSON string
        agent=request.get("userAgent", ""),
        host=host,
    )


HAPROXY = re.compile(
    r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} \S+ haproxy\[[0-9]+\]: \S+ \[([^\]]+)\] \S+ \S+ "
    r"(-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+)/([0-9]+) ([0-9]{3}) ([0-9]+) - - \S{4} "
    r"[0-9/]+ [0-9/]+ \{([^|]*)\|([^}]*)\} \"([A-Z]+) (\S+) HTTP/[0-9.]+\""
)


def ref_haproxy(line: str) -> Seen:
    match = HAPROXY.fullmatch(line)
    assert match is not None
    g = match.groups()
    timers = [int(value) for value in g[1:5]]
    assert -1 in timers or sum(timers) == int(g[5])  # TR + Tw + Tc + Tr = Ta here
    return Seen(
        method=g[10],
        target=g[11],
        status=int(g[6]),
        latency_ms=float(int(g[5])),  # Ta, ms
        time_us=_us(g[0], "%d/%b/%Y:%H:%M:%S.%f"),
        bytes=int(g[7]),
        agent=g[9],
        host=g[8],
    )


def ref_squid(line: str) -> Seen:
    f = line.split()
    assert len(f) == 10 and re.fullmatch(r" *[0-9]+", line[15:21]) is not None  # padded to 6
    code, status = f[3].split("/")
    assert re.fullmatch(r"[A-Z_]+", code)
    target, host = _target(f[6])
    return Seen(
        method=f[5],
        target=target,
        status=int(status),  # NONE/000: no status
        latency_ms=float(int(f[1])),
        time_us=round(float(f[0]) * 1000) * 1000,
        bytes=int(f[4]),
        host=host,
    )


ENVOY = re.compile(
    r"\[(\S+)\] \"([A-Z]+) (\S+) HTTP/[0-9.]+\" ([0-9]+) (\S+) ([0-9]+) ([0-9]+) ([0-9]+) "
    rf"(\S+) {QUOTED} {QUOTED} {QUOTED} {QUOTED} {QUOTED}"
)


def ref_envoy(line: str) -> Seen:
    match = ENVOY.fullmatch(line)
    assert match is not None
    g = match.groups()
    return Seen(
        method=g[1],
        target=g[2],
        status=int(g[3]),  # 0: no response
        latency_ms=float(int(g[7])),  # %DURATION%
        time_us=_us(g[0]),
        bytes=int(g[6]),
        agent=_dash(g[10]),
        host=g[12],
    )


TRAEFIK = re.compile(CLF + rf" ([0-9]+) {QUOTED} {QUOTED} ([0-9]+)ms")


def ref_traefik(line: str) -> Seen:
    match = TRAEFIK.fullmatch(line)
    assert match is not None
    seen = _clf(match)
    seen.latency_ms = float(int(match.group(12)))
    return seen


def ref_traefik_json(line: str) -> Seen:
    entry = json.loads(line)
    return Seen(
        method=entry["RequestMethod"],
        target=entry["RequestPath"],
        status=entry["DownstreamStatus"],
        latency_ms=entry["Duration"] / 1e6,  # ns
        time_us=_us(entry["StartUTC"]),
        bytes=entry["DownstreamContentSize"],
        agent=entry.get("request_User-Agent", ""),  # Traefik drops headers unless kept
        host=entry["RequestHost"],
    )


def ref_caddy(line: str) -> Seen:
    entry = json.loads(line)
    request = entry["request"]
    return Seen(
        method=request["method"],
        target=request["uri"],
        status=entry["status"],
        latency_ms=entry["duration"] * 1000,  # seconds
        time_us=round(entry["ts"] * 1_000_000),
        bytes=entry["size"],
        agent=request["headers"].get("User-Agent", [""])[0],  # headers are arrays
        host=request["host"],
    )


PAIR = re.compile(r'([a-z_]+)=("[^"]*"|\S*)')


def _pairs(text: str) -> dict[str, str]:
    pairs = {key: value.strip('"') for key, value in PAIR.findall(text)}
    assert " ".join(f"{k}={v}" for k, v in PAIR.findall(text)) == text
    return pairs


def ref_logfmt(line: str) -> Seen:
    pairs = _pairs(line)
    assert pairs["duration"].endswith("ms")
    return Seen(
        method=pairs["method"],
        target=pairs["path"],
        status=int(pairs["status"]),
        latency_ms=float(pairs["duration"][:-2]),
        time_us=_us(pairs["time"]),
        bytes=int(pairs["bytes"]),
        agent=pairs["user_agent"],
        host=pairs["host"],
    )


def ref_heroku(line: str) -> Seen:
    match = re.fullmatch(r"(\S+) heroku\[router\]: (.*)", line)
    assert match is not None
    pairs = _pairs(match.group(2))
    assert pairs["at"] == "info" and pairs["service"].endswith("ms")
    return Seen(
        method=pairs["method"],
        target=pairs["path"],
        status=int(pairs["status"]),
        latency_ms=float(pairs["service"][:-2]),  # the router's service time
        time_us=_us(match.group(1)),
        bytes=int(pairs["bytes"]),
        host=pairs["host"],
    )


INGRESS = re.compile(
    CLF + r" ([0-9]+) ([0-9.]+) \[\S+\] \[\] ([^ ,]+(?:, [^ ,]+)*) ([0-9]+(?:, [0-9]+)*) "
    r"([0-9.]+(?:, [0-9.]+)*) ([0-9]{3}(?:, [0-9]{3})*) [0-9a-f]{32}"
)


def ref_ingress_nginx(line: str) -> Seen:
    match = INGRESS.fullmatch(line)
    assert match is not None
    seen = _clf(match)
    seen.latency_ms = _ms(match.group(10))  # $request_time, not the upstream list
    assert match.group(14).split(", ")[-1] == str(seen.status)
    return seen


def _vhost(line: str, combined: bool) -> Seen:
    match = re.fullmatch(r"([a-z.]+):([0-9]+) " + CLF, line)
    assert match is not None and (match.group(9) is not None) == combined
    seen = _clf(match, 3)
    seen.host = match.group(1)
    return seen


REFERENCES: dict[str, Callable[[str], Seen]] = {
    "w3c": ref_w3c,
    "cloudfront": ref_cloudfront,
    "alb": ref_alb,
    "elb": ref_elb,
    "gcp": ref_gcp,
    "haproxy": ref_haproxy,
    "squid": ref_squid,
    "envoy": ref_envoy,
    "traefik": ref_traefik,
    "traefik-json": ref_traefik_json,
    "caddy": ref_caddy,
    "logfmt": ref_logfmt,
    "heroku": ref_heroku,
    "ingress-nginx": ref_ingress_nginx,
    "vcombined": lambda line: _vhost(line, True),
    "vcommon": lambda line: _vhost(line, False),
}
#: Resolution of each format's latency in ms (what it rounds to; 0.001: microseconds, exact).
LATENCY_UNIT = {"elb": 0.001, "gcp": 0.001, "traefik-json": 0.001, "caddy": 0.001}
#: Resolution of each format's time, in microseconds.
TIME_UNIT = {
    "w3c": 10**6,
    "cloudfront": 10**6,
    "traefik": 10**6,
    "ingress-nginx": 10**6,
    "vcombined": 10**6,
    "vcommon": 10**6,
    "haproxy": 1000,
    "squid": 1000,
    "envoy": 1000,
    "logfmt": 1000,
}


def _draw(
    fmt: str, lines: int, seed: int, no_response_rate: float
) -> tuple[PresetDraws, list[str]]:
    rng = np.random.default_rng(seed)
    plan = preset_plan(rng, fmt, START_S, 86_400, lines, no_response_rate)
    draws = preset_draws(rng, plan, 0, lines)
    return draws, PRESET_WRITERS[fmt](plan, draws).to_pylist()


def test_every_preset_has_a_writer_and_a_reference() -> None:
    assert set(PRESET_WRITERS) == set(PRESETS) == set(REFERENCES)


@pytest.mark.parametrize("fmt", PRESETS)
def test_every_line_reads_back_as_drawn(fmt: str) -> None:
    draws, lines = _draw(fmt, 400, seed=7, no_response_rate=0.05)
    unit = LATENCY_UNIT.get(fmt, 1.0)
    tick = TIME_UNIT.get(fmt, 1)
    statuses: Counter[int] = Counter()
    latency_sum, drawn_sum = 0.0, 0.0
    for i, line in enumerate(lines):
        seen = REFERENCES[fmt](line)
        query = f"?id={draws.query_ids[i]}" if draws.query_ids[i] else ""
        assert seen.method == METHODS[draws.methods[i]][0], line
        assert seen.target == PRESET_PATHS[draws.paths[i]] + query, line
        assert seen.status == draws.statuses[i], line
        assert seen.time_us == draws.epoch_us[i] // tick * tick, line
        drawn = draws.latency_us[i]
        if seen.latency_ms is not None or fmt not in ("vcombined", "vcommon"):
            assert (seen.latency_ms is None) == (drawn < 0), line
        if seen.latency_ms is not None:
            assert abs(seen.latency_ms - drawn / 1000) <= unit / 2 + 1e-9, line
            latency_sum += seen.latency_ms
            drawn_sum += drawn / 1000
        if seen.bytes is not None:  # Envoy sent nothing when the downstream went away
            sent = 0 if fmt == "envoy" and draws.no_response[i] else draws.body[i]
            assert seen.bytes == sent, line
        if seen.agent is not None:
            agent = PRESET_AGENTS[draws.agents[i]][0]
            if fmt == "w3c":  # IIS writes spaces as '+' and leaves '+' as it is: ambiguous
                agent = agent.replace("+", " ")
            assert seen.agent == agent, line
        if seen.host is not None:
            assert seen.host == HOSTS[draws.hosts[i]], line
        if seen.referer is not None:
            assert seen.referer == REFERERS[draws.referers[i]][0], line
        statuses[seen.status] += 1
    assert statuses == Counter(draws.statuses.tolist())
    assert abs(latency_sum - drawn_sum) <= len(lines) * unit / 2
    assert len(lines) == 400


#: What a request without a response looks like in each preset that writes one.
NO_RESPONSE: dict[str, Callable[[Seen], bool]] = {
    "cloudfront": lambda s: s.status == 0,
    "squid": lambda s: s.status == 0,
    "envoy": lambda s: s.status == 0,
    "alb": lambda s: s.status in (502, 504) and s.latency_ms is None,
    "elb": lambda s: s.status in (502, 504) and s.latency_ms is None,
}


@pytest.mark.parametrize("fmt", sorted(NO_RESPONSE))
@pytest.mark.parametrize("rate", [0.0, 0.1])
def test_requests_without_a_response_are_a_share_that_can_be_turned_off(
    fmt: str, rate: float
) -> None:
    draws, lines = _draw(fmt, 1000, seed=3, no_response_rate=rate)
    none = sum(NO_RESPONSE[fmt](REFERENCES[fmt](line)) for line in lines)
    assert none == int(draws.no_response.sum())
    assert (none == 0) if rate == 0 else (50 < none < 150)


def test_haproxy_without_a_server_writes_nosrv_and_minus_one_timers() -> None:
    draws, lines = _draw("haproxy", 500, seed=5, no_response_rate=0.1)
    nosrv = [line for line in lines if "/<NOSRV> " in line]
    assert len(nosrv) == int(draws.no_response.sum()) > 0
    assert all(re.search(r" [0-9]+/-1/-1/-1/[0-9]+ 503 ", line) for line in nosrv)


def _directives(text: str) -> list[tuple[int, list[str]]]:
    """(index of the line after the block, the block) for each block of ``#`` lines."""
    blocks: list[tuple[int, list[str]]] = []
    entries = 0
    for line in text.splitlines():
        if line.startswith("#"):
            if not blocks or blocks[-1][0] != entries:
                blocks.append((entries, []))
            blocks[-1][1].append(line)
        else:
            entries += 1
    return blocks


IIS_FIELDS = (
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)


@pytest.mark.parametrize("restart", [False, True])
def test_w3c_files_start_with_the_iis_directives(tmp_path: Path, restart: bool) -> None:
    out = tmp_path / "u_ex.log"
    summary = generate_logs(out, lines=301, log_format="w3c", seed=2, w3c_restart=restart)
    text = out.read_text()
    blocks = _directives(text)
    assert [at for at, _ in blocks] == ([0, 150] if restart else [0])
    for _, block in blocks:
        assert block[0] == "#Software: Microsoft Internet Information Services 10.0"
        assert block[1] == "#Version: 1.0"
        assert re.fullmatch(r"#Date: 2026-11-27 [0-9]{2}:[0-9]{2}:[0-9]{2}", block[2])
        assert block[3] == IIS_FIELDS
    assert summary.directives == 4 * len(blocks) == len(text.splitlines()) - 301
    entries = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(ref_w3c(line).status > 0 for line in entries)
    if restart:  # the second #Date is no later than the line that follows it
        date = datetime.strptime(blocks[1][1][2][7:], "%Y-%m-%d %H:%M:%S")
        first = ref_w3c(entries[150]).time_us
        assert date.replace(tzinfo=timezone.utc).timestamp() * 1e6 <= first + 10e6


def test_cloudfront_files_start_with_version_and_33_fields(tmp_path: Path) -> None:
    out = tmp_path / "cf"
    summary = generate_logs(out, lines=200, files=2, log_format="cloudfront", gzip=False)
    for path in summary.files:
        lines = path.read_text().splitlines()
        assert lines[0] == "#Version: 1.0"
        assert lines[1].startswith("#Fields: date time x-edge-location sc-bytes c-ip ")
        assert len(lines[1].split(" ")) == 34 and len(lines) == 102
        assert all(len(line.split("\t")) == 33 for line in lines[2:])
    assert summary.directives == 4


@pytest.mark.parametrize("fmt", PRESETS)
def test_malformed_lines_are_the_ones_the_reference_rejects(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "x.log"
    summary = generate_logs(out, lines=600, log_format=fmt, seed=9, malformed_rate=0.05)
    rejected = 0
    for line in out.read_text().splitlines():
        if line.startswith("#"):
            continue
        try:
            REFERENCES[fmt](line)
        except (AssertionError, ValueError, KeyError, IndexError, TypeError):
            rejected += 1
    assert rejected == summary.malformed > 10


@pytest.mark.parametrize("fmt", ["w3c", "alb", "caddy"])
def test_deterministic_for_a_seed(tmp_path: Path, fmt: str) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_logs(a, lines=500, log_format=fmt, seed=4)
    generate_logs(b, lines=500, log_format=fmt, seed=4)
    generate_logs(c, lines=500, log_format=fmt, seed=5)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_cli_lists_and_writes_every_preset(tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(cli, ["generate-logs", "--help"]).output
    assert all(name in help_text for name in REFERENCES)  # the names fixed by issue 23
    out = tmp_path / "alb.log"
    args = ["generate-logs", "--lines", "100", "--out", str(out), "--log-format", "alb"]
    result = runner.invoke(cli, [*args, "--no-response-rate", "0"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 100 and all(ref_alb(line).latency_ms is not None for line in lines)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"log_format": "alb", "cardinality": "realistic"}, "--cardinality realistic is not"),
        ({"log_format": "alb", "w3c_restart": True}, "a W3C restart needs --log-format w3c"),
        ({"log_format": "alb", "no_response_rate": 1.5}, "--no-response-rate must be in [0, 1]"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        generate_logs(tmp_path / "x.log", lines=10, **kwargs)  # type: ignore[arg-type]
