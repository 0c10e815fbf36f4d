"""Registration of the ingest feature (imported by :mod:`pipeline.registry` on demand).

Each job registers itself in a ``feature`` module of its own (listed in
:data:`pipeline.registry.BUILTIN`), so ``cli.py prime`` never imports this module and its
pandas-based job: a trivial prime run starts in well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate.timeline import BUCKET_CHOICES
from pipeline.ingest.follow import OnUpdate, Tick, follow_ingest
from pipeline.ingest.formats.presets import DETECTION_ORDER, WRAPPERS
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import (
    DEFAULT_INTERVAL,
    DEFAULT_TOP,
    MAX_BLOCKSIZE,
    MIN_BLOCKSIZE,
    IngestOptions,
)
from pipeline.ingest.report.result import IngestResult
from pipeline.ingest.report.text import render_ingest
from pipeline.registry import Feature, FeatureOption, register
from pipeline.reporting.units import parse_size

#: Bundled sample inputs, resolved from this file so the defaults work from any directory.
DATA_DIR: Final[Path] = Path(__file__).resolve().parents[2] / "data"


def _run(
    path: str, settings: ExecutionSettings, on_update: OnUpdate | None = None, **options: Any
) -> IngestResult:
    """The registry's ``run(path, settings, **options)``: the CLI's values as one options object;
    with ``follow``, ``on_update`` gets every interval's report (:mod:`pipeline.ingest.follow`)."""
    ingest_options = IngestOptions(**options)
    if ingest_options.follow:
        return follow_ingest(path, settings, ingest_options, on_update or _ignore)
    return run_ingest(path, settings, ingest_options)


def _ignore(tick: Tick) -> None:
    """An ``on_update`` that writes nothing (a follow run from Python without a callback)."""


def _ingest_html(result: Any, context: Any) -> str:
    """``--format html`` of ingest; Bokeh is imported only here, when a page is asked for."""
    from pipeline.ingest.report.html import render_ingest_html

    return render_ingest_html(result, context)


