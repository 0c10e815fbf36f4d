"""A soak of ``ingest --follow``: ``python -m benchmarks follow``.

A writer appends generated lines (the project's grammar, ``generate_logs``) to one log at
``--rate`` lines per second, in batches every 0.1 s, for ``--seconds``; meanwhile ``cli.py
ingest --path LOG --follow --interval 2 --format json`` follows it in a child process whose
whole process tree is sampled every second with psutil (resident memory, CPU time). At the end
the follow is stopped with SIGINT: its final JSON report must count every line written (parsed
+ malformed = lines written; the benchmark fails otherwise), and the table gives the peak and the
first and last minutes' resident memory (flat memory: bounded partials), the CPU it used (share
of one core), and how far behind the writer each interval's report was.

Options::

    --seconds=S   how long the writer writes (default 1800: the issue's 30-minute soak)
    --rate=R      lines per second (default 20000)
    --mode=MODE   threading (default) or process
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final

REPO: Final[Path] = Path(__file__).resolve().parent.parent

#: Distinct generated lines the writer cycles through (enough that paths and agents vary).
POOL_LINES: Final[int] = 200_000


def _pool(folder: Path) -> list[bytes]:
    from pipeline.loggen.generate import generate_logs

    out = folder / "pool"
    generate_logs(out, lines=POOL_LINES, log_format="default", malformed_rate=0.001, seed=7)
    return [line + b"\n" for line in out.read_bytes().splitlines()]


def _write(log: Path, pool: list[bytes], rate: int, seconds: float, written: list[int]) -> None:
    """Append ``rate`` lines per second for ``seconds``; ``written[0]`` counts them."""
    start = time.monotonic()
    index = 0
    with log.open("ab", buffering=0) as out:
        while (now := time.monotonic() - start) < seconds:
            due = int(now * rate) - written[0]
            if due > 0:
                chunk = [pool[(index + i) % len(pool)] for i in range(due)]
                index += due
                out.write(b"".join(chunk))
                written[0] += due
            time.sleep(0.1)


def _tree(pid: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds of a process and its children."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0.0
    rss, cpu = 0, 0.0
    for proc in procs:
        try:
            rss += proc.memory_info().rss
            times = proc.cpu_times()
            cpu += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return rss, cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks follow")
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--mode", choices=("threading", "process"), default="threading")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pool = _pool(folder)
        log = folder / "access.log"
        log.touch()
        command = [sys.executable, str(REPO / "cli.py"), "ingest", "--path", str(log)]
        command += ["--follow", "--interval", "2", "--format", "json", "--worker", "2"]
        command += ["--mode", args.mode]
        follow = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO
        )
        assert follow.stdout is not None
        reports: list[tuple[float, int]] = []  # (when, lines counted)
        last: list[dict[str, Any]] = []

        def read() -> None:
            assert follow.stdout is not None
            for line in follow.stdout:
                document = json.loads(line)
                last[:] = [document]
                lines = document["lines"]
                reports.append((time.monotonic(), lines["parsed"] + lines["malformed"]))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        written = [0]
        writer = threading.Thread(
            target=_write, args=(log, pool, args.rate, args.seconds, written), daemon=True
        )
        samples: list[tuple[float, int, float]] = []  # (when, rss, cpu seconds)
        started = time.monotonic()
        writer.start()
        while writer.is_alive():
            rss, cpu = _tree(follow.pid)
            samples.append((time.monotonic() - started, rss, cpu))
            time.sleep(1.0)
        stopped = time.monotonic()
        time.sleep(5.0)  # two intervals: the last lines reach the report
        follow.send_signal(signal.SIGINT)
        code = follow.wait(timeout=120)
        reader.join(timeout=30)
    counted = (last[0]["lines"]["parsed"] + last[0]["lines"]["malformed"]) if last else -1
    minute = [rss for when, rss, _ in samples if when <= 60]
    final = [rss for when, rss, _ in samples if when >= samples[-1][0] - 60]
    cpu_share = samples[-1][2] / max(samples[-1][0], 1e-9)
    lags = _lags([r for r in reports if r[0] <= stopped], started, args.rate)
    print(f"\n### --follow soak: {args.seconds:.0f} s at {args.rate:,} lines/s, {args.mode}")
    print(f"lines written {written[0]:,}, counted in the final report {counted:,}, exit {code}")
    print("\n| figure | value |\n|---|---:|")
    print(f"| peak RSS of the process tree | {max(r for _, r, _ in samples) / 2**20:,.0f} MiB |")
    print(f"| RSS, first minute (median) | {statistics.median(minute) / 2**20:,.0f} MiB |")
    print(f"| RSS, last minute (median) | {statistics.median(final) / 2**20:,.0f} MiB |")
    print(f"| CPU (share of one core, whole run) | {100 * cpu_share:.1f} % |")
    print(f"| reports | {len(reports):,} |")
    if lags:
        print(f"| report behind the writer, median / max | {lags[0]:.2f} s / {lags[1]:.2f} s |")
    ok = code == 0 and counted == written[0]
    if not ok:
        print("FAILED: the final report does not count every line written", file=sys.stderr)
    return 0 if ok else 1


def _lags(
    reports: list[tuple[float, int]], started: float, rate: int
) -> tuple[float, float] | None:
    """Median and largest time by which a report (while the writer wrote) was behind it: the
    time since the writer had written the report's line count (``rate`` lines a second from
    ``started``)."""
    behind = [when - (started + count / rate) for when, count in reports if count > 0]
    return (statistics.median(behind), max(behind)) if behind else None


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
