"""The line put between texts parsed in one call (:mod:`pipeline.ingest.parsing.joined`).

Its own module so that parsers with state across lines (W3C's directives,
:mod:`pipeline.ingest.parsing.w3c`) can reset that state at it: each text starts afresh.
"""

from __future__ import annotations

from typing import Final

#: The line put between two texts: NUL bytes make it malformed in every format.
BOUNDARY: Final[str] = "\x00mini-orchestrator file boundary\x00"
