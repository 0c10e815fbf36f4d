"""A tiny feature used to test the frame (registry, CLI, execution) without a real job.

``toy`` sums the integers in a text file, one per line, with one delayed task per line chunk.
Lines that are not integers make the file count as a failed input (exit code 3);
a file whose first line is ``boom`` raises inside a task (exit code 1).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask

from pipeline import ExecutionSettings, FailedInput, InputError, compute
from pipeline.registry import Feature, FeatureOption


@dataclass(frozen=True)
class ToyResult:
    total: int
    chunks: int
    worker_pids: int
    execution: dict[str, Any]
    failed: tuple[FailedInput, ...] = field(default=())

    @property
    def failed_inputs(self) -> Sequence[FailedInput]:
        return self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": "toy",
            "total": self.total,
            "chunks": self.chunks,
            "worker_pids": self.worker_pids,
            "failed": [f.to_dict() for f in self.failed],
            "execution": self.execution,
        }


def _sum_chunk(values: list[str]) -> tuple[int, int]:
    if values and values[0] == "boom":
        raise RuntimeError("boom inside a task")
    return sum(int(v) for v in values), os.getpid()


def run_toy(path: str, settings: ExecutionSettings, *, chunk: int = 2) -> ToyResult:
    source = Path(path)
    if not source.exists():
        raise InputError(f"path not found: {path}")
    lines = [line.strip() for line in source.read_text().splitlines() if line.strip()]
    if any(not (line.lstrip("-").isdigit() or line == "boom") for line in lines):
        return ToyResult(0, 0, 0, settings.describe(), (FailedInput(path, "not an integer"),))
    tasks = [dask.delayed(_sum_chunk)(lines[i : i + chunk]) for i in range(0, len(lines), chunk)]
    parts = compute(*tasks, settings=settings)
    return ToyResult(
        total=sum(p[0] for p in parts),
        chunks=len(parts),
        worker_pids=len({p[1] for p in parts}),
        execution=settings.describe(),
    )


def render_toy(result: ToyResult) -> str:
    return f"toy total: {result.total} ({result.chunks} chunks)"


TOY_FEATURE = Feature(
    name="toy",
    help="Sum integers in a file (test feature).",
    default_path=Path(__file__).parent / "toy_numbers.txt",
    run=run_toy,
    render_text=render_toy,
    options=(FeatureOption("chunk", int, 2, "Lines per task.", min=1),),
    examples=("python cli.py toy --path numbers.txt",),
)
