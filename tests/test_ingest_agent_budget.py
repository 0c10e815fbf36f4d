"""The user-agent parse budget (``pipeline/ingest/aggregate/agent_parse.py``) against plain loops.

* Ordinary traffic (a few thousand distinct agents) stays exact: ``by_family`` and the lists equal
  ua-parser called on every line by a plain loop, in every local mode and two block sizes (the
  budget's constants, patched small below, cannot reach spawned workers: the tests past the
  budget run in the sync and threading modes).
* Distinct agents past the budget: ``by_family`` is flagged, the true counts (plain loop) lie
  within the stated bound, the lists' rows bound their true counts, ``estimated`` is exactly the
  requests of the agents never parsed, and every figure still flagged exact is exact.
* ua-parser calls per partition are bounded: counted through a monkeypatched parser, not timed.

The reference parses with a resolver of its own (ua-parser-rs through ua-parser's public API, a
fresh instance, no cache) and the family rules of ``tests/test_ingest_agents.py``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import ua_parser

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate import agent_parse
from pipeline.ingest.aggregate.agents import agents_report, merge_agents, summarize_agents
from pipeline.ingest.aggregate.distinct import value_hash
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.report.text import render_ingest
from pipeline.reporting.text import render_json
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_ingest_agents import (
    as_counts,
    merged_in_random_tree,
    reference_family,
    varied_agents,
)

assert ua_parser.RegexResolver is not None  # ua-parser[regex], a runtime dependency
_RESOLVER = ua_parser.RegexResolver(ua_parser.load_lazy_builtins())
FAMILY_KEYS = ("browser", "bot", "tool", "other", "unknown")
pytestmark = pytest.mark.usefixtures("small_blocks")

MODES = [
    pytest.param(ExecutionSettings(mode="sync"), SMALL_BLOCKSIZE, id="sync-64KiB"),
    pytest.param(ExecutionSettings(mode="sync"), 16 * 1024 * 1024, id="sync-16MiB"),
    pytest.param(
        ExecutionSettings(mode="threading", workers=3), SMALL_BLOCKSIZE, id="threading-64KiB"
    ),
]


def plain_loop(agents_per_line: list[str]) -> dict[str, Counter[str]]:
    """ua-parser called on every line: requests per family, browser, OS and device."""
    figures: dict[str, Counter[str]] = {key: Counter() for key in ("by_family", "b", "o", "d")}
    for agent in agents_per_line:
        if agent == "":
            figures["by_family"]["unknown"] += 1
            continue
        result = _RESOLVER(agent, ua_parser.Domain.ALL).complete().with_defaults()
        browser, system, device = result.user_agent.family, result.os.family, result.device.family
        figures["by_family"][reference_family(agent, browser, device)] += 1
        figures["b"][browser] += 1
        figures["o"][system] += 1
        figures["d"][device] += 1
    return figures


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    """An empty cache and a full budget before and after each test (the budget is per process).
    Autouse, so it is set up before ``monkeypatch`` and torn down after it: the budget left for
    the next test is the real one, not a test's small one."""
    agent_parse.forget_parses()
    yield
    agent_parse.forget_parses()


def _small_budget(monkeypatch: pytest.MonkeyPatch, burst: int, per_request: float) -> None:
    monkeypatch.setattr(agent_parse, "PARSE_BURST", burst)
    monkeypatch.setattr(agent_parse, "PARSES_PER_REQUEST", per_request)
    agent_parse.forget_parses()


