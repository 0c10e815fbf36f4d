"""An independent, deliberately plain reference implementation of the ingest report.

One Python ``re.fullmatch`` per line and numpy over the full latency lists: slow, obvious, and
sharing no code with ``pipeline.ingest``. The other ingest tests compare against it. The tests in
this file pin the reference itself on hand-checked answers.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import lzma
import math
import re
from collections import Counter
from typing import Any

import numpy as np
import pytest

LINE = re.compile(
    r"\[([A-Z]+)\] (\S+), status=([0-9]{3}), time=([0-9]+(?:\.[0-9]+)?)ms user-agent=(.*)"
)
TOOLS = (
    "curl/",
    "wget/",
    "python-requests/",
    "python-urllib",
    "go-http-client/",
    "postmanruntime/",
    "httpie/",
    "okhttp/",
    "axios/",
    "node-fetch",
    "java/",
)


#: The report keys with statistics that carry an ``exact`` flag, written out from docs/report.md
#: (``timeline`` too when the report has one).
REF_EXACT_KEYS = (
    "requests",
    "latency_ms",
    "latency_histogram",
    "latency_by_method",
    "latency_by_status_class",
    "top_paths",
    "top_errors",
    "user_agents.top",
    "user_agents.unique",
    "user_agents.browsers",
    "user_agents.os",
    "user_agents.devices",
    "user_agents.by_family",
)


def ref_parse(text: str) -> tuple[list[tuple[str, str, int, float, str]], list[str]]:
    """(parsed rows, malformed lines) of a decoded text, per the issue's grammar."""
    rows, bad = [], []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        match = LINE.fullmatch(line)
        # a latency above 1e9 ms (or too large for a float: inf) makes the line malformed
        if match and 100 <= int(match.group(3)) <= 599 and float(match.group(4)) <= 1e9:
            method, path, status, latency, agent = match.groups()
            rows.append((method, path, int(status), float(latency), agent))
        else:
            bad.append(line)
    return rows, bad


def ref_template(path: str) -> str:
    """Path template (docs/design.md): whole segments that are a UUID, digits, or 16+ hex digits."""
    out = []
    for segment in path.split("/"):
        if re.fullmatch(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", segment
        ):
            out.append("{uuid}")
        elif re.fullmatch(r"[0-9]+", segment):
            out.append("{id}")
        elif re.fullmatch(r"[0-9a-fA-F]{16,}", segment):
            out.append("{hex}")
        else:
            out.append(segment)
    return "/".join(out)


def ref_decode(name: str, data: bytes) -> str:
    lower = name.lower()
    if lower.endswith(".gz"):
        data = gzip.decompress(data)
    elif lower.endswith(".bz2"):
        data = bz2.decompress(data)
    elif lower.endswith(".xz"):
        data = lzma.decompress(data) if data else b""
    return data.decode("utf-8", errors="replace")


def ref_stats(values: list[float]) -> dict[str, Any]:
    keys = ("count", "mean", "median", "min", "max", "std", "p90", "p95", "p99")
    out: dict[str, Any] = dict.fromkeys(keys)
    out["count"] = len(values)
    if not values:
        return out
    arr = np.array(values, dtype=np.float64)
    out.update(
        mean=float(np.mean(arr)),
        median=float(np.median(arr)),
        min=float(arr.min()),
        max=float(arr.max()),
        std=float(np.std(arr, ddof=1)) if len(arr) > 1 else None,
        p90=float(np.percentile(arr, 90)),
        p95=float(np.percentile(arr, 95)),
        p99=float(np.percentile(arr, 99)),
    )
    return out


@functools.cache
def _ua_parser() -> Any:
    """ua-parser's pure-Python resolver: the report uses the native one, with its own cache."""
    import ua_parser

    return ua_parser.BasicResolver(ua_parser.load_builtins())


def ref_parse_agent(agent: str) -> tuple[str, str, str]:
    """(browser, OS, device) family names; "Other" where no uap-core rule matched."""
    import ua_parser

    result = _ua_parser()(agent, ua_parser.Domain.ALL)
    return (
        result.user_agent.family if result.user_agent else "Other",
        result.os.family if result.os else "Other",
        result.device.family if result.device else "Other",
    )


