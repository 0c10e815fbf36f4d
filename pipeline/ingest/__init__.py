"""Ingest: web-request logs -> request counts and exact latency statistics (issue 3).

Modules: :mod:`~pipeline.ingest.files` (what ``--path`` means, blocks),
:mod:`~pipeline.ingest.parse` (vectorised grammar), :mod:`~pipeline.ingest.read` (the per-block
task), :mod:`~pipeline.ingest.stats` (mergeable partials, exact statistics),
:mod:`~pipeline.ingest.job` (the graph and the one compute), :mod:`~pipeline.ingest.result` and
:mod:`~pipeline.ingest.render` (the report), :mod:`~pipeline.ingest.generate` (test data).
"""

from __future__ import annotations

from pipeline.ingest.job import parsed_frame, run_ingest
from pipeline.ingest.result import IngestResult

__all__ = ["IngestResult", "parsed_frame", "run_ingest"]
