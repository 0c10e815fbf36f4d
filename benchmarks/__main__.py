"""Run every benchmark module: ``python -m benchmarks [NAME ...]`` (``make bench``).

Each ``benchmarks/bench_*.py`` defines ``main(argv: list[str]) -> int`` and prints its own table.
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
    wanted = [arg for arg in argv if not arg.startswith("-")]
    selected = [name for name in names if not wanted or name.removeprefix("bench_") in wanted]
    status = 0
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name} ==", flush=True)
        status |= module.main([arg for arg in argv if arg.startswith("-")])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
