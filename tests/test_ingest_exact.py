"""``ingest --exact``: every percentile equals numpy's on a plain parse of every line.

The oracle is independent of the pipeline: a plain ``re`` parse of the Apache lines the tests
write (``%D``: microseconds), the values grouped in Python dictionaries, ``numpy.percentile``
(``numpy.median`` for medians). The caps are monkeypatched tiny so that pass 1 always sketches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest import job, passes
from pipeline.ingest.aggregate import exact, limits
from pipeline.ingest.aggregate.distribution import KEYED, Spec, empty
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from tests.conftest import examples

APACHE = '%h %l %u %t "%r" %>s %b %D'
SYNC = ExecutionSettings(mode="sync")
LINE = re.compile(
    r'^\S+ \S+ \S+ \[27/Nov/2026:(\d\d):(\d\d):(\d\d) \+0000\] "(\S+) (\S+) HTTP/1\.1" '
    r"(\d{3}) \d+ (\d+)$"
)
METHODS = ("GET", "POST", "PUT")
PATHS = ("/a", "/b", "/c", "/d", "/e")
STATUSES = (200, 201, 302, 404, 500)


def _line(record: tuple[int, str, str, int, int]) -> str:
    second, method, path, status, micros = record
    hh, mm, ss = second // 3600, second // 60 % 60, second % 60
    return (
        f'10.0.0.1 - - [27/Nov/2026:{hh:02d}:{mm:02d}:{ss:02d} +0000] "{method} {path} '
        f'HTTP/1.1" {status} 10 {micros}\n'
    )


def _reference(paths: list[Path]) -> dict[str, Any]:
    """Every latency (ms) by group, from a plain regex parse of the files."""
    groups: dict[str, dict[Any, list[float]]] = {
        "all": {},
        "method": {},
        "class": {},
        "path": {},
        "minute": {},
    }
    for path in paths:
        for line in path.read_text().splitlines():
            found = LINE.match(line)
            assert found, line
            hh, mm, _, method, where, status, micros = found.groups()
            latency = int(micros) / 1000
            minute = int(hh) * 60 + int(mm)
            for kind, key in (
                ("all", 0),
                ("method", method),
                ("class", f"{int(status) // 100}xx"),
                ("path", where.split("?")[0]),
                ("minute", minute),
            ):
                groups[kind].setdefault(key, []).append(latency)
    return groups


def _check_block(block: dict[str, Any], values: list[float], where: str) -> None:
    data = np.array(values)
    assert block["median"] == float(np.median(data)), where
    for key, percent in (("p90", 90), ("p95", 95), ("p99", 99)):
        assert block[key] == float(np.percentile(data, percent)), (where, key)


def _check_report(doc: dict[str, Any], groups: dict[str, dict[Any, list[float]]]) -> None:
    """Every percentile of the report against the reference, and the exact flags."""
    _check_block(doc["latency_ms"], groups["all"][0], "latency_ms")
    assert set(doc["latency_by_method"]) == set(groups["method"])
    for method, block in doc["latency_by_method"].items():
        _check_block(block, groups["method"][method], method)
    assert set(doc["latency_by_status_class"]) == set(groups["class"])
    for klass, block in doc["latency_by_status_class"].items():
        _check_block(block, groups["class"][klass], klass)
    for row in doc["top_paths"]:
        listed = np.array(groups["path"][row["path"]])
        assert row["count"] == len(listed), row
        assert "count_error" not in row or row["count_error"] == 0
        assert row["p50"] == float(np.median(listed)), row
        assert row["p95"] == float(np.percentile(listed, 95)), row
        assert row["p99"] == float(np.percentile(listed, 99)), row
        assert row["mean"] == pytest.approx(float(listed.mean()), rel=1e-12)
    length = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}[doc["timeline"]["bucket"]]
    buckets: dict[int, list[float]] = {}
    for minute, values in groups["minute"].items():
        buckets.setdefault(minute // length, []).extend(values)
    first = min(buckets)
    for index, row in enumerate(doc["timeline"]["rows"]):
        inside = buckets.get(first + index)
        if inside is None:
            assert row["latency_p50"] is None
            continue
        assert row["latency_p50"] == float(np.median(np.array(inside))), row
        assert row["latency_p95"] == float(np.percentile(np.array(inside), 95)), row
    for key in ("latency_ms", "latency_by_method", "latency_by_status_class", "timeline"):
        assert doc["exact"][key] is True, key
        assert key not in doc["error_bounds"]


@pytest.fixture
def tiny_caps(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Caps so small that every group of more than one distinct latency is sketched."""
    monkeypatch.setattr(limits, "LATENCY", Spec(("method", "status_class"), 1, 0.001))
    monkeypatch.setattr(limits, "PATH_LATENCY", Spec(("path",), 1, 0.01))
    monkeypatch.setattr(limits, "TIMELINE_LATENCY", Spec(("minute",), 1, 0.02))
    yield monkeypatch


