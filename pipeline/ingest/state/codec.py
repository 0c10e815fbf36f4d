"""A partial as bytes and back: exact, about the size of its tables, and safe to load.

:func:`encode_partial` writes every field of a :class:`~pipeline.ingest.aggregate.partial.Partial`
(its tables as numeric arrays, its scalars and short lists in a JSON manifest) and
:func:`decode_partial` rebuilds an equal one: same values, dtypes, index names and row order,
so the report of the decoded partial, and of anything it is merged with, is the report of the
original (``tests/test_ingest_state_codec.py`` checks both, with the caps in play).

Layout (all integers big-endian)::

    MAGIC (8 bytes) | codec version (uint16) | BLAKE2b-128 of the archive (16 bytes) | archive

The archive is an uncompressed ``.npz`` (:mod:`pipeline.ingest.state.arrays`) whose member
``manifest`` holds the UTF-8 JSON manifest: the scalars, the failed inputs, malformed samples,
file reports and keys, and for each table the spec its arrays are read back with. No pickle, no
``eval``, no object array anywhere: loading a state runs no code from it. The digest catches a
truncated or damaged file before anything is parsed; a crafted file with a correct digest still
goes through checks of every array's dtype and shape and of each table's consistency (lengths,
group numbers in range, sorted hashes, a readable HLL sketch).

Everything that is not a valid encoding raises :class:`~pipeline.errors.StateError` (exit 2)
with one short line; nothing else escapes :func:`decode_partial`.

>>> from pipeline.ingest.aggregate.partial import Partial
>>> data = encode_partial(Partial(parsed=3, keys=frozenset({"status"})))
>>> data[:8] == MAGIC, decode_partial(data).parsed, decode_partial(data).keys
(True, 3, frozenset({'status'}))
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any, Final

import datasketches
import numpy as np
import numpy.typing as npt

from pipeline.errors import StateError
from pipeline.ingest.aggregate.agents import AgentPartial
from pipeline.ingest.aggregate.distinct import DistinctAgents
from pipeline.ingest.aggregate.distribution import Distributions
from pipeline.ingest.aggregate.partial import FileReport, MalformedSample, Partial
from pipeline.ingest.aggregate.topk import CappedCounts
from pipeline.ingest.state.arrays import Reader, Spec, Writer, read_npz, write_npz
from pipeline.ingest.state.panels_codec import get_panels, put_panels
from pipeline.reporting.text import FailedInput

#: First bytes of every encoding: not text, so no log or JSON file starts with them.
MAGIC: Final[bytes] = b"\x93MOPART\n"

#: Version of the layout; a decoder reads only its own (an older state must be rebuilt by a
#: full run, never guessed at). Bump it with any change to what is stored or how.
CODEC_VERSION: Final[int] = 2

_HEADER: Final = struct.Struct(">8sH16s")

#: The narrower types group numbers and counts may be stored in.
_NARROW: Final[tuple[str, ...]] = ("|u1", "<u2", "<u4")

#: Integer fields of a partial, stored as they are in the manifest.
_COUNTS: Final[tuple[str, ...]] = (
    "files",
    "parsed",
    "malformed",
    "lines_seen",
    "filtered",
    "directives",
    "bytes_sent",
    "untimed",
    "timeline_minutes",
)

_DISTRIBUTIONS: Final[tuple[str, ...]] = ("latency", "path_latency", "timeline_latency")
_CAPPED: Final[tuple[str, ...]] = ("paths", "error_paths", "agents")
_AGENT_LISTS: Final[tuple[str, ...]] = ("browsers", "os", "devices")


def encode_partial(partial: Partial) -> bytes:
    """The bytes of ``partial``: see the module docstring for the layout.

    Their size follows the partial's tables (bounded by the caps), not the lines it counted,
    except ``malformed_lines``, which holds one record per malformed line when
    ``--malformed-out`` asked for them.
    """
    writer = Writer()
    manifest: dict[str, Any] = {name: getattr(partial, name) for name in _COUNTS}
    manifest.update(
        time_min=partial.time_min,
        time_max=partial.time_max,
        filtered_time=None if partial.filtered_time is None else list(partial.filtered_time),
        failed=[[each.path, each.error] for each in partial.failed],
        malformed_samples=[[each.line, each.text, each.file] for each in partial.malformed_samples],
        file_reports=[
            [r.path, r.format, r.parsed, r.malformed, r.filtered, r.first_malformed, r.extra]
            for r in partial.file_reports
        ],
        keys=sorted(partial.keys),
        malformed_lines=writer.column(
            "malformed_lines", np.array(partial.malformed_lines, dtype=object)
        ),
        requests=writer.series("requests", partial.requests),
        timeline=writer.series("timeline", partial.timeline),
    )
    for name in _DISTRIBUTIONS:
        manifest[name] = _put_distributions(writer, name, getattr(partial, name))
    for name in _CAPPED:
        manifest[name] = _put_capped(writer, name, getattr(partial, name))
    manifest["agent_summary"] = _put_agents(writer, partial.agent_summary)
    manifest["panels"] = put_panels(writer, partial.panels, _put_capped, _put_distributions)
    text = json.dumps(manifest, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    writer.arrays["manifest"] = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    archive = write_npz(writer.arrays)
    return _HEADER.pack(MAGIC, CODEC_VERSION, _digest(archive)) + archive


def decode_partial(data: bytes) -> Partial:
    """The partial :func:`encode_partial` encoded in ``data``.

    Raises
    ------
    StateError
        ``data`` is not a valid encoding: not one at all, truncated, corrupt, written by another
        codec version, or crafted (an object array, inconsistent tables).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StateError(f"not an encoded partial: {type(data).__name__}, not bytes")
    data = bytes(data)
    if len(data) < _HEADER.size or not data.startswith(MAGIC):
        raise StateError("not an encoded partial (no magic number)")
    _, version, digest = _HEADER.unpack_from(data)
    if version != CODEC_VERSION:
        raise StateError(
            f"encoded partial has codec version {version}; this build reads only {CODEC_VERSION}"
        )
    archive = data[_HEADER.size :]
    if _digest(archive) != digest:
        raise StateError("encoded partial is truncated or corrupt (checksum mismatch)")
    try:
        return _decoded(archive)
    except Exception as exc:  # every other failure is a crafted file: one line, never a crash
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise StateError(f"encoded partial is invalid: {reason}") from exc


