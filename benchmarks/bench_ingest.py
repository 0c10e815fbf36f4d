"""Ingest against peer tools on generated log files: ``python -m benchmarks ingest``.

Three cases, each on one generated file of ``--lines`` lines (0.1 % malformed):

* ``default``: the project's own grammar (``[GET] /x, status=200, time=51ms user-agent=...``);
* ``combined``: nginx combined + `` rt=$request_time`` (``generate-logs --log-format
  nginx-timed``), read by our CLI with that nginx ``log_format`` (auto-detection would read plain
  combined, without latencies);
* ``realistic``: plain combined with ``generate-logs --cardinality realistic`` (ids in paths,
  versioned agents): the shape where our extra panels cost most; auto-detected, no latency.

For the combined cases two more peers, written as their users write them
(:mod:`benchmarks.ingest_peers`): DuckDB and Polars with the *plainest correct* pattern (one group
per field, ``[^"]*`` for quoted fields), which drop the request lines that are not
``METHOD TARGET PROTOCOL`` and are cross-checked on the rest, and GoAccess 1.7 (one thread),
cross-checked on its valid request count.

Engines, timed on the same file in the same run, rounds interleaved (A B C D, A B C D, ...) so
that the machine's load hits them alike: our CLI (``ingest --worker 2`` in threading and process
mode, otherwise default options, run in this process through click), DuckDB (``read_csv`` of
whole lines, then ONE ``regexp_extract(line, PATTERN, [names])`` into a struct per line, all
cores), Polars (``str.extract_groups``: one match per line into a struct) and, for the default
grammar, the naive dask pipeline ``read_text -> Bag.map(parse_line) -> to_dataframe`` as the
reference line. Each peer computes the figures: lines parsed, requests by method and by status,
latency count/mean/median/p95 per method; ours computes its whole report (also top paths, user
agents, status classes, the other percentiles, time range and timeline), more than the peers.
A line counts as parsed by the rules of docs/formats.md: for ``combined`` a request line that is not
``METHOD TARGET PROTOCOL`` counts with method ``-``, and a time that does not exist (31 Feb) makes
the line malformed, so the peers check their times too.

Every engine's figures are **cross-checked** against ours (same parsed lines, same counts per
method and status, same latency count per method; mean, median and p95 within 1e-6 relative):
the benchmark stops with exit 1 when they differ. The median wall time of ``--repeat`` rounds is
reported (the naive pipeline runs once: it is the slow line).

Options (``python -m benchmarks ingest --repeat=1``; ``--repeat 1`` works too)::

    --lines=N        lines in each generated file (default 5,000,000: 464 MB and about 950 MB;
                     200,000 for ``--profile-parse``)
    --repeat=R       rounds (default 3)
    --cases=LIST     default,combined,realistic (default all three)
    --modes=LIST     our CLI's modes: threading,process (default both; also ``--small-files``)
    --skip-naive     leave out the naive pipeline
    --scale-gb=G     instead: memory and time at scale (``benchmarks/scale.py``): a G GB file
                     of each shape (``--cardinality low`` and ``realistic``), both modes, peak
                     RSS of the process tree; ``--rss-limit=GB`` (default 4) stops a run above
                     it, ``--scale-mode=threading|process|both`` (default both),
                     ``--scale-repeat=N`` rounds (default 1; with more, the median ratios)
    --profile-parse  instead: CPU time of ``parse_text`` on a 16 MiB block of each case (a file
                     of ``--lines``), by pyarrow call (Arrow kernels and methods, the parser's
                     helpers)
    --small-files=N  instead: N one-line files (grouped into shared read tasks), wall time

Generated files are cached under ``benchmarks/data/`` (gitignored). Run it alone: the machine's
other benchmarks should be serialised, e.g. ``flock /tmp/bench.lock python -m benchmarks ingest``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
MODES = ("threading", "process")

#: The default grammar: method, path, status, latency (ms), user agent.
PATTERN = (
    r"^\[([A-Z]+)\] (\S+), status=([1-5][0-9][0-9]), "
    r"time=([0-9]+(?:\.[0-9]+)?)ms user-agent=(.*)$"
)
_LINE = re.compile(PATTERN)

#: What ``generate-logs --log-format nginx-timed`` writes, as nginx's ``log_format``.
TIMED_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" rt=$request_time'
)
#: The same lines as one regular expression (RE2 syntax) for the peers: groups method, path
#: (both empty when the request line is not ``METHOD TARGET PROTOCOL``), time, status, latency
#: (seconds, or ``-``). A quoted field is anything but an unescaped ``"``.
_QUOTED = r'(?:[^"\\]|\\.)*'
TIMED_PATTERN = (
    r"^[^ ]* - [^ ]* \[([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})\] "
    rf'"(?:([A-Z]+) ([^ "]+)(?: HTTP/[0-9.]+)?|{_QUOTED})" ([1-5][0-9][0-9]) (?:[0-9]+|-) '
    rf'"{_QUOTED}" "{_QUOTED}" rt=([0-9]+(?:\.[0-9]+)?|-)$'
)
_TIMED_GROUPS = ["time", "method", "path", "status", "latency"]
#: The same without `` rt=...``: plain combined (no latency).
COMBINED_PATTERN = TIMED_PATTERN.removesuffix(r" rt=([0-9]+(?:\.[0-9]+)?|-)$") + "$"
_COMBINED_GROUPS = _TIMED_GROUPS[:-1]
_CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"
#: A "column delimiter" that never occurs in a log line, so the CSV readers return whole lines.
#: The byte itself: DuckDB reads ``'\\x01'`` in SQL as four characters (a multi-byte delimiter),
#: which nginx's escaped request lines (``"\\x16\\x03..."``) do contain.
_NO_DELIMITER = "\x01"


@dataclass(frozen=True)
class Case:
    """One benchmark input: how to generate it and how every engine reads it."""

    name: str
    log_format: str  # generate-logs --log-format
    ingest_format: str | None  # ingest --log-format (None: default, auto-detected)
    title: str
    cardinality: str = "low"  # generate-logs --cardinality


CASES = {
    "default": Case("default", "default", None, "the project's own grammar"),
    "combined": Case(
        "combined", "nginx-timed", TIMED_FORMAT, "nginx combined + `rt=$request_time`"
    ),
    "realistic": Case(
        "realistic", "combined", None, "combined, realistic cardinality", cardinality="realistic"
    ),
}


@dataclass(frozen=True)
class Figures:
    """What every engine computes: parsed lines, counts, latency (ms) per method."""

    parsed: int
    by_method: dict[str, int]
    by_status: dict[str, int]
    latency: dict[str, tuple[int, float, float, float]]  # method -> count, mean, median, p95


def _log_file(lines: int, log_format: str = "default", cardinality: str = "low") -> Path:
    from pipeline.loggen.generate import generate_logs

    stem = "ingest" if log_format == "default" else f"ingest-{log_format}"
    stem += "" if cardinality == "low" else f"-{cardinality}"
    path = DATA / f"{stem}-{lines}.log"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".tmp")
        generate_logs(
            partial,
            lines=lines,
            seed=42,
            malformed_rate=0.001,
            log_format=log_format,
            cardinality=cardinality,
        )
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _ours(mode: str, case: Case) -> Callable[[Path], Figures]:
    """Our CLI in this process, default options but --worker 2 --mode MODE (JSON out)."""

    def run(path: Path) -> Figures:
        from pipeline.cli import cli

        args = ["ingest", "--path", str(path), "--worker", "2", "--mode", mode]
        args += ["--format", "json", "--no-progress"]
        if case.ingest_format is not None:
            args += ["--log-format", case.ingest_format]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(args, prog_name="cli.py", standalone_mode=False)
        if code not in (0, None):
            raise SystemExit(f"ingest exited with {code}")
        report = json.loads(out.getvalue())
        return Figures(
            parsed=report["lines"]["parsed"],
            by_method=report["requests"]["by_method"],
            by_status=report["requests"]["by_status"],
            latency={
                method: (stats["count"], stats["mean"], stats["median"], stats["p95"])
                for method, stats in report["latency_by_method"].items()
            },
        )

    return run


def _duckdb(case: Case) -> Callable[[Path], Figures]:
    """DuckDB as its users write it: one struct-valued regexp_extract per line."""

    def run(path: Path) -> Figures:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads TO {os.cpu_count()}")
        raw = (
            f"SELECT trim(line) AS line FROM read_csv('{path}', columns={{'line': 'VARCHAR'}}, "
            f"header=false, delim='{_NO_DELIMITER}', quote='', escape='', auto_detect=false)"
        )
        if case.name == "default":
            fields = f"""
            WITH raw AS ({raw}),
            parsed AS (
              SELECT regexp_extract(line, '{PATTERN}',
                ['method', 'path', 'status', 'latency', 'ua']) AS r FROM raw WHERE line <> '')
            SELECT r.method AS method, r.status::SMALLINT AS status,
              r.latency::DOUBLE AS latency
            FROM parsed WHERE r.method <> ''"""
        else:
            pattern, groups = _strict(case)
            latency = "NULL::DOUBLE" if case.log_format == "combined" else "r.latency"
            fields = f"""
            WITH raw AS ({raw}),
            parsed AS (
              SELECT regexp_extract(line, '{pattern}', {groups}) AS r
              FROM raw WHERE line <> '')
            SELECT coalesce(nullif(r.method, ''), '-') AS method, r.status::SMALLINT AS status,
              try_cast({latency} AS DOUBLE) * 1000 AS latency
            FROM parsed
            WHERE r.status <> '' AND try_strptime(r.time, '{_CLF_TIME}') IS NOT NULL"""
        return duckdb_figures(con, fields)

    return run


def _strict(case: Case) -> tuple[str, list[str]]:
    """The strict pattern of a combined case and its group names."""
    if case.log_format == "combined":
        return COMBINED_PATTERN, _COMBINED_GROUPS
    return TIMED_PATTERN, _TIMED_GROUPS


def duckdb_figures(con: Any, fields: str) -> Figures:
    """The benchmark's figures from a DuckDB query ``fields`` of (method, status, latency) rows,
    the way a DuckDB user computes them: count, mean, median and p95 per method, count per
    status."""
    con.execute(f"CREATE TEMP TABLE fields AS {fields}")
    by_method = con.execute(
        "SELECT method, count(*), count(latency), avg(latency), median(latency), "
        "quantile_cont(latency, 0.95) FROM fields GROUP BY method"
    ).fetchall()
    by_status = con.execute("SELECT status, count(*) FROM fields GROUP BY status").fetchall()
    return _figures(by_method, by_status)


def polars_figures(table: Any) -> Figures:
    """The benchmark's figures from a Polars frame of (method, status, latency) rows, the way a
    Polars user computes them: count, mean, median and p95 per method, count per status."""
    import polars as pl

    by_method = (
        table.group_by("method")
        .agg(
            pl.len(),
            pl.col("latency").count().alias("count"),
            pl.col("latency").mean().alias("mean"),
            pl.col("latency").median().alias("median"),
            pl.col("latency").quantile(0.95, interpolation="linear").alias("p95"),
        )
        .rows()
    )
    by_status = table.group_by("status").agg(pl.len()).rows()
    return _figures(by_method, by_status)


def _polars(case: Case) -> Callable[[Path], Figures]:
    """Polars: str.extract_groups (one match per line into a struct)."""

    def run(path: Path) -> Figures:
        import polars as pl

        frame = pl.read_csv(
            path,
            has_header=False,
            separator=_NO_DELIMITER,
            quote_char=None,
            new_columns=["line"],
            schema={"line": pl.String},
        )
        lines = frame.lazy().select(pl.col("line").str.strip_chars())
        if case.name == "default":
            parsed = (
                lines.select(pl.col("line").str.extract_groups(PATTERN).alias("r"))
                .unnest("r")
                .rename({"1": "method", "2": "path", "3": "status", "4": "latency", "5": "ua"})
                .filter(pl.col("method").is_not_null())
                .with_columns(pl.col("latency").cast(pl.Float64))
            )
        else:
            pattern, groups = _strict(case)
            names = {str(i): name for i, name in enumerate(groups, start=1)}
            parsed = (
                lines.select(pl.col("line").str.extract_groups(pattern).alias("r"))
                .unnest("r")
                .rename(names)
                .with_columns(
                    pl.col("latency")
                    if "latency" in groups
                    else pl.lit(None, pl.String).alias("latency")
                )
                .filter(
                    pl.col("status").is_not_null()
                    & pl.col("time").str.to_datetime(_CLF_TIME, strict=False).is_not_null()
                )
                .with_columns(
                    pl.col("method").fill_null("-"),
                    pl.col("latency").cast(pl.Float64, strict=False) * 1000,
                )
            )
        fields = parsed.with_columns(pl.col("status").cast(pl.Int16)).collect()
        return polars_figures(fields)

    return run


def _figures(by_method: list[tuple[Any, ...]], by_status: list[tuple[Any, ...]]) -> Figures:
    """Figures from rows (method, requests, latencies, mean, median, p95) and (status, n)."""
    return Figures(
        parsed=sum(int(row[1]) for row in by_method),
        by_method={str(row[0]): int(row[1]) for row in by_method},
        by_status={str(row[0]): int(row[1]) for row in by_status},
        latency={
            str(row[0]): (int(row[2]), float(row[3]), float(row[4]), float(row[5]))
            for row in by_method
            if row[2]
        },
    )


def parse_line(line: str) -> dict[str, Any] | None:
    """The naive per-line parser: one regex call and one dict per line."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    method, path, status, latency, _agent = match.groups()
    return {"method": method, "path": path, "status": int(status), "latency": float(latency)}


