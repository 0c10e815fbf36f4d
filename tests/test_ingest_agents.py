"""User-agent figures against independent references.

* uap-core's own expectations: agents and their browser / OS / device families copied from
  uap-core's test files (``tests/test_ua.yaml``, ``test_os.yaml``, ``test_device.yaml``);
* a plain loop: every agent parsed by ua-parser's pure-Python resolver (not the accelerator,
  no cache), every request classified by the family rules written out again below, counted with
  ``collections.Counter``;
* ``len(set(...))`` for the distinct count, and the true count for the HLL estimate.
"""

from __future__ import annotations

import pickle
import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
import ua_parser

from pipeline.ingest.aggregate import agent_parse, agents, distinct
from pipeline.ingest.aggregate.agents import (
    FAMILIES,
    AgentPartial,
    agents_report,
    merge_agents,
    summarize_agents,
)
from pipeline.ingest.aggregate.distinct import distinct_values, merge_distinct

# (agent, expected family) from uap-core's tests/test_ua.yaml, test_os.yaml, test_device.yaml.
UAP_BROWSERS = [
    (
        "Mozilla/5.0 (Linux; Android 4.4.2; Nexus 5 Build/KOT49H) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/35.0.1916.122 Mobile Safari/537.36",
        "Chrome Mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 7.1.2; Nexus 5X Build/N2G47W; wv) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Version/4.0 Chrome/58.0.3029.83 Mobile Safari/537.36",
        "Chrome Mobile WebView",
    ),
    (
        "Mozilla/5.0 (X11; U; Linux i686; en-US) AppleWebKit/534.16 (KHTML, like Gecko) "
        "Ubuntu/10.10 Chromium/10.0.648.133 Chrome/10.0.648.133 Safari/534.16",
        "Chromium",
    ),
    (
        "Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.12) Gecko/20101027 Ubuntu/10.04 "
        "(lucid) Firefox/3.6.12",
        "Firefox",
    ),
    ("Mozilla/5.0 (Mobile; rv:15.0) Gecko/15.0 Firefox/15.0", "Firefox Mobile"),
    (
        "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0; GTB6; .NET CLR "
        "2.0.50727; .NET CLR 1.1.4322)",
        "IE",
    ),
    (
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; "
        "Touch; NOKIA; Lumia 920)",
        "IE Mobile",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 2.2.2; en-gb; HTC Desire Build/FRG83G) AppleWebKit/533.1 "
        "(KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
        "Android",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 4.0.3; en-gb; KFTT Build/IML74K) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Silk/3.25 like Chrome/34.0.1847.137 Mobile Safari/537.36",
        "Amazon Silk",
    ),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "FacebookBot"),
    ("Java/1.8.0_25", "Java"),
    ("WhatsApp/2.17.70 W", "WhatsApp"),
]
UAP_OS = [
    (
        "Mozilla/5.0 (Linux; Android 4.2; Galaxy Nexus Build/JOP40C) AppleWebKit/535.19 (KHTML, "
        "like Gecko) Chrome/18.0.1025.166 Mobile Safari/535.19",
        "Android",
    ),
    (
        "Mozilla/5.0 (BB10; Touch) AppleWebKit/537.3+ (KHTML, like Gecko) Version/10.0.9.388 "
        "Mobile Safari/537.3+",
        "BlackBerry OS",
    ),
    (
        "Mozilla/5.0 (iPod touch; CPU iPhone OS 9_3_2 like Mac OS X) AppleWebKit/601.1.46 "
        "(KHTML, like Gecko) Mobile/13F69",
        "iOS",
    ),
    (
        "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_5; en-us) AppleWebKit/533.18.1 (KHTML, "
        "like Gecko) Version/5.0.2 Safari/533.18.5",
        "Mac OS X",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:2.0) Gecko/20110417 IceCat/4.0", "Linux"),
    ("python-requests/0.14 CPython/2.6 Linux/2.6-43-server", "Linux"),
    (
        "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.1.16) Gecko/20110302 Conkeror/0.9.2 "
        "(Debian-0.9.2+git100804-1)",
        "Debian",
    ),
    ("Mozilla/5.0 (PLAYSTATION 3; 3.55)", "Other"),
]
UAP_DEVICES = [
    (
        "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; Amaze_4G Build/IML74K) AppleWebKit/534.30 "
        "(KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
        "HTC Amaze 4G",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 3.0.1; en-us; GT-P7510 Build/HRI83) AppleWebKit/534.13 "
        "(KHTML, like Gecko) Version/4.0 Safari/534.13",
        "Samsung GT-P7510",
    ),
    (
        "Mozilla/5.0 (iPhone; U; fr; CPU iPhone OS 4_2_1 like Mac OS X; fr) AppleWebKit/533.17.9 "
        "(KHTML, like Gecko) Version/5.0.2 Mobile/8C148a Safari/6533.18.5",
        "iPhone",
    ),
    (
        "Mozilla/5.0 (iPad; U; CPU OS 3_2 like Mac OS X; en-us) AppleWebKit/531.21.10 (KHTML, "
        "like Gecko) Version/4.0.4 Mobile/7B367 Safari/531.21.10",
        "iPad",
    ),
    (
        "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; "
        "NOKIA; Lumia 800)",
        "Lumia 800",
    ),
    ("Opera/9.30 (Nintendo Wii; U; ; 3642; en)", "Nintendo Wii"),
    (
        "Mozilla/5.0 (Linux; U; Android 2.3.4; en-us; Kindle Fire Build/GINGERBREAD) "
        "AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
        "Kindle Fire",
    ),
    ("NCSA_Mosaic/2.0 (Windows 3.1)", "Other"),
]

