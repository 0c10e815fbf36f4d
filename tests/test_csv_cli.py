"""``--format csv --output DIR``: every file read back (``csv`` and pandas) equals the JSON report
of the same run; the directory is checked before computing and written whole or not at all."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.reporting.text import json_document

SAMPLE = Path(__file__).parent / "data" / "apache2-real" / "combined-D.log"
#: Apache's combined_D (tests/data/apache2-real/apache2.conf.in): latencies in microseconds.
COMBINED_D = '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D'

#: File -> the JSON path of its table, written out here rather than derived by the code's rules.
INGEST_TABLES: dict[str, tuple[str, ...]] = {
    "inputs_failed.csv": ("inputs", "failed"),
    "lines_malformed_samples.csv": ("lines", "malformed_samples"),
    "latency_histogram.csv": ("latency_histogram",),
    "latency_by_method.csv": ("latency_by_method",),
    "latency_by_status_class.csv": ("latency_by_status_class",),
    "top_paths.csv": ("top_paths",),
    "top_errors.csv": ("top_errors",),
    "user_agents_top.csv": ("user_agents", "top"),
    "user_agents_browsers.csv": ("user_agents", "browsers"),
    "user_agents_os.csv": ("user_agents", "os"),
    "user_agents_devices.csv": ("user_agents", "devices"),
    "visitors_by_day.csv": ("visitors", "by_day"),
    "hosts.csv": ("hosts",),
    "referrers_sites.csv": ("referrers", "sites"),
    "referrers_urls.csv": ("referrers", "urls"),
    "timeline.csv": ("timeline", "rows"),
    "notes.csv": ("notes",),
}
#: Tables of a format with a response size (Apache's %O is not read as one).
BANDWIDTH_TABLES: dict[str, tuple[str, ...]] = {
    "bandwidth_by_day.csv": ("bandwidth", "by_day"),
    "bandwidth_top_paths.csv": ("bandwidth", "top_paths"),
}
PRIME_TABLES: dict[str, tuple[str, ...]] = {
    "ranges.csv": ("ranges",),
    "first_primes.csv": ("first_primes",),
}
#: Headers as a user reads them (units where the JSON key has none).
HEADERS = {
    "top_paths.csv": ["path", "count", "share", "mean_ms", "p50_ms", "p95_ms", "p99_ms"],
    "latency_by_method.csv": [
        "method",
        "count",
        "mean_ms",
        "median_ms",
        "min_ms",
        "max_ms",
        "std_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
    ],
    "latency_by_status_class.csv": [
        "status_class",
        "count",
        "mean_ms",
        "median_ms",
        "min_ms",
        "max_ms",
        "std_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
    ],
    "latency_histogram.csv": ["lo_ms", "hi_ms", "count"],
    "timeline.csv": ["start", "requests", "status_5xx", "latency_p50_ms", "latency_p95_ms"],
    "user_agents_top.csv": ["user_agent", "count"],
    "ranges.csv": [
        "name",
        "start",
        "end",
        "count",
        "density",
        "smallest",
        "largest",
        "twin_pairs",
        "max_gap_gap",
        "max_gap_after",
    ],
    "first_primes.csv": ["value"],
}


def _run_csv(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, dict[str, Any]]:
    """Run the CLI with ``--format csv``; also return the JSON document of that same run."""
    seen: list[dict[str, Any]] = []

    def capture(result: Any) -> Any:
        seen.append(json_document(result))
        return seen[-1]

    monkeypatch.setattr("pipeline.cli.json_document", capture)
    result = CliRunner().invoke(cli, [*args, "--format", "csv", "--mode", "sync"])
    assert len(seen) == 1, result.stderr
    return result.exit_code, result.stderr, seen[0]


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _leaves(value: Any, path: tuple[str, ...], skip: set[tuple[str, ...]]) -> Iterator[Any]:
    """(dotted path, scalar) of every scalar outside the tables ``skip``."""
    if path in skip:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key), skip)
    else:
        yield ".".join(path), value


def _json_rows(table: Any, header: list[str]) -> list[list[Any]]:
    """A JSON table as rows of values in column order: a mapping's key first, objects inside a
    row flattened, a list of scalars as one column."""
    if isinstance(table, dict):
        return [[key, *row.values()] for key, row in table.items()]
    rows: list[list[Any]] = []
    for item in table:
        if not isinstance(item, dict):
            rows.append([item])
            continue
        flat: list[Any] = []
        for value in item.values():
            flat.extend(value.values() if isinstance(value, dict) else [value])
        rows.append(flat)
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_number(cell: Any, value: Any) -> bool:
    if value is None:
        return isinstance(cell, float) and math.isnan(cell)
    if isinstance(value, bool | str):
        return bool(cell == value)
    return bool(float(cell) == float(value))


def _check_directory(
    out: Path, document: dict[str, Any], tables: dict[str, tuple[str, ...]]
) -> None:
    assert sorted(os.listdir(out)) == sorted([*tables, "summary.csv"])
    for name, path in tables.items():
        with open(out / name, encoding="utf-8", newline="") as handle:
            assert all(line.endswith("\r\n") for line in handle.read().splitlines(keepends=True))
        with open(out / name, encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        if not _at(document, path):  # an empty list: a header-only table of one column
            assert (header, rows) == (["value"], [])
        elif name in HEADERS:
            assert header == HEADERS[name]
        expected = _json_rows(_at(document, path), header)
        assert rows == [[_text(value) for value in row] for row in expected], name
        assert all(len(row) == len(header) for row in expected)
        frame = pd.read_csv(out / name, keep_default_na=True)
        assert list(frame.columns) == header
        assert len(frame) == len(expected)
        for row_index, row in enumerate(expected):
            for column, value in zip(header, row, strict=True):
                assert _same_number(frame[column].iloc[row_index], value), (name, column)
    with open(out / "summary.csv", encoding="utf-8", newline="") as handle:
        header, *pairs = list(csv.reader(handle))
    assert header == ["key", "value"]
    expected_pairs = list(_leaves(document, (), set(tables.values())))
    assert pairs == [[key, _text(value)] for key, value in expected_pairs]
    summary = pd.read_csv(out / "summary.csv", dtype={"key": str, "value": str})
    assert list(summary["key"]) == [key for key, _ in expected_pairs]


def test_ingest_csv_equals_its_json_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "tables"
    code, err, document = _run_csv(
        monkeypatch, "ingest", "--path", str(SAMPLE), "--log-format", COMBINED_D,
        "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert document["latency_ms"]["count"] == 20 and document["timeline"]["rows"]
    assert document["latency_by_method"] and document["top_paths"][0]["p95"] is not None
    _check_directory(out, document, INGEST_TABLES)
    summary = pd.read_csv(out / "summary.csv", index_col="key")["value"]
    assert summary["latency_ms.p95"] == str(document["latency_ms"]["p95"])
    assert summary["requests.by_method.GET"] == str(document["requests"]["by_method"]["GET"])


def test_prime_csv_equals_its_json_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "primes"
    code, err, document = _run_csv(
        monkeypatch, "prime", "--range", "1:100000", "--range", "1000000000:1000001000",
        "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert [row["count"] for row in document["ranges"]] == [9592, 49]
    _check_directory(out, document, PRIME_TABLES)


def test_text_from_the_log_is_written_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commas, quotes, non-ASCII and spreadsheet formulas in paths and agents survive exactly."""
    agents = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "Bot, «ünï»"]
    lines = [
        f'10.0.0.1 - - [07/Dec/2026:05:52:55 +0000] "GET /a,b;c=d HTTP/1.1" 200 5 "-" '
        f'"{agent.replace(chr(34), chr(92) + chr(34))}"\n'
        for agent in agents
    ]
    log = tmp_path / "x.log"
    log.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    code, err, document = _run_csv(
        monkeypatch, "ingest", "--path", str(log), "--log-format", "combined", "--output", str(out)
    )
    assert code == 0, err
    with open(out / "user_agents_top.csv", encoding="utf-8", newline="") as handle:
        read = [row[0] for row in list(csv.reader(handle))[1:]]
    assert sorted(read) == sorted(row["user_agent"] for row in document["user_agents"]["top"])
    assert sorted(read) == sorted(agent.replace('"', '\\"') for agent in agents)  # as logged
    raw = (out / "user_agents_top.csv").read_bytes().decode("utf-8")
    assert '"=HYPERLINK(\\""http://x\\"",\\""y\\"")",1\r\n' in raw  # RFC 4180: "" inside quotes
    frame = pd.read_csv(out / "top_paths.csv")
    assert list(frame["path"]) == ["/a,b;c=d"]
    # no latency in this format: the latency mappings are empty, and an empty mapping has no file
    assert document["latency_by_method"] == document["latency_by_status_class"] == {}
    without = {
        name: path for name, path in INGEST_TABLES.items() if not name.startswith("latency_by_")
    }
    without.update(BANDWIDTH_TABLES)
    _check_directory(out, document, without)


