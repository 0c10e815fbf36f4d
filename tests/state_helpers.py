"""Shared by the ``--state`` tests: a log writer that rotates like logrotate, and the reference.

:class:`RotatingLog` writes numbered, unique combined-format lines (each line is also kept in
``written``, the reference of every line ever written) to ``DIR/access.log``, and rotates it the
ways logrotate does: ``create`` (rename, new file) or ``copytruncate`` (copy, truncate in place),
with ``compress``, ``delaycompress`` and ``dateext`` naming, keeping ``rotate`` old files. A line
may be written in two halves (:meth:`RotatingLog.append` with ``partial=True``): its end follows
in the next write, as a server's buffered write would; a rotation finishes it first (the writer
pauses during the copy of ``copytruncate``, as the issue asks).

:func:`comparable` is a report without what the guarantee leaves out (``execution``, ``inputs``,
``lines.malformed_samples``, the ``exact`` flags, checked by :func:`assert_same_report`).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.reporting.text import render_json

STATUSES = (200, 200, 200, 201, 204, 301, 404, 500, 503)


def line(number: int) -> str:
    """Line ``number`` (unique: its query string carries the number), with its newline."""
    minute, second = divmod(number, 60)
    status = STATUSES[number % len(STATUSES)]
    return (
        f"10.0.{number % 7}.{number % 250} - - [07/Dec/2026:10:{minute % 60:02d}:{second:02d} "
        f'+0000] "GET /items/{number % 11}?n={number} HTTP/1.1" {status} {number % 977} '
        f'"-" "agent/{number % 3}"\n'
    )


class RotatingLog:
    """``DIR/access.log`` written and rotated; ``written`` holds every line ever written."""

    def __init__(self, directory: Path, *, rotate: int = 3) -> None:
        self.dir = directory
        self.live = directory / "access.log"
        self.live.touch()
        self.written: list[str] = []
        self.pending = ""  # the second half of a line cut in two
        self.rotate = rotate
        self.dates = 0

    def append(self, count: int, *, partial: bool = False) -> None:
        """Write ``count`` more lines; with ``partial`` the last one only up to its middle."""
        text = self.pending
        self.pending = ""
        for _ in range(count):
            text += line(len(self.written))
            self.written.append(line(len(self.written)))
        if partial and count:
            cut = len(text) - len(self.written[-1]) // 2
            text, self.pending = text[:cut], text[cut:]
        with open(self.live, "a", encoding="utf-8") as handle:
            handle.write(text)

    def finish_line(self) -> None:
        """The writer completes its half-written line (before a rotation or the final run)."""
        if self.pending:
            with open(self.live, "a", encoding="utf-8") as handle:
                handle.write(self.pending)
            self.pending = ""

    def rotate_once(self, *, copytruncate: bool, compress: str, dateext: bool) -> None:
        """One logrotate cycle; ``compress``: ``none``, ``compress`` or ``delaycompress``."""
        self.finish_line()
        if dateext:
            self.dates += 1
            target = self.dir / f"access.log-2026120{self.dates}"
            previous = self.dir / f"access.log-2026120{self.dates - 1}"
        else:
            self._shift()
            target, previous = self.dir / "access.log.1", self.dir / "access.log.2"
        if copytruncate:
            shutil.copyfile(self.live, target)
            with open(self.live, "r+b") as handle:
                handle.truncate(0)
        else:
            os.rename(self.live, target)
            self.live.touch()
        if compress == "compress":
            _gzip(target)
        elif compress == "delaycompress" and previous.exists():
            _gzip(previous)
        if dateext:
            self._expire_dated()

    def _shift(self) -> None:
        """access.log.N(.gz) -> access.log.N+1(.gz), the oldest beyond ``rotate`` deleted."""
        for number in range(self.rotate, 0, -1):
            for suffix in ("", ".gz"):
                old = self.dir / f"access.log.{number}{suffix}"
                if not old.exists():
                    continue
                if number == self.rotate:
                    old.unlink()
                else:
                    old.rename(self.dir / f"access.log.{number + 1}{suffix}")

    def _expire_dated(self) -> None:
        dated = sorted(p for p in self.dir.iterdir() if p.name.startswith("access.log-"))
        for old in dated[: -self.rotate]:
            old.unlink()


def _gzip(path: Path) -> None:
    """gzip's way: PATH.gz written, then PATH removed (a new inode)."""
    with open(path, "rb") as source, gzip.open(f"{path}.gz", "wb") as target:
        shutil.copyfileobj(source, target)
    path.unlink()


def run_report(path: str, mode: str = "sync", **options: Any) -> dict[str, Any]:
    """One ingest run's JSON report (the state, when given, saved as the CLI does)."""
    result = run_ingest(path, ExecutionSettings(mode=mode), IngestOptions(**options))
    result.save_state()
    report: dict[str, Any] = json.loads(render_json(result))
    return report


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what the guarantee leaves out."""
    kept = {k: v for k, v in report.items() if k not in ("execution", "inputs", "exact")}
    kept["lines"] = {k: v for k, v in report["lines"].items() if k != "malformed_samples"}
    return kept


def assert_same_report(incremental: dict[str, Any], full: dict[str, Any]) -> None:
    """The guarantee: equal figures; an ``exact`` flag may be false only in the incremental."""
    assert comparable(incremental) == comparable(full)
    for key, exact in incremental.get("exact", {}).items():
        assert not exact or full["exact"][key], key


def write_reference(lines: list[str], path: Path) -> str:
    """Every line ever written, in one file (the one run without ``--state``)."""
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)