FEATURE = register(
    Feature(
        name="ingest",
        help="Web-request logs: counts, exact latency percentiles.",
        path_help="Log file, directory (read recursively), glob or fsspec URL; .gz/.bz2/.xz are "
        "decompressed.",
        description=(
            "Reads every file below --path (a directory, a glob, or an s3:// prefix or pattern; "
            "compression inferred from .gz/.bz2/.xz) in its log format, detected per file among "
            "the presets (nginx and Apache, IIS and other W3C logs, AWS ALB, ELB, CloudFront "
            "and S3, Google Cloud, HAProxy, Squid, Envoy, Traefik, Caddy, ingress-nginx, "
            "lighttpd, Heroku, JSON and logfmt lines, also inside docker or CRI wrappers; "
            "--log-format lists them all) or given with --log-format, also as a pasted nginx "
            "log_format or Apache LogFormat string. Reports counts, exact latency percentiles "
            "(ms), top paths, user agents and, when the lines have times, a timeline. Files "
            "that cannot be read are reported and the exit code is 3."
        ),
        default_path=DATA_DIR / "logs",
        run=_run,
        render_text=render_ingest,
        render_html=_ingest_html,
        options=(
            FeatureOption(
                "malformed_out",
                str,
                None,
                "Write every malformed line as FILE<TAB>LINE to this file.",
                metavar="FILE",
                output=True,
            ),
            FeatureOption(
                "blocksize",
                parse_size,
                "16MiB",
                f"Partition size of uncompressed files: bytes, or a size such as 16MiB or 20MB "
                f"(dask's units), {MIN_BLOCKSIZE >> 20} MiB to {MAX_BLOCKSIZE >> 20} MiB. "
                "Memory does not grow with it (blocks are read in pieces of at most 16 MiB); "
                "smaller blocks balance load more finely, each costs about 50 ms more.",
                metavar="SIZE",
            ),
            FeatureOption(
                "log_format",
                str,
                "auto",
                "Log format: auto (detected per file, container wrappers included), a preset "
                f"({', '.join(DETECTION_ORDER)}), a preset inside a container wrapper "
                f"({', '.join(WRAPPERS)}, e.g. {WRAPPERS[0]}:combined), or an nginx log_format "
                "string ('$remote_addr ... $request_time') or Apache LogFormat string "
                "('%h %l %u %t \"%r\" %>s %b %D').",
                metavar="FORMAT",
            ),
            FeatureOption(
                "field",
                str,
                (),
                "JSON and logfmt lines: read CANON (method, path, status, latency, user_agent, "
                "time, bytes, host, client, referer) from KEY (dotted for nested objects); "
                "UNIT s, ms, us or ns. Repeatable.",
                metavar="CANON=KEY[:UNIT]",
                multiple=True,
            ),
            FeatureOption(
                "bucket",
                str,
                "auto",
                "Timeline bucket; auto: the smallest giving at most 300 rows.",
                choices=BUCKET_CHOICES,
            ),
            FeatureOption(
                "since",
                str,
                None,
                "Only requests at or after this time (ISO 8601 date or date-time; UTC unless "
                "an offset is given).",
                metavar="TIME",
            ),
            FeatureOption(
                "until", str, None, "Only requests before this time (exclusive).", metavar="TIME"
            ),
            FeatureOption(
                "status",
                str,
                None,
                "Only these statuses: a comma list of codes and classes, e.g. 5xx,404.",
                metavar="LIST",
            ),
            FeatureOption(
                "method",
                str,
                None,
                "Only these methods: a comma list, e.g. GET,POST.",
                metavar="LIST",
            ),
            FeatureOption(
                "top",
                int,
                DEFAULT_TOP,
                "Length of every top list (paths, error paths, user agents).",
                min=1,
                metavar="N",
            ),
            FeatureOption(
                "raw_paths",
                bool,
                False,
                "Group paths as written instead of by template (/items/42 -> /items/{id}).",
            ),
            FeatureOption(
                "anonymize_ip",
                bool,
                False,
                "Mask client addresses before anything is counted, as GoAccess's --anonymize-ip "
                "does: IPv4 to /24 (192.168.1.77 -> 192.168.1.0), IPv6 to /64; a client that is "
                "no address (a host name) is dropped. The report then quotes no malformed line "
                "(the count stays); --malformed-out still writes them, raw.",
            ),
            FeatureOption(
                "path_regex",
                str,
                None,
                "Only paths (without query string) in which this RE2 pattern is found.",
                metavar="RE",
            ),
            FeatureOption(
                "state",
                str,
                None,
                "Incremental runs: read only the lines added since the run that wrote FILE "
                "(through log rotation), report the total of all runs and save it back to FILE "
                "after the report. Keep FILE outside --path.",
                metavar="FILE",
                output=True,
            ),
            FeatureOption(
                "follow",
                bool,
                False,
                "Keep reading: every --interval, add the new complete lines of the inputs "
                "(through rotation; new files of a directory or glob) and emit the report again "
                "(json: one line each; text: a live screen on a terminal, else one line each; "
                "html: --output FILE, reloading itself). Ctrl-C or SIGTERM (or the end of "
                "--path -) writes the final report and exits 0. With --state, the state is saved "
                "every interval.",
            ),
            FeatureOption(
                "exact",
                bool,
                False,
                "Make every percentile exact whatever the number of distinct latencies, in "
                "bounded memory: more passes over the input (each about one more read of it; "
                "execution.passes counts them). Not with --path -, a FIFO, --follow or --state.",
            ),
            FeatureOption(
                "interval",
                float,
                DEFAULT_INTERVAL,
                "Seconds between two reads of --follow (> 0).",
                metavar="SECONDS",
            ),
        ),
        examples=(
            "python cli.py ingest",
            "python cli.py ingest --path /var/log/nginx/access.log --since 2026-11-27 --status 5xx",
            "python cli.py ingest --path access.log --log-format "
            '\'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
            '"$http_referer" "$http_user_agent" $request_time\'',
            "python cli.py ingest --path ./data/logs --worker 4 --mode threading",
            "python cli.py ingest --path 'logs/*.log.gz' --format json --malformed-out bad.txt",
            "python cli.py ingest --path /var/log/nginx/ --state /var/lib/mo/nginx.state",
            "python cli.py ingest --path /var/log/nginx/access.log --follow --interval 5",
        ),
    )
)