def _counting_parser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every agent ua-parser is called on, in order (the browser extractor runs once per parse)."""
    real = agent_parse._extractors()
    assert real is not None  # the native accelerator is installed (ua-parser[regex])
    browser, os_name, device = real
    calls: list[str] = []

    def counting(agent: str) -> Any:
        calls.append(agent)
        return browser(agent)

    monkeypatch.setattr(agent_parse, "_extractors", lambda: (counting, os_name, device))
    return calls


def _write_log(path: Path, agents_per_line: list[str]) -> Path:
    lines = [f"[GET] /a, status=200, time=5ms user-agent={agent}" for agent in agents_per_line]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _report(path: Path, settings: ExecutionSettings, blocksize: int) -> dict[str, Any]:
    result = run_ingest(str(path), settings, IngestOptions(blocksize=blocksize, top=1000))
    document: dict[str, Any] = json.loads(render_json(result))
    return document


def _check_against(document: dict[str, Any], truth: dict[str, Counter[str]]) -> None:
    """Every figure flagged exact equals the plain loop; every other one keeps its bound."""
    agents, exact = document["user_agents"], document["exact"]
    estimated = agents["estimated"]
    assert exact["user_agents.by_family"] is (estimated == 0)
    for family in FAMILY_KEYS:
        got, true = agents["by_family"][family], truth["by_family"][family]
        assert abs(got - true) <= estimated, (family, got, true, estimated)
    assert agents["by_family"]["unknown"] == truth["by_family"]["unknown"]
    assert sum(agents["by_family"].values()) == document["requests"]["total"]
    for key, counts in (("browsers", truth["b"]), ("os", truth["o"]), ("devices", truth["d"])):
        rows = agents[key]
        if exact[f"user_agents.{key}"]:
            want = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            assert rows == [{"name": name, "count": count} for name, count in want]
        else:
            for row in rows:
                assert row["count"] <= counts[row["name"]] <= row["count"] + row["count_error"]


def ordinary_lines(seed: int) -> list[str]:
    """30,000 requests over 3,000 distinct agents, a few of them frequent (Zipf-like)."""
    rng = random.Random(seed)
    pool = varied_agents(3_000, seed=seed)
    weights = [1 / (rank + 1) for rank in range(len(pool))]
    return rng.choices(pool, weights, k=30_000)


@pytest.fixture(scope="module")
def ordinary() -> tuple[list[str], dict[str, Counter[str]]]:
    """The ordinary log's lines and their plain-loop figures (computed once)."""
    lines = ordinary_lines(seed=4)
    return lines, plain_loop(lines)


@pytest.mark.parametrize(
    ("settings", "blocksize"),
    [
        *MODES,
        pytest.param(
            ExecutionSettings(mode="process", workers=2),
            SMALL_BLOCKSIZE,
            id="process-64KiB",
            marks=pytest.mark.subprocess,
        ),
    ],
)
def test_ordinary_traffic_stays_exact(
    tmp_path: Path,
    ordinary: tuple[list[str], dict[str, Counter[str]]],
    settings: ExecutionSettings,
    blocksize: int,
) -> None:
    lines, truth = ordinary
    document = _report(_write_log(tmp_path / "ordinary.log", lines), settings, blocksize)
    assert document["user_agents"]["estimated"] == 0
    assert document["exact"]["user_agents.by_family"] is True
    assert "user_agents.by_family" not in document["error_bounds"]
    assert not [note for note in document["notes"] if "parse budget" in note]
    assert document["user_agents"]["by_family"] == {f: truth["by_family"][f] for f in FAMILY_KEYS}
    _check_against(document, truth)
    assert document["exact"]["user_agents.browsers"] and document["exact"]["user_agents.os"]


def adversarial_lines(seed: int) -> list[str]:
    """4,000 requests with a distinct agent each, among 2,000 requests of three ordinary agents
    and 100 without an agent, shuffled."""
    rng = random.Random(seed)
    lines = varied_agents(4_000, seed=seed)[:-1]  # without the empty agent
    chrome = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0.0.0 Safari/537.36"
    lines += [chrome] * 1_500 + ["curl/8.5.0"] * 400 + ["Googlebot/2.1"] * 100 + [""] * 100
    rng.shuffle(lines)
    return lines


@pytest.mark.parametrize(("settings", "blocksize"), MODES)
def test_distinct_agents_past_the_budget_flag_by_family_within_its_bound(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: ExecutionSettings,
    blocksize: int,
) -> None:
    _small_budget(monkeypatch, burst=300, per_request=0.02)
    lines = adversarial_lines(seed=6)
    try:
        document = _report(_write_log(tmp_path / "scraped.log", lines), settings, blocksize)
    finally:
        agent_parse.forget_parses()
    agents = document["user_agents"]
    # at most 300 + 0.02 * 6,100 = 422 agents parsed: more than 3,500 requests estimated
    assert 3_500 < agents["estimated"] < len(lines)
    assert document["exact"]["user_agents.by_family"] is False
    assert document["error_bounds"]["user_agents.by_family"] == (
        f"the agents of {agents['estimated']:,} of {len(lines):,} requests were not parsed "
        "(parse budget): their families are estimated from the agents parsed in the same "
        f"blocks, so each count is within {agents['estimated']:,} of the true count (unknown is "
        "exact)"
    )
    assert [note for note in document["notes"] if "parse budget" in note] == [
        f"user-agent parse budget reached: the agents of {agents['estimated']:,} requests were "
        f"not parsed; by_family estimates their families (each count within "
        f"{agents['estimated']:,}), browsers, os and devices leave them out (lower bounds)"
    ]
    _check_against(document, plain_loop(lines))


