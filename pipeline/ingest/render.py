"""The text report of ingest: aligned tables built with :func:`pipeline.report.format_table`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.ingest.result import IngestResult
from pipeline.ingest.stats import LATENCY_KEYS
from pipeline.report import format_table


def render_ingest(result: IngestResult) -> str:
    """Render an :class:`IngestResult` as readable plain text (``--format text``)."""
    data = result.to_dict()
    lines, inputs, requests = data["lines"], data["inputs"], data["requests"]
    parts = [
        "Ingest report",
        "",
        f"Files: {inputs['files']:,} ({len(inputs['failed'])} failed)",
        f"Lines: {lines['total']:,} (parsed {lines['parsed']:,}, malformed {lines['malformed']:,})",
        f"Requests: {requests['total']:,}",
    ]
    if inputs["failed"]:
        parts += ["", "Failed inputs", format_table(["path", "error"], _rows(inputs["failed"]))]
    if lines["malformed_samples"]:
        parts += ["", "Malformed samples"] + [f"  {line!r}" for line in lines["malformed_samples"]]
    parts += [
        "",
        "Requests by method",
        format_table(["method", "requests"], list(requests["by_method"].items())),
        "",
        "Requests by status class",
        format_table(["class", "requests"], list(requests["by_status_class"].items())),
        "",
        "Requests by status",
        format_table(["status", "requests"], list(requests["by_status"].items())),
        "",
        "Latency (ms)",
        _latency_table({"all": data["latency_ms"]}, "scope"),
        "",
        "Latency by method (ms)",
        _latency_table(data["latency_by_method"], "method"),
        "",
        "Latency by status class (ms)",
        _latency_table(data["latency_by_status_class"], "class"),
        "",
        "Top paths",
        format_table(["path", "count", "mean", "p95"], _rows(data["top_paths"])),
        "",
        f"User agents: {data['user_agents']['unique']:,} unique",
        format_table(["user agent", "count"], _rows(data["user_agents"]["top"])),
        "",
        "Requests by user-agent family",
        format_table(["family", "requests"], list(data["user_agents"]["by_family"].items())),
        "",
        _execution(data["execution"]),
    ]
    return "\n".join(parts) + "\n"


def _rows(entries: list[dict[str, Any]]) -> list[list[Any]]:
    return [list(entry.values()) for entry in entries]


def _latency_table(blocks: Mapping[str, Mapping[str, Any]], label: str) -> str:
    rows = [[name, *(block[key] for key in LATENCY_KEYS)] for name, block in blocks.items()]
    return format_table([label, *LATENCY_KEYS], rows)


def _execution(execution: Mapping[str, Any]) -> str:
    return (
        f"Computed in {execution['elapsed_s']:.3f} s "
        f"(mode {execution['mode']}, {execution['workers']} workers)"
    )
