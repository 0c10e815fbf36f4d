"""``convert``: the dataset read back equals a plain ``re`` parse of the lines, row by row.

The reference parses each line with the hand-written patterns of
``tests/test_ingest_formats_reference.py`` (written from docs/formats.md, sharing no code with
``pipeline.ingest``) and builds the rows the dataset must hold, typed as docs/convert.md says;
the dataset is read back with pyarrow (hive partitioning) and with pandas, sorted, and compared
whole, with its exact schema, its partition directories (the UTC days of the lines) and the
report's counts.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from pipeline import ExecutionSettings
from pipeline.errors import InputError, OutputError
from pipeline.ingest.convert.job import run_convert
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.parse import parse_text
from pipeline.loggen.generate import generate_logs
from pipeline.reporting import temporaries
from tests.conftest import SMALL_BLOCKSIZE
from tests.test_ingest_formats_reference import (
    COMBINED_RE,
    Malformed,
    agent_of,
    clf_time,
    lines_of,
    request_parts,
    size_of,
)
from tests.test_ingest_reference import LINE as DEFAULT_LINE

pytestmark = pytest.mark.usefixtures("small_blocks")

SYNC = ExecutionSettings(mode="sync")
THREADS = ExecutionSettings(mode="threading", workers=2)

#: The dataset's columns and types, written out again from docs/convert.md.
WANT_SCHEMA = [
    ("method", "string"),
    ("path", "string"),
    ("status", "int16"),
    ("latency_ms", "double"),
    ("bytes", "int64"),
    ("time", "timestamp[us, tz=UTC]"),
    ("user_agent", "string"),
    ("client", "string"),
    ("referer", "string"),
    ("host", "string"),
]
COLUMNS = [name for name, _ in WANT_SCHEMA]


def _utc(millis: int | None) -> datetime | None:
    if millis is None:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


def ref_combined(line: str) -> dict[str, Any] | None:
    """A combined line as a dataset row, or None when it is malformed."""
    match = COMBINED_RE.fullmatch(line)
    if not match:
        return None
    client, _, when, request, status, size, referer, agent = match.groups()
    try:
        millis, sent = clf_time(when), size_of(size)
    except Malformed:
        return None
    method, path = request_parts(request)
    return {
        "method": method,
        "path": path,
        "status": int(status),
        "latency_ms": None,
        "bytes": sent,
        "time": _utc(millis),
        "user_agent": agent_of(agent),
        "client": _optional(client),
        "referer": _optional(referer),
        "host": None,
    }


def _optional(text: str) -> str | None:
    """An optional string field: ``-`` and ``""`` are none (docs/formats.md)."""
    return None if text in ("-", "") else text


def ref_default(line: str) -> dict[str, Any] | None:
    """A line of the project's grammar as a dataset row (no time, no size: null)."""
    match = DEFAULT_LINE.fullmatch(line)
    if not match or not 100 <= int(match.group(3)) <= 599 or float(match.group(4)) > 1e9:
        return None
    method, path, status, value, agent = match.groups()
    return {
        "method": method,
        "path": path,
        "status": int(status),
        "latency_ms": float(value),
        "bytes": None,
        "time": None,
        "user_agent": agent,
        "client": None,
        "referer": None,
        "host": None,
    }


def _day(row: dict[str, Any]) -> str | None:
    return row["time"].strftime("%Y-%m-%d") if row["time"] is not None else None


def _key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(repr(row[name]) for name in [*COLUMNS, "day"] if name in row)


def read_rows(dataset: Path) -> tuple[pa.Schema, list[dict[str, Any]]]:
    """The dataset read back with pyarrow (hive partitioning): its files' schema, its rows
    sorted."""
    table = ds.dataset(dataset, format="parquet", partitioning="hive").to_table()
    file_schema = ds.dataset(dataset, format="parquet").schema
    rows = table.to_pylist()
    return file_schema, sorted(rows, key=_key)