def test_the_text_report_says_so_in_one_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_budget(monkeypatch, burst=50, per_request=0.0)
    path = _write_log(tmp_path / "scraped.log", adversarial_lines(seed=2)[:1_000])
    try:
        text = render_ingest(run_ingest(str(path), ExecutionSettings(mode="sync")))
    finally:
        agent_parse.forget_parses()
    assert text.count("user-agent parse budget reached") == 1
    assert "Requests by user-agent family  ~ approximate" in text
    assert "  - user_agents.by_family: the agents of " in text


def test_estimated_is_the_requests_of_the_agents_never_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _small_budget(monkeypatch, burst=200, per_request=0.05)
    calls = _counting_parser(monkeypatch)
    rng = random.Random(8)
    requests = {agent: rng.choice([1, 1, 1, 2, 3]) for agent in varied_agents(3_000, seed=8)}
    names = list(requests)
    rng.shuffle(names)
    blocks = [{name: requests[name] for name in names[i::5]} for i in range(5)]
    try:
        parts = [summarize_agents(as_counts(block)) for block in blocks]
    finally:
        agent_parse.forget_parses()
    never = sum(count for agent, count in requests.items() if agent and agent not in set(calls))
    truth = plain_loop([agent for agent, count in requests.items() for _ in range(count)])
    for seed in range(3):
        report = agents_report(merged_in_random_tree(parts, seed), top=1000)
        assert report.estimated == never > 0
        assert report.exact_flags()["user_agents.by_family"] is False
        for family in FAMILY_KEYS:
            assert abs(report.by_family[family] - truth["by_family"][family]) <= never
        assert report.by_family["unknown"] == requests[""]
        assert sum(report.by_family.values()) == sum(requests.values())
        for row in report.browsers:
            assert row["count"] <= truth["b"][row["name"]] <= row["count"] + row["count_error"]
        dropped = merge_agents(parts).browsers.dropped_max
        listed = {row["name"] for row in report.browsers}
        assert all(count <= dropped for name, count in truth["b"].items() if name not in listed)


def test_parser_calls_per_partition_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    _small_budget(monkeypatch, burst=300, per_request=1 / 50)
    calls = _counting_parser(monkeypatch)
    pool = varied_agents(8_000, seed=11)[:-1]
    blocks = [pool[i * 2_000 : (i + 1) * 2_000] for i in range(4)]
    per_block = []
    try:
        for block in blocks:
            before = len(calls)
            summarize_agents(as_counts(dict.fromkeys(block, 1)))
            per_block.append(len(calls) - before)
        # the agents parsed already cost nothing; the others take the credit of this block
        before = len(calls)
        summarize_agents(as_counts(dict.fromkeys(blocks[0], 1)))
        again = calls[before:]
    finally:
        agent_parse.forget_parses()
    # the burst, then 2,000 requests / 50 per block
    assert per_block == [300, 40, 40, 40]
    assert len(again) == 40 and not set(again) & set(calls[:300])
    assert len(set(calls)) == len(calls)  # no agent parsed twice


def test_threads_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    _small_budget(monkeypatch, burst=100, per_request=1 / 20)
    calls = _counting_parser(monkeypatch)
    pool = varied_agents(4_000, seed=12)[:-1]
    blocks = [dict.fromkeys(pool[i::8], 1) for i in range(8)]
    try:
        with ThreadPoolExecutor(4) as threads:
            list(threads.map(lambda block: summarize_agents(as_counts(block)), blocks))
    finally:
        agent_parse.forget_parses()
    assert 0 < len(calls) <= 100 + len(pool) // 20


def test_the_most_frequent_new_agents_first_then_a_sample_by_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _small_budget(monkeypatch, burst=11, per_request=0.0)
    calls = _counting_parser(monkeypatch)
    rare = varied_agents(500, seed=13)[:-1]
    heavy = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    try:
        part = summarize_agents(as_counts({**dict.fromkeys(rare, 1), heavy: 1_000}))
    finally:
        agent_parse.forget_parses()
    sample = sorted(rare, key=value_hash)[:10]
    assert sorted(calls) == sorted([heavy, *sample])
    assert part.estimated == len(rare) - 10
    # the unparsed requests are spread like the ten rare agents parsed, not like the heavy one
    rare_families = Counter(agent_parse.parse_agent(agent)[3] for agent in sample)
    assert set(part.by_family.index) <= {"browser", *rare_families}
