"""Side-by-side benchmarks against peer tools (``make bench``); not part of ``make test``."""
