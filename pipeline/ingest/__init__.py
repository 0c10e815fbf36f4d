"""Ingest: web-request logs -> request counts and exact latency statistics (issue 3).

Modules: :mod:`~pipeline.ingest.inputs.files` (what ``--path`` means, blocks),
:mod:`~pipeline.ingest.parsing.parse` (vectorised grammar), :mod:`~pipeline.ingest.read` (the
per-block task), :mod:`~pipeline.ingest.aggregate.partial` (mergeable partials, exact statistics),
:mod:`~pipeline.ingest.job` (the graph and the one compute), :mod:`~pipeline.ingest.report.result`
and :mod:`~pipeline.ingest.report.text` (the report), :mod:`~pipeline.loggen.generate` (test data).
"""

from __future__ import annotations

from pipeline.ingest.job import parsed_frame, run_ingest
from pipeline.ingest.report.result import IngestResult

__all__ = ["IngestResult", "parsed_frame", "run_ingest"]
