"""Memory and time at scale, both shapes: ``python -m benchmarks ingest --scale-gb G``.

Two generated files of about ``G`` GB each, in the project's own grammar (0.1 % malformed,
seed 42), cached in ``benchmarks/data/``:

* ``low``: ``generate-logs --cardinality low`` (24 paths, 12 agents, 0.1 ms latencies), the
  shape every other benchmark uses;
* ``realistic``: ``generate-logs --cardinality realistic`` (ids in paths, a heavy tail of rare
  paths, tens of thousands of versioned agents, microsecond latencies), what production logs
  look like.

Each file is read by the CLI in a child process (``ingest --worker 2 --mode M --format json``)
for each mode, the two shapes one after the other so that the machine's load hits them alike;
``--scale-repeat N`` does all of that N times in a row (rounds). The peak resident memory of the
whole process tree (the CLI and its workers) is sampled every 50 ms with psutil, and its CPU time
(user + system, the CLI and the worker processes it waited for) read from ``getrusage``. A run
whose tree exceeds ``--rss-limit`` GB is stopped (every process of its tree killed) and reported
as "over N GB (stopped)", so a shape whose memory grows without bound cannot take the machine
down. One Markdown table: round, shape, lines, GB, mode, peak RSS, wall time, CPU time and, for
``realistic``, its wall and CPU time over ``low``'s in the same mode and round ("> x" when it was
stopped); with more than one round, a second table of each mode's median and range of ratios.

Why CPU time too: on a shared virtual machine the speed of a core drifts by about 10% from one
minute to the next, which moves a ratio of two wall times by about 0.15. The CPU ratio moves
with the drift too, but not with how evenly the work was spread over the workers, and several
rounds give a median.

Exit status 1 when a run failed, was stopped or did not read every line of its file, else 0.
"""

from __future__ import annotations

import contextlib
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent

SHAPES = ("low", "realistic")
MODES = ("threading", "process")
#: How often the tree's memory is sampled, in seconds. Shorter catches briefer peaks and costs
#: more CPU (a psutil walk of the tree). Legal range: > 0.
POLL_S = 0.05
#: Lines generated to measure a shape's bytes per line before the sized file is written.
_SAMPLE_LINES = 20_000


@dataclass(frozen=True)
class Run:
    """One CLI run: its shape, mode, round, peak tree RSS (bytes), wall and CPU time (s), and
    what happened."""

    shape: str
    mode: str
    round: int
    peak: int
    wall: float
    cpu: float
    lines: int | None  # lines read (the report's lines.total); None when stopped or failed
    stopped: bool
    error: str | None = None


def sized_file(gigabytes: float, shape: str) -> tuple[Path, int]:
    """The cached file of ``shape`` with about ``gigabytes`` GB, and its line count."""
    from pipeline.loggen.generate import generate_logs

    DATA.mkdir(parents=True, exist_ok=True)
    sample = DATA / f"scale-{shape}-sample.tmp"
    generate_logs(sample, lines=_SAMPLE_LINES, seed=42, malformed_rate=0.001, cardinality=shape)
    per_line = sample.stat().st_size / _SAMPLE_LINES
    sample.unlink()
    lines = int(gigabytes * 1e9 / per_line)
    path = DATA / f"scale-{shape}-{lines}.log"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".tmp")
        generate_logs(partial, lines=lines, seed=42, malformed_rate=0.001, cardinality=shape)
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path, lines


def measure(
    path: Path, shape: str, mode: str, limit: int, round_: int = 1, extra: tuple[str, ...] = ()
) -> Run:
    """Run the CLI on ``path`` (with ``extra`` options); sample the tree's RSS; stop the tree
    above ``limit`` bytes."""
    import psutil

    command = [sys.executable, str(ROOT / "cli.py"), "ingest", "--path", str(path)]
    command += ["--worker", "2", "--mode", mode, "--format", "json", "--no-progress", *extra]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stopped = threading.Event()
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
                if peak > limit:
                    stopped.set()
                    _kill(tree)
                    return
            except psutil.Error:
                pass
            time.sleep(POLL_S)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        out, err = process.communicate()
    except BaseException:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(process.pid)
            _kill([root, *root.children(recursive=True)])
        raise
    finally:
        done.set()
        poller.join()
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if stopped.is_set():
        return Run(shape, mode, round_, peak, wall, cpu, None, stopped=True)
    if process.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        error = f"exit {process.returncode}: {message[0]}"
        return Run(shape, mode, round_, peak, wall, cpu, None, False, error)
    lines = int(json.loads(out)["lines"]["total"])
    return Run(shape, mode, round_, peak, wall, cpu, lines, stopped=False)