records = st.lists(
    st.tuples(
        st.integers(0, 3 * 3600 - 1),
        st.sampled_from(METHODS),
        st.sampled_from(PATHS),
        st.sampled_from(STATUSES),
        st.one_of(st.integers(0, 2_000), st.integers(0, 10**9), st.sampled_from([5_000, 5_001])),
    ),
    min_size=1,
    max_size=200,
)


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=records,
    cap=st.integers(1, 4),
    files=st.integers(1, 3),
    budget=st.sampled_from([4, 2**20]),
    path_cap=st.integers(1, 6),
)
def test_every_percentile_equals_numpy_with_tiny_caps(
    tiny_caps: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[tuple[int, str, str, int, int]],
    cap: int,
    files: int,
    budget: int,
    path_cap: int,
) -> None:
    tiny_caps.setattr(limits, "LATENCY", Spec(("method", "status_class"), cap, 0.001))
    tiny_caps.setattr(limits, "PATH_LATENCY", Spec(("path",), cap, 0.01))
    tiny_caps.setattr(limits, "TIMELINE_LATENCY", Spec(("minute",), cap, 0.02))
    tiny_caps.setattr(limits, "PATHS", path_cap)
    tiny_caps.setattr(limits, "EXACT_BUDGET", budget)
    tiny_caps.setattr(limits, "EXACT_MIN_WINDOW", 4)
    folder = tmp_path_factory.mktemp("logs")
    written = []
    for index in range(files):
        path = folder / f"part{index}.log"
        path.write_text("".join(_line(record) for record in lines[index::files]))
        written.append(path)
    # a filter that keeps every line reads each file on its own: partials that drop paths
    options = IngestOptions(
        log_format=APACHE, raw_paths=True, top=3, exact=True, since="2026-01-01"
    )
    result = run_ingest(str(folder), SYNC, options)
    doc = result.to_dict()
    _check_report(doc, _reference(written))
    per_group: dict[tuple[str, int], set[int]] = {}
    for _, method, _, status, micros in lines:
        per_group.setdefault((method, status // 100), set()).add(micros)
    sketched = any(len(values) > cap for values in per_group.values())
    assert doc["execution"]["passes"] >= (2 if sketched else 1)
    if path_cap >= len(PATHS):
        assert doc["exact"]["top_paths"] is True


def _write_many(path: Path, count: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    micros = rng.lognormal(10, 1.5, count).astype(np.int64)
    lines = [
        _line(
            (
                int(rng.integers(0, 3 * 3600)),
                METHODS[int(rng.integers(0, 3))],
                PATHS[int(rng.integers(0, 5))],
                STATUSES[int(rng.integers(0, 5))],
                int(value),
            )
        )
        for value in micros
    ]
    path.write_text("".join(lines))
    return path


def test_a_bucket_too_full_for_the_budget_is_refined_by_more_passes(
    tiny_caps: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """400 distinct latencies within 0.4% (two or three 0.1% buckets), 16 values a window: the
    buckets are split, and their sub-windows again."""
    tiny_caps.setattr(limits, "EXACT_BUDGET", 16)
    tiny_caps.setattr(limits, "EXACT_MIN_WINDOW", 16)
    rng = np.random.default_rng(11)
    lines = [
        _line((int(rng.integers(0, 600)), "GET", "/a", 200, 100_000 + int(rng.integers(0, 400))))
        for _ in range(2_000)
    ]
    path = tmp_path / "dense.log"
    path.write_text("".join(lines))
    options = IngestOptions(log_format=APACHE, raw_paths=True, exact=True)
    doc = run_ingest(str(path), SYNC, options).to_dict()
    _check_report(doc, _reference([path]))
    assert doc["execution"]["passes"] >= 3


def test_without_exact_one_pass_and_the_sketch_is_flagged(
    tiny_caps: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _write_many(tmp_path / "many.log", 500, seed=3)
    doc = run_ingest(str(path), SYNC, IngestOptions(log_format=APACHE)).to_dict()
    assert doc["execution"]["passes"] == 1
    assert doc["exact"]["latency_ms"] is False
    assert "latency_ms" in doc["error_bounds"]


def test_realistic_microsecond_log_with_the_default_caps(tmp_path: Path) -> None:
    """A generated log with microsecond latencies: pass 1 sketches paths and timeline buckets
    (more than 1,024 and 256 distinct latencies), ``--exact`` equals numpy everywhere."""
    out = tmp_path / "real.log"
    code = CliRunner().invoke(
        cli,
        ["generate-logs", "--lines", "30000", "--out", str(out), "--cardinality", "realistic"],
    )
    assert code.exit_code == 0
    plain = run_ingest(str(out), SYNC, IngestOptions(raw_paths=True)).to_dict()
    assert plain["exact"]["top_paths"] is False  # the sketch was used
    doc = run_ingest(str(out), SYNC, IngestOptions(raw_paths=True, exact=True)).to_dict()
    pattern = re.compile(r"^\[(\S+)\] (\S+), status=(\d+), time=([0-9.]+)ms")
    groups: dict[str, dict[Any, list[float]]] = {"all": {}, "method": {}, "class": {}, "path": {}}
    for line in out.read_text().splitlines():
        found = pattern.match(line)
        if found is None:
            continue
        method, where, status, latency = found.groups()
        for kind, key in (
            ("all", 0),
            ("method", method),
            ("class", f"{int(status) // 100}xx"),
            ("path", where.split("?")[0]),
        ):
            groups[kind].setdefault(key, []).append(float(latency))
    _check_block(doc["latency_ms"], groups["all"][0], "latency_ms")
    for method, block in doc["latency_by_method"].items():
        _check_block(block, groups["method"][method], method)
    for row in doc["top_paths"]:
        values = np.array(groups["path"][row["path"]])
        assert (row["count"], row["p50"], row["p95"], row["p99"]) == (
            len(values),
            float(np.median(values)),
            float(np.percentile(values, 95)),
            float(np.percentile(values, 99)),
        )
    assert doc["exact"]["top_paths"] is True
    assert doc["execution"]["passes"] == 2


def _cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ingest", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_standard_input_is_refused() -> None:
    code, out, err = _cli("--path", "-", "--exact", input="[GET] /x, status=200, time=5ms\n")
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == (
        "Error: --exact cannot read standard input (--path -): the input cannot be read twice"
    )


def test_follow_and_state_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as follow:
        IngestOptions(exact=True, follow=True)
    assert str(follow.value) == (
        "--exact cannot be used with --follow: the input cannot be read twice"
    )
    code, _, err = _cli("--exact", "--state", str(tmp_path / "s.state"))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "Error: --exact cannot be used with --state: the state holds no values"
    )


def test_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    code, _, err = _cli("--exact", "--path", str(fifo))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"Error: --exact cannot read {fifo}, not a regular file (a FIFO?): the input cannot be "
        "read twice"
    )


def test_a_file_appended_between_passes_is_a_failed_input(
    tiny_caps: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _write_many(tmp_path / "grows.log", 200, seed=5)
    real = passes.exact_passes

    def appended_first(*args: Any) -> Any:
        with path.open("a") as handle:
            handle.write(_line((10, "GET", "/a", 200, 123)))
        return real(*args)

    tiny_caps.setattr(job, "exact_passes", appended_first)
    code, out, _ = _cli(
        "--path", str(path), "--exact", "--log-format", APACHE, "--format", "json", "--mode", "sync"
    )
    assert code == 3
    doc = json.loads(out)
    assert doc["inputs"]["failed"] == [
        {
            "path": str(path),
            "error": f"file changed between the passes of --exact: "
            f"{path.stat().st_size - len(_line((10, 'GET', '/a', 200, 123)))} bytes planned, "
            f"{path.stat().st_size} now",
        }
    ]
    assert doc["exact"]["latency_ms"] is False


@pytest.mark.subprocess
@pytest.mark.parametrize("mode", ["threading", "process", "distributed"])
def test_every_mode_gives_the_same_exact_report(tmp_path: Path, mode: str) -> None:
    """Default caps (process workers do not see monkeypatches): a realistic log whose paths and
    timeline buckets are sketched in pass 1."""
    out = tmp_path / "real.log"
    CliRunner().invoke(
        cli,
        ["generate-logs", "--lines", "20000", "--out", str(out), "--cardinality", "realistic"],
    )
    options = IngestOptions(exact=True, blocksize=limits_blocksize())
    want = run_ingest(str(out), SYNC, options).to_dict()
    got = run_ingest(str(out), ExecutionSettings(mode=mode, workers=2), options).to_dict()
    assert want["execution"]["passes"] == got["execution"]["passes"] == 2
    want.pop("execution")
    got.pop("execution")
    assert got == want


def limits_blocksize() -> int:
    """The smallest blocksize: more than one block per file where the file allows."""
    from pipeline.ingest.options import MIN_BLOCKSIZE

    return MIN_BLOCKSIZE


def test_the_text_report_says_what_exact_gives_when_a_sketch_was_used(
    tiny_caps: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _write_many(tmp_path / "many.log", 300, seed=2)
    note = (
        "  - --exact gives exact percentiles (and exact counts for the listed paths) in the same "
        "memory: it\n    reads the input again, about the time of one more run per extra pass "
        "(usually one, rarely two)\n"
    )
    code, plain, _ = _cli("--path", str(path), "--log-format", APACHE, "--mode", "sync")
    assert code == 0 and note in plain
    code, exact, _ = _cli("--path", str(path), "--log-format", APACHE, "--mode", "sync", "--exact")
    assert code == 0 and "--exact gives" not in exact


def test_a_new_panel_grouped_by_any_column_plugs_in_with_one_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A panel keyed by ``user_agent`` (as hosts and virtual hosts will be by ``client`` and
    ``host``), its groups unknown to pass 1: a later pass recounts them and finds every rank."""
    agents = ("curl/8", "Wget/1.21", "")
    rng = np.random.default_rng(4)
    values = rng.integers(1, 5_000, 400)
    path = tmp_path / "agents.log"
    path.write_text(
        "".join(
            f"[GET] /a, status=200, time={value / 1000}ms user-agent={agents[i % 3]}\n"
            for i, value in enumerate(values.tolist())
        )
    )

    def by_agent(partial: object, context: object) -> exact.Selection:
        return exact.Selection(empty(KEYED), 0.01, unknown=agents[:2])

    panel = exact.Panel("by_agent", "user_agent", by_agent)
    monkeypatch.setattr(passes, "PANELS", (*exact.PANELS, panel))
    found: list[exact.ExactFigures] = []
    real = passes.exact_passes

    def kept(*args: Any) -> exact.ExactFigures:
        found.append(real(*args))
        return found[-1]

    monkeypatch.setattr(job, "exact_passes", kept)
    run_ingest(str(path), SYNC, IngestOptions(exact=True))
    (figures,) = found
    assert "by_agent" in figures.exact
    for index, agent in enumerate(agents[:2]):
        mine = values[index::3] / 1000
        got = figures.figures["by_agent"][agent]
        assert got["requests"] == len(mine)
        assert got["median"] == float(np.median(mine))
        assert got["p95"] == float(np.percentile(mine, 95))
        assert got["mean"] == pytest.approx(float(mine.mean()), rel=1e-12)


def test_hosts_and_virtual_hosts_p95_are_exact_too(
    tiny_caps: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The panels' p95 per client and per virtual host, sketched at cap 1, equal numpy."""
    tiny_caps.setattr(limits, "CLIENT_LATENCY", Spec(("client",), 1, 0.01))
    tiny_caps.setattr(limits, "VHOST_LATENCY", Spec(("host",), 1, 0.01))
    rng = np.random.default_rng(5)
    clients = ("10.0.0.1", "10.0.0.2", "2001:db8::7")
    hosts = ("a.example", "b.example")
    values: dict[tuple[str, str], list[float]] = {}
    lines = []
    for _ in range(600):
        client, host = clients[int(rng.integers(0, 3))], hosts[int(rng.integers(0, 2))]
        micros = int(rng.lognormal(9, 1.5))
        values.setdefault(("client", client), []).append(micros / 1000)
        values.setdefault(("host", host), []).append(micros / 1000)
        lines.append(
            f'{host} {client} - - [27/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 10 {micros}\n'
        )
    path = tmp_path / "vhosts.log"
    path.write_text("".join(lines))
    options = IngestOptions(log_format=f"%v {APACHE}", exact=True)
    doc = run_ingest(str(path), SYNC, options).to_dict()
    for key, panel in (("client", "hosts"), ("host", "virtual_hosts")):
        assert doc["exact"][panel] is True, panel
        assert {row[key] for row in doc[panel]} == {k for kind, k in values if kind == key}
        for row in doc[panel]:
            want = float(np.percentile(np.array(values[(key, row[key])]), 95))
            assert row["p95"] == want, (panel, row)
    plain = run_ingest(str(path), SYNC, IngestOptions(log_format=f"%v {APACHE}")).to_dict()
    assert plain["exact"]["hosts"] is False and plain["exact"]["virtual_hosts"] is False