def _is_parsed(record: dict[str, Any] | None) -> bool:
    return record is not None


def _naive(case: Case) -> Callable[[Path], Figures]:
    def run(path: Path) -> Figures:
        import dask
        import dask.bag as db

        bag = db.read_text(str(path), blocksize=16 * 2**20, linedelimiter="\n")
        meta = {"method": str, "path": str, "status": int, "latency": float}
        frame = bag.map(parse_line).filter(_is_parsed).to_dataframe(meta=meta)
        stats = frame.groupby("method")["latency"].agg(["count", "mean", "median"])
        statuses = frame.groupby("status").size()
        stats, statuses = dask.compute(stats, statuses, scheduler="threads", num_workers=2)
        # no p95: dask's groupby has no quantile (NaN is skipped by the cross-check)
        rows = [
            (method, count, count, mean, median, math.nan)
            for method, (count, mean, median) in zip(stats.index, stats.to_numpy(), strict=True)
        ]
        return _figures(rows, list(statuses.items()))

    return run


def cross_check(name: str, got: Figures, want: Figures) -> list[str]:
    """How ``got`` differs from ``want`` (ours); empty when they agree."""
    problems = []
    for field in ("parsed", "by_method", "by_status"):
        if getattr(got, field) != getattr(want, field):
            problems.append(f"{name}: {field} {getattr(got, field)} != ours {getattr(want, field)}")
    for method, mine in want.latency.items():
        theirs = got.latency.get(method)
        if theirs is None or theirs[0] != mine[0]:
            problems.append(f"{name}: latency count of {method}: {theirs} != ours {mine}")
            continue
        for label, a, b in zip(("mean", "median", "p95"), theirs[1:], mine[1:], strict=True):
            if not math.isnan(a) and not math.isclose(a, b, rel_tol=1e-6):
                problems.append(f"{name}: latency {label} of {method}: {a} != ours {b}")
    return problems


