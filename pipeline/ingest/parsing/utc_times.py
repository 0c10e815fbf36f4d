"""Converters of times written without a UTC offset, which are read as UTC.

HAProxy's ``accept_date`` (``09/Feb/2009:16:31:28.430``) is the server's local time with no
offset; a syslog prefix before it has no year either. Nothing in the line says which zone it is,
so it is read as UTC, and the report says so in a note (see
:data:`pipeline.ingest.formats.presets.UTC_TIME_ROLES`): a user whose server runs in another zone
sees at once why ``--since`` keeps other hours than expected.

The values have been matched by the format's pattern already (fixed width), so the conversion is
positional: the CLF converter reads the first 20 characters with a ``+0000`` zone appended, and
the milliseconds are the last three digits.

>>> strings = pa.array(["09/Feb/2009:16:31:28.430", "31/Feb/2009:00:00:00.000"])
>>> millis, ok = clf_ms_utc_to_ms(strings)
>>> millis.tolist(), ok.tolist()
([1234197088430, 0], [True, False])
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.parsing.convert import (
    BoolArray,
    IntArray,
    clf_time_ms,
    large_strings,
    number_from,
)

#: Characters of ``dd/Mon/yyyy:HH:MM:SS`` (the part before the milliseconds).
_SECONDS_WIDTH = 20


def clf_ms_utc_to_ms(strings: pa.Array) -> tuple[IntArray, BoolArray]:
    """``dd/Mon/yyyy:HH:MM:SS.mmm`` (no offset, read as UTC) -> UTC epoch ms.

    A value not of that exact shape, or not a calendar date (31 February), is invalid.
    """
    if len(strings) == 0:
        return np.zeros(0, dtype=np.int64), np.ones(0, dtype=bool)
    strings = large_strings(strings)
    seconds = pc.utf8_slice_codeunits(strings, 0, _SECONDS_WIDTH)
    text = pa.large_string()
    clf = pc.binary_join_element_wise(seconds, pa.scalar(" +0000", text), pa.scalar("", text))
    epoch, valid = clf_time_ms(clf)
    millis = pc.utf8_slice_codeunits(strings, _SECONDS_WIDTH + 1, _SECONDS_WIDTH + 4)
    shaped = np.asarray(
        pc.fill_null(
            pc.match_substring_regex(strings, pattern=r"^[^.]{20}\.[0-9]{3}$"), False
        ).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    valid = valid & shaped
    millis = pc.if_else(pa.array(valid), millis, pa.scalar("000", pa.large_string()))
    return np.where(valid, epoch + number_from(millis), 0), valid