def ref_family(agent: str) -> str:
    """The rules of docs/design.md, first match wins."""
    low = agent.lower()
    if not agent:
        return "unknown"
    browser, _, device = ref_parse_agent(agent)
    if device == "Spider" or any(w in low for w in ("bot", "crawler", "spider", "slurp")):
        return "bot"
    if any(low.startswith(prefix) for prefix in TOOLS):
        return "tool"
    return "browser" if browser != "Other" else "other"


def ref_agents(agents: Counter[str], top: int = 10) -> dict[str, Any]:
    """``user_agents`` without ``unique`` and ``top``: browsers, os, devices, by_family."""
    families = dict.fromkeys(("browser", "bot", "tool", "other", "unknown"), 0)
    names: list[Counter[str]] = [Counter(), Counter(), Counter()]
    for agent, count in agents.items():
        families[ref_family(agent)] += count
        if agent:
            for counter, name in zip(names, ref_parse_agent(agent), strict=True):
                counter[name] += count

    def ranked(counter: Counter[str]) -> list[dict[str, Any]]:
        rows = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [{"name": name, "count": count} for name, count in rows]

    return {
        "browsers": ranked(names[0]),
        "os": ranked(names[1]),
        "devices": ranked(names[2]),
        "by_family": families,
        "estimated": 0,  # a small log: within the parse budget, every agent is parsed
    }


def ref_histogram(values: list[float]) -> list[dict[str, Any]]:
    """Plain loop: edges 0 and 10^(k/4) ms for k = -12..36; bins [lo, hi), the last one closed;
    from the first to the last non-empty bin."""
    edges = [0.0] + [10 ** (k / 4) for k in range(-12, 37)]
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= value < edges[i + 1] or (last and value == edges[i + 1]):
                counts[i] += 1
                break
    used = [i for i, n in enumerate(counts) if n]
    if not used:
        return []
    return [
        {"lo": edges[i], "hi": edges[i + 1], "count": counts[i]}
        for i in range(used[0], used[-1] + 1)
    ]


def ref_cap(text: str) -> str:
    """A quoted malformed line: at most 300 characters, the last an ellipsis when cut."""
    return text if len(text) <= 300 else text[:299] + "…"


