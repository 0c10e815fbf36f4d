"""What ``python cli.py convert`` reports: :class:`ConvertResult`, its JSON and its text.

The JSON document (``--format json``; docs/report.md, branch ``convert`` of
docs/report.schema.json) says what was read (files, formats, failed inputs), what happened to
each line (written, malformed, filtered, directives) and what was written (the dataset's path,
its partitioning, its days, its Parquet files and their bytes on disk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.ingest.aggregate.partial import MalformedSample
from pipeline.reporting.text import (
    FailedInput,
    footer,
    format_bytes,
    plural,
    printable,
    printable_cut,
    report_header,
)

#: Columns of the text report's notes and malformed samples.
REPORT_WIDTH = 100


@dataclass(frozen=True)
class ConvertResult:
    """Everything ``convert`` reports.

    ``written`` is the number of rows of the dataset; ``partitions`` its ``day`` values in
    order (empty when it is not partitioned); ``parquet_files`` and ``dataset_bytes`` what is
    on disk under ``dataset``.
    """

    dataset: str
    files: int
    failed: tuple[FailedInput, ...]
    formats: Mapping[str, int]
    written: int
    malformed: int
    filtered: int
    directives: int
    malformed_samples: tuple[MalformedSample, ...]
    partitioned_by: str | None
    partitions: tuple[str, ...]
    parquet_files: int
    dataset_bytes: int
    execution: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    #: One message per extra output (``--malformed-out``) that could not be written: the report
    #: is still printed, then the CLI prints these and exits 2 (not part of the JSON report).
    output_errors: tuple[str, ...] = ()

    @property
    def failed_inputs(self) -> Sequence[FailedInput]:
        """Files that could not be read (the CLI exits with 3 when there are any)."""
        return self.failed

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (docs/report.md)."""
        return {
            "feature": "convert",
            "inputs": {
                "files": self.files,
                "formats": dict(self.formats),
                "failed": [failed.to_dict() for failed in self.failed],
            },
            "lines": {
                "total": self.written + self.malformed + self.filtered + self.directives,
                "written": self.written,
                "malformed": self.malformed,
                "filtered": self.filtered,
                "directives": self.directives,
                "malformed_samples": [found.to_dict() for found in self.malformed_samples],
            },
            "dataset": {
                "path": self.dataset,
                "partitioned_by": self.partitioned_by,
                "partitions": list(self.partitions),
                "files": self.parquet_files,
                "bytes": self.dataset_bytes,
            },
            "notes": list(self.notes),
            "execution": dict(self.execution),
        }


def render_convert(result: ConvertResult) -> str:
    """The text report (``--format text``); text from the input has its control characters
    escaped (:func:`pipeline.reporting.text.printable`)."""
    data = result.to_dict()
    inputs, lines, dataset = data["inputs"], data["lines"], data["dataset"]
    formats = ", ".join(f"{name} ({count:,})" for name, count in inputs["formats"].items())
    days = dataset["partitions"]
    if dataset["partitioned_by"] is None:
        layout = "not partitioned (no input format has a time)"
    elif days:
        shown = days[0] if len(days) == 1 else f"{days[0]} .. {days[-1]}"
        layout = f"by day: {plural(len(days), 'partition')} ({shown})"
    else:
        layout = "by day: no partition (no line written)"
    parts = report_header(
        "Convert report",
        [
            ("files", f"{inputs['files']:,} ({len(inputs['failed']):,} failed)"),
            ("formats", printable_cut(formats or "none", REPORT_WIDTH - 10)),
            (
                "lines",
                f"{lines['total']:,} (written {lines['written']:,}, malformed "
                f"{lines['malformed']:,}, filtered {lines['filtered']:,}"
                + (f", directives {lines['directives']:,})" if lines["directives"] else ")"),
            ),
            ("dataset", printable(dataset["path"])),
            ("layout", layout),
            (
                "written",
                f"{plural(dataset['files'], 'Parquet file')}, {format_bytes(dataset['bytes'])}",
            ),
        ],
    )
    if inputs["failed"]:
        parts += ["", "Failed inputs"]
        parts += [f"  {printable(f['path'])}: {printable(f['error'])}" for f in inputs["failed"]]
    if data["notes"]:
        parts += ["", "Notes"] + [f"  {printable(note)}" for note in data["notes"]]
    if lines["malformed_samples"]:
        parts += ["", f"Malformed lines (first {len(lines['malformed_samples'])})"]
        for found in lines["malformed_samples"]:
            where = f"{found['file']}:{found['line']}" if found.get("file") else str(found["line"])
            shown = printable_cut(found["text"], REPORT_WIDTH - len(where) - 4)
            parts.append(f"  {printable(where)}: {shown}")
    execution = data["execution"]
    parts += ["", footer(execution["elapsed_s"], execution["mode"], execution["workers"])]
    return "\n".join(parts) + "\n"