def _children_cpu() -> float:
    """User + system seconds of this process's finished children and the descendants they
    waited for (the CLI waits for its worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kill(tree: list[Any]) -> None:
    """Kill the children first, then the CLI (psutil processes this benchmark started)."""
    import psutil

    for proc in reversed(tree):
        with contextlib.suppress(psutil.Error):
            proc.kill()


def scale(
    gigabytes: float, rss_limit_gb: float, modes: tuple[str, ...] = MODES, rounds: int = 1
) -> int:
    """Both shapes on files of about ``gigabytes`` GB, in each mode, ``rounds`` times; print the
    Markdown tables."""
    limit = int(rss_limit_gb * 1e9)
    files = {shape: sized_file(gigabytes, shape) for shape in SHAPES}
    runs: list[Run] = []
    for round_ in range(1, rounds + 1):
        for mode in modes:
            for shape in SHAPES:
                path, lines = files[shape]
                run = measure(path, shape, mode, limit, round_)
                if run.lines is not None and run.lines != lines:  # the CLI read every line
                    run = replace(run, error=f"read {run.lines:,} of the file's {lines:,} lines")
                print(
                    f"  round {round_} {shape} {mode}: {_memory(run, rss_limit_gb)}, "
                    f"{run.wall:.1f} s, CPU {run.cpu:.1f} s",
                    flush=True,
                )
                runs.append(run)
    print(
        f"\n`--worker 2`, peak RSS of the process tree sampled every {POLL_S * 1000:.0f} ms, "
        f"runs stopped above {rss_limit_gb:g} GB; CPU: user + system of the tree\n"
    )
    print(
        "| round | shape | lines | GB | mode | peak RSS | wall time (s) | CPU time (s) "
        "| realistic / low wall | realistic / low CPU |"
    )
    print("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for run in runs:
        path, lines = files[run.shape]
        wall_ratio, cpu_ratio = _ratios(run, runs)
        wall = f"{run.wall:.1f}" + (" (stopped)" if run.stopped else "")
        print(
            f"| {run.round} | {run.shape} | {lines:,} | {path.stat().st_size / 1e9:.2f} "
            f"| {run.mode} | {_memory(run, rss_limit_gb)} | {wall} | {run.cpu:.1f} "
            f"| {wall_ratio} | {cpu_ratio} |"
        )
    if rounds > 1:
        _summary(runs, modes)
    for run in runs:
        if run.error:
            print(f"{run.shape} {run.mode} failed: {run.error}")
    return 1 if any(run.stopped or run.error for run in runs) else 0


def _pair(run: Run, runs: list[Run]) -> Run | None:
    """The low run of a realistic run's mode and round (None for a low run)."""
    if run.shape != "realistic":
        return None
    return next(r for r in runs if (r.mode, r.round, r.shape) == (run.mode, run.round, "low"))


def _ratios(run: Run, runs: list[Run]) -> tuple[str, str]:
    """A realistic run's wall and CPU time over its low run's, as table cells."""
    low = _pair(run, runs)
    if low is None:
        return "", ""
    if low.stopped or low.error:
        return "n/a", "n/a"
    prefix = "> " if run.stopped or run.error else ""
    return f"{prefix}{run.wall / low.wall:.2f}", f"{prefix}{run.cpu / low.cpu:.2f}"


def _summary(runs: list[Run], modes: tuple[str, ...]) -> None:
    """Per mode: median and range of the complete rounds' ratios, and the largest peaks."""
    print(
        "\n| mode | rounds | realistic / low wall: median (range) | CPU: median (range) "
        "| peak RSS low / realistic (largest) |"
    )
    print("|---|---:|---|---|---|")
    for mode in modes:
        pairs = [
            (low, run)
            for run in runs
            if run.mode == mode
            and (low := _pair(run, runs)) is not None
            and not any(r.stopped or r.error for r in (low, run))
        ]
        if not pairs:
            continue
        walls = [run.wall / low.wall for low, run in pairs]
        cpus = [run.cpu / low.cpu for low, run in pairs]
        peaks = [
            max(r.peak for r in runs if r.mode == mode and r.shape == shape) for shape in SHAPES
        ]
        print(
            f"| {mode} | {len(pairs)} | {statistics.median(walls):.2f} "
            f"({min(walls):.2f}-{max(walls):.2f}) | {statistics.median(cpus):.2f} "
            f"({min(cpus):.2f}-{max(cpus):.2f}) "
            f"| {peaks[0] / 2**20:,.0f} / {peaks[1] / 2**20:,.0f} MiB |"
        )


def _memory(run: Run, limit_gb: float) -> str:
    if run.stopped:
        return f"over {limit_gb:g} GB (stopped)"
    return f"{run.peak / 2**20:,.0f} MiB"
