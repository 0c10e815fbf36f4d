"""HTML profiles of a run (``--profile FILE.html``), self-contained (bokeh resources inlined).

* distributed: Dask's ``performance_report`` (task stream, worker profile, bandwidth).
* local modes: Dask's local diagnostics (``Profiler``, ``ResourceProfiler``, ``CacheProfiler``)
  rendered with ``dask.diagnostics.visualize``.

Both libraries open the file name themselves, so they write into a scratch file that
:func:`pipeline.reporting.outputs.atomic_path` then moves into place whole; a failure
(``/dev/full``, a full disk) is an :class:`~pipeline.errors.OutputError` (exit 2), raised when the
block ends, that is after the report.

Both libraries title the page generically ("Bokeh Plot", "Dask Performance Report"): before the
page is moved into place, its title becomes "mini-orchestrator profile: COMMAND" and a header
listing the run's facts (command line, input, mode, workers, date; all HTML-escaped) opens its
body, so that a profile kept among others still says which run it shows.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def profile(
    path: str | Path, *, distributed: bool, facts: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Profile everything computed inside the block and write the HTML report to ``path``.

    ``facts`` label the page (e.g. ``{"command": ..., "input": ..., "mode": ...,
    "workers": ...}``, in that order); the ``command`` fact, when present, titles it.
    """
    from pipeline.reporting.outputs import atomic_path, check_outputs

    target = Path(path)
    check_outputs({"profile": target}, [])
    with atomic_path(target, what="profile") as scratch:
        if distributed:
            from distributed import performance_report

            with performance_report(filename=scratch, mode="inline"):
                yield
        else:
            with _local_profile(Path(scratch)):
                yield
        label_page(Path(scratch), dict(facts or {}))
    log.info("profile written to %s", target)


def label_page(page: Path, facts: dict[str, str]) -> None:
    """Give the HTML file ``page`` a title and a header with ``facts`` (and the date)."""
    facts.setdefault("date", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
    title = "mini-orchestrator profile" + (f": {facts['command']}" if "command" in facts else "")
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(key)}</th>"
        f"<td><code>{html.escape(value)}</code></td></tr>"
        for key, value in facts.items()
    )
    header = (
        "<header id='run-facts' style='font-family:sans-serif;margin:1em'>"
        f"<h1 style='font-size:1.4em'>{html.escape(title)}</h1><table>{rows}</table></header>"
    )
    text = page.read_text(encoding="utf-8")
    # the page's own tags, not the ones inside its inlined scripts: the title is the first one,
    # in the head; the body opens after the head closes (the last "</head>")
    text, titled = re.subn(
        r"<title>.*?</title>",
        lambda _: f"<title>{html.escape(title)}</title>",
        text,
        count=1,
        flags=re.IGNORECASE | re.DOTALL,
    )
    head_end = text.lower().rfind("</head>")  # scripts in the head may hold the string
    body = re.compile(r"<body[^>]*>", re.IGNORECASE).search(text, max(head_end, 0))
    if not titled:
        text = f"<title>{html.escape(title)}</title>" + text
        head_end = -1
    if body is not None and head_end >= 0:
        text = text[: body.end()] + header + text[body.end() :]
    else:
        text = header + text
    page.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def _local_profile(target: Path) -> Iterator[None]:
    from dask.diagnostics import CacheProfiler, Profiler, ResourceProfiler, visualize

    with Profiler() as tasks, ResourceProfiler(dt=0.25) as resources, CacheProfiler() as cache:
        yield
    visualize([tasks, resources, cache], filename=str(target), show=False, save=True, mode="inline")