def compare(
    lines: int, repeat: int, cases: list[str], naive: bool, modes: tuple[str, ...] = MODES
) -> int:
    """Every engine on each case's file; 1 when a cross-check failed, else 0."""
    status = 0
    for key in cases:
        status |= _compare_case(CASES[key], lines, repeat, naive and key == "default", modes)
    return status


def _compare_case(
    case: Case, lines: int, repeat: int, naive: bool, modes: tuple[str, ...] = MODES
) -> int:
    from benchmarks import ingest_peers as peers

    path = _log_file(lines, case.log_format, case.cardinality)
    our_engines = [
        (f"**ingest `--worker 2 --mode {mode}`** (whole report)", _ours(mode, case))
        for mode in modes
    ]
    strict = "" if case.name == "default" else ", strict pattern"
    engines: list[tuple[str, Callable[[Path], Figures]]] = [
        (f"DuckDB `regexp_extract` into a struct (all cores{strict})", _duckdb(case)),
        *our_engines,
        (f"Polars `str.extract_groups`{strict}", _polars(case)),
    ]
    views: dict[str, Callable[[Figures, Path], Figures]] = {}
    if peers.plain_pattern(case) is not None:  # the peers as their users write them come first
        plain = [
            ("DuckDB `regexp_extract`, plain pattern (all cores)", peers.duckdb_plain(case)),
            ("Polars `str.extract_groups`, plain pattern", peers.polars_plain(case)),
        ]
        engines = [plain[0], *engines, plain[1]]
        views.update(dict.fromkeys((name for name, _ in plain), peers.without_unparsed_requests))
        if peers.goaccess_available():
            name = "GoAccess 1.7 (one thread)"
            engines.append((name, peers.goaccess(case)))
            views[name] = peers.goaccess_view
    once = [("naive `read_text -> Bag.map(parse) -> to_dataframe()`", _naive(case))]
    return timed_comparison(
        case.title, path, lines, repeat, engines, our_engines[0][0], once if naive else [], views
    )


