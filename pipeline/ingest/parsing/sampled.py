"""Scores of log formats over many samples at once (what format detection compares).

A sample is the first lines of one file (:mod:`pipeline.ingest.detect`). Parsing costs about a
millisecond however short its input, so the samples of many files are joined by
:data:`~pipeline.ingest.parsing.joined.BOUNDARY` lines and parsed once per format; the boundary
lines, which come back among the malformed lines in order, say which line is whose. Lines that
start with ``#`` (W3C directives) are parsed with the sample but are not sample lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.formats.presets import LogFormat
from pipeline.ingest.parsing.joined import BOUNDARY
from pipeline.ingest.parsing.logfmt import may_be_logfmt
from pipeline.ingest.parsing.own_grammar import PY_WHITESPACE, VALID_PREFIX
from pipeline.ingest.parsing.parse import parse_text


class SampleLines:
    """The sample lines of a batch of samples, joined: each trimmed non-blank line, the sample it
    belongs to, and whether it is a sample line (not a ``#`` directive)."""

    def __init__(self, samples: Sequence[str]) -> None:
        self.samples = len(samples)
        pieces: list[str] = []
        owner: list[int] = []
        for index, sample in enumerate(samples):
            lines = [line for line in sample.split("\n") if line.strip(PY_WHITESPACE)]
            pieces.extend(lines)
            owner.extend([index] * len(lines))
        self.owner = np.asarray(owner, dtype=np.int64)
        array = pa.array(pieces, type=pa.large_string())
        self.lines = pc.utf8_trim(array, characters=PY_WHITESPACE)
        self.counted = ~_bool(pc.starts_with(self.lines, "#"))
        self.sample_lines = self.per_sample(self.counted)

    def per_sample(self, mask: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """How many counted lines of each sample ``mask`` holds."""
        return np.bincount(self.owner[mask & self.counted], minlength=self.samples)


def may_parse(fmt: LogFormat, lines: pa.Array) -> np.ndarray[Any, Any]:
    """Lines that ``fmt`` may parse, by a cheap vectorised test: its whole-line pattern for the
    regex and default kinds (a line that matches may still hold a value that does not convert),
    ``{`` for JSON (after the row's ``prefix``, e.g. Caddy's docker compose one), a status and a
    path key for logfmt; every line for other kinds."""
    if fmt.kind == "regex":
        return _bool(pc.match_substring_regex(lines, pattern=fmt.match_pattern))
    if fmt.kind == "default":
        return _bool(pc.match_substring_regex(lines, pattern=VALID_PREFIX))
    if fmt.kind == "json":
        prefix = dict(fmt.options).get("prefix")
        if prefix is not None:
            lines = pc.replace_substring_regex(lines, pattern=prefix, replacement="")
        return _bool(pc.starts_with(lines, "{"))
    if fmt.kind == "logfmt":
        return _bool(may_be_logfmt(lines, fmt.json_fields, fmt.options))
    return np.ones(len(lines), dtype=bool)


def sample_scores(
    samples: Sequence[str], fmt: LogFormat, counted: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    """Sample lines ``fmt`` parses in each sample, and the meaningful fields it fills in them;
    None when the joined parse cannot say which line is whose."""
    joined = (BOUNDARY + "\n").join(s if not s or s.endswith("\n") else s + "\n" for s in samples)
    parsed = parse_text(joined, fmt)
    malformed = parsed.malformed_array
    boundary = _bool(pc.equal(malformed, BOUNDARY))
    if int(boundary.sum()) != len(samples) - 1:
        return None
    bad = ~boundary & ~_bool(pc.starts_with(malformed, "#"))
    bad_per = np.bincount(np.cumsum(boundary)[bad], minlength=len(samples))
    parsed_per = counted - bad_per
    frame = parsed.frame
    if int(parsed_per.sum()) != len(frame) or (parsed_per < 0).any():
        return None
    filled = (
        (frame["status"].to_numpy() != 0).astype(np.int64)
        + (frame["path"].fillna("").to_numpy(dtype=object) != "")
        + frame["latency_ms"].notna().to_numpy()
        + frame["time"].notna().to_numpy()
        + (frame["user_agent"].fillna("").to_numpy(dtype=object) != "")
        + (frame["bytes"].to_numpy() > 0)
        + frame["host"].notna().to_numpy()
    )
    ends = np.cumsum(parsed_per)
    totals = np.concatenate([[0], np.cumsum(filled)])
    fields = totals[ends] - totals[ends - parsed_per]
    return parsed_per, fields


def _bool(array: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
