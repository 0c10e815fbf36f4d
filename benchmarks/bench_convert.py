"""Convert against DuckDB on a generated combined log: ``python -m benchmarks convert``.

One generated file of ``--lines`` combined lines (``generate-logs --log-format combined``, 0.1 %
malformed, over 7 days), cached in ``benchmarks/data/``. Timed in the same run, rounds interleaved
(A B, A B, ...) so that the machine's load hits both alike:

* ours: ``python cli.py convert --path LOG --dataset DIR --worker 2`` (threading unless
  ``--modes`` says otherwise, JSON report), in this process through click: a Parquet dataset
  partitioned by day, with the typed columns of docs/convert.md;
* DuckDB (all cores), as its users write it: ``COPY (SELECT ... regexp_extract(line, P, [...])
  ...) TO 'x.parquet' (FORMAT parquet)`` with the plain pattern :data:`PATTERN` (one group per
  field), the time read
  with ``try_strptime`` into a ``TIMESTAMPTZ``, the status and size cast, lines whose status is
  not 100-599 or whose time does not exist (31 Feb) left out, as our parser does.

Both outputs are **cross-checked**, read back by DuckDB. The plain pattern drops the lines nginx
writes for scanners (a request line ``"-"`` or raw TLS bytes), which we write with method ``-``
(docs/formats.md), so our rows with method ``-`` are left out of the comparison (their number is
printed; ``benchmarks ingest`` compares its plain-pattern peers the same way); on the others, the
same number of rows (and ours in all is the number our report says it wrote), and the same
aggregates: rows and bytes per UTC day, the sum of
statuses, the number of distinct paths and of distinct user agents (``-`` is the empty agent in
ours), earliest and latest time, distinct clients, referers and distinct referers (``-`` and
empty ones are null in ours). A size written ``-`` is null in DuckDB's file and 0 in ours
(docs/convert.md), which leaves the byte sums equal. The benchmark stops with exit 1 when they
differ. The median wall time of ``--repeat`` rounds is reported, with the ratio to DuckDB.

Options (``python -m benchmarks convert --repeat=1``)::

    --lines=N     lines of the generated file (default 5,000,000: about 920 MB)
    --repeat=R    rounds (default 3)
    --modes=LIST  our CLI's modes: threading,process (default threading)

Run it alone: ``flock /tmp/bench.lock python -m benchmarks convert``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_ingest import _CLF_TIME, _NO_DELIMITER

DATA = Path(__file__).resolve().parent / "data"
MODES = ("threading", "process")

#: The plain pattern of a combined line (issue 27's style): client, user, time, method, path,
#: protocol, status, size, referer, agent.
PATTERN = (
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "([A-Z]+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$'
)
_GROUPS = [
    "client",
    "user",
    "time",
    "method",
    "path",
    "protocol",
    "status",
    "bytes",
    "referer",
    "agent",
]

#: What both outputs are compared on, per output (a DuckDB relation named ``t``).
_CHECKS = {
    "rows": "SELECT count(*) FROM t",
    "by_day": "SELECT strftime(time AT TIME ZONE 'UTC', '%Y-%m-%d') AS d, count(*), "
    "coalesce(sum(bytes), 0) FROM t GROUP BY d ORDER BY d",
    "status_sum": "SELECT sum(status::BIGINT) FROM t",
    "paths": "SELECT count(DISTINCT path) FROM t",
    "agents": "SELECT count(DISTINCT CASE WHEN user_agent = '-' THEN '' ELSE user_agent END) "
    "FROM t",
    "span": "SELECT min(time)::VARCHAR, max(time)::VARCHAR FROM t",
    "clients": "SELECT count(DISTINCT nullif(client, '-')) FROM t",
    "referers": "SELECT count(nullif(nullif(referer, '-'), '')), count(DISTINCT referer) FROM t "
    "WHERE referer NOT IN ('-', '')",
}


def _log_file(lines: int) -> Path:
    from pipeline.loggen.generate import generate_logs

    path = DATA / f"convert-combined-{lines}.log"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".tmp")
        generate_logs(
            partial, lines=lines, malformed_rate=0.001, log_format="combined", period="7d"
        )
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def ours(mode: str) -> Callable[[Path, Path], int]:
    """Our CLI in this process: ``convert --worker 2 --mode MODE``; the rows its report wrote."""

    def run(path: Path, out: Path) -> int:
        from pipeline.cli import cli

        args = ["convert", "--path", str(path), "--dataset", str(out), "--worker", "2"]
        args += ["--mode", mode, "--format", "json", "--no-progress"]
        report = io.StringIO()
        with contextlib.redirect_stdout(report):
            code = cli.main(args, prog_name="cli.py", standalone_mode=False)
        if code not in (0, None):
            raise SystemExit(f"convert exited with {code}")
        written: int = json.loads(report.getvalue())["lines"]["written"]
        return written

    return run


def duckdb_copy(path: Path, out: Path) -> int:
    """DuckDB's ``COPY (...) TO out/x.parquet``; the rows it wrote."""
    import duckdb

    out.mkdir()
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    when = f"try_strptime(r.time, '{_CLF_TIME}')"
    query = f"""
    COPY (
      WITH raw AS (
        SELECT trim(line) AS line FROM read_csv('{path}', columns={{'line': 'VARCHAR'}},
          header=false, delim='{_NO_DELIMITER}', quote='', escape='', auto_detect=false)),
      parsed AS (SELECT regexp_extract(line, '{PATTERN}', {_GROUPS}) AS r FROM raw)
      SELECT r.method AS method, r.path AS path, r.status::SMALLINT AS status,
        NULL::DOUBLE AS latency_ms, try_cast(nullif(r.bytes, '-') AS BIGINT) AS bytes,
        {when} AS time, r.agent AS user_agent, r.client AS client, r.referer AS referer,
        NULL::VARCHAR AS host
      FROM parsed
      WHERE r.status <> '' AND r.status::INT BETWEEN 100 AND 599 AND {when} IS NOT NULL
    ) TO '{out / "x.parquet"}' (FORMAT parquet)"""
    written = con.execute(query).fetchone()
    return int(written[0]) if written else 0


