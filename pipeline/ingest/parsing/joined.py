"""Many texts parsed in one call, each text still getting its own line counts.

Parsing costs a few milliseconds per call whatever the size of the input (pyarrow set-up), so
texts (the small files of a group task, the samples format detection tries) are joined by a
:data:`BOUNDARY` line that no format parses, and parsed once. The boundary lines come back among
the malformed lines, in order, and tell which malformed line belongs to which text; a text's
parsed count is its non-blank lines minus its malformed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.boundary import BOUNDARY
from pipeline.ingest.parsing.own_grammar import PY_WHITESPACE
from pipeline.ingest.parsing.parse import ParsedPartition, parse_text

__all__ = ["BOUNDARY", "malformed_per_text", "parsed_counts"]


def parsed_counts(texts: Sequence[str], fmt: LogFormat) -> tuple[list[int], ParsedPartition] | None:
    """Parse ``texts`` joined by boundary lines, once; each text's parsed-line count.

    The texts' malformed lines come back in order between the boundary lines; a text's parsed
    count is its non-blank lines minus its malformed ones. None when the boundary lines did not
    all come back as malformed lines (a format that parses them, a text that contains one).
    """
    joined = (BOUNDARY + "\n").join(t if not t or t.endswith("\n") else t + "\n" for t in texts)
    parsed = parse_text(joined, fmt)
    bad = _malformed_counts(parsed, len(texts))
    nonblank = _nonblank_lines(joined, len(texts))
    if bad is None or nonblank is None:
        return None
    counts = [int(n) - int(b) for n, b in zip(nonblank, bad, strict=True)]
    if sum(counts) != len(parsed.frame) or min(counts, default=0) < 0:
        return None
    return counts, parsed


def _malformed_counts(parsed: ParsedPartition, texts: int) -> np.ndarray[Any, Any] | None:
    """Malformed lines per text, from the boundary lines among them (vectorised: with many
    texts nearly every line may be malformed, e.g. when detection tries JSON on a plain log)."""
    malformed = parsed.malformed_array
    boundary = np.asarray(pc.equal(malformed, BOUNDARY).to_numpy(zero_copy_only=False), dtype=bool)
    if int(boundary.sum()) != texts - 1:
        return None
    return np.bincount(np.cumsum(boundary)[~boundary], minlength=texts)


def malformed_per_text(parsed: ParsedPartition, texts: int) -> list[list[tuple[int, str]]]:
    """Each text's malformed lines as ``(line number within the text, line)``."""
    per_text: list[list[tuple[int, str]]] = [[]]
    start = 0  # index of the text's first line in the joined text
    lines = parsed.malformed_array.to_pylist()
    for index, line in zip(parsed.malformed_index.tolist(), lines, strict=True):
        if line == BOUNDARY:
            per_text.append([])
            start = index + 1
        else:
            per_text[-1].append((index - start + 1, str(line)))
    assert len(per_text) == texts  # parsed_counts checked the boundary lines
    return per_text


def _nonblank_lines(joined: str, files: int) -> np.ndarray[Any, Any] | None:
    """Non-blank lines per file of the joined text (as the parser trims them), or None."""
    lines = pc.utf8_trim(
        pc.split_pattern(pa.array([joined], type=pa.large_string()), "\n").flatten(),
        characters=PY_WHITESPACE,
    )
    boundary = np.asarray(pc.equal(lines, BOUNDARY).to_numpy(zero_copy_only=False), dtype=bool)
    if int(boundary.sum()) != files - 1:
        return None
    filled = np.asarray(
        pc.greater(pc.binary_length(lines), 0).to_numpy(zero_copy_only=False), dtype=bool
    )
    which = np.cumsum(boundary)
    return np.bincount(which[filled & ~boundary], minlength=files)
