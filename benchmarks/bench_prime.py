"""Prime job vs primesieve vs a plain numpy sieve, as a user runs them, in one run.

Run: ``python -m benchmarks prime [--repeat 3] [--memory] [--cases pi1e10,pi1e11,high]``.

Every measurement is a fresh process (spawning and imports included):

* our job, ``python cli.py prime --range START:END --worker 2`` in ``--mode threading`` and
  ``--mode process``, median of ``--repeat`` runs;
* the *first run*: the same command after the numba cache was cleared (``NUMBA_CACHE_DIR``
  pointing at an empty directory), i.e. including the one-time compile;
* ``primesieve START END -c -t2`` on the same range (the reference C++ sieve; Debian's
  ``primesieve`` package), skipped with a note when it is not installed;
* a plain numpy sieve (one bool array, one slice per prime) up to ``--numpy-max``, extrapolated
  by ``N log log N`` and labelled so;
* a trivial run (``--range 0:100``), the start-up a user waits for;
* with ``--memory``: the peak resident memory of the whole process tree for pi(10^11) in process
  mode (psutil, every 50 ms);
* with ``--graphs``: graph scaling, end to end with the CLI: 100,000 small disjoint ranges
  (``[1000 i, 1000 i + 10]``) and 10,000 identical ranges against one copy of the same range.

Cases: ``pi1e10`` = [0, 10^10], ``pi1e11`` = [0, 10^11], ``high`` = [10^15 - 10^10, 10^15].
Within a case the methods take turns (ours threading, ours process, primesieve, then again), so
a burst of load from elsewhere hits them alike. The machine may be shared: compare the ratios,
measured in the same run, and note the load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CASES = {
    "pi1e10": (0, 10**10),
    "pi1e11": (0, 10**11),
    "high": (10**15 - 10**10, 10**15),
}


def _ours(
    lo: int, hi: int, mode: str, workers: int, env: dict[str, str] | None = None
) -> tuple[float, int]:
    command = [sys.executable, str(REPO / "cli.py"), "prime", "--range", f"{lo}:{hi}"]
    command += ["--worker", str(workers), "--mode", mode, "--format", "json"]
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO, env=env)
    elapsed = time.perf_counter() - started
    return elapsed, int(json.loads(done.stdout)["total_primes"])


def _primesieve(lo: int, hi: int, binary: str) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [binary, str(lo), str(hi), "-c", "-t2", "-q"], check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    return elapsed, int(done.stdout.split()[-1])


def _plain_numpy(limit: int) -> tuple[float, int]:
    started = time.perf_counter()
    flags = np.ones(limit + 1, dtype=np.bool_)
    flags[:2] = False
    for i in range(2, math.isqrt(limit) + 1):
        if flags[i]:
            flags[i * i :: i] = False
    count = int(np.count_nonzero(flags))
    elapsed = time.perf_counter() - started
    del flags
    return elapsed, count


def _peak_tree_rss(command: list[str]) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak summed RSS in MB of it and its children)."""
    import psutil

    started = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        total = 0
        try:
            for member in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += member.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited with {process.returncode}")
    return time.perf_counter() - started, peak / 2**20


