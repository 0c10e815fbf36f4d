"""Mergeable partials of parsed lines: counts, latency distributions, top lists, agents,
timeline."""
