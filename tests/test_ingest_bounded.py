"""Bounded partials at work: with the caps shrunk so that every sketch and every dropped name is
exercised, a whole run still agrees with the plain reference (tests/test_ingest_reference.py)
wherever the report says "exact", stays within the stated bound everywhere else, and flags it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.distribution import Spec
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_ingest_reference import _compare, ref_parse, ref_report, ref_template

pytestmark = pytest.mark.usefixtures("small_blocks")

SYNC = ExecutionSettings(mode="sync")
_PERCENTILES = ("median", "p90", "p95", "p99")


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three files, 24,000 lines: five frequent paths and a long tail of rare ones, ids in
    paths, thousands of agents, microsecond latencies (nearly all distinct)."""
    root = tmp_path_factory.mktemp("spread")
    rng = np.random.default_rng(5)
    for index in range(3):
        n = 8000
        heavy = np.array(["/api/users", "/", "/login", "/static/app.js", "/api/items/7"])
        pick = rng.random(n)
        tail = np.char.add("/blog/post-", rng.integers(0, 3000, n).astype(str))
        paths = np.where(pick < 0.7, heavy[rng.integers(0, 5, n) % 5], tail)
        paths = np.where(
            (pick >= 0.3) & (pick < 0.4),
            np.char.add("/api/items/", rng.integers(0, 10**6, n).astype(str)),
            paths,
        )
        methods = np.array(["GET", "POST", "PUT"])[rng.choice(3, n, p=[0.8, 0.15, 0.05])]
        status = rng.choice([200, 201, 304, 404, 500], n, p=[0.7, 0.1, 0.1, 0.07, 0.03])
        latency = np.round(rng.lognormal(3, 1.3, n), 3)
        agents = np.char.add("Mozilla/5.0 Firefox/", rng.integers(0, 400, n).astype(str))
        lines = [
            f"[{m}] {p}, status={s}, time={t}ms user-agent={a}"
            for m, p, s, t, a in zip(methods, paths, status, latency, agents, strict=True)
        ]
        (root / f"part{index}.log").write_text("\n".join(lines) + "\n")
    return root


def _truth(root: Path) -> dict[str, Any]:
    rows = []
    for path in sorted(root.iterdir()):
        rows += ref_parse(path.read_text())[0]
    latency: dict[str, list[float]] = {}
    for row in rows:
        latency.setdefault(ref_template(row[1].split("?", 1)[0]), []).append(row[3])
    return {
        "paths": Counter(ref_template(r[1].split("?", 1)[0]) for r in rows),
        "errors": Counter(ref_template(r[1].split("?", 1)[0]) for r in rows if r[2] >= 400),
        "agents": Counter(r[4] for r in rows if r[4]),
        "latency": latency,
    }


def _report(root: Path, settings: ExecutionSettings, top: int = 10) -> dict[str, Any]:
    return run_ingest(
        str(root), settings, IngestOptions(blocksize=SMALL_BLOCKSIZE, top=top)
    ).to_dict()


def _same_block(got: dict[str, Any], want: dict[str, Any], exact: bool, alpha: float) -> None:
    assert got["count"] == want["count"]
    assert (got["min"], got["max"]) == (want["min"], want["max"])
    for key in ("mean", "std"):
        assert got[key] == pytest.approx(want[key], rel=1e-9), key
    for key in _PERCENTILES:
        if exact:
            assert got[key] == pytest.approx(want[key], rel=1e-12), key
        else:
            assert abs(got[key] - want[key]) <= alpha * want[key] + 1e-12, key


def _check_top(rows: list[dict[str, Any]], truth: Counter[str], key: str, exact: bool) -> None:
    for row in rows:
        error = row.get("count_error", 0)
        assert exact == ("count_error" not in row)
        assert row["count"] <= truth[row[key]] <= row["count"] + error, row
    if exact:
        want = sorted(truth.items(), key=lambda kv: (-kv[1], kv[0]))[: len(rows)]
        assert [(row[key], row["count"]) for row in rows] == want
        assert len(rows) == min(len(truth), len(rows))


@pytest.fixture
def tiny_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "LATENCY", Spec(("method", "status_class"), 50, 0.001))
    monkeypatch.setattr(limits, "PATH_LATENCY", Spec(("path",), 20, 0.01))
    monkeypatch.setattr(limits, "PATHS", 30)
    monkeypatch.setattr(limits, "ERROR_PATHS", 30)
    monkeypatch.setattr(limits, "AGENTS", 30)