# The family rules, written out again from the issue: first match wins.
BOT_WORDS = ("bot", "crawler", "spider", "slurp")
TOOL_STARTS = (
    "curl/", "wget/", "python-requests/", "python-urllib", "go-http-client/", "postmanruntime/",
    "httpie/", "okhttp/", "axios/", "node-fetch", "java/",
)  # fmt: skip


def reference_family(agent: str, browser: str, device: str) -> str:
    if agent == "":
        return "unknown"
    low = agent.lower()
    if device == "Spider" or any(word in low for word in BOT_WORDS):
        return "bot"
    for start in TOOL_STARTS:
        if low.startswith(start):
            return "tool"
    if browser != "Other":
        return "browser"
    return "other"


_BASIC = ua_parser.BasicResolver(ua_parser.load_builtins())


def reference_parse(agent: str) -> tuple[str, str, str]:
    """The pure-Python resolver, no cache, defaults filled in by the library."""
    result = _BASIC(agent, ua_parser.Domain.ALL).complete().with_defaults()
    return result.user_agent.family, result.os.family, result.device.family


def varied_agents(count: int, seed: int) -> list[str]:
    """Distinct agents of every family, with versions, odd cases and look-alikes."""
    rng = random.Random(seed)
    shapes: list[Callable[[], str]] = [
        lambda: (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{rng.randint(100, 130)}.0.{rng.randint(1000, 6999)}.{rng.randint(0, 99)} "
            "Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (Linux; Android {rng.randint(9, 14)}; SM-{rng.choice('AGS')}"
            f"{rng.randint(100, 999)}B) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{rng.randint(100, 130)}.0.0.0 Mobile Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {rng.randint(14, 18)}_{rng.randint(0, 6)} "
            "like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 "
            "Safari/604.1"
        ),
        lambda: (
            f"Mozilla/5.0 (X11; Linux x86_64; rv:{rng.randint(100, 130)}.0) Gecko/20100101 "
            f"Firefox/{rng.randint(100, 130)}.0"
        ),
        lambda: (
            f"Mozilla/5.0 (compatible; Googlebot/2.{rng.randint(0, 99)}; "
            "+http://www.google.com/bot.html)"
        ),
        lambda: (
            f"{rng.choice(['curl', 'CURL', 'Wget', 'python-requests', 'okhttp'])}/"
            f"{rng.randint(1, 9)}.{rng.randint(0, 99)}"
        ),
        lambda: f"python-urllib{rng.randint(2, 3)}/{rng.randint(1, 2)}.{rng.randint(0, 30)}",
        lambda: f"Java/1.{rng.randint(6, 8)}.0_{rng.randint(1, 400)}",  # Spider in uap-core
        lambda: f"My{rng.choice(['Crawler', 'SPIDER', 'Slurp', 'Robot'])}/{rng.randint(1, 99)}",
        lambda: f"kube-probe/1.{rng.randint(20, 31)}",
        lambda: f"internal-app v{rng.randint(1, 999)} (curl/7.1)",  # not a tool prefix
        lambda: f"Mozilla/5.0 ünïcode-{rng.randint(0, 999)}",
    ]
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(rng.choice(shapes)())
    return [*sorted(seen), ""]


def as_counts(requests: dict[str, int]) -> pd.Series:
    return pd.Series(list(requests.values()), index=list(requests.keys()), dtype="int64")


def split(requests: dict[str, int], parts: int, seed: int) -> list[dict[str, int]]:
    """Spread each agent's requests over random partitions (an agent may be in several)."""
    rng = random.Random(seed)
    out: list[Counter[str]] = [Counter() for _ in range(parts)]
    for agent, count in requests.items():
        for _ in range(count):
            out[rng.randrange(parts)][agent] += 1
    return [dict(part) for part in out if part]


