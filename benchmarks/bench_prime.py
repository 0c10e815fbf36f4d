"""Prime job vs primesieve vs a plain numpy sieve: pi(N) wall times, plus a memory check.

Run: ``python -m benchmarks prime [--limit 1e10] [--repeat 3] [--memory]``. Measures, in one
run and with the median of ``repeat`` runs each:

* our job, ``python cli.py prime --worker 2 --mode process`` on one range ``[0, N]`` (a fresh
  process each time, so spawn and import costs are included, as a user would see them);
* ``primesieve N -c -t2`` (the reference C++ sieve), skipped with a note when not installed;
* a plain numpy sieve of Eratosthenes (one bool array, one slice per prime) up to
  ``min(N, --numpy-max)``, extrapolated to N by ``N log log N`` and labelled so.

``--memory`` also runs pi(10^11) once with ``--worker 2`` and reports the peak resident memory of
the whole process tree (psutil polling every child every 50 ms); the requirement is < 500 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _number(text: str) -> int:
    return int(float(text)) if "e" in text.lower() else int(text)


def _ours(limit: int, workers: int, ranges: Path) -> tuple[float, int]:
    command = [sys.executable, str(REPO / "cli.py"), "prime", "--path", str(ranges)]
    command += ["--worker", str(workers), "--mode", "process", "--format", "json"]
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    return elapsed, int(json.loads(done.stdout)["total_primes"])


def _primesieve(limit: int, binary: str) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [binary, str(limit), "-c", "-t2", "-q"], check=True, capture_output=True, text=True
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


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks prime")
    parser.add_argument("--limit", type=_number, default=10**10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--numpy-max", type=_number, default=10**9)
    parser.add_argument("--memory", action="store_true", help="also check pi(10^11) peak RSS")
    parser.add_argument("--memory-limit", type=_number, default=10**11)
    args = parser.parse_args(argv)
    limit = args.limit
    with tempfile.TemporaryDirectory() as tmp:
        ranges = Path(tmp) / "ranges.json"
        ranges.write_text(json.dumps([[0, limit]]))
        ours = [_ours(limit, args.workers, ranges) for _ in range(args.repeat)]
        binary = shutil.which("primesieve")
        ps = [_primesieve(limit, binary) for _ in range(args.repeat)] if binary else []
        np_limit = min(limit, args.numpy_max)
        plain = [_plain_numpy(np_limit) for _ in range(args.repeat)]
        ours_t = _median([t for t, _ in ours])
        rows = [(f"mini-orchestrator prime (process, {args.workers} workers)", ours_t, ours[0][1])]
        if ps:
            ps_t = _median([t for t, _ in ps])
            rows.append((f"primesieve {limit} -c -t2", ps_t, ps[0][1]))
            if ps[0][1] != ours[0][1]:
                print(f"MISMATCH: ours {ours[0][1]} != primesieve {ps[0][1]}")
                return 1
        else:
            ps_t = math.nan
            print("note: primesieve binary not found; its row is skipped")
        np_t = _median([t for t, _ in plain])
        rows.append((f"plain numpy sieve, measured up to {np_limit:.0e}", np_t, plain[0][1]))
        if np_limit < limit:
            scale = limit * math.log(math.log(limit)) / (np_limit * math.log(math.log(np_limit)))
            rows.append((f"plain numpy sieve, extrapolated to {limit:.0e}", np_t * scale, None))
        print(f"\npi({limit:.0e}), median of {args.repeat} run(s), wall seconds\n")
        print("| method | wall s | primes | vs primesieve |")
        print("|---|---:|---:|---:|")
        for name, seconds, count in rows:
            ratio = seconds / ps_t if ps else math.nan
            shown = "-" if count is None else f"{count:,}"
            print(f"| {name} | {seconds:.2f} | {shown} | {ratio:.2f}x |")
        if args.memory:
            ranges.write_text(json.dumps([[0, args.memory_limit]]))
            command = [sys.executable, "cli.py", "prime", "--path", str(ranges)]
            command += ["--worker", str(args.workers), "--mode", "process", "--format", "json"]
            seconds, peak = _peak_tree_rss(command)
            verdict = "OK" if peak < 500 else "OVER 500 MB"
            print(
                f"\nmemory: pi({args.memory_limit:.0e}) with {args.workers} workers: "
                f"{seconds:.1f} s, peak RSS of the process tree {peak:.0f} MB ({verdict})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
