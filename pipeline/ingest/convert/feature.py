"""Registration of the convert feature (imported by :mod:`pipeline.registry` on demand).

Its input options are ingest's own declarations (the same flags, help and parsing, taken by
name from :data:`pipeline.ingest.feature.FEATURE`), validated by the same
:class:`~pipeline.ingest.options.IngestOptions`.
"""

from __future__ import annotations

from typing import Any, Final

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.convert.job import run_convert
from pipeline.ingest.convert.result import ConvertResult, render_convert
from pipeline.ingest.feature import DATA_DIR
from pipeline.ingest.feature import FEATURE as INGEST
from pipeline.ingest.options import IngestOptions
from pipeline.registry import Feature, FeatureOption, register

#: The ingest options that apply to convert (inputs, formats, filters, malformed lines).
SHARED: Final[tuple[str, ...]] = (
    "malformed_out",
    "blocksize",
    "log_format",
    "field",
    "since",
    "until",
    "status",
    "method",
    "path_regex",
    "anonymize_ip",
)


def _run(path: str, settings: ExecutionSettings, **options: Any) -> ConvertResult:
    """The registry's ``run(path, settings, **options)``."""
    dataset = options.pop("dataset", None)
    return run_convert(path, settings, dataset, IngestOptions(**options))


FEATURE = register(
    Feature(
        name="convert",
        help="Web-request logs -> a Parquet dataset of the parsed lines, partitioned by day.",
        path_help=INGEST.path_help,
        description=(
            "Reads --path as ingest does (the same formats, detected per file or given with "
            "--log-format, and the same filters) and writes every parsed line that passes the "
            "filters as a row of a Parquet dataset in the new directory --dataset, "
            "hive-partitioned by UTC day (day=YYYY-MM-DD) when the format has a time. Columns: "
            "method, path, status (int16), latency_ms, bytes, time (UTC, microseconds), "
            "user_agent, client, referer, host; null when the line or its format has none. "
            "The dataset appears whole or not at all. Reports the lines written, malformed and "
            "filtered, the days and the bytes written. See docs/convert.md."
        ),
        default_path=DATA_DIR / "logs",
        run=_run,
        render_text=render_convert,
        options=(
            FeatureOption(
                "dataset",
                str,
                None,
                "The dataset directory to create (required; it must not exist, its parent must).",
                metavar="DIR",
            ),
            *(option for option in INGEST.options if option.name in SHARED),
        ),
        examples=(
            "python cli.py convert --path /var/log/nginx/ --dataset access.parquet",
            "python cli.py convert --path 'logs/*.log.gz' --dataset api --path-regex '^/api/' "
            "--since 2026-11-01 --format json",
        ),
    )
)
