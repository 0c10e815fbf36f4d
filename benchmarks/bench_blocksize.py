"""The bounds of ``--blocksize`` and of dense input: ``python -m benchmarks blocksize``.

Issue 22's rules, checked on this machine:

* every legal ``--blocksize`` (the smallest, the default, the largest) runs within
  :data:`MAX_TIME_RATIO` times the default's wall time and within :data:`MAX_RSS` bytes of peak
  RSS for the whole process tree;
* a file of empty lines (``--empty-mb``, 50 by default) stays within :data:`MAX_EMPTY_RSS`.

The log is ``benchmarks/scale.py``'s ``realistic`` shape (ids in paths, tens of thousands of
agents, microsecond latencies) of about ``--gb`` GB (0.35 by default), cached in
``benchmarks/data/``. Each run is the CLI in a child process (``ingest --worker 2 --format json``,
both modes), measured by :func:`benchmarks.scale.measure` (tree RSS sampled every 50 ms, CPU time
from ``getrusage``). Within a round the blocksizes run back to back in each mode, so a ratio
compares runs that met the same load; ``--repeat N`` rounds give the median ratio.

One Markdown table: round, mode, blocksize, peak RSS, wall and CPU time, wall and CPU over the
default's in the same round and mode. Exit status 1 when a run failed, did not read every line
of the log, or broke a rule (by its median over the rounds).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from benchmarks import scale
from pipeline.ingest.options import DEFAULT_BLOCKSIZE, MAX_BLOCKSIZE, MIN_BLOCKSIZE

#: The rules of issue 22: time over the default's, and peak RSS of the process tree.
MAX_TIME_RATIO = 3.0
MAX_RSS = int(1.5 * 2**30)
MAX_EMPTY_RSS = 500 * 2**20

#: Runs above this are stopped (and fail the rule) so that a regression cannot exhaust memory.
_STOP_RSS = 4 * 2**30

BLOCKSIZES = (MIN_BLOCKSIZE, DEFAULT_BLOCKSIZE, MAX_BLOCKSIZE)


def _label(size: int) -> str:
    return f"{size >> 20} MiB"


def _empty_file(megabytes: int) -> Path:
    scale.DATA.mkdir(parents=True, exist_ok=True)
    path = scale.DATA / f"empty-{megabytes}mb.log"
    if not path.exists():
        path.write_bytes(b"\n" * (megabytes * 10**6))
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks blocksize")
    parser.add_argument("--gb", type=float, default=0.35, help="size of the realistic log")
    parser.add_argument("--empty-mb", type=int, default=50, help="size of the empty-line file")
    parser.add_argument("--repeat", type=int, default=1, help="rounds")
    args, _ = parser.parse_known_args(argv)
    path, lines = scale.sized_file(args.gb, "realistic")
    empty = _empty_file(args.empty_mb)
    failed = False
    ratios: dict[tuple[str, int], list[float]] = {}
    peaks: dict[tuple[str, int], list[int]] = {}
    print("| round | mode | blocksize | peak RSS | wall | CPU | wall / default | CPU / default |")
    print("|---|---|---|---|---|---|---|---|")
    for round_ in range(1, args.repeat + 1):
        for mode in scale.MODES:
            runs: dict[int, scale.Run] = {}
            for size in BLOCKSIZES:
                extra = ("--blocksize", str(size))
                runs[size] = scale.measure(path, "realistic", mode, _STOP_RSS, round_, extra)
            base = runs[DEFAULT_BLOCKSIZE]
            for size, run in runs.items():
                if run.lines != lines or base.lines != lines:  # every line, malformed too
                    print(f"| {round_} | {mode} | {_label(size)} | failed: {run.error} |")
                    failed = True
                    continue
                wall, cpu = run.wall / base.wall, run.cpu / base.cpu
                ratios.setdefault((mode, size), []).append(wall)
                peaks.setdefault((mode, size), []).append(run.peak)
                print(
                    f"| {round_} | {mode} | {_label(size)} | {run.peak / 2**20:.0f} MiB "
                    f"| {run.wall:.1f} s | {run.cpu:.1f} s | {wall:.2f} | {cpu:.2f} |",
                    flush=True,
                )
            run = scale.measure(empty, "empty", mode, _STOP_RSS, round_)
            ok = run.lines == 0 and run.peak <= MAX_EMPTY_RSS
            failed |= not ok
            print(
                f"| {round_} | {mode} | {args.empty_mb} MB of empty lines | "
                f"{run.peak / 2**20:.0f} MiB | {run.wall:.1f} s | {run.cpu:.1f} s | | |",
                flush=True,
            )
    for (mode, size), walls in sorted(ratios.items()):
        ratio, peak = statistics.median(walls), statistics.median(peaks[mode, size])
        verdict = "ok" if ratio <= MAX_TIME_RATIO and peak <= MAX_RSS else "BROKEN"
        failed |= verdict != "ok"
        print(
            f"{mode} {_label(size)}: wall ratio {ratio:.2f}, peak {peak / 2**20:.0f} MiB: {verdict}"
        )
    return 1 if failed else 0