def ref_samples(named: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The first five malformed lines of the named texts, with their line numbers (from 1,
    blank lines included), found by judging every line of every text on its own."""
    found = []
    for name, text in named:
        for number, raw in enumerate(text.split("\n"), 1):
            if ref_parse(raw)[1]:
                found.append({"file": name, "line": number, "text": ref_cap(raw.strip())})
    return found[:5]


def ref_report(named: list[tuple[str, str]], files: int | None = None) -> dict[str, Any]:
    """The JSON document (without ``execution``) for the decoded texts of readable files,
    given as ``(name in the report, text)``."""
    texts = [text for _, text in named]
    rows: list[tuple[str, str, int, float, str]] = []
    bad: list[str] = []
    for text in texts:
        r, b = ref_parse(text)
        rows += r
        bad += b
    by_method = Counter(r[0] for r in rows)
    by_status = Counter(r[2] for r in rows)
    classes = {**{f"{c}xx": 0 for c in range(1, 6)}, "none": 0}
    for status, count in by_status.items():
        classes[(f"{status // 100}xx" if status else "none")] += count
    lat_method: dict[str, list[float]] = {}
    lat_class: dict[str, list[float]] = {}
    paths: dict[str, list[float]] = {}
    errors: dict[str, list[int]] = {}
    for method, path, status, latency, _ in rows:
        lat_method.setdefault(method, []).append(latency)
        lat_class.setdefault((f"{status // 100}xx" if status else "none"), []).append(latency)
        paths.setdefault(ref_template(path.split("?", 1)[0]), []).append(latency)
        if status >= 400:
            errors.setdefault(ref_template(path.split("?", 1)[0]), []).append(status // 100)
    top_errors = sorted(errors.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:10]
    agents = Counter(r[4] for r in rows)
    top_paths = sorted(paths.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:10]
    top_agents = sorted(((a, n) for a, n in agents.items() if a), key=lambda kv: (-kv[1], kv[0]))
    return {
        "feature": "ingest",
        "inputs": {
            "files": len(texts) if files is None else files,
            "formats": {"default": len(texts)} if texts else {},
            "failed": [],
        },
        "lines": {
            "total": len(rows) + len(bad),
            "parsed": len(rows),
            "malformed": len(bad),
            "filtered": 0,
            "directives": 0,
            "malformed_samples": ref_samples(named),
        },
        "requests": {
            "total": len(rows),
            "by_method": dict(sorted(by_method.items())),
            "by_status_class": classes,
            "by_status": {f"{k:03d}": v for k, v in sorted(by_status.items())},
        },
        "latency_ms": ref_stats([r[3] for r in rows]),
        "latency_histogram": ref_histogram([r[3] for r in rows]),
        "latency_by_method": {k: ref_stats(v) for k, v in sorted(lat_method.items())},
        "latency_by_status_class": {k: ref_stats(v) for k, v in sorted(lat_class.items())},
        "top_paths": [
            {
                "path": p,
                "count": len(v),
                "share": len(v) / len(rows),
                "mean": float(np.mean(v)),
                "p50": float(np.median(v)),
                "p95": float(np.percentile(v, 95)),
                "p99": float(np.percentile(v, 99)),
            }
            for p, v in top_paths
        ],
        "top_errors": [
            {"path": p, "count": len(v), "status_4xx": v.count(4), "status_5xx": v.count(5)}
            for p, v in top_errors
        ],
        "user_agents": {
            "unique": len(agents),
            "top": [{"user_agent": a, "count": n} for a, n in top_agents[:10]],
            **ref_agents(agents),
        },
        # a small log: every figure is within the exact caps
        "exact": dict.fromkeys(REF_EXACT_KEYS, True),
        "error_bounds": {},
        "notes": [],
    }


#: The panels of schema 6: the reference here does not build them (their own plain-loop
#: references are in tests/test_ingest_panels.py), so a document is compared without them.
PANEL_KEYS = frozenset({"visitors", "hosts", "referrers", "bandwidth", "virtual_hosts"})


def _without_panels(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without the panels, their ``exact`` flags and their ``error_bounds``."""

    def other(key: str) -> bool:
        return key.split(".")[0] not in PANEL_KEYS

    out = {k: v for k, v in doc.items() if k not in PANEL_KEYS}
    for section in ("exact", "error_bounds"):
        if isinstance(out.get(section), dict):
            out[section] = {k: v for k, v in out[section].items() if other(k)}
    return out


def assert_same_report(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Equal documents; means and standard deviations up to rounding, everything else exact.

    Panels the reference does not build are left out of the comparison (and only they may be
    missing from ``want``)."""
    got = {k: v for k, v in got.items() if k != "execution"}
    assert set(got) - set(want) <= PANEL_KEYS, set(got) - set(want)
    if not set(want) & PANEL_KEYS:
        got = _without_panels(got)
    assert list(got) == list(want)
    _compare(got, want, "")


def _compare(got: Any, want: Any, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert list(got) == list(want), where
        for key in want:
            _compare(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, float), where
        if where.endswith(("mean", "std")):
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (where, got, want)
        else:
            assert got == want or (math.isinf(got) and math.isinf(want)), (where, got, want)
    else:
        assert got == want and type(got) is type(want), (where, got, want)


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("[GET] /a, status=200, time=5ms user-agent=x", True),
        ("[PURGE] /a?x=1, status=599, time=007ms user-agent=", True),
        ("[GET] /a, status=600, time=5ms user-agent=x", False),
        ("[GET] /a, status=200, time=.5ms user-agent=x", False),
        ("[GET]/a, status=200, time=5ms user-agent=x", False),
    ],
)
def test_reference_grammar(line: str, ok: bool) -> None:
    rows, bad = ref_parse(line)
    assert (len(rows), len(bad)) == ((1, 0) if ok else (0, 1))


def test_reference_stats_known_answer() -> None:
    stats = ref_stats([1.0, 2.0, 3.0, 4.0])
    assert stats["median"] == 2.5
    assert stats["p90"] == pytest.approx(3.7)
    assert ref_stats([2.0])["std"] is None