def _digest(archive: bytes) -> bytes:
    return hashlib.blake2b(archive, digest_size=16).digest()


def _decoded(archive: bytes) -> Partial:
    arrays = read_npz(archive)
    reader = Reader(arrays)
    manifest = json.loads(reader.array("manifest", "|u1").tobytes().decode("ascii"))
    if not isinstance(manifest, dict):
        raise TypeError("the manifest is not an object")
    counts: dict[str, Any] = {name: _int(manifest[name]) for name in _COUNTS}
    span = manifest["filtered_time"]
    return Partial(
        **counts,
        time_min=_int_or_none(manifest["time_min"]),
        time_max=_int_or_none(manifest["time_max"]),
        filtered_time=None if span is None else _span(span),
        failed=[FailedInput(_str(path), _str(error)) for path, error in manifest["failed"]],
        malformed_samples=[
            MalformedSample(_int(line), _str(text), _str_or_none(file))
            for line, text, file in manifest["malformed_samples"]
        ],
        file_reports=[
            FileReport(
                _str(path),
                _str(fmt),
                _int(parsed),
                _int(bad),
                _int(out),
                _str_or_none(first),
                _str(extra),
            )
            for path, fmt, parsed, bad, out, first, extra in manifest["file_reports"]
        ],
        keys=frozenset(_str(key) for key in manifest["keys"]),
        malformed_lines=list(reader.column("malformed_lines", manifest["malformed_lines"])),
        requests=reader.series("requests", manifest["requests"]),
        timeline=reader.series("timeline", manifest["timeline"]),
        latency=_get_distributions(reader, "latency", manifest["latency"]),
        path_latency=_get_distributions(reader, "path_latency", manifest["path_latency"]),
        timeline_latency=_get_distributions(
            reader, "timeline_latency", manifest["timeline_latency"]
        ),
        paths=_get_capped(reader, "paths", manifest["paths"]),
        error_paths=_get_capped(reader, "error_paths", manifest["error_paths"]),
        agents=_get_capped(reader, "agents", manifest["agents"]),
        agent_summary=_get_agents(reader, manifest["agent_summary"]),
        panels=get_panels(reader, manifest["panels"], _get_capped, _get_distributions),
    )


