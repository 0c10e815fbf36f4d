"""The read task of ``convert``: one block -> its dataset rows and its line counts.

Like ingest's :func:`~pipeline.ingest.read.block_partial` (same reader, same parser, same
filters, same malformed samples and ``--malformed-out`` records, a read error contained as a
failed input), but a block's parsed lines that pass the filters are kept, as a typed table
(:func:`~pipeline.ingest.convert.columns.dataset_table`), instead of being reduced. The counts
travel in a :class:`~pipeline.ingest.aggregate.partial.Partial` holding only line counts, so the
job merges them per file and overall with ingest's own functions.

A block that fails to read gives no rows at all (the rows of its pieces read before the error
are dropped) and a failed input; the other blocks of its file are written (documented in
docs/convert.md).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.engine.memory import releasing_memory
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.partial import MALFORMED_SAMPLES, Partial, merge_partials, sample
from pipeline.ingest.convert.columns import dataset_table, empty_partition, pandas_frame
from pipeline.ingest.formats.presets import LogFormat, base_role
from pipeline.ingest.inputs.files import Block
from pipeline.ingest.parsing.addresses import anonymized
from pipeline.ingest.parsing.parse import ParsedPartition, parse_text, text_slices
from pipeline.ingest.parsing.w3c_state import carried
from pipeline.ingest.read import block_pieces
from pipeline.reporting.display import escape_text

log = logging.getLogger(__name__)


def has_field(fmt: LogFormat, role: str) -> bool:
    """Whether lines of ``fmt`` can carry ``role`` (a pattern format names its roles; the
    project's grammar, JSON, logfmt and W3C lines may carry any field).

    >>> from pipeline.ingest.formats.presets import preset
    >>> has_field(preset("common"), "user_agent"), has_field(preset("combined"), "user_agent")
    (False, True)
    """
    if fmt.kind != "regex":
        return True
    return role in {base_role(found) for found in fmt.roles}


@releasing_memory
def block_rows(
    block: Block,
    fmt: LogFormat,
    filters: Filters,
    keep_malformed: bool,
    partitioned: bool,
) -> tuple[pd.DataFrame, Partial]:
    """Read and parse one block: the rows to write (a pandas partition of Arrow columns) and
    the block's counts (parsed is the rows written; filtered, malformed, directives, samples).

    Top level and small in (a block, a format, filters), so it pickles for every scheduler.
    """
    source = escape_text(block.path)
    tables: list[pa.Table] = []
    parts: list[Partial] = []
    for piece in block_pieces(block, source, keep_malformed, filters):
        if isinstance(piece, Partial):
            if piece.failed:
                return empty_partition(partitioned), piece
            parts.append(piece)
            continue
        for part in text_slices(piece):
            parsed = parse_text(part, fmt)
            table, counts = _rows(parsed, fmt, filters, source, keep_malformed, partitioned)
            tables.append(table)
            parts.append(counts)
            fmt = carried(fmt, part)  # W3C: the directives in force reach the next slice
    counts = merge_partials(parts) if parts else Partial()
    if not tables:
        return empty_partition(partitioned), counts
    return pandas_frame(pa.concat_tables(tables)), counts


def _rows(
    parsed: ParsedPartition,
    fmt: LogFormat,
    filters: Filters,
    source: str,
    keep_malformed: bool,
    partitioned: bool,
) -> tuple[pa.Table, Partial]:
    """One parsed slice: its rows that pass the filters, and its counts. With
    ``filters.anonymize_ip`` the ``client`` column is masked before anything else and no
    malformed line is quoted (``--malformed-out`` still gets them all), as in ingest."""
    frame = parsed.frame
    if filters.anonymize_ip:
        masked = anonymized(pa.array(frame["client"], type=pa.large_string()))
        frame = frame.assign(client=masked.to_pandas().set_axis(frame.index))
    filtered = 0
    if filters.active:
        paths = pa.array(frame["path"], type=pa.large_string())
        stripped = pc.list_element(pc.split_pattern(paths, "?", max_splits=1), 0)
        keep: np.ndarray[Any, np.dtype[np.bool_]] = filters.keep(frame, stripped)
        filtered = int(len(frame) - keep.sum())
        if filtered:
            frame = frame[keep]
    table = dataset_table(
        frame,
        has_user_agent=has_field(fmt, "user_agent"),
        has_bytes=fmt.has_bytes,
        partitioned=partitioned,
    )
    malformed = parsed.malformed_array
    first = [] if filters.anonymize_ip else malformed.slice(0, MALFORMED_SAMPLES).to_pylist()
    samples = [
        sample(int(index) + 1, str(line))
        for index, line in zip(parsed.malformed_index[: len(first)], first, strict=True)
    ]
    records = [f"{source}\t{line}" for line in malformed.to_pylist()] if keep_malformed else []
    counts = Partial(
        parsed=len(frame),
        malformed=len(malformed),
        malformed_samples=samples,
        lines_seen=parsed.line_count,
        malformed_lines=records,
        filtered=filtered,
        directives=parsed.directives,
        keys=parsed.keys,
    )
    return table, counts