def reference_figures(requests: dict[str, int]) -> dict[str, Any]:
    browsers: Counter[str] = Counter()
    systems: Counter[str] = Counter()
    devices: Counter[str] = Counter()
    families: Counter[str] = Counter()
    for agent, count in requests.items():
        browser, system, device = reference_parse(agent)
        families[reference_family(agent, browser, device)] += count
        if agent != "":
            browsers[browser] += count
            systems[system] += count
            devices[device] += count
    return {
        "browsers": browsers,
        "os": systems,
        "devices": devices,
        "by_family": {family: families[family] for family in FAMILIES},
        "unique": len(set(requests)),
    }


def ranked(counter: Counter[str], top: int) -> list[dict[str, Any]]:
    rows = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"name": name, "count": count} for name, count in rows]


def merged_in_random_tree(parts: list[AgentPartial], seed: int) -> AgentPartial:
    rng = random.Random(seed)
    parts = list(parts)
    rng.shuffle(parts)
    while len(parts) > 1:
        size = rng.randint(2, min(4, len(parts)))
        start = rng.randint(0, len(parts) - size)
        parts[start : start + size] = [merge_agents(parts[start : start + size])]
    return parts[0]


@pytest.mark.parametrize(("agent", "family"), UAP_BROWSERS)
def test_browser_family_as_uap_core_expects(agent: str, family: str) -> None:
    part = summarize_agents(as_counts({agent: 3}))
    assert agents_report(part, 5).browsers == ({"name": family, "count": 3},)


@pytest.mark.parametrize(("agent", "family"), UAP_OS)
def test_os_family_as_uap_core_expects(agent: str, family: str) -> None:
    part = summarize_agents(as_counts({agent: 2}))
    assert agents_report(part, 5).os == ({"name": family, "count": 2},)


@pytest.mark.parametrize(("agent", "family"), UAP_DEVICES)
def test_device_family_as_uap_core_expects(agent: str, family: str) -> None:
    part = summarize_agents(as_counts({agent: 4}))
    assert agents_report(part, 5).devices == ({"name": family, "count": 4},)


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        ("", "unknown"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
        ("Java/1.8.0_25", "bot"),  # uap-core: device Spider, before the tool prefix
        ("Mozilla/5.0 (compatible; Yahoo! Slurp)", "bot"),
        ("my-CRAWLER/1.0", "bot"),
        ("curl/8.5.0", "tool"),
        ("Go-http-client/1.1", "tool"),
        ("python-urllib3/2.2.1", "bot"),  # uap-core: Spider
        ("PostmanRuntime/7.39.0", "tool"),
        ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "tool"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "browser"),
        ("kube-probe/1.30", "other"),
        ("internal-healthcheck, v=2", "other"),
        ("internal-healthcheck, v=2 curl/8", "browser"),  # not a prefix, but uap-core names curl
    ],
)
def test_family_rules_first_match_wins(agent: str, family: str) -> None:
    part = summarize_agents(as_counts({agent: 7}))
    expected = dict.fromkeys(FAMILIES, 0)
    expected[family] = 7
    assert agents_report(part, 5).by_family == expected


def test_equal_to_a_plain_loop_with_the_pure_python_parser_in_any_merge_order() -> None:
    rng = random.Random(11)
    requests = {agent: rng.randint(1, 40) for agent in varied_agents(250, seed=3)}
    reference = reference_figures(requests)
    parts = [summarize_agents(as_counts(part)) for part in split(requests, 6, seed=5)]
    for seed in range(4):
        report = agents_report(merged_in_random_tree(parts, seed), top=1000)
        assert report.by_family == reference["by_family"]
        assert report.unique == reference["unique"] and report.unique_exact
        assert report.unique_error is None
        assert list(report.browsers) == ranked(reference["browsers"], 1000)
        assert list(report.os) == ranked(reference["os"], 1000)
        assert list(report.devices) == ranked(reference["devices"], 1000)
        assert report.browsers_exact and report.os_exact and report.devices_exact
        assert sum(report.by_family.values()) == sum(requests.values())


