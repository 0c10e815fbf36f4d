"""Ingest on realistic-cardinality logs against a plain reference, and the streamed-chunk carry.

The input (``generate-logs --cardinality realistic``, made once per session): ids, UUIDs and
hashes in paths, a heavy tail of rare paths, query strings, tens of thousands of versioned user
agents, microsecond latencies. This is where a bounded-memory report is tempted to approximate,
so every figure is compared with a reference that shares no code with ``pipeline.ingest``: one
``re.fullmatch`` (default grammar) or ``json.loads`` (JSON lines) per line, docs/design.md's path
template rules written again as a loop over segments, plain ``dict`` counts, sorted lists and
numpy over whole lists for the statistics.

**Exactness rule.** The report may say which of its figures are exact: a top-level
``"exact": {"<report key>": bool}`` with ``"error_bounds": {"<report key>": str}`` for each
false entry. A key whose flag is true, or absent (today's report has no ``exact`` object), must
equal the reference: integers and strings exactly, floats equal to numpy's value on the same
numbers or within 1e-9 relative, lists in the same order. A key flagged false is checked by
:func:`_within_bound` only, against the bounds written there. The keys: ``requests``,
``latency_ms``, ``latency_by_method``, ``latency_by_status_class``, ``top_paths``,
``top_errors``, ``user_agents.top``, ``user_agents.unique``. ``lines`` is always exact.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import pipeline.ingest.read as read_module
from pipeline.cli import cli
from pipeline.ingest.inputs.stream import line_pieces
from pipeline.loggen.generate import generate_logs
from tests.test_ingest_reference import ref_stats

#: Lines of each generated file: realistic default grammar and realistic JSON lines (about
#: 20 MB together). More lines make today's partials slow to merge (issue 10): the six runs
#: would leave the minute this test may take.
DEFAULT_LINES = 80_000
JSON_LINES = 25_000
MALFORMED_RATE = 0.002
#: Length of every top list in the runs (deeper than the default 10: more ranks, more ties).
TOP = 40
RELATIVE = 1e-9
#: The JSON report rounds floats to 9 significant digits (docs/report.md).
JSON_DIGITS = 9
#: Rows of the reference's path ranking that carry latency figures (the others: path and count
#: only; per-path percentiles of the whole rare-path tail would cost seconds for nothing).
PATH_STATS_ROWS = 4 * TOP

# ----------------------------------------------------------------------------------------------
# The reference: plain loops, written from docs/


LINE = re.compile(
    r"\[([A-Z]+)\] (\S+), status=([0-9]{3}), time=([0-9]+(?:\.[0-9]+)?)ms user-agent=(.*)"
)
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass
class Row:
    method: str
    path: str  # the request target, query string included
    status: int
    latency: float | None  # ms
    agent: str


def parse_default(line: str) -> Row | None:
    """The project's own grammar; a status outside 100-599 or a latency above 1e9 ms is bad."""
    match = LINE.fullmatch(line)
    if match is None or not 100 <= int(match.group(3)) <= 599:
        return None
    latency = float(match.group(4))
    if latency > 1e9:
        return None
    return Row(match.group(1), match.group(2), int(match.group(3)), latency, match.group(5))


def parse_json(line: str) -> Row | None:
    """The generator's JSON lines (nginx variable names): status and request_uri required, a
    time when present must be ISO 8601 with a zone, request_time is seconds."""
    try:
        record = json.loads(line, parse_float=Decimal)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    status, path = record.get("status"), record.get("request_uri")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    if not isinstance(path, str):
        return None
    if "time_iso8601" in record:
        try:
            moment = datetime.fromisoformat(record["time_iso8601"])
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
    took = record.get("request_time")
    latency = float(Decimal(took) * 1000) if isinstance(took, int | Decimal) else None
    method = record.get("request_method") or "-"
    agent = record.get("http_user_agent") or ""
    return Row(method, path, status, latency, agent)


def template(path: str) -> str:
    """The path template of docs/design.md: query string dropped, whole segments replaced."""
    out = []
    for segment in path.split("?", 1)[0].split("/"):
        if UUID.fullmatch(segment):
            out.append("{uuid}")
        elif segment and all(c in "0123456789" for c in segment):
            out.append("{id}")
        elif len(segment) >= 16 and all(c in "0123456789abcdefABCDEF" for c in segment):
            out.append("{hex}")
        else:
            out.append(segment)
    return "/".join(out)


def ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Count descending, then name ascending (code points)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Reference:
    """The reference's figures; top lists are complete rankings (the report shows a prefix)."""

    lines: dict[str, int] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def reference(texts: Sequence[tuple[str, Callable[[str], Row | None]]]) -> Reference:
    rows: list[Row] = []
    malformed = 0
    for text, parse in texts:
        for raw in text.split("\n"):
            line = raw.strip()
            if not line:
                continue
            row = parse(line)
            if row is None:
                malformed += 1
            else:
                rows.append(row)
    total = len(rows)
    methods: Counter[str] = Counter(row.method for row in rows)
    statuses: Counter[int] = Counter(row.status for row in rows)
    classes = {**{f"{digit}xx": 0 for digit in range(1, 6)}, "none": 0}
    by_method: dict[str, list[float]] = {}
    by_class: dict[str, list[float]] = {}
    paths: dict[str, list[float]] = {}
    path_counts: Counter[str] = Counter()
    errors: dict[str, list[int]] = {}
    agents: Counter[str] = Counter()
    latencies: list[float] = []
    for row in rows:
        status_class = f"{row.status // 100}xx" if row.status else "none"
        classes[status_class] += 1
        name = template(row.path)
        path_counts[name] += 1
        paths.setdefault(name, [])
        if row.latency is not None:
            latencies.append(row.latency)
            by_method.setdefault(row.method, []).append(row.latency)
            by_class.setdefault(status_class, []).append(row.latency)
            paths[name].append(row.latency)
        if row.status >= 400:
            errors.setdefault(name, [0, 0])[row.status // 100 - 4] += 1
        agents[row.agent] += 1

    def path_row(name: str, count: int) -> dict[str, Any]:
        took = paths[name]
        pick = (lambda q: float(np.percentile(took, q))) if took else (lambda q: None)
        return {
            "path": name,
            "count": count,
            "share": count / total,
            "mean": float(np.mean(took)) if took else None,
            "p50": pick(50),
            "p95": pick(95),
            "p99": pick(99),
        }

    error_counts = {name: sum(pair) for name, pair in errors.items()}
    figures = {
        "requests": {
            "total": total,
            "by_method": dict(sorted(methods.items())),
            "by_status_class": classes,
            "by_status": {str(code): n for code, n in sorted(statuses.items())},
        },
        "latency_ms": ref_stats(latencies),
        "latency_by_method": {k: ref_stats(v) for k, v in sorted(by_method.items())},
        "latency_by_status_class": {k: ref_stats(v) for k, v in sorted(by_class.items())},
        "top_paths": [
            path_row(name, n) if index < PATH_STATS_ROWS else {"path": name, "count": n}
            for index, (name, n) in enumerate(ranked(path_counts))
        ],
        "top_errors": [
            {"path": name, "count": n, "status_4xx": errors[name][0], "status_5xx": errors[name][1]}
            for name, n in ranked(error_counts)
        ],
        "user_agents.top": [
            {"user_agent": agent, "count": n} for agent, n in ranked(agents) if agent
        ],
        "user_agents.unique": len(agents),
    }
    lines = {
        "total": total + malformed,
        "parsed": total,
        "malformed": malformed,
        "filtered": 0,
        "directives": 0,
    }
    return Reference(lines=lines, figures=figures)


# ----------------------------------------------------------------------------------------------
# Comparison: exact unless the report flags a key approximate


def report_value(report: dict[str, Any], key: str) -> Any:
    """``user_agents.top`` -> ``report["user_agents"]["top"]``."""
    value: Any = report
    for part in key.split("."):
        value = value[part]
    return value


def exact_problems(where: str, ours: Any, want: Any) -> list[str]:
    """Differences between ``ours`` and ``want``: same types and keys (in order), same lengths,
    equal ints and strings, floats as :func:`same_float` says."""
    if isinstance(want, dict):
        if not isinstance(ours, dict) or list(ours) != list(want):
            keys = list(ours) if isinstance(ours, dict) else type(ours).__name__
            return [f"{where}: keys {keys} != {list(want)}"]
        return [p for k in want for p in exact_problems(f"{where}.{k}", ours[k], want[k])]
    if isinstance(want, list):
        if not isinstance(ours, list) or len(ours) != len(want):
            return [f"{where}: {len(ours) if isinstance(ours, list) else ours!r} != {len(want)}"]
        return [p for i, (o, w) in enumerate(zip(ours, want, strict=True))
                for p in exact_problems(f"{where}[{i}]", o, w)]  # fmt: skip
    if isinstance(want, float) and isinstance(ours, float):
        return [] if same_float(ours, want) else [f"{where}: {ours!r} != {want!r}"]
    if type(ours) is not type(want) or ours != want:
        return [f"{where}: {ours!r} != {want!r}"]
    return []


def rounded(value: float) -> float:
    return float(f"{value:.{JSON_DIGITS}g}")


def same_float(ours: float, want: float) -> bool:
    """``ours`` (from the JSON report) is numpy's ``want`` rounded as the report rounds, or the
    rounding of a value within :data:`RELATIVE` of it (a sum taken in another order).

    >>> same_float(106.123824, 106.1238241903503), same_float(106.123825, 106.1238241903503)
    (True, False)
    """
    if ours == rounded(want):
        return True
    ends = sorted((rounded(want * (1 - RELATIVE)), rounded(want * (1 + RELATIVE))))
    return ends[0] <= ours <= ends[1]


#: Latency statistics that an approximate group may give within :data:`PERCENTILE_BOUND`.
PERCENTILES = ("median", "p90", "p95", "p99", "p50")
PERCENTILE_BOUND = 0.01
#: Accepted relative error of an approximate ``user_agents.unique`` (about three standard
#: errors of a HyperLogLog with 1.6 % relative standard error).
UNIQUE_BOUND = 0.05
LATENCY_KEYS = ("latency_ms", "latency_by_method", "latency_by_status_class")
TOP_KEYS = {"top_paths": "path", "top_errors": "path", "user_agents.top": "user_agent"}


def _close(ours: Any, want: Any, bound: float) -> bool:
    if ours is None or want is None:
        return ours is want
    return bool(abs(ours - want) <= bound * abs(want))


def _approximate_stats(where: str, ours: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """One group of statistics flagged approximate: counts, min and max exact; mean and std
    within 1e-9 (they come from exact sums); percentiles within 1 %."""
    problems = []
    for key, value in want.items():
        if key in PERCENTILES:
            if not _close(ours.get(key), value, PERCENTILE_BOUND):
                problems.append(f"{where}.{key}: {ours.get(key)!r} not within 1% of {value!r}")
        else:
            problems += exact_problems(f"{where}.{key}", ours.get(key), value)
    return problems


def _approximate_top(key: str, ours: list[dict[str, Any]], want: list[dict[str, Any]],
                     top: int) -> list[str]:  # fmt: skip
    """A top list flagged approximate: each row's ``count_error`` covers its true count (and
    its 4xx/5xx split), names are real, order is the report's rule and the list is as long as
    it can be. Latency figures of a row are checked (1 %) when its count is exact. (Which names
    an approximate list may leave out is the report's stated bound, a sentence in
    ``error_bounds``; it is not parsed here.)"""
    name = TOP_KEYS[key]
    truth = {row[name]: row for row in want}
    problems = []
    if len(ours) != min(top, len(want)):
        problems.append(f"{key}: {len(ours)} rows, want {min(top, len(want))}")
    order = [(-row["count"], row[name]) for row in ours]
    if order != sorted(order):
        problems.append(f"{key}: not ordered by count descending, then name")
    for index, row in enumerate(ours):
        where = f"{key}[{index}] {row.get(name)!r}"
        error = row.get("count_error")
        if not isinstance(error, int) or error < 0:
            problems.append(f"{where}: no count_error")
            continue
        real = truth.get(row[name])
        if real is None:
            problems.append(f"{where}: not in the input")
            continue
        for count in ("count", "status_4xx", "status_5xx"):
            if count in real and abs(row[count] - real[count]) > error:
                problems.append(f"{where}: {count} {row[count]} vs {real[count]} +- {error}")
        if key == "top_paths" and error == 0 and "mean" in real:
            for stat in ("mean", "p50", "p95", "p99"):
                if not _close(row[stat], real[stat], PERCENTILE_BOUND):
                    problems.append(f"{where}: {stat} {row[stat]!r} vs {real[stat]!r}")
    return problems


def _within_bound(key: str, ours: Any, reference: Any, report: dict[str, Any]) -> list[str]:
    """The check of a key the report flags approximate (``exact[key]`` false): its stated bound
    must exist, and the figure must be within what this test accepts. ``reference`` is the
    reference's figure; for a top list, its complete ranking."""
    problems = []
    if not str(report.get("error_bounds", {}).get(key, "")).strip():
        problems.append(f"{key}: flagged approximate without an error_bounds entry")
    if key in LATENCY_KEYS:
        groups = {"": (ours, reference)} if key == "latency_ms" else {
            f".{group}": (ours.get(group, {}), want) for group, want in reference.items()
        }  # fmt: skip
        if key != "latency_ms" and list(ours) != list(reference):
            problems.append(f"{key}: groups {list(ours)} != {list(reference)}")
        for suffix, (got, want) in groups.items():
            problems += _approximate_stats(key + suffix, got, want)
    elif key in TOP_KEYS:
        problems += _approximate_top(key, ours, reference, TOP)
    elif key == "user_agents.unique":
        if not _close(ours, reference, UNIQUE_BOUND):
            problems.append(f"{key}: {ours} not within 5% of {reference}")
    else:
        problems.append(f"{key}: counts must be exact, the report flags them approximate")
    return problems


def compare(report: dict[str, Any], ref: Reference, top: int = TOP) -> list[str]:
    """Every problem of ``report`` against the reference, by the exactness rule above."""
    problems = exact_problems("lines", {k: report["lines"][k] for k in ref.lines}, ref.lines)
    flags = report.get("exact", {})
    for key, want in ref.figures.items():
        ours = report_value(report, key)
        if key == "requests":
            ours = {k: ours[k] for k in want}
        if key in TOP_KEYS:
            want = want[:top] if flags.get(key, True) else want
        if flags.get(key, True):
            problems += exact_problems(key, ours, want)
        else:
            problems += _within_bound(key, ours, want, report)
    return problems


# ----------------------------------------------------------------------------------------------
# Inputs, made once per session


@dataclass(frozen=True)
class Inputs:
    folder: Path
    ref: Reference


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("realistic")
    generate_logs(folder / "app.log", lines=DEFAULT_LINES, seed=21, cardinality="realistic",
                  malformed_rate=MALFORMED_RATE)  # fmt: skip
    generate_logs(folder / "access.json", lines=JSON_LINES, seed=22, cardinality="realistic",
                  log_format="json", malformed_rate=MALFORMED_RATE)  # fmt: skip
    texts = [
        ((folder / "app.log").read_text(encoding="utf-8"), parse_default),
        ((folder / "access.json").read_text(encoding="utf-8"), parse_json),
    ]
    return Inputs(folder, reference(texts))


def ingest(path: Path, *options: str) -> dict[str, Any]:
    args = ["ingest", "--path", str(path), "--format", "json", "--no-progress", "--top", str(TOP)]
    result = CliRunner().invoke(cli, [*args, *options])
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


# ----------------------------------------------------------------------------------------------
# The tests


def test_the_input_has_real_cardinality(realistic: Inputs) -> None:
    """Guard of the oracle: the input really is high-cardinality (or the test proves little)."""
    figures = realistic.ref.figures
    assert figures["user_agents.unique"] > 10_000
    assert len(figures["top_paths"]) > 8_000  # distinct templates: the rare-path tail
    assert sum(1 for row in figures["top_paths"] if row["count"] == 1) > 6_000
    names = {row["path"] for row in figures["top_paths"][:TOP]}
    assert {"/api/v1/items/{id}", "/api/v1/users/{uuid}/orders", "/files/{hex}"} <= names
    assert realistic.ref.lines["malformed"] > 100
    assert len(figures["latency_by_method"]) == 8


@pytest.mark.subprocess
@pytest.mark.usefixtures("small_blocks")  # 1 MiB: several blocks of app.log
@pytest.mark.parametrize("blocksize", ["1MiB", "16MiB"])
@pytest.mark.parametrize("mode", ["sync", "threading", "process"])
def test_report_equals_the_plain_reference(realistic: Inputs, mode: str, blocksize: str) -> None:
    report = ingest(realistic.folder, "--mode", mode, "--worker", "2", "--blocksize", blocksize)
    assert report["inputs"]["formats"] == {"default": 1, "json": 1}
    assert compare(report, realistic.ref) == []


# ----------------------------------------------------------------------------------------------
# The comparison itself: exact figures must match; approximate ones go through the hook


def _as_json(value: Any) -> Any:
    """A deep copy with floats rounded as the JSON report rounds them."""
    if isinstance(value, float):
        return rounded(value)
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    return value


def _flagged(report: dict[str, Any], key: str, bound: str = "stated") -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(report))
    copy.setdefault("exact", {})[key] = False
    copy.setdefault("error_bounds", {})[key] = bound
    return copy


def test_compare_catches_small_differences_and_honours_the_flags(realistic: Inputs) -> None:
    ref = realistic.ref
    report: dict[str, Any] = {"lines": dict(ref.lines), "top_paths": None, "user_agents": {}}
    for key, value in ref.figures.items():
        head = _as_json(value[:TOP] if key in TOP_KEYS else value)
        if "." in key:
            report["user_agents"][key.split(".")[1]] = head
        else:
            report[key] = head
    assert compare(report, ref) == []
    # a percentile off by 0.5 %: an exact key fails, the same key flagged approximate passes
    report["latency_by_method"]["GET"]["p99"] *= 1.005
    assert compare(report, ref) == [
        f"latency_by_method.GET.p99: {report['latency_by_method']['GET']['p99']!r} != "
        f"{ref.figures['latency_by_method']['GET']['p99']!r}"
    ]
    assert compare(_flagged(report, "latency_by_method"), ref) == []
    assert compare(_flagged(report, "latency_by_method", bound=""), ref) == [
        "latency_by_method: flagged approximate without an error_bounds entry"
    ]
    report["latency_by_method"]["GET"]["p99"] *= 1.01  # now 1.5 % off: beyond the bound
    assert len(compare(_flagged(report, "latency_by_method"), ref)) == 1
    report["latency_by_method"] = _as_json(ref.figures["latency_by_method"])
    # top lists flagged approximate need a count_error that covers the true count
    rows = report["top_paths"]
    rows[3]["count"] += 2
    assert compare(report, ref) == [
        f"top_paths[3].count: {rows[3]['count']} != {rows[3]['count'] - 2}"
    ]
    flagged = _flagged(report, "top_paths")
    assert any("no count_error" in p for p in compare(flagged, ref))
    for row in flagged["top_paths"]:
        row["count_error"] = 2 if row is flagged["top_paths"][3] else 0
    assert compare(flagged, ref) == []
    flagged["top_paths"][3]["count_error"] = 1
    assert compare(flagged, ref) == [
        f"top_paths[3] {rows[3]['path']!r}: count {rows[3]['count']} vs {rows[3]['count'] - 2} +- 1"
    ]
    # the counts of requests are never allowed to be approximate
    assert compare(_flagged(report, "requests"), ref)[0] == (
        "requests: counts must be exact, the report flags them approximate"
    )
    report["user_agents"]["unique"] = round(ref.figures["user_agents.unique"] * 1.03)
    assert len(compare(report, ref)) == 2  # top_paths[3].count and the unique count
    assert len(compare(_flagged(report, "user_agents.unique"), ref)) == 1


# ----------------------------------------------------------------------------------------------
# Streamed (compressed) inputs: a chunk of a few bytes, so lines cross every chunk boundary


@pytest.fixture(scope="module")
def compressed(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """One gzip and one bz2 file of realistic default-grammar lines, and their reference."""
    folder = tmp_path_factory.mktemp("compressed")
    texts = []
    for index, suffix in enumerate((".gz", ".bz2")):
        plain = folder / f"plain-{index}.log"
        generate_logs(plain, lines=CARRY_LINES, seed=31 + index, cardinality="realistic",
                      malformed_rate=0.01)  # fmt: skip
        data = plain.read_bytes()
        plain.unlink()
        module = __import__("gzip" if suffix == ".gz" else "bz2")
        (folder / "in").mkdir(exist_ok=True)
        (folder / "in" / f"part-{index}.log{suffix}").write_bytes(module.compress(data))
        texts.append((data.decode("utf-8"), parse_default))
    return Inputs(folder / "in", reference(texts))


#: Lines of each compressed file. Today a block is parsed and aggregated once per piece the
#: stream yields, and a chunk shorter than a line yields about one piece per line (some 20 ms
#: each), so the files stay small.
CARRY_LINES = 100


@pytest.mark.parametrize(("mode", "chunk"), [("sync", 3), ("threading", 23), ("sync", 4096)])
def test_streamed_chunks_carry_partial_lines(
    compressed: Inputs, monkeypatch: pytest.MonkeyPatch, mode: str, chunk: int
) -> None:
    """With 3 or 23 bytes, every line of these files (malformed ones included) is longer than
    the chunk, so each crosses at least one chunk boundary; with 4096, a chunk holds many lines
    and ends inside one. A lost or doubled carry changes the counts. (Process workers would not
    see the patched reader, hence sync and threading.)"""
    shortest = min(
        len(line)
        for path in compressed.folder.iterdir()
        for line in read_compressed(path).split(b"\n")[:-1]
    )
    assert shortest > chunk or chunk == 4096
    calls: list[int] = []

    def small_chunks(*args: Any, **kwargs: Any) -> Iterator[Any]:
        calls.append(chunk)
        kwargs["chunk_size"] = chunk
        return line_pieces(*args, **kwargs)

    monkeypatch.setattr(read_module, "line_pieces", small_chunks)
    report = ingest(compressed.folder, "--mode", mode, "--worker", "2")
    assert len(calls) == 2  # one stream per file, each through the patched reader
    assert compare(report, compressed.ref) == []


def read_compressed(path: Path) -> bytes:
    module = __import__("gzip" if path.suffix == ".gz" else "bz2")
    data: bytes = module.decompress(path.read_bytes())
    return data
