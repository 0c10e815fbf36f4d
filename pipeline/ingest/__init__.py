"""Ingest: web-request logs -> request counts and exact latency statistics.

The job (:mod:`~pipeline.ingest.job`, options in :mod:`~pipeline.ingest.options`) reads the
inputs (:mod:`~pipeline.ingest.inputs`) in their log format (:mod:`~pipeline.ingest.formats`),
parses each block into typed columns (:mod:`~pipeline.ingest.parsing`) and reduces it to a
mergeable partial (:mod:`~pipeline.ingest.aggregate`) in one task (:mod:`~pipeline.ingest.read`,
:mod:`~pipeline.ingest.group`, :mod:`~pipeline.ingest.stdin`); the merged partial becomes the
report (:mod:`~pipeline.ingest.report`).

Names are imported on first use (PEP 562), so importing one submodule (a worker unpickling a
task, a test of one kernel) does not import the whole job with dask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.ingest.job import parsed_frame, run_ingest
    from pipeline.ingest.options import IngestOptions
    from pipeline.ingest.report.result import IngestResult

_EXPORTS: dict[str, str] = {
    "IngestOptions": "pipeline.ingest.options",
    "IngestResult": "pipeline.ingest.report.result",
    "parsed_frame": "pipeline.ingest.job",
    "run_ingest": "pipeline.ingest.job",
}

__all__ = ["IngestOptions", "IngestResult", "parsed_frame", "run_ingest"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline.ingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