def test_each_distinct_agent_parsed_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    real = agent_parse._extractors()
    assert real is not None  # the native accelerator is installed (ua-parser[regex])
    browser, os_name, device = real

    def counting(agent: str) -> Any:
        calls[agent] += 1
        return browser(agent)

    monkeypatch.setattr(agent_parse, "_extractors", lambda: (counting, os_name, device))
    agent_parse.forget_parses()
    try:
        requests = {"curl/8.5.0": 1000, "Wget/1.21": 5, "": 3}
        summarize_agents(as_counts(requests))
        summarize_agents(as_counts(requests))  # the next block of the same worker
    finally:
        agent_parse.forget_parses()
    assert calls == {"curl/8.5.0": 1, "Wget/1.21": 1}  # the empty agent is never parsed


def test_agents_of_the_last_partition_skip_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # a block shares about half its agents with the one before: those are taken from its results
    # (one Arrow join), only the others are looked up in the cache (a Python call each)
    first = {f"in-house-client/{i}": i + 1 for i in range(100)}
    second = {f"in-house-client/{i}": 2 for i in range(50, 150)} | {"": 4}
    looked_up: list[str] = []
    known = agent_parse._known

    def counting(texts: list[str]) -> list[tuple[int, int] | None]:
        looked_up.extend(texts)
        return known(texts)

    monkeypatch.setattr(agent_parse, "_known", counting)
    agent_parse.forget_parses()
    try:
        summarize_agents(as_counts(first))
        looked_up.clear()
        got = summarize_agents(as_counts(second))
    finally:
        agent_parse.forget_parses()
    assert sorted(looked_up) == sorted(f"in-house-client/{i}" for i in range(100, 150))
    reference = reference_figures(second)
    assert got.unique.count == reference["unique"]
    assert got.by_family.to_dict() == {k: v for k, v in reference["by_family"].items() if v}


def test_partition_hashes_are_the_value_hashes_of_its_agents() -> None:
    # the cache keeps each hash as a signed int: the bits must be value_hash's, including the
    # hashes at or above 2**63, so partials agree with distinct_values on any agent
    pool = [f"agent/{i}" for i in range(300)] + ["", "É/1"]
    got = summarize_agents(as_counts(dict.fromkeys(pool, 1))).unique.hashes
    expected = sorted(distinct.value_hash(agent) for agent in pool)
    assert max(expected) >= 2**63 > min(expected)  # both halves are exercised
    assert got is not None and got.tolist() == expected


def test_parse_results_are_numbered_once_each() -> None:
    # the per-process table of parse results grows with distinct results, not with agents
    before = len(agent_parse._COMBINATIONS)
    summarize_agents(as_counts({f"in-house-client/{i}": 1 for i in range(500)}))
    assert len(agent_parse._COMBINATIONS) - before <= 1
    assert len(set(agent_parse._COMBINATIONS)) == len(agent_parse._COMBINATIONS)


def test_unique_exact_below_the_cap_is_the_set_size() -> None:
    rng = random.Random(2)
    pool = [f"agent/{i}" for i in range(5000)] + ["", "É/1", "e/1"]
    parts = [[rng.choice(pool) for _ in range(3000)] for _ in range(5)]
    merged = merge_distinct([distinct_values(np.array(p, dtype=object)) for p in parts])
    assert merged.exact
    assert merged.count == len({agent for part in parts for agent in part})


def _estimate_ok(estimate: int, truth: int) -> bool:
    return abs(estimate - truth) <= 3 * distinct.relative_standard_error() * truth


def test_unique_beyond_the_cap_is_hll_within_three_standard_errors() -> None:
    truth = 300_000
    values = np.array([f"Mozilla/5.0 build-{i}" for i in range(truth)], dtype=object)
    # five overlapping partitions, each under the cap: the switch happens in a merge
    slices = [values[start : start + 80_000] for start in range(0, truth, 55_000)]
    parts = [distinct_values(chunk) for chunk in slices]
    assert all(part.exact for part in parts)
    estimates = set()
    for seed in range(3):
        order = list(parts)
        random.Random(seed).shuffle(order)
        left = merge_distinct([merge_distinct(order[:2]), order[2]])
        merged = merge_distinct([left, merge_distinct(order[3:])])
        assert not merged.exact
        estimates.add(merged.count)
    assert len(estimates) == 1  # HLL unions keep register maxima: no order dependence
    (estimate,) = estimates
    assert _estimate_ok(estimate, truth)
    # one partition over the cap on its own, merged with exact ones
    whole = merge_distinct([distinct_values(values), parts[0], parts[1]])
    assert not whole.exact and whole.count == estimate
    assert merge_distinct([parts[0], distinct_values(values)]).count == estimate