def _ranges_run(ranges: list[list[int]], workers: int) -> tuple[float, int]:
    """Time the CLI (threading) on a ranges file holding ``ranges``; (seconds, union primes)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ranges.json"
        path.write_text(json.dumps(ranges))
        command = [sys.executable, str(REPO / "cli.py"), "prime", "--path", str(path)]
        command += ["--worker", str(workers), "--mode", "threading", "--format", "json"]
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
        elapsed = time.perf_counter() - started
    return elapsed, int(json.loads(done.stdout)["total_primes"])


def _graph_scaling(workers: int, repeat: int) -> None:
    """100,000 small disjoint ranges (target: under 15 s); 10,000 identical ranges vs one."""
    many = [[1000 * i, 1000 * i + 10] for i in range(100_000)]
    same = [0, 10**9]
    cases = {
        "100,000 disjoint ranges [1000 i, 1000 i + 10]": many,
        "1 range [0, 10^9]": [same],
        "10,000 identical ranges [0, 10^9]": [same] * 10_000,
    }
    timed: dict[str, list[tuple[float, int]]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, ranges in cases.items():
            timed[name].append(_ranges_run(ranges, workers))
    print(f"\ngraph scaling, threading --worker {workers}, median of {repeat}, wall seconds\n")
    print("| ranges | wall s | union primes |")
    print("|---|---:|---:|")
    for name, runs in timed.items():
        print(f"| {name} | {statistics.median(t for t, _ in runs):.2f} | {runs[0][1]:,} |")


def _row(name: str, seconds: float, count: int | None, reference: float) -> str:
    shown = "-" if count is None else f"{count:,}"
    ratio = seconds / reference if reference == reference else math.nan
    return f"| {name} | {seconds:.2f} | {shown} | {ratio:.2f}x |"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks prime")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cases", default="pi1e10,pi1e11,high")
    parser.add_argument("--numpy-max", type=float, default=1e9)
    parser.add_argument("--memory", action="store_true", help="peak RSS of pi(10^11), process")
    parser.add_argument("--graphs", action="store_true", help="100,000 and 10,000 ranges")
    args = parser.parse_args(argv)
    binary = shutil.which("primesieve")
    if binary is None:
        print("note: primesieve binary not found (apt install primesieve); its rows are skipped")
    print(f"load average at start: {os.getloadavg()}")
    status = 0
    with tempfile.TemporaryDirectory() as cold:
        env = dict(os.environ, NUMBA_CACHE_DIR=cold)
        first = _ours(0, 10**9, "threading", args.workers, env=env)
        warm = _ours(0, 10**9, "threading", args.workers)
        print(
            f"\nfirst run (numba compiles the kernel), pi(1e9) threading: {first[0]:.2f} s; "
            f"the same with the cache: {warm[0]:.2f} s; compile is about {first[0] - warm[0]:.1f} s"
        )
    trivial = sorted(_ours(0, 100, "threading", args.workers)[0] for _ in range(args.repeat))
    print(
        f"trivial run (--range 0:100), median of {args.repeat}: {statistics.median(trivial):.2f} s"
    )
    for case in filter(None, args.cases.split(",")):
        lo, hi = CASES[case]
        ps_t = math.nan
        rows = []
        results: dict[str, int] = {}
        timed: dict[str, list[tuple[float, int]]] = {"threading": [], "process": []}
        if binary:
            timed["primesieve"] = []
        for _ in range(args.repeat):  # alternate: load from elsewhere hits every method alike
            for method, runs in timed.items():
                if method == "primesieve":
                    runs.append(_primesieve(lo, hi, binary or "primesieve"))
                else:
                    runs.append(_ours(lo, hi, method, args.workers))
        for method, runs in timed.items():
            results[method] = runs[0][1]
            if method == "primesieve":
                ps_t = statistics.median(t for t, _ in runs)
                rows.append((f"primesieve {lo} {hi} -c -t2", runs))
            else:
                rows.append((f"prime --mode {method} --worker {args.workers}", runs))
        if len(set(results.values())) != 1:
            print(f"MISMATCH in {case}: {results}")
            status = 1
        print(f"\n{case}: [{lo:.0e}, {hi:.0e}], median of {args.repeat}, wall seconds\n")
        print("| method | wall s | primes | vs primesieve |")
        print("|---|---:|---:|---:|")
        for name, runs in rows:
            print(_row(name, statistics.median(t for t, _ in runs), runs[0][1], ps_t))
        if lo == 0:
            np_limit = int(min(hi, args.numpy_max))
            np_t, np_count = _plain_numpy(np_limit)
            print(_row(f"plain numpy sieve, measured up to {np_limit:.0e}", np_t, np_count, ps_t))
            if np_limit < hi:
                scale = hi * math.log(math.log(hi)) / (np_limit * math.log(math.log(np_limit)))
                print(_row(f"plain numpy, extrapolated to {hi:.0e}", np_t * scale, None, ps_t))
    if args.graphs:
        _graph_scaling(args.workers, args.repeat)
    if args.memory:
        command = [sys.executable, "cli.py", "prime", "--range", "0:1e11"]
        command += ["--worker", str(args.workers), "--mode", "process", "--format", "json"]
        seconds, peak = _peak_tree_rss(command)
        verdict = "OK" if peak < 600 else "OVER 600 MB"
        print(
            f"\nmemory: pi(1e11) process mode, {args.workers} workers: {seconds:.1f} s, "
            f"peak RSS of the process tree {peak:.0f} MB ({verdict})"
        )
    print(f"load average at end: {os.getloadavg()}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
