"""An incremental run against a full one: ``python -m benchmarks state``.

A generated log (the project's default grammar, 0.1 % malformed) of about ``--gb`` GB is ingested
once with ``--state`` (the first run: everything is new), then 1 % more lines are appended and it
is ingested again with the same state: that run reads only the new 1 %. A third run without
``--state`` over the whole grown file is the reference: the benchmark stops with exit 1 when the
incremental report differs from it (apart from ``execution``, ``inputs`` and the malformed
samples, as the guarantee says). Each run is ``run_ingest`` in this process (``--mode`` threading
by default, ``--worker 2``), so the times leave out the interpreter's start-up (about 1 s).

Options::

    --gb=G        size of the first file in GB (default 1.0)
    --mode=MODE   threading (default) or process
    --keep        keep the generated file under benchmarks/data/ for the next run

The file goes to ``benchmarks/data/`` (gitignored); it is rewritten for every run (the appended
lines change it) and removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

DATA: Final[Path] = Path(__file__).resolve().parent / "data"

#: Bytes of one line of the default grammar, on average (measured on generated logs).
LINE_BYTES: Final[int] = 93


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in report.items() if k not in ("execution", "inputs", "exact")}
    kept["lines"] = {k: v for k, v in report["lines"].items() if k != "malformed_samples"}
    return kept


def _run(path: str, mode: str, state: str | None) -> tuple[float, dict[str, Any]]:
    from pipeline.engine.settings import ExecutionSettings
    from pipeline.ingest.job import run_ingest
    from pipeline.ingest.options import IngestOptions
    from pipeline.reporting.text import render_json

    started = time.perf_counter()
    result = run_ingest(path, ExecutionSettings(mode=mode, workers=2), IngestOptions(state=state))
    report: dict[str, Any] = json.loads(render_json(result))
    result.save_state()
    return time.perf_counter() - started, report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks state")
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--mode", choices=("threading", "process"), default="threading")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    from pipeline.loggen.generate import generate_logs

    lines = max(int(args.gb * 1e9 / LINE_BYTES), 100)
    DATA.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-state-", dir=DATA))
    logs, state = work / "logs", str(work / "bench.state")
    logs.mkdir()
    log = logs / "access.log"
    started = time.perf_counter()
    generate_logs(log, lines=lines, seed=42, malformed_rate=0.001)
    generate_logs(work / "more.log", lines=max(lines // 100, 1), seed=43, malformed_rate=0.001)
    print(f"generated {log.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.1f} s")
    try:
        first, _ = _run(str(logs), args.mode, state)
        with open(work / "more.log", "rb") as more, open(log, "ab") as target:
            shutil.copyfileobj(more, target)
        appended = (work / "more.log").stat().st_size
        second, incremental = _run(str(logs), args.mode, state)
        full, reference = _run(str(logs), args.mode, None)
        same = _comparable(incremental) == _comparable(reference)
        print(f"{'run':<32}{'seconds':>10}")
        print(f"{'first, --state (all new)':<32}{first:>10.2f}")
        print(f"{'second, --state (+1 % new)':<32}{second:>10.2f}")
        print(f"{'full, no --state (reference)':<32}{full:>10.2f}")
        print(
            f"mode {args.mode}, {lines:,} + {max(lines // 100, 1):,} lines, "
            f"{appended / 1e6:.1f} MB appended; second/first = {second / first:.3f}; "
            f"state {os.path.getsize(state) / 1e3:.0f} kB; "
            f"incremental report {'equals' if same else 'DIFFERS FROM'} the full run's"
        )
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