def test_report_marks_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distinct, "UNIQUE_EXACT_CAP", 3)
    requests = {"curl/1": 1, "curl/2": 1, "curl/3": 1, "curl/4": 2, "": 1}
    report = agents_report(summarize_agents(as_counts(requests)), 5)
    assert not report.unique_exact
    assert report.unique_error == "relative standard error 0.81% (HLL lg_k=14)"
    assert report.exact_flags()["user_agents.unique"] is False
    assert report.error_bounds() == {"user_agents.unique": report.unique_error}
    assert _estimate_ok(report.unique, 5)
    assert report.by_family == {"browser": 0, "bot": 0, "tool": 5, "other": 0, "unknown": 1}


def test_capped_lists_carry_their_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agents, "NAMES_CAP", 2)
    chrome = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0.0.0 Safari/537.36"
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    parts = [
        summarize_agents(as_counts({chrome: 10, "curl/8": 4, "Wget/1.2": 3})),
        summarize_agents(as_counts({firefox: 9, "curl/8": 1, "Wget/1.2": 3})),
    ]
    report = agents_report(merge_agents(parts), 3)
    assert not report.browsers_exact
    for row in report.browsers:
        assert set(row) == {"name", "count", "count_error"}
    true = {"Chrome": 10, "Firefox": 9, "curl": 5, "Wget": 6}
    for row in report.browsers:
        assert row["count"] <= true[row["name"]] <= row["count"] + row["count_error"]
    assert report.exact_flags()["user_agents.browsers"] is False
    assert report.error_bounds()["user_agents.browsers"] == (
        "counts are lower bounds: each row's true count is at most count + count_error, and "
        f"any browser family not listed has at most {merge_agents(parts).browsers.dropped_max:,} "
        "requests"
    )
    flags = report.exact_flags()
    assert set(report.error_bounds()) == {key for key, exact in flags.items() if not exact}
    assert flags["user_agents.by_family"] and flags["user_agents.unique"]
    assert report.by_family["tool"] == 11  # the split itself is never capped


def test_partials_pickle_and_stay_small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distinct, "UNIQUE_EXACT_CAP", 100)
    requests = {agent: 2 for agent in varied_agents(150, seed=9)}
    part = summarize_agents(as_counts(requests))
    assert not part.unique.exact
    data = pickle.dumps(part)
    assert len(pickle.dumps(part.unique)) < 20_000  # one HLL sketch, not the agents
    back = pickle.loads(data)
    assert agents_report(back, 10) == agents_report(part, 10)
    exact = summarize_agents(as_counts({"curl/8": 1, "": 2}))
    assert agents_report(pickle.loads(pickle.dumps(exact)), 3) == agents_report(exact, 3)


def test_report_shape_and_order() -> None:
    requests = {"curl/8": 2, "Wget/1": 2, "": 4}
    report = agents_report(summarize_agents(as_counts(requests)), 1)
    document = report.to_dict()
    assert list(document) == ["unique", "browsers", "os", "devices", "by_family", "estimated"]
    assert document["estimated"] == 0
    assert list(document["by_family"]) == list(FAMILIES)
    assert document["unique"] == 3
    # ties by name ascending (code-point order); the empty agent is in no list
    assert document["browsers"] == [{"name": "Wget", "count": 2}]
    assert document["os"] == [{"name": "Other", "count": 4}]
    assert report.browsers_exact  # curl ties with Wget, and loses the tie by name
    assert merge_agents([]).by_family.sum() == 0


@pytest.mark.parametrize("top", [0, -1, True, 2.0])
def test_report_rejects_a_bad_top(top: Any) -> None:
    part = summarize_agents(as_counts({"curl/8": 1}))
    with pytest.raises(ValueError, match="top must be an integer >= 1"):
        agents_report(part, top)


def test_threads_sharing_the_parser_and_cache_agree_with_one_thread() -> None:
    rng = random.Random(4)
    requests = {agent: rng.randint(1, 9) for agent in varied_agents(400, seed=12)}
    blocks = split(requests, 8, seed=1)
    agent_parse.forget_parses()
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda block: summarize_agents(as_counts(block)), blocks))
    agent_parse.forget_parses()
    alone = [summarize_agents(as_counts(block)) for block in blocks]
    assert agents_report(merge_agents(threaded), 1000) == agents_report(merge_agents(alone), 1000)


def test_tuning_constants_within_their_documented_ranges() -> None:
    assert 1_000 <= agents.NAMES_CAP <= 100_000  # at least the longest --top
    assert 0 <= agent_parse.PARSE_CACHE_SIZE <= 10_000_000
    assert 0 <= agent_parse.PARSE_BURST <= 10_000_000
    assert 0 <= agent_parse.PARSES_PER_REQUEST <= 1
    assert 0 <= distinct.UNIQUE_EXACT_CAP <= 10_000_000
    assert 7 <= distinct.HLL_LG_K <= 21