def _put_distributions(writer: Writer, name: str, dist: Distributions) -> Spec:
    """``groups`` as a frame, ``gid``/``value``/``count`` as arrays (group numbers and counts in
    their narrowest unsigned type: most of a full partial's bytes are these entries)."""
    writer.arrays[f"{name}.gid"] = _narrow(dist.gid)
    writer.arrays[f"{name}.value"] = dist.value.astype(np.float64, copy=False)
    writer.arrays[f"{name}.count"] = _narrow(dist.count)
    return {"groups": writer.frame(f"{name}.groups", dist.groups)}


def _narrow(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``int64`` values as ``uint8``/``uint16``/``uint32`` when they are non-negative and fit."""
    values = values.astype(np.int64, copy=False)
    if not len(values) or int(values.min()) < 0:
        return values
    narrow = np.min_scalar_type(int(values.max()))
    return values.astype(narrow) if narrow.str in _NARROW else values


def _widened(reader: Reader, name: str) -> npt.NDArray[np.int64]:
    """A :func:`_narrow` array back as ``int64``."""
    array = reader.arrays[name]
    if array.dtype.str not in (*_NARROW, "<i8"):
        raise ValueError(f"array {name!r} has dtype {array.dtype.str}, not an integer one")
    return array.astype(np.int64)


def _get_distributions(reader: Reader, name: str, spec: Spec) -> Distributions:
    groups = reader.frame(f"{name}.groups", spec["groups"])
    gid = _widened(reader, f"{name}.gid")
    value = reader.array(f"{name}.value", "<f8")
    count = _widened(reader, f"{name}.count")
    if not len(gid) == len(value) == len(count):
        raise ValueError(f"{name}: entries of different lengths")
    if len(gid) and (int(gid.min()) < 0 or int(gid.max()) >= len(groups)):
        raise ValueError(f"{name}: group number out of range")
    if "sketched" not in groups.columns or groups["sketched"].dtype != np.bool_:
        raise ValueError(f"{name}: no sketched column")
    return Distributions(groups, gid, value, count)


def _put_capped(writer: Writer, name: str, counts: CappedCounts) -> Spec:
    return {"table": writer.frame(name, counts.table), "dropped_max": counts.dropped_max}


def _get_capped(reader: Reader, name: str, spec: Spec) -> CappedCounts:
    table = reader.frame(name, spec["table"])
    if not {"count", "error"} <= set(table.columns):
        raise ValueError(f"{name}: no count and error columns")
    return CappedCounts(table, _int(spec["dropped_max"]))


def _put_agents(writer: Writer, agents: AgentPartial) -> Spec:
    """The family counts, the three name lists, and the distinct agents (hashes or sketch)."""
    spec: Spec = {
        "by_family": writer.series("agents.by_family", agents.by_family),
        "estimated": agents.estimated,
    }
    for name in _AGENT_LISTS:
        spec[name] = _put_capped(writer, f"agents.{name}", getattr(agents, name))
    unique = agents.unique
    if unique.hashes is not None:
        writer.arrays["agents.hashes"] = unique.hashes
    if unique.sketch is not None:
        writer.arrays["agents.sketch"] = np.frombuffer(unique.sketch, dtype=np.uint8)
    spec["unique"] = "hashes" if unique.hashes is not None else "sketch"
    return spec


def _get_agents(reader: Reader, spec: Spec) -> AgentPartial:
    kind = spec["unique"]
    if kind == "hashes":
        hashes = reader.array("agents.hashes", "<u8")
        if len(hashes) > 1 and bool((hashes[1:] <= hashes[:-1]).any()):
            raise ValueError("distinct agents: hashes not sorted and unique")
        unique = DistinctAgents(hashes)
    elif kind == "sketch":
        sketch = reader.array("agents.sketch", "|u1").tobytes()
        datasketches.hll_sketch.deserialize(sketch)  # raises on a damaged sketch
        unique = DistinctAgents(None, sketch)
    else:
        raise ValueError(f"distinct agents: unknown kind {kind!r}")
    lists = {name: _get_capped(reader, f"agents.{name}", spec[name]) for name in _AGENT_LISTS}
    return AgentPartial(
        by_family=reader.series("agents.by_family", spec["by_family"]),
        unique=unique,
        estimated=_int(spec["estimated"]),
        **lists,
    )


def _int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _int_or_none(value: Any) -> int | None:
    return None if value is None else _int(value)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _str_or_none(value: Any) -> str | None:
    return None if value is None else _str(value)


def _span(value: Any) -> tuple[int, int, int]:
    first, last, count = value
    return _int(first), _int(last), _int(count)