def test_default_caps_flag_exactly_what_they_sketch(spread: Path) -> None:
    """Default caps: everything exact but the per-path percentiles of the frequent paths, which
    have more distinct (microsecond) latencies than a path keeps; with a larger per-path cap the
    whole report equals the reference."""
    got = _report(spread, SYNC)
    want = ref_report([(str(p), p.read_text()) for p in sorted(spread.iterdir())])
    sketched = {key for key, exact in got["exact"].items() if not exact}
    assert sketched == {"top_paths"}
    assert "within 1%" in got["error_bounds"]["top_paths"]
    for row, reference in zip(got["top_paths"], want["top_paths"], strict=True):
        assert (row["path"], row["count"]) == (reference["path"], reference["count"])
        assert row["mean"] == pytest.approx(reference["mean"], rel=1e-9)
        for key in ("p50", "p95", "p99"):
            assert abs(row[key] - reference[key]) <= 0.01 * reference[key]
    for key in ("lines", "requests", "latency_ms", "latency_histogram", "latency_by_method"):
        _compare(got[key], want[key], key)


def test_large_enough_caps_are_exact(spread: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "PATH_LATENCY", Spec(("path",), 100_000, 0.01))
    got = _report(spread, SYNC)
    want = ref_report([(str(p), p.read_text()) for p in sorted(spread.iterdir())])
    assert all(got["exact"].values()) and got["error_bounds"] == {}
    for key in ("top_paths", "top_errors", "latency_by_status_class", "user_agents"):
        _compare(got[key], want[key], key)


@pytest.mark.parametrize("settings", [SYNC], ids=["sync"])
def test_tiny_caps_stay_within_their_bounds(
    spread: Path, tiny_caps: None, settings: ExecutionSettings
) -> None:
    got = _report(spread, settings)
    want = ref_report([(str(p), p.read_text()) for p in sorted(spread.iterdir())])
    truth = _truth(spread)
    flags = got["exact"]
    # the caps are small enough that every mechanism is exercised
    assert not flags["latency_ms"] and not flags["latency_by_method"]
    assert not flags["user_agents.top"] and not flags["top_paths"]
    assert set(got["error_bounds"]) == {key for key, exact in flags.items() if not exact}
    # counts are exact whatever the caps
    assert got["lines"] == want["lines"] and got["requests"] == want["requests"]
    assert got["user_agents"]["by_family"] == want["user_agents"]["by_family"]
    _same_block(got["latency_ms"], want["latency_ms"], flags["latency_ms"], 0.001)
    assert set(got["latency_by_method"]) == set(want["latency_by_method"])
    for method, block in got["latency_by_method"].items():
        _same_block(block, want["latency_by_method"][method], False, 0.001)
    _check_top(got["top_paths"], truth["paths"], "path", "count_error" not in got["top_paths"][0])
    for row in got["top_paths"]:
        if row.get("count_error", 0) == 0:  # every request of the path is in its statistics
            values = truth["latency"][row["path"]]
            assert row["mean"] == pytest.approx(float(np.mean(values)), rel=1e-9)
            for key, percent in (("p50", 50), ("p95", 95), ("p99", 99)):
                exact = float(np.percentile(values, percent))
                assert abs(row[key] - exact) <= 0.01 * exact + 1e-12
    _check_top(got["top_errors"], truth["errors"], "path", flags["top_errors"])
    _check_top(got["user_agents"]["top"], truth["agents"], "user_agent", flags["user_agents.top"])


def test_frequent_paths_are_proven_exact_with_a_small_path_cap(
    spread: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 paths kept per partial out of ~3,000: the five frequent ones are still proven exact,
    counts and latency statistics alike."""
    monkeypatch.setattr(limits, "PATHS", 30)
    monkeypatch.setattr(limits, "PATH_LATENCY", Spec(("path",), 100_000, 0.01))
    got = _report(spread, SYNC, top=5)
    want = ref_report([(str(p), p.read_text()) for p in sorted(spread.iterdir())])
    assert got["exact"]["top_paths"]
    _compare(got["top_paths"], want["top_paths"][:5], "top_paths")
    # the sixth path cannot be proven: too close to the long tail's bound
    six = _report(spread, SYNC, top=6)
    assert not six["exact"]["top_paths"]
    _check_top(six["top_paths"], _truth(spread)["paths"], "path", False)
