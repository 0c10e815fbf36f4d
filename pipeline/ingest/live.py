"""What ``ingest --follow`` writes after every interval (:mod:`pipeline.ingest.follow`).

* ``--format json``: the whole report as one compact JSON line on standard output, or
  ``--output FILE`` rewritten atomically (one indented document);
* ``--format text``: with ``--output FILE`` the text report rewritten atomically; on a
  terminal a screen redrawn in place (:func:`screen`: the cursor sent home, then the lines,
  each cleared to its end, then the rest of the screen cleared; never more lines or columns
  than the terminal has, so it never scrolls); elsewhere one line per
  interval (:func:`interval_line`);
* ``--format html --output FILE``: FILE rewritten atomically with a page that reloads itself
  every interval (:func:`with_refresh`); the final page has no reload.

Everything taken from the input (paths) goes through
:func:`~pipeline.reporting.display.escape_text`: a log line cannot move the cursor.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from pipeline.ingest.follow import Tick
from pipeline.ingest.report.result import IngestResult
from pipeline.reporting.display import escape_text
from pipeline.reporting.outputs import atomic_text
from pipeline.reporting.text import render_json, render_json_line

#: ANSI: cursor home, clear to the end of the line, clear to the end of the screen.
HOME: Final[str] = "\x1b[H"
CLEAR_LINE: Final[str] = "\x1b[K"
CLEAR_BELOW: Final[str] = "\x1b[J"

#: Timeline rows the screen shows at most (the last ones: with a 1-minute bucket, the last
#: minutes); fewer when the terminal is short.
TIMELINE_ROWS: Final[int] = 10


def _figure(value: Any, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.1f}{unit}" if isinstance(value, float) else f"{value:,}{unit}"


def _server_errors(result: IngestResult) -> int:
    return int(result.by_status_class.get("5xx", 0))


def interval_line(tick: Tick) -> str:
    """One line per interval: UTC time, requests so far, rate over the interval, 5xx, p95.

    ``rate`` is the interval's new requests over the seconds since the previous line.
    """
    rate = tick.last.parsed / tick.seconds if tick.seconds > 0 else 0.0
    return (
        f"{tick.at:%Y-%m-%dT%H:%M:%SZ} requests={tick.report.parsed} rate={rate:.1f}/s "
        f"5xx={_server_errors(tick.report)} "
        f"p95={_figure(tick.report.latency_ms.get('p95'), 'ms')}\n"
    )


def _rows(title: str, entries: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    lines = [title]
    for entry in entries:
        lines.append(f"  {entry['count']:>10,}  {escape_text(str(entry[key]))}")
    return lines if entries else [title, "  -"]


def screen_lines(tick: Tick) -> list[str]:
    """The live screen's lines, most important first (a short terminal cuts the end)."""
    report, last = tick.report, tick.last
    rate = last.parsed / tick.seconds if tick.seconds > 0 else 0.0
    classes = "  ".join(f"{name} {count:,}" for name, count in report.by_status_class.items())

    def percentiles(result: IngestResult) -> str:
        lat = result.latency_ms
        return "  ".join(
            f"{name} {_figure(lat.get(key), 'ms')}"
            for name, key in (("p50", "median"), ("p95", "p95"), ("p99", "p99"))
        )

    lines = [
        f"ingest --follow  {tick.at:%Y-%m-%d %H:%M:%SZ}  interval {tick.number:,}",
        f"requests {report.parsed:,}  (+{last.parsed:,}, {rate:,.1f} req/s)  "
        f"malformed {report.malformed:,}  failed inputs {len(report.failed):,}",
        f"status   {classes or '-'}",
        f"latency  last interval: {percentiles(last)}",
        f"         overall:       {percentiles(report)}",
        "",
    ]
    lines += _rows("top paths", report.top_paths, "path")
    lines += _rows("top error paths", report.top_errors, "path")
    if report.timeline is not None:
        rows = list(report.timeline["rows"])[-TIMELINE_ROWS:]
        lines.append(f"timeline (bucket {report.timeline['bucket']})")
        lines += [f"  {escape_text(str(row['start']))}  {row['requests']:>10,}" for row in rows]
    return lines


