"""Deterministic generators of realistic web-request logs (``generate-logs``): a tool, not part of
the ingest job."""