def reference(text: str, parse: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows (with their ``day`` when they have a time) and the malformed lines."""
    rows, bad = [], []
    for line in lines_of(text):
        row = parse(line)
        if row is None:
            bad.append(line)
        else:
            rows.append(row)
    return rows, bad


@pytest.fixture(scope="module")
def combined_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 combined lines over three days, 1 % malformed (bad times, statuses, garbage)."""
    path = tmp_path_factory.mktemp("combined") / "access.log"
    generate_logs(path, lines=3000, malformed_rate=0.01, log_format="combined", period="3d", seed=7)
    return path


def _schema_of(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(field.name, str(field.type)) for field in schema]


@pytest.mark.parametrize("settings", [SYNC, THREADS], ids=["sync", "threading"])
def test_combined_dataset_equals_the_reference(
    combined_log: Path, tmp_path: Path, settings: ExecutionSettings
) -> None:
    text = combined_log.read_text()
    want, bad = reference(text, ref_combined)
    dataset = tmp_path / "out"
    options = IngestOptions(blocksize=SMALL_BLOCKSIZE)
    result = run_convert(str(combined_log), settings, str(dataset), options)
    file_schema, rows = read_rows(dataset)
    assert _schema_of(file_schema) == WANT_SCHEMA
    assert rows == sorted([{**row, "day": _day(row)} for row in want], key=_key)
    days = sorted({row["time"].strftime("%Y-%m-%d") for row in want})
    assert sorted(os.listdir(dataset)) == [f"day={day}" for day in days]
    assert list(result.partitions) == days
    assert (result.written, result.malformed, result.filtered) == (len(want), len(bad), 0)
    assert result.to_dict()["lines"]["total"] == len(lines_of(text))
    assert result.parquet_files == len(list(dataset.rglob("*.parquet")))
    assert result.dataset_bytes == sum(p.stat().st_size for p in dataset.rglob("*.parquet"))
    assert [entry.text for entry in result.malformed_samples] == bad[:5]


def test_pandas_reads_the_same_rows_and_types(combined_log: Path, tmp_path: Path) -> None:
    want, _ = reference(combined_log.read_text(), ref_combined)
    dataset = tmp_path / "out"
    run_convert(str(combined_log), SYNC, str(dataset), IngestOptions(blocksize=SMALL_BLOCKSIZE))
    frame = pd.read_parquet(dataset, dtype_backend="pyarrow")
    assert str(frame["status"].dtype) == "int16[pyarrow]"
    assert str(frame["time"].dtype) == "timestamp[us, tz=UTC][pyarrow]"
    got = frame[COLUMNS].sort_values(["time", "path", "status", "bytes"], kind="stable")
    expected = pd.DataFrame(want, columns=COLUMNS)
    expected = expected.sort_values(["time", "path", "status", "bytes"], kind="stable")
    for name in COLUMNS:
        assert [None if pd.isna(v) else v for v in got[name]] == [
            None if pd.isna(v) else v for v in expected[name]
        ], name


def test_filters_remove_what_the_reference_filters(combined_log: Path, tmp_path: Path) -> None:
    want, bad = reference(combined_log.read_text(), ref_combined)
    since = datetime(2026, 11, 28, 6, tzinfo=timezone.utc)

    def kept(row: dict[str, Any]) -> bool:
        return (
            row["time"] >= since
            and (row["status"] // 100 == 2 or row["status"] == 404)
            and re.search("^/api/", row["path"].split("?", 1)[0]) is not None
        )

    options = IngestOptions(
        blocksize=SMALL_BLOCKSIZE, since="2026-11-28T06:00", status="2xx,404", path_regex="^/api/"
    )
    dataset = tmp_path / "out"
    result = run_convert(str(combined_log), SYNC, str(dataset), options)
    _, rows = read_rows(dataset)
    kept_rows = [row for row in want if kept(row)]
    assert kept_rows  # the filter keeps some lines and removes others
    assert rows == sorted([{**row, "day": _day(row)} for row in kept_rows], key=_key)
    assert (result.written, result.filtered, result.malformed) == (
        len(kept_rows),
        len(want) - len(kept_rows),
        len(bad),
    )


def test_a_format_without_time_is_not_partitioned(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    generate_logs(log, lines=2000, malformed_rate=0.02, seed=3)
    want, bad = reference(log.read_text(), ref_default)
    dataset = tmp_path / "out"
    result = run_convert(str(log), SYNC, str(dataset), IngestOptions(blocksize=SMALL_BLOCKSIZE))
    assert all(p.parent == dataset for p in dataset.rglob("*.parquet"))
    file_schema, rows = read_rows(dataset)
    assert _schema_of(file_schema) == WANT_SCHEMA
    assert rows == sorted(want, key=_key)
    assert (result.partitioned_by, result.partitions, result.malformed) == (None, (), len(bad))


def test_json_lines_without_latency_or_time_give_nulls(tmp_path: Path) -> None:
    records = [
        {"method": "GET", "path": "/a", "status": 200, "latency_ms": 1.5, "bytes": 0,
         "time": "2026-11-28T23:59:59.999Z"},
        {"method": "PUT", "path": "/b?x=1", "status": 201, "bytes": 7},
        {"method": "GET", "path": "/c", "status": 500, "latency_ms": 2,
         "time": "2026-11-29T00:00:00+01:00"},
    ]  # fmt: skip
    log = tmp_path / "app.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in records))
    dataset = tmp_path / "out"
    run_convert(str(log), SYNC, str(dataset))
    rows = {row["path"]: row for row in read_rows(dataset)[1]}
    assert sorted(os.listdir(dataset)) == ["day=2026-11-28", "day=__HIVE_DEFAULT_PARTITION__"]
    assert rows["/b?x=1"]["latency_ms"] is None
    assert rows["/b?x=1"]["time"] is None and rows["/b?x=1"]["day"] is None
    assert rows["/a"]["bytes"] == 0 and rows["/b?x=1"]["bytes"] == 7
    assert rows["/c"]["time"] == datetime(2026, 11, 28, 23, tzinfo=timezone.utc)
    assert rows["/a"]["time"] == datetime(2026, 11, 28, 23, 59, 59, 999000, tzinfo=timezone.utc)


def test_untimed_rows_of_a_partitioned_dataset_are_in_the_null_day(
    combined_log: Path, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log").write_bytes(combined_log.read_bytes())
    generate_logs(logs / "app.log", lines=300, seed=5)
    timed, _ = reference(combined_log.read_text(), ref_combined)
    untimed, _ = reference((logs / "app.log").read_text(), ref_default)
    result = run_convert(str(logs), SYNC, str(tmp_path / "out"))
    _, rows = read_rows(tmp_path / "out")
    want = [{**row, "day": _day(row)} for row in timed + untimed]
    assert rows == sorted(want, key=_key)
    assert result.partitions[-1] == "__HIVE_DEFAULT_PARTITION__"
    assert list(result.notes) == [
        "format 'combined' has no latency field: latency_ms is null in its rows",
        "format 'default' has no time field: its rows are in day=__HIVE_DEFAULT_PARTITION__",
    ]


def test_a_format_without_agent_or_size_has_null_columns(tmp_path: Path) -> None:
    log = tmp_path / "common.log"
    log.write_text('10.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 -\n')
    dataset = tmp_path / "out"
    run_convert(str(log), SYNC, str(dataset), IngestOptions(log_format="common"))
    (row,) = read_rows(dataset)[1]
    assert (row["user_agent"], row["bytes"], row["latency_ms"]) == (None, 0, None)
    log.write_text("[GET] /x, status=200, time=1ms user-agent=-\n")
    run_convert(str(log), SYNC, str(tmp_path / "out2"))
    (row,) = read_rows(tmp_path / "out2")[1]
    assert (row["bytes"], row["time"], row["user_agent"]) == (None, None, "-")


def test_malformed_out_holds_every_malformed_line(combined_log: Path, tmp_path: Path) -> None:
    _, bad = reference(combined_log.read_text(), ref_combined)
    out = tmp_path / "bad.txt"
    options = IngestOptions(blocksize=SMALL_BLOCKSIZE, malformed_out=str(out))
    run_convert(str(combined_log), SYNC, str(tmp_path / "out"), options)
    assert out.read_text().splitlines() == [f"{combined_log}\t{line}" for line in bad]


def test_an_existing_dataset_is_refused_and_untouched(combined_log: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "out"
    dataset.mkdir()
    (dataset / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"^--dataset .*/out already exists; give a new"):
        run_convert(str(combined_log), SYNC, str(dataset))
    assert os.listdir(dataset) == ["keep.txt"]
    with pytest.raises(OutputError, match=r"^cannot create --dataset .*: .*/nope is not a dir"):
        run_convert(str(combined_log), SYNC, str(tmp_path / "nope" / "out"))
    with pytest.raises(InputError, match=r"^convert needs --dataset DIR"):
        run_convert(str(combined_log), SYNC, None)
    assert os.listdir(tmp_path) == ["out"]


def test_a_failure_mid_write_leaves_no_dataset_and_no_temporary(
    combined_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing task raises while another thread is about to write a partition: that write
    ends after the error reached the job, which must wait for it before removing the
    temporary directory (else the write creates it again)."""
    import dask.dataframe.io.parquet.arrow as dask_arrow

    calls: list[int] = []
    in_flight: list[int] = []
    real_parse, real_write = parse_text, dask_arrow._write_partitioned

    def failing(text: Any, fmt: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:  # some blocks are parsed (and written) before this one
            for _ in range(500):  # raise while another thread is in a write
                if in_flight:
                    break
                time.sleep(0.01)
            raise RuntimeError("disk on fire")
        return real_parse(text, fmt)

    def slow_write(*args: Any, **kwargs: Any) -> Any:
        in_flight.append(1)
        try:
            time.sleep(0.5)
            return real_write(*args, **kwargs)
        finally:
            in_flight.pop()

    monkeypatch.setattr("pipeline.ingest.convert.tasks.parse_text", failing)
    monkeypatch.setattr(dask_arrow, "_write_partitioned", slow_write)
    options = IngestOptions(blocksize=SMALL_BLOCKSIZE)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_convert(str(combined_log), THREADS, str(tmp_path / "out"), options)
    for _ in range(100):  # the writes still running (none, once the job has waited for them)
        if not in_flight:
            break
        time.sleep(0.05)
    assert os.listdir(tmp_path) == []
    assert temporaries._PATHS == {}


def test_an_unreadable_input_is_a_failed_input(combined_log: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(combined_log.read_bytes())
    (logs / "b.log.gz").write_bytes(gzip.compress(combined_log.read_bytes())[:-40])
    want, _ = reference(combined_log.read_text(), ref_combined)
    result = run_convert(str(logs), SYNC, str(tmp_path / "out"))
    assert [failed.path for failed in result.failed_inputs] == [str(logs / "b.log.gz")]
    assert result.written == len(read_rows(tmp_path / "out")[1]) == len(want)


def test_standard_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^convert reads files, not standard input"):
        run_convert("-", SYNC, str(tmp_path / "out"))


def rows_of(dataset: Path) -> Sequence[dict[str, Any]]:
    """The rows of a dataset (for the modes test of tests/test_convert_cli.py)."""
    return read_rows(dataset)[1]


def test_a_block_that_fails_after_some_pieces_gives_no_rows(
    combined_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = combined_log.read_bytes()
    half = data[: data.index(b"\n", len(data) // 2) + 1]

    def pieces(block: Any, overlong: Any = None) -> Any:
        yield half  # parsed, then dropped: the file's read fails after it
        raise EOFError("Compressed file ended before the end-of-stream marker")

    monkeypatch.setattr("pipeline.ingest.read.block_bytes", pieces)
    result = run_convert(str(combined_log), SYNC, str(tmp_path / "out"))
    assert [(f.path, f.error) for f in result.failed_inputs] == [
        (str(combined_log), "EOFError: Compressed file ended before the end-of-stream marker")
    ]
    assert result.written == len(read_rows(tmp_path / "out")[1]) == 0


def _masked(client: str | None) -> str | None:
    """GoAccess's default --anonymize-ip: IPv4 to /24, IPv6 to /64; no address: none."""
    if client is None:
        return None
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return None
    bits = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False).network_address)


def test_anonymize_ip_masks_every_client_and_quotes_no_line(
    combined_log: Path, tmp_path: Path
) -> None:
    want, bad = reference(combined_log.read_text(), ref_combined)
    out = tmp_path / "bad.txt"
    options = IngestOptions(blocksize=SMALL_BLOCKSIZE, anonymize_ip=True, malformed_out=str(out))
    result = run_convert(str(combined_log), SYNC, str(tmp_path / "ds"), options)
    masked = [{**row, "client": _masked(row["client"]), "day": _day(row)} for row in want]
    assert read_rows(tmp_path / "ds")[1] == sorted(masked, key=_key)
    assert any(":" in str(row["client"]) for row in masked)  # IPv6 clients too
    assert (result.malformed, result.malformed_samples) == (len(bad), ())
    assert out.read_text().splitlines() == [f"{combined_log}\t{line}" for line in bad]
