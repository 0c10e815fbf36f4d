"""The panels (visitors, hosts, referrers, bandwidth, virtual_hosts) against plain loops.

The reference parses each generated line with Python's ``re`` and counts with dicts and sets;
the report under test comes from the parse and the partials of
:mod:`pipeline.ingest.aggregate.partial`, over several blocks merged in several orders. With the
caps set tiny, the flags say estimated and each figure keeps its stated bound.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine.execution import session
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.bandwidth import bandwidth_of, merge_bandwidth, p95_bps
from pipeline.ingest.aggregate.clients import sites_of
from pipeline.ingest.aggregate.distribution import Spec
from pipeline.ingest.aggregate.panels import panels_of
from pipeline.ingest.aggregate.partial import Partial, aggregate_partition, merge_partials
from pipeline.ingest.aggregate.visitors import day_counts, relative_standard_error
from pipeline.ingest.formats.presets import compile_format, preset
from pipeline.ingest.job import has_field, run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.parse import ParsedPartition, parse_text
from pipeline.ingest.report.result import build_result
from pipeline.loggen.generate import NGINX_TIMED_FORMAT, generate_logs
from tests.conftest import SMALL_BLOCKSIZE, examples
from tests.state_helpers import run_report

SYNC = ExecutionSettings(mode="sync")

#: combined (+ nginx-timed's ``rt=``, + vcombined's leading ``host:port``), parsed the plain way.
_COMBINED = (
    r"^(?:(?P<vhost>\S+?)(?::\d+)? )?(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)"'
)
LINE = re.compile(_COMBINED + r"(?: rt=(?P<rt>[0-9.]+))?$")
#: A line that goes on after combined's fields (ingress-nginx): its latency is not read.
PREFIX = re.compile(_COMBINED + r"(?P<rt> )?")


@dataclass(frozen=True)
class Request:
    """One line, parsed by :data:`LINE`."""

    vhost: str | None
    client: str
    millis: int
    path: str
    bytes: int
    referer: str | None
    agent: str
    latency: float | None


def plain_parse(path: Path, vhosts: bool, strict: bool = True) -> list[Request]:
    """Every line (``strict``), or the lines that start as combined lines do."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found = (LINE if strict else PREFIX).match(line)
        if found is None and not strict:
            continue
        assert found is not None, line
        when = dt.datetime.strptime(found["time"], "%d/%b/%Y:%H:%M:%S %z")
        rt = found["rt"] if strict else None
        out.append(
            Request(
                vhost=found["vhost"] if vhosts else None,
                client=found["client"],
                millis=int(when.timestamp()) * 1000,
                path=_path(found["request"]),
                bytes=0 if found["bytes"] == "-" else int(found["bytes"]),
                referer=None if found["referer"] in ("", "-") else found["referer"],
                agent="" if found["agent"] == "-" else found["agent"],
                latency=None if rt is None else float(rt) * 1000,
            )
        )
    return out


def _path(request: str) -> str:
    """The path without its query of a ``METHOD TARGET PROTOCOL`` request line, else ``-``."""
    parts = request.split(" ")
    return parts[1].split("?")[0] if len(parts) == 3 else "-"


