"""The ingest report: the result dataclass and its text and HTML renderers."""
