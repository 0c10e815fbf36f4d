"""Ingest against peer tools on one generated log file: ``python -m benchmarks ingest``.

Times, on the same file and in the same run: our ingest (``--worker 2``, threading and process
modes), DuckDB (``regexp_extract`` over ``read_csv``, all cores), Polars (``str.extract_groups``,
i.e. ``str.extract`` of every field in one pass) and the naive dask pipeline
``read_text -> Bag.map(parse_line) -> to_dataframe`` as the reference line. Each engine parses
every line and computes counts per method and latency mean/median/p95 per method. The median
wall time of ``--repeat`` runs is reported (the naive pipeline runs once: it is the slow line).

Options (``python -m benchmarks ingest --repeat=1``; ``--repeat 1`` works too)::

    --lines=N       lines in the generated file (default 5,000,000, about 460 MB)
    --repeat=R      runs per engine (default 3)
    --skip-naive    leave out the naive pipeline
    --scale-gb=G    instead: memory scale test on a G GB file, peak RSS of the process tree
    --small-files=N instead: N one-line files (grouped into shared read tasks), wall time

Generated files are cached under ``benchmarks/data/`` (gitignored). Run it alone: the machine's
other benchmarks should be serialised, e.g. ``flock /tmp/bench.lock python -m benchmarks ingest``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
PATTERN = (
    r"^\[([A-Z]+)\] (\S+), status=([1-5][0-9][0-9]), "
    r"time=([0-9]+(?:\.[0-9]+)?)ms user-agent=(.*)$"
)
_LINE = re.compile(PATTERN)


def _log_file(lines: int) -> Path:
    from pipeline.ingest.generate import generate_logs

    path = DATA / f"ingest-{lines}.log"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".tmp")
        generate_logs(partial, lines=lines, seed=42, malformed_rate=0.001)
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _ours(mode: str) -> Callable[[Path], Any]:
    def run(path: Path) -> Any:
        from pipeline import ExecutionSettings, run_ingest

        return run_ingest(str(path), ExecutionSettings(mode=mode, workers=2)).parsed

    return run


def _duckdb(path: Path) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    query = f"""
    WITH raw AS (
      SELECT trim(line) AS line FROM read_csv('{path}', columns={{'line': 'VARCHAR'}},
        header=false, delim='\\x01', quote='', escape='', auto_detect=false)),
    parsed AS (
      SELECT regexp_extract(line, '{PATTERN}',
        ['method', 'path', 'status', 'latency', 'ua']) AS r FROM raw WHERE line <> ''),
    fields AS (
      SELECT r.method AS method, r.status::SMALLINT AS status, r.latency::DOUBLE AS latency
      FROM parsed WHERE r.method <> '')
    SELECT method, count(*), avg(latency), median(latency), quantile_cont(latency, 0.95)
    FROM fields GROUP BY method
    """
    return con.execute(query).fetchall()


def _polars(path: Path) -> Any:
    import polars as pl

    frame = pl.read_csv(
        path,
        has_header=False,
        separator="\x01",
        quote_char=None,
        new_columns=["line"],
        schema={"line": pl.String},
    )
    fields = (
        frame.lazy()
        .select(pl.col("line").str.strip_chars().str.extract_groups(PATTERN).alias("r"))
        .unnest("r")
        .rename({"1": "method", "2": "path", "3": "status", "4": "latency", "5": "ua"})
        .filter(pl.col("method").is_not_null())
        .with_columns(pl.col("latency").cast(pl.Float64), pl.col("status").cast(pl.Int16))
        .group_by("method")
        .agg(
            pl.len(),
            pl.col("latency").mean().alias("mean"),
            pl.col("latency").median().alias("median"),
            pl.col("latency").quantile(0.95, interpolation="linear").alias("p95"),
        )
    )
    return fields.collect()


def parse_line(line: str) -> dict[str, Any] | None:
    """The naive per-line parser: one regex call and one dict per line."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    method, path, status, latency, _agent = match.groups()
    return {"method": method, "path": path, "status": int(status), "latency": float(latency)}


def _is_parsed(record: dict[str, Any] | None) -> bool:
    return record is not None