def screen(tick: Tick, columns: int, rows: int) -> str:
    """The screen to draw: home, at most ``rows - 1`` lines of at most ``columns - 1``
    characters (the last column and row stay free, so the terminal never wraps or scrolls),
    each line cleared to its end, then everything below cleared."""
    shown = [line[: max(columns - 1, 1)] for line in screen_lines(tick)][: max(rows - 1, 1)]
    return HOME + "".join(line + CLEAR_LINE + "\n" for line in shown) + CLEAR_BELOW


def with_refresh(page: str, seconds: float) -> str:
    """``page`` with a ``<meta http-equiv="refresh">`` reloading it every ``seconds``
    (at least 1, as browsers count whole seconds), right after ``<head>``."""
    meta = f'<meta http-equiv="refresh" content="{max(1, math.ceil(seconds))}">'
    head = page.find("<head>")
    if head < 0:
        return meta + page
    cut = head + len("<head>")
    return page[:cut] + meta + page[cut:]


class LiveOutput:
    """The ``on_update`` of a follow started by the CLI: writes each interval's report as the
    module docstring says (the final report is the CLI's ordinary one)."""

    def __init__(
        self,
        output_format: str,
        output: Path | None,
        interval: float,
        render_html: Callable[[IngestResult], str],
        render_text: Callable[[IngestResult], str],
        stream: TextIO | None = None,
    ) -> None:
        self.format = output_format
        self.output = output
        self.interval = interval
        self.render_html = render_html
        self.render_text = render_text
        self.stream = stream if stream is not None else sys.stdout
        self._last: tuple[IngestResult, str] | None = None
        self.terminal = output is None and output_format == "text" and self.stream.isatty()

    def __call__(self, tick: Tick) -> None:
        if self.format == "json" and self.output is None:
            self._write(self._rendered(tick.report, render_json_line))
        elif self.format == "json":
            self._rewrite(tick.report, render_json)
        elif self.format == "html":
            self._rewrite(
                tick.report, lambda result: with_refresh(self.render_html(result), self.interval)
            )
        elif self.terminal:
            size = shutil.get_terminal_size()
            self._write(screen(tick, size.columns, size.lines))
        elif self.output is None:
            self._write(interval_line(tick))
        else:
            self._rewrite(tick.report, self.render_text)

    def _rendered(self, report: IngestResult, render: Callable[[IngestResult], str]) -> str:
        """``render(report)``, rendered once for the same report (an idle follow repeats it)."""
        if self._last is None or self._last[0] is not report:
            self._last = (report, render(report))
        return self._last[1]

    def _rewrite(self, report: IngestResult, render: Callable[[IngestResult], str]) -> None:
        """``--output FILE`` rewritten atomically, unless the report is the one already there."""
        assert self.output is not None
        if self._last is not None and self._last[0] is report:
            return
        text = self._rendered(report, render)
        with _signals_held(), atomic_text(self.output, what="report") as handle:
            handle.write(text)

    def clear(self) -> None:
        """Before the final report on a terminal: the live screen is wiped."""
        if self.terminal:
            self._write(HOME + CLEAR_BELOW)

    def _write(self, text: str) -> None:
        with _signals_held():  # a line or a screen goes out whole, then Ctrl-C ends the follow
            self.stream.write(text)
            self.stream.flush()


#: The signals that end a follow (:mod:`pipeline.engine.interrupts`).
_ENDING: Final[frozenset[int]] = frozenset(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while an interval's report is written, so a signal never
    cuts a JSON line in two before the final one: their handlers are swapped for one that
    notes the signal, which is sent again once the handlers are back. (Blocking the signals
    would not do: Dask's threads do not block them, and a signal delivered to one of them still
    runs the handler in the main thread.) Main thread only; elsewhere nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(number: int, frame: object) -> None:
        pending.append(number)

    previous = {number: signal.signal(number, note) for number in _ENDING}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if pending:
            os.kill(os.getpid(), pending[0])