def _refused(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--mode", "sync"])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "Error: --format csv needs --output DIR (it writes one CSV file per table)"),
        (
            ("--output", "-"),
            "Error: --format csv cannot write to standard output (--output -); give a DIR",
        ),
        (
            ("--output", "out", "--follow"),
            "Error: --follow cannot write --format csv; use --format json or text",
        ),
    ],
)
def test_csv_usage_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: tuple[str, ...], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _refused("ingest", "--path", str(SAMPLE), "--format", "csv", *extra)
    assert (code, out, err) == (2, "", message + "\n")
    assert os.listdir(tmp_path) == []


def test_a_directory_that_is_not_empty_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, stdout, err = _refused(
        "ingest", "--path", str(SAMPLE), "--format", "csv", "--output", str(out)
    )
    assert (code, stdout) == (2, "")
    assert err == f"Error: cannot write the CSV tables to {out}: it is not empty\n"
    assert os.listdir(out) == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["out"]


@pytest.mark.parametrize(
    ("target", "reason"), [("file", "not a directory"), ("missing/out", "no such directory")]
)
def test_an_unusable_directory_is_refused(tmp_path: Path, target: str, reason: str) -> None:
    (tmp_path / "file").write_text("x")
    code, stdout, err = _refused(
        "ingest", "--path", str(SAMPLE), "--format", "csv", "--output", str(tmp_path / target)
    )
    assert (code, stdout) == (2, "")
    assert err == f"Error: cannot write the CSV tables to {tmp_path / target}: {reason}\n"
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_another_output_inside_the_directory_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = _refused(
        "ingest", "--path", str(SAMPLE), "--format", "csv", "--output", str(out),
        "--malformed-out", str(out / "bad.txt"),
    )  # fmt: skip
    assert code == 2
    assert err == (
        f"Error: --malformed-out {out / 'bad.txt'} is inside --output {out}, which must stay "
        "empty until the CSV tables are written; put it elsewhere\n"
    )
    assert os.listdir(tmp_path) == []