def timed_comparison(
    title: str,
    path: Path,
    lines: int,
    repeat: int,
    engines: list[tuple[str, Callable[[Path], Figures]]],
    reference: str,
    once: list[tuple[str, Callable[[Path], Figures]]] | None = None,
    views: dict[str, Callable[[Figures, Path], Figures]] | None = None,
) -> int:
    """Time ``engines`` on ``path`` in interleaved rounds, cross-check, print the table.

    Every engine's figures are compared with those of the engine named ``reference`` (ours,
    when it runs), seen through ``views[name]`` when an engine computes less (a plain pattern
    drops lines; GoAccess states only its request count); ``once`` engines run a single time after
    the rounds (the slow lines). The table's ratios are to the first engine (DuckDB). 1 when a
    cross-check failed, else 0.
    """
    size = path.stat().st_size
    print(
        f"\n### {title}: {path.name}, {lines:,} lines, {size / 1e6:.0f} MB; "
        f"median of {repeat} interleaved rounds",
        flush=True,
    )
    walls: dict[str, list[float]] = {name: [] for name, _ in engines}
    figures: dict[str, Figures] = {}
    for _ in range(repeat):
        for name, run in engines:
            started = time.perf_counter()
            result = run(path)
            walls[name].append(time.perf_counter() - started)
            figures.setdefault(name, result)
            print(f"  {name}: {walls[name][-1]:.2f} s", flush=True)
    for name, run in once or []:
        started = time.perf_counter()
        figures[name] = run(path)
        walls[name] = [time.perf_counter() - started]
    ours = figures[reference]
    views = views or {}
    problems = [
        problem
        for name, got in figures.items()
        for problem in cross_check(name, got, views.get(name, _same)(ours, path))
    ]
    if problems:
        print("CROSS-CHECK FAILED:\n  " + "\n  ".join(problems), flush=True)
        return 1
    print(f"cross-check: every engine parsed {ours.parsed:,} lines with the same figures")
    for name, got in figures.items():
        if got.parsed != ours.parsed:
            print(f"  ({name} counts {got.parsed:,}: see its cross-check view for why)")
    duck = statistics.median(walls[engines[0][0]])
    polars = [name for name, _ in engines if name.startswith("Polars")]
    fastest_polars = min(statistics.median(walls[name]) for name in polars) if polars else math.nan
    print()
    print("| engine | wall time (s) | lines/s | ratio to DuckDB | ratio to Polars |")
    print("|---|---:|---:|---:|---:|")
    for name, values in walls.items():
        wall = statistics.median(values)
        print(
            f"| {name} | {wall:.2f} | {lines / wall:,.0f} | {wall / duck:.2f} "
            f"| {wall / fastest_polars:.2f} |"
        )
    return 0


