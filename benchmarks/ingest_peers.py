"""The peers as their typical users write them, for combined-format logs (``benchmarks ingest``).

:mod:`benchmarks.bench_ingest` times DuckDB and Polars with a *strict* pattern (alternations for
escaped quotes and request lines that are not ``METHOD TARGET PROTOCOL``), which counts exactly
the lines we count. A DuckDB or Polars user writes the *plainest correct* pattern instead: one
``regexp_extract``/``str.extract_groups`` with one group per field and ``[^"]*`` for quoted
fields. That pattern is faster and drops the lines nginx writes for scanners (a request line
``"-"`` or raw TLS bytes): what this module's engines count is therefore cross-checked against
our figures *without* method ``-`` (see :func:`without_unparsed_requests`), which must then agree
exactly. Each plain engine computes what the issue's measurement did: per method count, mean,
median, min, max, std and p95 of the latency, count per status, distinct agents, first and last
time (parsed with ``strptime``).

GoAccess (Debian's ``goaccess``, single-threaded C: the tool most people run on such a log) reads
the same file with the equivalent ``--log-format`` and writes its JSON report; its valid request
count is cross-checked against our parsed lines.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.bench_ingest import (
    _CLF_TIME,
    _NO_DELIMITER,
    Case,
    Figures,
    duckdb_figures,
    polars_figures,
)

#: The plainest correct pattern for ``generate-logs --log-format nginx-timed`` (combined +
#: ``rt=$request_time``): the issue's pattern without the upstream timings our generated format
#: does not write, ``-`` allowed for the size (Apache's ``%b``; our generator writes it too) and
#: the status limited to 100-599 as HTTP does (``\d{3}`` would count a status 999 line).
TIMED_PLAIN = (
    r'^(\S+) - (\S+) \[([^\]]+)\] "([A-Z]+) (\S+) (\S+)" ([1-5]\d\d) (\d+|-) "([^"]*)" "([^"]*)" '
    r"rt=(\S+)$"
)
#: The same for plain combined (no latency).
COMBINED_PLAIN = (
    r'^(\S+) - (\S+) \[([^\]]+)\] "([A-Z]+) (\S+) (\S+)" ([1-5]\d\d) (\d+|-) "([^"]*)" "([^"]*)"$'
)
_NAMES = ["ip", "user", "t", "m", "p", "proto", "s", "b", "ref", "ua", "rt"]


def plain_pattern(case: Case) -> str | None:
    """The plain pattern of a combined case, None for the project's grammar (already plain)."""
    if case.log_format == "nginx-timed":
        return TIMED_PLAIN
    if case.log_format == "combined":
        return COMBINED_PLAIN
    return None


def without_unparsed_requests(ours: Figures, path: Path) -> Figures:
    """Our figures restricted to the lines a plain pattern can match: method ``-`` (a request
    line that is not ``METHOD TARGET PROTOCOL``) removed; statuses are then not comparable."""
    dropped = ours.by_method.get("-", 0)
    return Figures(
        parsed=ours.parsed - dropped,
        by_method={k: v for k, v in ours.by_method.items() if k != "-"},
        by_status={},
        latency={k: v for k, v in ours.latency.items() if k != "-"},
    )


def duckdb_plain(case: Case) -> Callable[[Path], Figures]:
    """DuckDB: one ``regexp_extract`` of the plain pattern into a struct per line."""
    pattern = plain_pattern(case)
    assert pattern is not None
    names = _NAMES if "rt=" in pattern else _NAMES[:-1]
    latency = "try_cast(r.rt AS DOUBLE) * 1000" if "rt=" in pattern else "NULL::DOUBLE"

    def run(path: Path) -> Figures:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads TO {os.cpu_count()}")
        fields = f"""
            WITH parsed AS (
              SELECT regexp_extract(line, '{pattern}', {names}) AS r
              FROM read_csv('{path}', columns={{'line': 'VARCHAR'}}, header=false,
                            delim='{_NO_DELIMITER}', quote='', escape='', auto_detect=false))
            SELECT r.m AS method, r.s::SMALLINT AS status, {latency} AS latency, r.ua AS ua,
              try_strptime(r.t, '{_CLF_TIME}') AS time
            FROM parsed WHERE r.m <> '' AND time IS NOT NULL"""
        figures = replace(duckdb_figures(con, fields), by_status={})
        con.execute(  # the figures the measurement also computed
            "SELECT method, min(latency), max(latency), stddev_samp(latency) FROM fields "
            "GROUP BY method"
        ).fetchall()
        con.execute("SELECT count(DISTINCT ua), min(time), max(time) FROM fields").fetchall()
        return figures

    return run


