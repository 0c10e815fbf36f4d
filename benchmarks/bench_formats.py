"""Ingest of the cloud and IIS presets against peer tools: ``python -m benchmarks formats``.

Two cases of issue 23, each one generated file of ``--lines`` lines (0.1 % malformed:
``generate-logs --log-format w3c`` / ``alb``, the same seed as ``benchmarks ingest``):

* ``w3c``: IIS W3C extended logs (the ``#Software``/``#Version``/``#Date``/``#Fields`` directives,
  then 15 space-separated columns, ``time-taken`` in ms). DuckDB reads it as its users would:
  ``read_csv(delim=' ', comment='#', header=false, columns={...})`` with the column types the
  ``#Fields`` line names (``DATE``, ``TIME``, ``SMALLINT`` status, ``BIGINT`` time-taken) and
  ``ignore_errors`` to drop the lines that do not fit; Polars ``scan_csv(separator=' ',
  comment_prefix='#', has_header=False, new_columns=...)`` with the same types, keeping the rows
  whose typed fields all parsed.
* ``alb``: AWS Application Load Balancer entries. DuckDB: one struct ``regexp_extract(line, P,
  [names])`` over the whole lines of ``read_csv(columns={'line': 'VARCHAR'}, delim='\\x01',
  quote='', escape='', header=false)``; Polars: ``str.extract_groups(P)``. ``P`` is the plainest
  correct pattern: the time, the three processing times, ``elb_status_code``, the method and the
  path of the request's URL (scheme, host and port dropped, query dropped); the latency is the
  sum of the three times in ms, none when any of them is ``-1`` (a 502/504 without a target).

Our CLI runs ``ingest --path F --worker 2 --format json`` in threading and process mode with NO
``--log-format``: auto-detection must find the preset. Every engine computes the figures of
``benchmarks ingest`` (lines parsed, requests by method and by status, latency count, mean,
median and p95 per method) and is cross-checked against ours with its code
(:func:`benchmarks.bench_ingest.cross_check`, :func:`~benchmarks.bench_ingest.timed_comparison`);
with ``--engines duckdb,polars`` (ours left out, e.g. before the presets are merged) the peers
are cross-checked against DuckDB.

Options (``python -m benchmarks formats --repeat=1``)::

    --lines=N        lines in each generated file (default 5,000,000)
    --repeat=R       interleaved rounds (default 3)
    --cases=LIST     w3c,alb (default both)
    --engines=LIST   duckdb,ours,polars (default all three)
    --modes=LIST     our CLI's modes: threading,process (default both)

Generated files are cached under ``benchmarks/data/`` (gitignored). Run it alone, serialised
with the machine's other benchmarks: ``flock /tmp/bench.lock python -m benchmarks formats``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from benchmarks.bench_ingest import (
    _NO_DELIMITER,
    MODES,
    Case,
    Figures,
    _log_file,
    _ours,
    duckdb_figures,
    polars_figures,
    timed_comparison,
)

CASES: Final = {
    "w3c": Case("w3c", "w3c", None, "IIS W3C extended (`#Fields`, time-taken ms), auto-detected"),
    "alb": Case("alb", "alb", None, "AWS ALB access log (three timers in s), auto-detected"),
}
ENGINES: Final = ("duckdb", "ours", "polars")

#: The ``#Fields`` of ``generate-logs --log-format w3c`` (IIS's default), with their types.
W3C_COLUMNS: Final = {
    "date": "DATE",
    "time": "TIME",
    "s_ip": "VARCHAR",
    "cs_method": "VARCHAR",
    "cs_uri_stem": "VARCHAR",
    "cs_uri_query": "VARCHAR",
    "s_port": "INTEGER",
    "cs_username": "VARCHAR",
    "c_ip": "VARCHAR",
    "cs_user_agent": "VARCHAR",
    "cs_referer": "VARCHAR",
    "sc_status": "SMALLINT",
    "sc_substatus": "INTEGER",
    "sc_win32_status": "BIGINT",
    "time_taken": "BIGINT",
}
#: An ALB entry, as little as the figures need (RE2 and Rust regex syntax): time, the three
#: processing times, elb_status_code, method, and the path of the request's full URL.
ALB_PATTERN: Final = (
    r"^[a-z0-9]+ ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+Z) \S+ \S+ \S+ "
    r"(-1|[0-9.]+) (-1|[0-9.]+) (-1|[0-9.]+) ([1-5][0-9][0-9]) \S+ [0-9]+ [0-9]+ "
    r'"([A-Z]+) [a-z]+://[^/ ]*(/[^? ]*)\S* HTTP/[0-9.]+" .*$'
)
_ALB_GROUPS: Final = ["time", "t1", "t2", "t3", "status", "method", "path"]


def _duckdb(case: Case) -> Callable[[Path], Figures]:
    """DuckDB as its users write it: typed ``read_csv`` (w3c), one struct regexp (alb)."""

    def run(path: Path) -> Figures:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads TO {os.cpu_count()}")
        con.execute("SET enable_progress_bar = false")
        if case.name == "w3c":
            columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in W3C_COLUMNS.items()) + "}"
            fields = f"""
            SELECT cs_method AS method, sc_status AS status, time_taken::DOUBLE AS latency
            FROM read_csv('{path}', delim=' ', comment='#', header=false, quote='', escape='',
              columns={columns}, auto_detect=false, ignore_errors=true)
            WHERE sc_status BETWEEN 100 AND 599 AND time_taken >= 0"""
        else:
            fields = f"""
            WITH raw AS (
              SELECT line FROM read_csv('{path}', columns={{'line': 'VARCHAR'}}, header=false,
                delim='{_NO_DELIMITER}', quote='', escape='', auto_detect=false)),
            parsed AS (
              SELECT regexp_extract(line, '{ALB_PATTERN}', {_ALB_GROUPS}) AS r FROM raw)
            SELECT r.method AS method, r.status::SMALLINT AS status,
              CASE WHEN '-1' IN (r.t1, r.t2, r.t3) THEN NULL
                ELSE (r.t1::DOUBLE + r.t2::DOUBLE + r.t3::DOUBLE) * 1000 END AS latency
            FROM parsed WHERE r.method <> ''"""
        return duckdb_figures(con, fields)

    return run


def _polars(case: Case) -> Callable[[Path], Figures]:
    """Polars: typed ``scan_csv`` (w3c), ``str.extract_groups`` (alb)."""

    def run(path: Path) -> Figures:
        import polars as pl

        if case.name == "w3c":
            kinds = {"DATE": pl.Date, "TIME": pl.Time, "SMALLINT": pl.Int16}
            kinds |= {"INTEGER": pl.Int32, "BIGINT": pl.Int64, "VARCHAR": pl.String}
            schema = {name: kinds[kind] for name, kind in W3C_COLUMNS.items()}
            frame = pl.scan_csv(
                path,
                separator=" ",
                comment_prefix="#",
                has_header=False,
                new_columns=list(schema),
                schema=schema,
                quote_char=None,
                ignore_errors=True,
            )
            fields = frame.filter(
                pl.all_horizontal(pl.col("date", "time", "cs_method").is_not_null())
                & pl.col("sc_status").is_between(100, 599)
                & (pl.col("time_taken") >= 0)
            ).select(
                pl.col("cs_method").alias("method"),
                pl.col("sc_status").alias("status"),
                pl.col("time_taken").cast(pl.Float64).alias("latency"),
            )
        else:
            lines = pl.scan_csv(
                path,
                has_header=False,
                separator=_NO_DELIMITER,
                quote_char=None,
                new_columns=["line"],
                schema={"line": pl.String},
            )
            timers = [pl.col(name).cast(pl.Float64) for name in ("t1", "t2", "t3")]
            names = dict(zip([str(i) for i in range(1, 8)], _ALB_GROUPS, strict=True))
            fields = (
                lines.select(pl.col("line").str.extract_groups(ALB_PATTERN).alias("r"))
                .unnest("r")
                .rename(names)
                .filter(pl.col("method").is_not_null())
                .select(
                    "method",
                    pl.col("status").cast(pl.Int16),
                    pl.when(pl.any_horizontal([t == -1 for t in timers]))
                    .then(None)
                    .otherwise(pl.sum_horizontal(timers) * 1000)
                    .alias("latency"),
                )
            )
        table = fields.collect()
        return polars_figures(table)

    return run


def compare(
    lines: int, repeat: int, cases: list[str], engines: list[str], modes: tuple[str, ...]
) -> int:
    """The chosen engines on each case's file; 1 when a cross-check failed, else 0."""
    status = 0
    for key in cases:
        case = CASES[key]
        path = _log_file(lines, case.log_format)
        ours = [
            (
                f"**ingest `--worker 2 --mode {mode}`** (whole report, auto-detected)",
                _ours(mode, case),
            )
            for mode in modes
        ]
        chosen: list[tuple[str, Callable[[Path], Figures]]] = []
        if "duckdb" in engines:
            how = "`read_csv(delim=' ', comment='#')`" if key == "w3c" else "`regexp_extract`"
            chosen.append((f"DuckDB {how} (all cores)", _duckdb(case)))
        if "ours" in engines:
            chosen += ours
        if "polars" in engines:
            how = "`scan_csv(separator=' ')`" if key == "w3c" else "`str.extract_groups`"
            chosen.append((f"Polars {how}", _polars(case)))
        reference = ours[0][0] if "ours" in engines else chosen[0][0]
        status |= timed_comparison(case.title, path, lines, repeat, chosen, reference)
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks formats")
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args(argv)
    split = {
        name: [item.strip() for item in getattr(args, name).split(",") if item.strip()]
        for name in ("cases", "engines", "modes")
    }
    for name, valid in (("cases", CASES), ("engines", ENGINES), ("modes", MODES)):
        unknown = sorted(set(split[name]) - set(valid))
        if unknown or not split[name]:
            parser.error(f"--{name} {getattr(args, name)!r}: expected some of {', '.join(valid)}")
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    engines = split["engines"]
    if "duckdb" not in engines:
        parser.error("--engines must include duckdb: the table's ratios are to it")
    return compare(args.lines, args.repeat, split["cases"], engines, tuple(split["modes"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
