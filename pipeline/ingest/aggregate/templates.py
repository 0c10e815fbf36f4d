"""Path templates: ``/api/items/42`` and ``/api/items/7`` are one row, ``/api/items/{id}``.

Real paths carry ids, so grouping by raw path gives thousands of one-request rows and a report
that says nothing. Each ``/``-separated segment of a path (its query string already removed) is
replaced, whole, by the first rule it matches:

* ``{uuid}``: a UUID, ``8-4-4-4-12`` hexadecimal digits (either case);
* ``{id}``: digits only;
* ``{hex}``: 16 or more hexadecimal digits (hashes, object ids).

Anything else is kept. ``--raw-paths`` turns templating off. The work is vectorised: the paths
are split into segments in one Arrow list array, the distinct segments are matched with three
anchored RE2 patterns, and the lists are joined again.

>>> import pyarrow as pa
>>> paths = pa.array(["/a/42/b", "/u/123e4567-e89b-12d3-a456-426614174000", "/x/1/2"])
>>> template_paths(paths).to_pylist()
['/a/{id}/b', '/u/{uuid}', '/x/{id}/{id}']
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

#: (placeholder, RE2 pattern of a whole segment), first match wins.
RULES: Final[tuple[tuple[str, str], ...]] = (
    ("{uuid}", r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"),
    ("{id}", r"^[0-9]+$"),
    ("{hex}", r"^[0-9A-Fa-f]{16,}$"),
)


def template_paths(paths: pa.Array) -> pa.Array:
    """Each path with its id-like segments replaced by placeholders (see the module docstring);
    nulls stay null."""
    if len(paths) == 0:
        return paths
    quick = pc.match_substring_regex(paths, pattern=r"(^|/)[0-9A-Fa-f]")
    if not pc.any(quick).as_py():
        return paths
    segments = pc.split_pattern(paths, "/")
    # segments repeat ("api", "v1"...): the rules run on the distinct ones only
    flat = pc.dictionary_encode(pc.list_flatten(segments))
    replaced = _replaced(flat.dictionary).take(flat.indices)
    rebuilt = pa.LargeListArray.from_arrays(
        pc.cast(segments.offsets, pa.int64()),
        pc.cast(replaced, pa.large_string()),
        mask=pc.is_null(segments) if segments.null_count else None,  # nulls stay null
    )
    joined = pc.binary_join(rebuilt, pa.scalar("/", pa.large_string()))
    return pc.cast(joined, paths.type)


def _replaced(segments: pa.Array) -> pa.Array:
    """Each segment replaced, whole, by the placeholder of the first rule it matches."""
    replaced = segments
    done = pa.array([False] * len(segments), pa.bool_())
    for placeholder, pattern in RULES:
        hit = pc.and_not(pc.match_substring_regex(replaced, pattern=pattern), done)
        replaced = pc.if_else(hit, placeholder, replaced)
        done = pc.or_(done, hit)
    return replaced