def _same(figures: Figures, path: Path) -> Figures:
    return figures


def small_files(count: int, repeat: int, modes: tuple[str, ...] = MODES) -> int:
    """Many one-line files: the cost per file, with small files grouped into shared tasks."""
    from pipeline import ExecutionSettings, run_ingest
    from pipeline.ingest.inputs.files import expand_path, plan_tasks
    from pipeline.ingest.options import DEFAULT_BLOCKSIZE

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
    status = 0
    for mode in modes:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = run_ingest(str(folder), ExecutionSettings(mode=mode, workers=2))
            times.append(time.perf_counter() - started)
            if result.parsed != count:
                print(f"CROSS-CHECK FAILED: {mode} parsed {result.parsed:,} of {count:,} lines")
                status = 1
        wall = statistics.median(times)
        print(f"| `--worker 2 --mode {mode}` | {wall:.2f} | {1000 * wall / count:.3f} |")
    return status


def profile_parse(case: Case, lines: int = 200_000, block_mib: int = 16, repeat: int = 3) -> int:
    """Where ``parse_text`` spends its CPU time on one block of ``case`` (``--profile-parse``).

    Every ``pyarrow.compute`` function is wrapped to add up its CPU time (inclusive: a function
    called by another counts in both); ``cProfile`` with a CPU-time clock gives the Arrow methods
    (``to_pandas``, ``take``, ``filter``, ...) and the parser's own helpers (cumulative). CPU time
    of this process, not wall time, so the machine's load shifts it less.
    """
    import cProfile
    import pstats

    import pyarrow.compute as pc

    from pipeline.ingest.formats.presets import compile_format
    from pipeline.ingest.parsing import parse

    path = _log_file(lines, case.log_format)  # 200,000: about 19 MB (default), 38 MB (combined)
    with path.open("rb") as handle:
        data = handle.read(block_mib * 2**20)
    text = data[: data.rindex(b"\n") + 1].decode("utf-8")
    fmt = compile_format(case.ingest_format or "default")
    spent: dict[str, float] = {}
    originals = {
        name: value
        for name, value in vars(pc).items()
        if callable(value) and not name.startswith("_") and not isinstance(value, type)
    }

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started

        return wrapper

    parse.parse_text(text, fmt)  # warm-up (imports, regex compilation)
    profiler = cProfile.Profile(time.process_time)
    for name, function in originals.items():
        setattr(pc, name, timed(name, function))
    try:
        started = time.process_time()
        profiler.enable()
        for _ in range(repeat):
            parsed = parse.parse_text(text, fmt)
        profiler.disable()
        total = (time.process_time() - started) / repeat
    finally:
        for name, function in originals.items():
            setattr(pc, name, function)
    lines = parsed.lines
    print(
        f"parse_text, format {fmt.name[:60]}: one {len(data) / 2**20:.0f} MiB block, "
        f"{lines:,} lines, {total:.3f} s CPU per block ({lines / total:,.0f} lines/s), "
        f"mean of {repeat}"
    )
    rows = [(f"`pc.{name}`", seconds / repeat) for name, seconds in spent.items()]
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
        if filename == "~" and "pyarrow" in function:
            rows.append((f"`{function.strip('{}')}`", cumulative / repeat))
        elif filename.endswith("pandas_compat.py") and function == "table_to_dataframe":
            rows.append(("`Table.to_pandas`", cumulative / repeat))
        elif "pipeline/ingest/" in filename.replace(os.sep, "/"):
            rows.append((f"{Path(filename).name}:`{function}` (cumulative)", cumulative / repeat))
    print()
    print("| call | CPU s per block | share of parse_text |")
    print("|---|---:|---:|")
    for label, seconds in sorted(rows, key=lambda row: -row[1]):
        if seconds >= 0.005 * total:
            print(f"| {label} | {seconds:.3f} | {seconds / total:.0%} |")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ingest")
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--scale-gb", type=float, default=None)
    parser.add_argument("--scale-mode", choices=["threading", "process", "both"], default="both")
    parser.add_argument("--scale-repeat", type=int, default=1)
    parser.add_argument("--rss-limit", type=float, default=4.0)
    parser.add_argument("--profile-parse", action="store_true")
    parser.add_argument("--small-files", type=int, default=None)
    args = parser.parse_args(argv)
    modes = tuple(name.strip() for name in args.modes.split(",") if name.strip())
    if not modes or not set(modes) <= set(MODES):
        parser.error(f"--modes {args.modes!r}: expected some of {', '.join(MODES)}")
    if args.lines is not None and args.lines < 1:
        parser.error("--lines must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.small_files is not None:
        return small_files(args.small_files, args.repeat, modes)
    if args.scale_gb is not None:
        from benchmarks.scale import scale

        scale_modes = MODES if args.scale_mode == "both" else (args.scale_mode,)
        if args.scale_repeat < 1:
            parser.error("--scale-repeat must be at least 1")
        return scale(args.scale_gb, args.rss_limit, scale_modes, args.scale_repeat)
    cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; valid: {', '.join(CASES)}")
    if args.profile_parse:
        return max(profile_parse(CASES[name], args.lines or 200_000) for name in cases)
    return compare(args.lines or 5_000_000, args.repeat, cases, not args.skip_naive, modes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
