"""Side-by-side benchmarks against peer tools (``make bench``); ``make test`` runs each on tiny
inputs (``tests/test_benchmarks.py``)."""
