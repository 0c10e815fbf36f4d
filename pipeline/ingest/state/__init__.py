"""Ingest state: what an incremental run (``--state FILE``, issue 24) keeps between runs.

A state holds the merged :class:`~pipeline.ingest.aggregate.partial.Partial` of every line read
so far, so a later run reads only the new lines and merges them in. This package turns that
partial into bytes and back (:mod:`~pipeline.ingest.state.codec`, over the array container of
:mod:`~pipeline.ingest.state.arrays`): exactly (the report of a decoded partial, and of its
merges, equals the original's) and safely (nothing in a state file can run code when it is
loaded; anything that is not a valid encoding raises :class:`~pipeline.errors.StateError`).
"""

from __future__ import annotations

from pipeline.ingest.state.codec import CODEC_VERSION, MAGIC, decode_partial, encode_partial

__all__ = ["CODEC_VERSION", "MAGIC", "decode_partial", "encode_partial"]