def _top(counter: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _day(millis: int) -> str:
    return dt.datetime.fromtimestamp(millis // 1000, dt.timezone.utc).date().isoformat()


def reference(requests: list[Request]) -> dict[str, Any]:
    """Every panel figure, from plain loops over the plain parse."""
    visitors: dict[str, set[tuple[str, str]]] = defaultdict(set)
    hosts: Counter[str] = Counter()
    host_bytes: Counter[str] = Counter()
    host_latency: dict[str, list[float]] = defaultdict(list)
    sites: Counter[str] = Counter()
    urls: Counter[str] = Counter()
    vhosts: Counter[str] = Counter()
    vhost_bytes: Counter[str] = Counter()
    per_day: Counter[str] = Counter()
    per_interval: Counter[int] = Counter()
    path_bytes: Counter[str] = Counter()
    for req in requests:
        visitors[_day(req.millis)].add((req.client, req.agent))
        hosts[req.client] += 1
        host_bytes[req.client] += req.bytes
        if req.latency is not None:
            host_latency[req.client].append(req.latency)
        if req.referer is not None:
            urls[req.referer] += 1
            split = urlsplit(req.referer)
            sites[split.hostname or req.referer.lower()] += 1
        if req.vhost is not None:
            vhosts[req.vhost] += 1
            vhost_bytes[req.vhost] += req.bytes
        per_day[_day(req.millis)] += req.bytes
        per_interval[req.millis // 300_000] += req.bytes
        path_bytes[req.path] += req.bytes
    first, last = min(per_interval), max(per_interval)
    totals = sorted(per_interval.get(i, 0) for i in range(first, last + 1))
    n = len(totals)
    return {
        "visitors": {
            "total": sum(len(pairs) for pairs in visitors.values()),
            "by_day": [{"day": d, "visitors": len(visitors[d])} for d in sorted(visitors)],
        },
        "hosts": [
            {
                "client": client,
                "requests": count,
                "share": count / len(requests),
                "bytes": host_bytes[client],
                "p95": float(np.percentile(host_latency[client], 95))
                if host_latency[client]
                else None,
            }
            for client, count in _top(hosts)
        ],
        "referrers": {
            "sites": [{"site": s, "requests": c} for s, c in _top(sites)],
            "urls": [{"url": u, "requests": c} for u, c in _top(urls)],
            "direct": sum(req.referer is None for req in requests),
        },
        "bandwidth": {
            "total_bytes": sum(req.bytes for req in requests),
            "by_day": [{"day": d, "bytes": per_day[d]} for d in sorted(per_day)],
            "interval_s": 300,
            "p95_bps": totals[-(-95 * n // 100) - 1] * 8 / 300,
            "path_bytes": path_bytes,
        },
        "virtual_hosts": [
            {"host": host, "requests": count, "bytes": vhost_bytes[host], "p95": None}
            for host, count in _top(vhosts)
        ],
    }


def with_fields(parsed: ParsedPartition, requests: list[Request]) -> ParsedPartition:
    """The partition with ``client`` and ``referer`` columns from the plain parse when the parser
    does not give them yet (the fields issue adds them); checks them when it does."""
    frame = parsed.frame
    clients = [req.client for req in requests]
    referers = [req.referer for req in requests]
    if "client" in frame.columns:
        assert frame["client"].tolist() == clients
        assert [None if pd.isna(r) else r for r in frame["referer"].tolist()] == referers
        return parsed
    frame = frame.assign(
        client=pd.array(clients, dtype="string[pyarrow]"),
        referer=pd.array(referers, dtype="string[pyarrow]"),
    )
    return replace(parsed, frame=frame)


def partials(path: Path, fmt_name: str, requests: list[Request], blocks: int) -> list[Partial]:
    """One partial per block of ``path`` (cut at line ends)."""
    fmt = compile_format(NGINX_TIMED_FORMAT) if fmt_name == "nginx-timed" else preset(fmt_name)
    lines = path.read_bytes().splitlines(keepends=True)
    size = -(-len(lines) // blocks)
    out = []
    for start in range(0, len(lines), size):
        parsed = parse_text(b"".join(lines[start : start + size]), fmt)
        parsed = with_fields(parsed, requests[start : start + size])
        out.append(aggregate_partition(parsed, str(path), raw_paths=True))
    return out


def report(partial: Partial, top: int = 100_000) -> dict[str, Any]:
    document = build_result(
        partial,
        SYNC,
        0.0,
        has_bytes=True,
        has_time=True,
        has_client=True,
        has_referer=True,
        has_host=True,
        top=top,
    ).to_dict()
    del document["execution"]
    return document


def _trees(parts: list[Partial], seed: int) -> Iterator[Partial]:
    """The same partials merged flat, pairwise left to right, and in a shuffled random tree."""
    yield merge_partials(parts)
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_partials([merged, part])
    yield merged
    rng = random.Random(seed)
    pool = parts[:]
    rng.shuffle(pool)
    while len(pool) > 1:
        take = rng.randint(2, min(3, len(pool)))
        group, pool = pool[:take], pool[take:]
        pool.insert(rng.randint(0, len(pool)), merge_partials(group))
    yield pool[0]


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Request]]:
    path = tmp_path_factory.mktemp("panels") / "timed.log"
    generate_logs(
        path, lines=3_000, log_format="nginx-timed", seed=3, cardinality="realistic", period="3d"
    )
    return path, plain_parse(path, vhosts=False)


@pytest.fixture(scope="module")
def vhosted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Request]]:
    path = tmp_path_factory.mktemp("panels") / "vcombined.log"
    generate_logs(path, lines=2_000, log_format="vcombined", seed=4, period="2d")
    return path, plain_parse(path, vhosts=True)


def test_panels_match_plain_loops(timed: tuple[Path, list[Request]]) -> None:
    path, requests = timed
    want = reference(requests)
    for merged in _trees(partials(path, "nginx-timed", requests, 5), seed=1):
        got = report(merged)
        assert got["visitors"] == want["visitors"]
        assert got["hosts"] == [
            {**row, "p95": pytest.approx(row["p95"], rel=1e-12)} for row in want["hosts"]
        ]
        assert got["referrers"] == want["referrers"]
        bandwidth = dict(got["bandwidth"])
        listed = bandwidth.pop("top_paths")
        assert bandwidth == {k: v for k, v in want["bandwidth"].items() if k != "path_bytes"}
        assert [row["path"] for row in listed] == [row["path"] for row in got["top_paths"]]
        assert all(row["bytes"] == want["bandwidth"]["path_bytes"][row["path"]] for row in listed)
        assert "virtual_hosts" in got and got["virtual_hosts"] == []  # the format has no host
        assert all(got["exact"][key] for key in ("visitors", "hosts", "bandwidth"))
        assert got["exact"]["referrers.sites"] and got["exact"]["referrers.urls"]
    # the generated log exercises what the figures are about
    assert want["visitors"]["total"] > len(want["visitors"]["by_day"]) > 1
    assert want["referrers"]["direct"] and len(want["referrers"]["sites"]) > 3


def test_virtual_hosts_match_plain_loops(vhosted: tuple[Path, list[Request]]) -> None:
    path, requests = vhosted
    want = reference(requests)
    got = report(merge_partials(partials(path, "vcombined", requests, 3)))
    assert got["virtual_hosts"] == want["virtual_hosts"] and len(want["virtual_hosts"]) > 1
    assert got["exact"]["virtual_hosts"]
    assert all(row["p95"] is None for row in got["hosts"])  # vcombined has no latency


@pytest.fixture
def tiny_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "CLIENTS", 3)
    monkeypatch.setattr(limits, "CLIENT_LATENCY", Spec(("client",), 2, 0.01))
    monkeypatch.setattr(limits, "VHOSTS", 1)
    monkeypatch.setattr(limits, "REFERRER_SITES", 2)
    monkeypatch.setattr(limits, "REFERRER_URLS", 2)
    monkeypatch.setattr(limits, "VISITORS_EXACT", 50)
    monkeypatch.setattr(limits, "BANDWIDTH_INTERVALS", 20)


def _bounded(rows: list[dict[str, Any]], key: str, truth: dict[str, int]) -> None:
    """Each row's count is a lower bound within its count_error, and the list is flagged."""
    assert rows and all("count_error" in row for row in rows)
    for row in rows:
        assert row["requests"] <= truth[row[key]] <= row["requests"] + row["count_error"]


@pytest.mark.usefixtures("tiny_caps")
def test_tiny_caps_are_flagged_and_bounded(
    timed: tuple[Path, list[Request]], vhosted: tuple[Path, list[Request]]
) -> None:
    path, requests = timed
    want = reference(requests)
    parts = partials(path, "nginx-timed", requests, 5)
    reports = [report(merged, top=5) for merged in _trees(parts, seed=2)]
    # capped counts depend on the merge tree (only their bounds do not); the sketches do not
    for key in ("visitors", "bandwidth", "exact", "error_bounds"):
        assert all(each[key] == reports[0][key] for each in reports[1:]), key
    for got in reports:
        flags = got["exact"]
        for key in ("visitors", "hosts", "referrers.sites", "referrers.urls", "bandwidth"):
            assert flags[key] is False and got["error_bounds"][key]
        _bounded(got["hosts"], "client", {r["client"]: r["requests"] for r in want["hosts"]})
        sites = {r["site"]: r["requests"] for r in want["referrers"]["sites"]}
        _bounded(got["referrers"]["sites"], "site", sites)
        urls = {r["url"]: r["requests"] for r in want["referrers"]["urls"]}
        _bounded(got["referrers"]["urls"], "url", urls)
        assert got["referrers"]["direct"] == want["referrers"]["direct"]  # always exact
    got = reports[0]
    error = relative_standard_error()
    for ours, theirs in zip(got["visitors"]["by_day"], want["visitors"]["by_day"], strict=True):
        assert ours["day"] == theirs["day"]
        assert abs(ours["visitors"] - theirs["visitors"]) <= 4 * error * theirs["visitors"] + 1
    assert got["bandwidth"]["p95_bps"] is None  # 3 days of intervals: over the cap of 20
    assert got["bandwidth"]["by_day"] == want["bandwidth"]["by_day"]  # days stay exact
    path, requests = vhosted
    truth = {r["host"]: r["requests"] for r in reference(requests)["virtual_hosts"]}
    got = report(merge_partials(partials(path, "vcombined", requests, 3)), top=5)
    assert got["exact"]["virtual_hosts"] is False
    _bounded(got["virtual_hosts"], "host", truth)


def test_visitors_need_a_client_and_a_time() -> None:
    """GoAccess's rule: a request without either is no visitor (it counts everywhere else)."""
    stamps = [
        "2026-01-01T10:00Z",
        "NaT",
        "2026-01-01T11:00Z",
        "2026-01-02T00:00Z",
        "2026-01-02T01:00Z",
    ]
    times = pd.to_datetime(stamps, utc=True)
    frame = pd.DataFrame(
        {
            "client": pd.array(["a", "a", None, "a", "a"], dtype="string[pyarrow]"),
            "referer": pd.array([None] * 5, dtype="string[pyarrow]"),
            "host": pd.array([None] * 5, dtype="string[pyarrow]"),
            "user_agent": pd.array(["x", "x", "x", "x", ""], dtype="string[pyarrow]"),
            "time": times,
            "bytes": np.array([1, 2, 3, 4, 5], dtype=np.int64),
        }
    )
    panels = panels_of(frame, np.full(5, np.nan))
    # day 1: (a, x) once (row 2 has no time, row 3 no client); day 2: (a, x) and (a, "")
    assert day_counts(panels.visitors) == [(20_454, 1), (20_455, 2)]
    assert panels.hosts.counts.table["count"].to_dict() == {"a": 4}
    assert panels.referrers.direct == 5
    # a frame without the columns (a format without the fields) is read as all null
    bare = panels_of(frame.drop(columns=["client", "referer"]), np.full(5, np.nan))
    assert day_counts(bare.visitors) == [] and bare.referrers.direct == 5


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40 * 300_000), st.integers(0, 10**12)), min_size=1, max_size=60
    ),
    st.integers(1, 5),
)
def test_p95_bps_is_the_rank_of_the_filled_intervals(
    requests: list[tuple[int, int]], pieces: int
) -> None:
    """Split anyhow and merged, the figure is the plain one: fill zeros, sort, take the rank."""
    per: Counter[int] = Counter()
    for millis, size in requests:
        per[millis // 300_000] += size
    totals = sorted(per.get(i, 0) for i in range(min(per), max(per) + 1))
    want = totals[-(-95 * len(totals) // 100) - 1] * 8 / 300
    cut = max(1, len(requests) // pieces)
    parts = [
        bandwidth_of(
            np.array([m for m, _ in requests[i : i + cut]], dtype=np.int64),
            np.array([s for _, s in requests[i : i + cut]], dtype=np.int64),
        )
        for i in range(0, len(requests), cut)
    ]
    assert p95_bps(merge_bandwidth(parts[::-1])) == want


@pytest.fixture(scope="module")
def two_formats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vcombined and a realistic JSON log (client, referer, host, size, time, latency), cut
    into many blocks by the small blocksize."""
    root = tmp_path_factory.mktemp("modes")
    generate_logs(root / "v.log", lines=3_000, log_format="vcombined", seed=8, period="2d")
    generate_logs(
        root / "j.log", lines=3_000, log_format="json", seed=9, cardinality="realistic", period="2d"
    )
    return root


def _panels(document: dict[str, Any]) -> dict[str, Any]:
    keys = ("visitors", "hosts", "referrers", "bandwidth", "virtual_hosts", "exact")
    return {key: document.get(key) for key in keys}


@pytest.mark.subprocess
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("mode", ["threading", "process", "distributed"])
def test_every_mode_gives_the_same_panels(two_formats: Path, mode: str) -> None:
    options = IngestOptions(blocksize=SMALL_BLOCKSIZE)
    want = run_ingest(str(two_formats), SYNC, options).to_dict()
    assert want["virtual_hosts"] and want["bandwidth"]["by_day"]
    settings = ExecutionSettings(mode=mode, workers=2, dashboard_address=":0")
    with session(settings):
        got = run_ingest(str(two_formats), settings, options).to_dict()
    assert _panels(got) == _panels(want)


def test_two_state_steps_give_the_full_runs_panels(tmp_path: Path) -> None:
    """``--state``: a run over the first half, then one over the appended rest, reports the
    panels of one run over everything (the saved partial holds the panels' tables)."""
    source = tmp_path / "all.log"
    generate_logs(source, lines=2_000, log_format="vcombined", seed=10, period="2d")
    data = source.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    live = tmp_path / "logs" / "access.log"
    live.parent.mkdir()
    live.write_bytes(data[:cut])
    state = str(tmp_path / "s.state")
    run_report(str(live.parent), state=state)
    with open(live, "ab") as handle:
        handle.write(data[cut:])
    incremental = run_report(str(live.parent), state=state)
    full = run_report(str(source))
    assert full["virtual_hosts"] and full["bandwidth"]["p95_bps"]
    assert _panels(incremental) == _panels(full)


SAMPLES = Path(__file__).parent / "data" / "formats"


@pytest.mark.parametrize(
    "source", ["generated combined", "ingress-nginx/elastic-integrations-test-ingest-raw.log"]
)
def test_whole_runs_match_plain_loops(tmp_path: Path, source: str) -> None:
    """End to end (format detection, the parse of client and referer, blocks, merges, report):
    a generated combined log and a genuine ingress-nginx sample against the plain reference."""
    if source == "generated combined":
        path = tmp_path / "combined.log"
        generate_logs(
            path, lines=3_000, log_format="combined", seed=12, cardinality="realistic", period="2d"
        )
    else:
        path = SAMPLES / source
    requests = plain_parse(path, vhosts=False, strict=False)
    assert len(requests) > 10 and any(req.referer for req in requests)
    want = reference(requests)
    got = run_ingest(str(path), SYNC, IngestOptions(top=1_000)).to_dict()
    assert got["visitors"] == want["visitors"]
    assert [{**row, "p95": None} for row in got["hosts"]] == [
        {**row, "p95": None} for row in want["hosts"][:1_000]
    ]
    assert got["referrers"] == want["referrers"] and got["exact"]["hosts"]
    for key in ("total_bytes", "by_day", "p95_bps"):
        assert got["bandwidth"][key] == want["bandwidth"][key], key
    assert "virtual_hosts" not in got  # combined has no host field


def test_a_load_balancer_client_with_its_port_is_a_client() -> None:
    """ALB writes ``client:port``: a client field, listed without the port."""
    assert has_field(preset("alb"), "client") and not has_field(preset("default"), "client")
    got = run_ingest(str(SAMPLES / "alb"), SYNC).to_dict()
    clients = [row["client"] for row in got["hosts"]]
    assert clients and all(re.fullmatch(r"[0-9.]+|[0-9a-f:]*:[0-9a-f:]*", c) for c in clients)
    assert all(c.count(".") != 3 or ":" not in c for c in clients)  # no IPv4:port


def test_a_site_is_the_lower_cased_host_of_the_referer() -> None:
    """Against urllib's parse for URLs with a scheme; the rest as docs/report.md says."""
    urls = [
        "https://Example.COM/a?b#c",
        "http://user:pw@WWW.Site.org:8080/x",
        "android-app://com.google.android.gm/",
        "https://t.co",
        "HTTP://HOST?q=1",
        "ftp://host#frag",
    ]
    assert sites_of(pa.array(urls)) == [urlsplit(url).hostname for url in urls]
    odd = ["https://[2001:DB8::1]:443/p", "www.Example.com/path", "-x-", ""]
    assert sites_of(pa.array(odd)) == ["[2001:db8::1]", "www.example.com", "-x-", ""]


def test_anonymized_addresses_are_what_hosts_and_visitors_count(tmp_path: Path) -> None:
    """--anonymize-ip masks at parse time: hosts list /24 and /64 networks, and visitors are the
    plain count over the masked addresses (IPv4 to /24, IPv6 to /64)."""
    path = tmp_path / "combined.log"
    generate_logs(path, lines=2_000, log_format="combined", seed=13, period="2d")
    requests = plain_parse(path, vhosts=False)
    masked = [replace(req, client=_masked(req.client)) for req in requests]
    want = reference(masked)
    got = run_ingest(str(path), SYNC, IngestOptions(top=1_000, anonymize_ip=True)).to_dict()
    assert got["visitors"] == want["visitors"]
    clients = [row["client"] for row in want["hosts"]][:1_000]
    assert [row["client"] for row in got["hosts"]] == clients and got["exact"]["hosts"]
    assert all(client.endswith((".0", "::")) for client in clients)  # networks only


def _masked(address: str) -> str:
    """The network of an address as GoAccess's default --anonymize-ip writes it."""
    network = ipaddress.ip_network(f"{address}/{24 if '.' in address else 64}", strict=False)
    return str(network.network_address)


@pytest.mark.parametrize("exact_visitors", [True, False])
def test_only_the_most_recent_days_are_kept(
    timed: tuple[Path, list[Request]], monkeypatch: pytest.MonkeyPatch, exact_visitors: bool
) -> None:
    """PANEL_DAYS: the per-day panels keep the latest days, whatever the merge tree, flagged."""
    monkeypatch.setattr(limits, "PANEL_DAYS", 2)
    monkeypatch.setattr(limits, "BANDWIDTH_INTERVALS", 5)  # bandwidth in days
    if not exact_visitors:
        monkeypatch.setattr(limits, "VISITORS_EXACT", 10)
    path, requests = timed
    want = reference(requests)
    assert len(want["visitors"]["by_day"]) > 2
    parts = partials(path, "nginx-timed", requests, 5)
    for merged in _trees(parts, seed=3):
        kept = merged.panels  # the memory bound itself, not only the report's rows
        assert len(kept.bandwidth.slots) == 2 and kept.bandwidth.dropped_days
        assert len(np.unique(kept.visitors.days)) == 2 and kept.visitors.dropped_days
        got = report(merged, top=5)
        assert got["bandwidth"]["by_day"] == want["bandwidth"]["by_day"][-2:]
        days = [row["day"] for row in got["visitors"]["by_day"]]
        assert days == [row["day"] for row in want["visitors"]["by_day"][-2:]]
        if exact_visitors:
            assert got["visitors"]["by_day"] == want["visitors"]["by_day"][-2:]
        assert "2 most recent days" in got["error_bounds"]["visitors"]
        assert not got["exact"]["bandwidth"] and not got["exact"]["visitors"]
