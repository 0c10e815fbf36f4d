"""Inputs and helpers shared by the HTML report tests: a timed JSON-lines log, a hostile log,
and a parser that reads a page back with the standard library only (an oracle independent of
the page builder)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

#: The agent of the issue: would run a script and inject an element if printed raw.
XSS_AGENT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
#: A path with markup (no whitespace, so the project's grammar takes it as a path).
XSS_PATH = "/<img/src=x/onerror=alert(3)>"


def write_timed_log(path: Path, lines: int = 3000, hours: int = 3, seed: int = 0) -> Path:
    """A JSON-lines access log over ``hours`` hours with latencies, statuses and agents."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    paths = ["/", "/api/items", "/api/users", "/login", "/static/app.js", "/search"]
    agents = ["Mozilla/5.0 (X11) Firefox/120.0", "curl/8.5", "Googlebot/2.1", "okhttp/4", ""]
    with path.open("w", encoding="utf-8") as out:
        for _ in range(lines):
            moment = start + timedelta(seconds=rng.uniform(0, hours * 3600))
            status = rng.choices([200, 301, 404, 500, 503], [80, 5, 8, 5, 2])[0]
            record = {
                "time_iso8601": moment.isoformat(timespec="seconds"),
                "request_method": rng.choices(["GET", "POST", "PUT"], [80, 15, 5])[0],
                "request_uri": rng.choice(paths) + ("?q=1" if rng.random() < 0.2 else ""),
                "status": status,
                "request_time": round(rng.lognormvariate(-3.5, 1.2), 3),
                "http_user_agent": rng.choice(agents),
            }
            out.write(json.dumps(record) + "\n")
    return path


def write_ranges(path: Path) -> Path:
    """A small ranges file for the prime page (the bundled one sieves 10^9 numbers)."""
    ranges = [
        {"name": "first-thousand", "start": 0, "end": 1000},
        {"name": "overlap", "start": 900, "end": 20_000},
        {"name": "<i>named</i>", "start": 1_000_000, "end": 1_100_000},
        {"start": 10**12, "end": 10**12 + 200_000},
        [104_729, 104_729],
    ]
    path.write_text(json.dumps(ranges), encoding="utf-8")
    return path


def write_hostile_log(path: Path) -> Path:
    """A log in the project's grammar whose agent, path and a malformed line carry markup."""
    path.write_text(
        f"[GET] /ok, status=200, time=5ms user-agent={XSS_AGENT}\n"
        f"[GET] {XSS_PATH}, status=500, time=12.5ms user-agent={XSS_AGENT}\n"
        "[GET] /a, status=200, time=0.5ms user-agent=curl/8\n"
        f"not a log line {XSS_AGENT}\n",
        encoding="utf-8",
    )
    return path


class PageReader(HTMLParser):
    """Collects the start tags, the scripts' text and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._buffer = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._buffer)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._buffer.append(data)
        else:
            self.text.append(data)

    def report_data(self) -> Any:
        """The document embedded as ``<script type="application/json" id="report-data">``."""
        found = [
            body
            for attrs, body in self.scripts
            if attrs.get("id") == "report-data" and attrs.get("type") == "application/json"
        ]
        assert len(found) == 1, f"expected one report-data script, found {len(found)}"
        return json.loads(found[0])


def read_page(page: str) -> PageReader:
    """Parse an HTML page with :class:`PageReader`."""
    reader = PageReader()
    reader.feed(page)
    reader.close()
    return reader


def without_timings(document: Any) -> Any:
    """The document without ``execution.elapsed_s`` (differs between two runs)."""
    copy = json.loads(json.dumps(document))
    copy["execution"].pop("elapsed_s", None)
    return copy