def _naive(path: Path) -> Any:
    import dask
    import dask.bag as db

    bag = db.read_text(str(path), blocksize=16 * 2**20, linedelimiter="\n")
    meta = {"method": str, "path": str, "status": int, "latency": float}
    frame = bag.map(parse_line).filter(_is_parsed).to_dataframe(meta=meta)
    stats = frame.groupby("method")["latency"].agg(["count", "mean", "median"])
    return dask.compute(stats, scheduler="threads", num_workers=2)


def _time(run: Callable[[Path], Any], path: Path, repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        run(path)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def compare(lines: int, repeat: int, naive: bool) -> int:
    path = _log_file(lines)
    engines: list[tuple[str, Callable[[Path], Any], int]] = [
        ("DuckDB regexp_extract (all cores)", _duckdb, repeat),
        ("ingest --worker 2 --mode threading", _ours("threading"), repeat),
        ("ingest --worker 2 --mode process", _ours("process"), repeat),
        ("Polars str.extract_groups", _polars, repeat),
    ]
    if naive:
        engines.append(("naive Bag.map(parse).to_dataframe()", _naive, 1))
    size = path.stat().st_size
    print(f"file: {path.name}, {lines:,} lines, {size / 1e6:.0f} MB; median of {repeat} runs")
    results = []
    for name, run, runs in engines:
        wall = _time(run, path, runs)
        results.append((name, wall))
        print(f"  {name}: {wall:.2f} s", flush=True)
    duck = results[0][1]
    print()
    print("| engine | wall time (s) | lines/s | ratio to DuckDB |")
    print("|---|---:|---:|---:|")
    for name, wall in results:
        print(f"| {name} | {wall:.2f} | {lines / wall:,.0f} | {wall / duck:.2f} |")
    return 0


def scale(gigabytes: float, mode: str) -> int:
    """Run the CLI on a ``gigabytes`` file; report the peak RSS of the whole process tree."""
    import psutil

    lines = int(gigabytes * 1e9 / 92.8)
    path = _log_file(lines)
    command = [sys.executable, str(ROOT / "cli.py"), "ingest", "--path", str(path)]
    command += ["--worker", "2", "--mode", mode, "--format", "json", "--no-progress"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = process.communicate()
    done.set()
    poller.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        print(err.decode(errors="replace"))
        return 1
    parsed = json.loads(out)["lines"]["total"]
    print(
        f"scale ({mode}): {path.stat().st_size / 1e9:.2f} GB, {parsed:,} lines, "
        f"{wall:.1f} s, peak RSS of the process tree {peak / 2**20:,.0f} MiB"
    )
    return 0 if peak < 1.5 * 2**30 else 1


def small_files(count: int, repeat: int) -> int:
    """Many one-line files: the cost per file, with small files grouped into shared tasks."""
    from pipeline import ExecutionSettings, run_ingest
    from pipeline.ingest.files import expand_path, plan_tasks
    from pipeline.ingest.job import DEFAULT_BLOCKSIZE

    folder = DATA / f"small-{count}"
    if not folder.exists():
        partial = DATA / f"small-{count}.tmp"
        partial.mkdir(parents=True, exist_ok=True)
        line = "[GET] /x, status=200, time=5ms user-agent=curl/8\n"
        for index in range(count):
            (partial / f"{index:06}.log").write_text(line)
        partial.rename(folder)
    tasks = len(plan_tasks(expand_path(str(folder)), DEFAULT_BLOCKSIZE))
    print(f"{count:,} one-line files, {tasks} read task(s); median of {repeat} run(s)")
    print("| mode | wall time (s) | ms per file |\n|---|---:|---:|")
    for mode in ("threading", "process"):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = run_ingest(str(folder), ExecutionSettings(mode=mode, workers=2))
            times.append(time.perf_counter() - started)
            assert result.parsed == count, result.parsed
        wall = statistics.median(times)
        print(f"| `--worker 2 --mode {mode}` | {wall:.2f} | {1000 * wall / count:.3f} |")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ingest")
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--scale-gb", type=float, default=None)
    parser.add_argument("--scale-mode", choices=["threading", "process"], default="process")
    parser.add_argument("--small-files", type=int, default=None)
    args = parser.parse_args(argv)
    if args.small_files is not None:
        return small_files(args.small_files, args.repeat)
    if args.scale_gb is not None:
        return scale(args.scale_gb, args.scale_mode)
    return compare(args.lines, args.repeat, not args.skip_naive)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