def aggregates(glob: str, hive: bool, where: str = "true") -> dict[str, Any]:
    """The cross-check's figures of one output (its rows for which ``where`` holds), read back
    by DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW t AS SELECT * FROM read_parquet('{glob}', hive_partitioning={hive}) "
        f"WHERE {where}"
    )
    return {name: con.execute(sql).fetchall() for name, sql in _CHECKS.items()}


def cross_check(ours_figures: dict[str, Any], duck_figures: dict[str, Any]) -> list[str]:
    """Every figure that differs, as ``name: ours X, DuckDB Y``."""
    return [
        f"{name}: ours {ours_figures[name]}, DuckDB {duck_figures[name]}"
        for name in _CHECKS
        if ours_figures[name] != duck_figures[name]
    ]


def compare(lines: int, repeat: int, modes: tuple[str, ...]) -> int:
    """Time ours and DuckDB in interleaved rounds, cross-check the outputs, print the table."""
    path = _log_file(lines)
    engines: list[tuple[str, Callable[[Path, Path], int]]] = [("DuckDB COPY", duckdb_copy)]
    engines += [(f"ours convert --worker 2 ({mode})", ours(mode)) for mode in modes]
    size = path.stat().st_size
    print(
        f"\n### convert: {path.name}, {lines:,} lines, {size / 1e6:.0f} MB; "
        f"median of {repeat} interleaved rounds",
        flush=True,
    )
    walls: dict[str, list[float]] = {name: [] for name, _ in engines}
    scratch = Path(tempfile.mkdtemp(prefix="bench-convert-", dir=DATA))
    try:
        for round_number in range(repeat):
            for index, (name, run) in enumerate(engines):
                out = scratch / f"{index}"
                shutil.rmtree(out, ignore_errors=True)
                started = time.perf_counter()
                written = run(path, out)
                walls[name].append(time.perf_counter() - started)
                print(f"  {name}: {walls[name][-1]:.2f} s ({written:,} rows)", flush=True)
                if round_number == 0:
                    problems = _checked(name, out, written, scratch / "0")
                    if problems:
                        print("CROSS-CHECK FAILED:\n  " + "\n  ".join(problems), flush=True)
                        return 1
        rows = aggregates(str(scratch / "0" / "x.parquet"), False)["rows"][0][0]
        print(f"cross-check: both wrote the same {rows:,} rows (same aggregates)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    duck = statistics.median(walls[engines[0][0]])
    print()
    print("| engine | wall time (s) | lines/s | ratio to DuckDB |")
    print("|---|---:|---:|---:|")
    for name, values in walls.items():
        wall = statistics.median(values)
        print(f"| {name} | {wall:.2f} | {lines / wall:,.0f} | {wall / duck:.2f} |")
    return 0


def _checked(name: str, out: Path, written: int, duck_out: Path) -> list[str]:
    """Ours against DuckDB's output (already written: DuckDB runs first in a round)."""
    if name.startswith("DuckDB"):
        return []
    want = aggregates(str(duck_out / "x.parquet"), False)
    dataset = str(out / "**" / "*.parquet")
    got = aggregates(dataset, True, "method <> '-'")
    problems = cross_check(got, want)
    total = aggregates(dataset, True)["rows"][0][0]
    if total != written:
        problems.append(f"its report says {written:,} rows, the dataset has {total:,}")
    print(
        f"  cross-check: {total - got['rows'][0][0]:,} rows of ours have method '-' (a request "
        "line that is not METHOD TARGET PROTOCOL, which the plain pattern drops); the others "
        "match DuckDB's",
        flush=True,
    )
    return [f"{name}: {problem}" for problem in problems]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks convert")
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="threading")
    args = parser.parse_args(argv)
    modes = tuple(name.strip() for name in args.modes.split(",") if name.strip())
    if not modes or not set(modes) <= set(MODES):
        parser.error(f"--modes {args.modes!r}: expected some of {', '.join(MODES)}")
    if args.lines < 1 or args.repeat < 1:
        parser.error("--lines and --repeat must be at least 1")
    return compare(args.lines, args.repeat, modes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
