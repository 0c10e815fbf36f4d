"""Run benchmark modules: ``python -m benchmarks [NAME ...] [OPTIONS]`` (``make bench``: all).

Each ``benchmarks/bench_*.py`` defines ``main(argv: list[str]) -> int`` and prints its own table.
Leading arguments that name a module (``ingest``, ``prime``) select it; everything from the first
other argument on (e.g. ``--repeat 3``) is passed to each selected module.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    known = {name.removeprefix("bench_") for name in names}
    wanted: list[str] = []
    while argv and argv[0] in known:
        wanted.append(argv.pop(0))
    selected = [name for name in names if not wanted or name.removeprefix("bench_") in wanted]
    status = 0
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name} ==", flush=True)
        status |= module.main(list(argv))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
