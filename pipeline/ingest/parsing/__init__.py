"""Vectorised parsing of a partition of lines into typed columns."""