def polars_plain(case: Case) -> Callable[[Path], Figures]:
    """Polars: ``scan_csv`` of whole lines, ``str.extract_groups`` of the plain pattern."""
    pattern = plain_pattern(case)
    assert pattern is not None
    names = _NAMES if "rt=" in pattern else _NAMES[:-1]

    def run(path: Path) -> Figures:
        import polars as pl

        lines = pl.scan_csv(
            path,
            has_header=False,
            separator=_NO_DELIMITER,
            quote_char=None,
            new_columns=["line"],
            schema={"line": pl.String},
        )
        renames = {str(index): name for index, name in enumerate(names, start=1)}
        parsed = (
            lines.select(pl.col("line").str.extract_groups(pattern).alias("r"))
            .unnest("r")
            .rename(renames)
            .filter(pl.col("m").is_not_null())
        )
        latency = (
            pl.col("rt").cast(pl.Float64, strict=False) * 1000
            if "rt" in names
            else pl.lit(None, dtype=pl.Float64)
        )
        fields = (
            parsed.select(
                pl.col("m").alias("method"),
                pl.col("s").cast(pl.Int16).alias("status"),
                latency.alias("latency"),
                pl.col("ua"),
                pl.col("t").str.to_datetime(_CLF_TIME, strict=False).alias("time"),
            )
            .filter(pl.col("time").is_not_null())
            .collect()
        )
        figures = replace(polars_figures(fields), by_status={})
        fields.group_by("method").agg(
            pl.col("latency").min().alias("min"),
            pl.col("latency").max().alias("max"),
            pl.col("latency").std().alias("std"),
        )
        fields.select(
            pl.col("ua").n_unique(),
            pl.col("time").min().alias("first"),
            pl.col("time").max().alias("last"),
        )
        return figures

    return run


#: GoAccess's log format for each generated format (its own specifiers: %h host, %d:%t date and
#: time, %r request, %s status, %b size, %R referer, %u agent, %T latency in seconds).
GOACCESS_FORMATS = {
    "nginx-timed": '%h %^ %^ [%d:%t %^] "%r" %s %b "%R" "%u" rt=%T',
    "combined": "COMBINED",
}


def goaccess_available() -> bool:
    """Whether Debian's ``goaccess`` is on the PATH."""
    return shutil.which("goaccess") is not None


def goaccess(case: Case) -> Callable[[Path], Figures]:
    """GoAccess writing its JSON report; figure: its valid requests (its panels group requests
    by URL, static file and 404, so per-method totals are not in its report)."""
    log_format = GOACCESS_FORMATS[case.log_format]

    def run(path: Path) -> Figures:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "report.json"
            command = ["goaccess", str(path), "--no-global-config", "-o", str(out)]
            command += [f"--log-format={log_format}"]
            if log_format != "COMBINED":
                command += ["--date-format=%d/%b/%Y", "--time-format=%T"]
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL, capture_output=True)
            report: dict[str, Any] = json.loads(out.read_text())
        return Figures(int(report["general"]["valid_requests"]), {}, {}, {})

    return run


def goaccess_view(ours: Figures, path: Path) -> Figures:
    """Our figures as GoAccess's JSON can state them: the requests parsed, plus the lines whose
    date does not exist (``31/Feb``: glibc's ``strptime``, which GoAccess uses, accepts them; we
    count them malformed), found by a plain per-line scan of ``path``."""
    return Figures(ours.parsed + impossible_dates(path), {}, {}, {})


_CLF_DATE = re.compile(r'^\S+ \S+ \S+ \[(\d{2}/[A-Za-z]{3}/\d{4}):\d{2}:\d{2}:\d{2} [+-]\d{4}\] "')


def impossible_dates(path: Path) -> int:
    """Lines that look like combined lines but whose day does not exist in its month."""
    count = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = _CLF_DATE.match(line)
            if match is None:
                continue
            try:
                datetime.strptime(match.group(1), "%d/%b/%Y")
            except ValueError:
                count += 1
    return count