def test_an_empty_directory_is_filled_and_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o750)
    out.chmod(0o750)
    code, _, err = _refused(
        "ingest", "--path", str(SAMPLE), "--format", "csv", "--output", str(out)
    )
    assert code == 0, err
    assert "summary.csv" in os.listdir(out)
    assert out.stat().st_mode & 0o777 == 0o750
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no temporary left


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    """A disk failing on the third file: exit 2, DIR as it was (missing or empty), no temporary."""
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    original = os.fsync
    calls: list[int] = []

    def failing(descriptor: int) -> None:
        calls.append(descriptor)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        original(descriptor)

    monkeypatch.setattr(os, "fsync", failing)
    code, stdout, err = _refused(
        "ingest", "--path", str(SAMPLE), "--format", "csv", "--output", str(out)
    )
    assert (code, stdout) == (2, "")
    assert err.splitlines()[-1] == (
        f"Error: cannot write the CSV tables to {out}: lines_malformed_samples.csv: "
        "No space left on device"
    )
    assert sorted(os.listdir(tmp_path)) == (["out"] if existing else [])
    assert not existing or os.listdir(out) == []


@pytest.mark.parametrize("output_format", ["text", "json", "html"])
def test_a_directory_is_still_refused_for_a_one_file_report(
    tmp_path: Path, output_format: str
) -> None:
    """--output accepts a directory for csv only; the other formats refuse it in one line."""
    code, stdout, err = _refused(
        "ingest", "--path", str(SAMPLE), "--format", output_format, "--output", str(tmp_path)
    )
    assert (code, stdout) == (2, "")
    assert err == f"Error: cannot write --output to {tmp_path}: it is a directory\n"
    assert os.listdir(tmp_path) == []


def test_a_directory_inside_the_input_directory_warns(tmp_path: Path) -> None:
    """As for every output: the next run over the input directory would read the CSV files."""
    (tmp_path / "a.log").write_text(SAMPLE.read_text())
    out = tmp_path / "tables"
    code, _, err = _refused(
        "ingest", "--path", str(tmp_path), "--format", "csv", "--output", str(out)
    )
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == [
        f"WARNING --output {out} is inside the input directory {tmp_path}: "
        "the next run over it will read it"
    ]
    assert (out / "summary.csv").exists()
