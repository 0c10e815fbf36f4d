"""The partial codec of ``--state`` (:mod:`pipeline.ingest.state.codec`): exact, small, safe.

Exact: partials of real parses (generated logs in several formats, malformed lines, a filter, a
failed input), decoded after encoding, give the report of the original, alone and merged with
another partial, with the default caps and with caps so small that every sketch and bound is in
play; and every field of :class:`Partial` comes back equal (a field the codec forgets fails
:func:`test_every_field_comes_back_equal`). Safe: anything but a valid encoding raises
:class:`StateError` and nothing else (fuzzed), and a crafted archive with an object array is
refused without unpickling it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import struct
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeline.ingest.aggregate.agents as agents_module
import pipeline.ingest.aggregate.distinct as distinct_module
from pipeline.cli import EXIT_INPUT, _guarded
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError, StateError
from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.clients import KeyedPanel
from pipeline.ingest.aggregate.distribution import Distributions, Spec
from pipeline.ingest.aggregate.filters import Filters
from pipeline.ingest.aggregate.panels import Panels
from pipeline.ingest.aggregate.partial import (
    Partial,
    aggregate_partition,
    merge_file,
    merge_partials,
)
from pipeline.ingest.aggregate.topk import CappedCounts, capped_counts
from pipeline.ingest.formats.presets import compile_format, preset
from pipeline.ingest.parsing.parse import parse_text
from pipeline.ingest.report.result import build_result
from pipeline.ingest.state.arrays import read_npz, write_npz
from pipeline.ingest.state.codec import CODEC_VERSION, MAGIC, decode_partial, encode_partial
from pipeline.loggen.generate import NGINX_TIMED_FORMAT, generate_logs
from pipeline.reporting.text import FailedInput
from tests.conftest import examples

SYNC = ExecutionSettings(mode="sync")

#: (log format, lines, cardinality, malformed rate, filters): the files of a run.
FILES: tuple[tuple[str, int, str, float, Filters | None], ...] = (
    ("default", 3_000, "low", 0.02, None),
    ("combined", 3_000, "realistic", 0.01, Filters(statuses=frozenset({404}))),
    ("json", 4_000, "realistic", 0.01, None),
    ("nginx-timed", 2_000, "realistic", 0.0, None),
    ("w3c", 2_000, "low", 0.01, None),
)


def _read(path: Path, name: str, filters: Filters | None, keep_malformed: bool) -> Partial:
    """The partial of one file, parsed in two blocks cut at a line end (so the merge of a
    file's blocks, line numbers of samples included, is part of what is encoded)."""
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    fmt = compile_format(NGINX_TIMED_FORMAT) if name == "nginx-timed" else preset(name)
    blocks = [data[:cut], data[cut:]]
    parts = [
        aggregate_partition(
            parse_text(block, fmt),
            str(path),
            keep_malformed=keep_malformed,
            filters=filters,
        )
        for block in blocks
    ]
    return merge_file(parts, str(path), name)


def _build(root: Path, seed: int) -> list[Partial]:
    partials = []
    for number, (name, lines, cardinality, rate, filters) in enumerate(FILES):
        path = root / f"{seed}-{number}-{name}.log"
        generate_logs(
            path,
            lines=lines,
            seed=seed * 10 + number,
            malformed_rate=rate,
            log_format=name,
            cardinality=cardinality
            if name in ("default", "combined", "json", "nginx-timed")
            else "low",
        )
        partials.append(_read(path, name, filters, keep_malformed=number == 0))
    partials.append(Partial(files=1, failed=[FailedInput(str(root / "gone.log.gz"), "corrupt")]))
    return partials


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state-codec")


@pytest.fixture
def tiny_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Caps so small that every table of a few thousand lines exceeds them."""
    monkeypatch.setattr(limits, "LATENCY", Spec(("method", "status_class"), 8, 0.001))
    monkeypatch.setattr(limits, "PATH_LATENCY", Spec(("path",), 4, 0.01))
    monkeypatch.setattr(limits, "TIMELINE_LATENCY", Spec(("minute",), 4, 0.02))
    monkeypatch.setattr(limits, "PATHS", 5)
    monkeypatch.setattr(limits, "ERROR_PATHS", 3)
    monkeypatch.setattr(limits, "AGENTS", 4)
    monkeypatch.setattr(limits, "TIMELINE_SLOTS", 20)
    monkeypatch.setattr(agents_module, "NAMES_CAP", 2)
    monkeypatch.setattr(distinct_module, "UNIQUE_EXACT_CAP", 3)
    monkeypatch.setattr(limits, "CLIENTS", 4)
    monkeypatch.setattr(limits, "CLIENT_LATENCY", Spec(("client",), 4, 0.01))
    monkeypatch.setattr(limits, "VHOSTS", 2)
    monkeypatch.setattr(limits, "VHOST_LATENCY", Spec(("host",), 4, 0.01))
    monkeypatch.setattr(limits, "REFERRER_SITES", 2)
    monkeypatch.setattr(limits, "REFERRER_URLS", 3)
    monkeypatch.setattr(limits, "VISITORS_EXACT", 5)
    monkeypatch.setattr(limits, "BANDWIDTH_INTERVALS", 3)
    monkeypatch.setattr(limits, "PANEL_DAYS", 1)


def report(partial: Partial) -> dict[str, Any]:
    """The JSON report of a run whose merged partial is ``partial``, without ``execution``."""
    formats = Counter(entry.format for entry in partial.file_reports)
    document = build_result(
        partial,
        SYNC,
        0.0,
        formats=dict(sorted(formats.items())),
        has_bytes=True,
        has_time=True,
        has_client=True,
        has_referer=True,
        has_host=True,
        top=10,
    ).to_dict()
    del document["execution"]
    return document


def round_trip(partial: Partial) -> Partial:
    return decode_partial(encode_partial(partial))


def _run(logs: Path, seed: int) -> tuple[Partial, Partial]:
    """Two runs' partials: ``a`` of the default (with ``malformed_lines``), JSON and W3C files,
    ``b`` of the filtered combined file, the nginx-timed one and a failed input."""
    partials = _build(logs, seed)
    return merge_partials(partials[::2]), merge_partials(partials[1::2])


@pytest.mark.parametrize("caps", ["default", "tiny"])
def test_decoded_partial_gives_the_same_report(
    logs: Path, caps: str, request: pytest.FixtureRequest
) -> None:
    if caps == "tiny":
        request.getfixturevalue("tiny_caps")
    a, b = _run(logs, 1)
    for partial in (a, b, merge_partials([a, b]), Partial()):
        assert report(round_trip(partial)) == report(partial)
    whole = report(merge_partials([a, b]))
    assert whole["lines"]["malformed"] > 0 and whole["lines"]["filtered"] > 0
    assert whole["inputs"]["failed"] and whole["timeline"]["rows"]
    if caps == "tiny":  # the caps are in play: sketches, bounds and the HLL estimate
        flags = whole["exact"]
        assert not flags["latency_ms"] and not flags["top_paths"]
        assert not flags["user_agents.unique"] and not flags["user_agents.devices"]
        assert a.agent_summary.unique.sketch is not None
        assert a.timeline_minutes > 1 and b.timeline_minutes > 1  # coarsened timeline slots


@pytest.mark.parametrize("caps", ["default", "tiny"])
def test_decoded_partial_merges_like_the_original(
    logs: Path, caps: str, request: pytest.FixtureRequest
) -> None:
    """What a resumed run does: the saved partial, decoded, merged with the new lines'."""
    if caps == "tiny":
        request.getfixturevalue("tiny_caps")
    a, b = _run(logs, 2)
    assert report(merge_partials([round_trip(a), b])) == report(merge_partials([a, b]))
    assert report(merge_partials([b, round_trip(a)])) == report(merge_partials([b, a]))
    # and again: a state saved after a resumed run, resumed (the same merge tree without the
    # codec: float sums depend on the tree's shape, the codec must not)
    twice = merge_partials([round_trip(merge_partials([round_trip(a), b])), a])
    assert report(twice) == report(merge_partials([merge_partials([a, b]), a]))


def _same_frame(ours: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(ours, want, check_exact=True, check_index_type=True)
    assert list(ours.index.names) == list(want.index.names)


def _same_series(ours: pd.Series, want: pd.Series) -> None:
    pd.testing.assert_series_equal(ours, want, check_exact=True, check_index_type=True)
    for level in range(want.index.nlevels):
        assert ours.index.get_level_values(level).dtype == want.index.get_level_values(level).dtype


def _same_distributions(ours: Distributions, want: Distributions) -> None:
    _same_frame(ours.groups, want.groups)
    for name in ("gid", "value", "count"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(want, name), strict=True)


def _same_capped(ours: CappedCounts, want: CappedCounts) -> None:
    _same_frame(ours.table, want.table)
    assert ours.dropped_max == want.dropped_max


def _same_agents(ours: Any, want: Any) -> None:
    _same_series(ours.by_family, want.by_family)
    for name in ("browsers", "os", "devices"):
        _same_capped(getattr(ours, name), getattr(want, name))
    assert ours.estimated == want.estimated
    assert ours.unique.sketch == want.unique.sketch
    if want.unique.hashes is None:
        assert ours.unique.hashes is None
    else:
        np.testing.assert_array_equal(ours.unique.hashes, want.unique.hashes, strict=True)


def _same_keyed(ours: KeyedPanel, want: KeyedPanel) -> None:
    _same_capped(ours.counts, want.counts)
    if want.latency is None:
        assert ours.latency is None
    else:
        assert ours.latency is not None
        _same_distributions(ours.latency, want.latency)


def _same_panels(ours: Panels, want: Panels) -> None:
    for name in ("days", "hashes"):
        mine, theirs = getattr(ours.visitors, name), getattr(want.visitors, name)
        np.testing.assert_array_equal(mine, theirs, strict=True)
    assert ours.visitors.sketches == want.visitors.sketches
    assert ours.visitors.dropped_days == want.visitors.dropped_days
    assert ours.bandwidth.dropped_days == want.bandwidth.dropped_days
    _same_keyed(ours.hosts, want.hosts)
    _same_keyed(ours.virtual_hosts, want.virtual_hosts)
    _same_capped(ours.referrers.sites, want.referrers.sites)
    _same_capped(ours.referrers.urls, want.referrers.urls)
    assert ours.referrers.direct == want.referrers.direct
    for name in ("slots", "totals"):
        mine, theirs = getattr(ours.bandwidth, name), getattr(want.bandwidth, name)
        np.testing.assert_array_equal(mine, theirs, strict=True)
    assert ours.bandwidth.slot_s == want.bandwidth.slot_s


#: How each type of field is compared; a field of another type fails the test.
COMPARE: dict[type, Callable[[Any, Any], None]] = {
    pd.Series: _same_series,
    Distributions: _same_distributions,
    CappedCounts: _same_capped,
    agents_module.AgentPartial: _same_agents,
    Panels: _same_panels,
}


def assert_same_partial(ours: Partial, want: Partial) -> None:
    for field in dataclasses.fields(Partial):
        mine, theirs = getattr(ours, field.name), getattr(want, field.name)
        compare = COMPARE.get(type(theirs))
        if compare is not None:
            compare(mine, theirs)
        else:
            assert isinstance(theirs, int | list | tuple | frozenset | type(None)), field.name
            assert mine == theirs, field.name
            assert type(mine) is type(theirs), field.name


def test_every_field_comes_back_equal(logs: Path, tiny_caps: None) -> None:
    """Field by field, dtypes and index names included: nothing in a partial is left out."""
    a, b = _run(logs, 3)
    for partial in (a, b, merge_partials([a, b]), Partial()):
        assert_same_partial(round_trip(partial), partial)
    assert a.malformed_lines and a.keys and a.filtered_time is None and b.filtered_time
    assert b.failed and a.file_reports and a.malformed_samples and a.directives


def test_names_keep_nul_and_lone_surrogates() -> None:
    """Names numpy's str dtype would cut (trailing NUL) and that have no UTF-8 form."""
    names = ["/a\x00", "/\udcff", "", "/é", "\x00"]
    counts = capped_counts(pd.Series([5, 4, 3, 2, 1], index=pd.Index(names, dtype=object)), 3)
    partial = Partial(
        paths=counts,
        agents=counts,
        keys=frozenset(names),
        malformed_lines=["f\t\udcff"],
        failed=[FailedInput("\udcff.log", "x")],
    )
    decoded = round_trip(partial)
    assert_same_partial(decoded, partial)
    assert list(decoded.paths.table.index) == ["/a\x00", "/\udcff", ""]


def test_encoding_is_deterministic(logs: Path) -> None:
    a, _ = _run(logs, 4)
    data = encode_partial(a)
    assert data == encode_partial(a) == encode_partial(round_trip(a))
    # a standard .npz, which numpy reads without pickle
    with np.load(io.BytesIO(data[26:]), allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(read_npz(data[26:]))


def _lines(path: Path, lines: int) -> Partial:
    """Low-cardinality combined traffic over one hour: 1,000 lines already fill its 60
    one-minute timeline slots, so more lines add counts, not rows."""
    generate_logs(path, lines=lines, seed=7, log_format="combined", period="1h")
    return _read(path, "combined", None, keep_malformed=False)


def test_size_follows_the_tables_not_the_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # distinct visitors are a table too, bounded by their cap (16 bytes a pair, then 4 KB a
    # day): below the 29,540 pairs of the large log, so both logs are within every cap
    monkeypatch.setattr(limits, "VISITORS_EXACT", 500)
    small = encode_partial(_lines(tmp_path / "small.log", 1_000))
    large = encode_partial(_lines(tmp_path / "large.log", 100_000))
    assert len(large) < 2 * len(small), (len(small), len(large))
    assert len(large) < (tmp_path / "large.log").stat().st_size / 100


def test_state_error_is_an_input_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> int:
        decode_partial(b"not a state")
        return 0

    assert issubclass(StateError, InputError)
    assert _guarded(False, fail) == EXIT_INPUT == 2
    assert capsys.readouterr().err == "Error: not an encoded partial (no magic number)\n"


def _framed(archive: bytes, version: int = CODEC_VERSION) -> bytes:
    """An archive with a correct header and digest, as a crafted file would have."""
    digest = hashlib.blake2b(archive, digest_size=16).digest()
    return struct.pack(">8sH16s", MAGIC, version, digest) + archive


def test_known_failures_have_one_short_line(logs: Path) -> None:
    data = encode_partial(_run(logs, 5)[0])
    archive = data[26:]
    cases = {
        b"": "not an encoded partial (no magic number)",
        b"PK\x03\x04" + data[4:]: "not an encoded partial (no magic number)",
        data[:-1]: "encoded partial is truncated or corrupt (checksum mismatch)",
        _framed(archive, CODEC_VERSION + 1): (
            f"encoded partial has codec version {CODEC_VERSION + 1}; "
            f"this build reads only {CODEC_VERSION}"
        ),
        _framed(b"PK not a zip"): "encoded partial is invalid: File is not a zip file",
    }
    for bad, message in cases.items():
        with pytest.raises(StateError) as caught:
            decode_partial(bad)
        assert str(caught.value) == message


class _Trap:
    """Unpickling this would record that code ran."""

    ran: list[str] = []  # noqa: RUF012

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Trap.ran.append, ("unpickled",))


def test_an_object_array_is_refused_without_unpickling(logs: Path) -> None:
    """A crafted state: the real archive plus a pickled object array, with a correct digest."""
    data = encode_partial(_run(logs, 5)[0])
    out = io.BytesIO(data[26:])
    with zipfile.ZipFile(out, "a") as archive:
        member = io.BytesIO()
        np.lib.format.write_array(member, np.array([_Trap()], dtype=object), allow_pickle=True)
        archive.writestr("extra.npy", member.getvalue())
    with pytest.raises(StateError, match=r"^encoded partial is invalid: refused array member"):
        decode_partial(_framed(out.getvalue()))
    # the same member in place of a real one
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data[26:])) as source, zipfile.ZipFile(rebuilt, "w") as dest:
        for info in source.infolist():
            body = member.getvalue() if info.filename == "requests.npy" else source.read(info)
            dest.writestr(info, body)
    with pytest.raises(StateError, match=r"^encoded partial is invalid: refused array member"):
        decode_partial(_framed(rebuilt.getvalue()))
    assert _Trap.ran == []


@pytest.fixture(scope="module")
def encoded(logs: Path) -> bytes:
    a, b = _run(logs, 6)
    return encode_partial(merge_partials([a, b]))


@pytest.fixture(scope="module")
def small_encoded(logs: Path) -> bytes:
    """A few hundred lines, every kind of table: the manifest of a large partial, in small."""
    parts = [Partial(files=1, failed=[FailedInput("gone.log", "corrupt")])]
    for name, filters in (("json", None), ("combined", Filters(statuses=frozenset({404})))):
        path = logs / f"small-{name}.log"
        generate_logs(path, lines=300, log_format=name, malformed_rate=0.05, seed=11)
        parts.append(_read(path, name, filters, keep_malformed=True))
    return encode_partial(merge_partials(parts))


FUZZ = settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _decodes_or_state_error(data: bytes) -> Iterator[Partial]:
    try:
        yield decode_partial(data)
    except StateError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300


@FUZZ
@given(st.data())
def test_truncations_and_flips_raise_state_error(encoded: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(StateError):
        decode_partial(encoded[:cut])
    position = data.draw(st.integers(0, len(encoded) - 1))
    flip = data.draw(st.integers(1, 255))
    damaged = bytearray(encoded)
    damaged[position] ^= flip
    with pytest.raises(StateError):
        decode_partial(bytes(damaged))


@FUZZ
@given(st.binary(max_size=2_000), st.booleans())
def test_random_bytes_raise_state_error(noise: bytes, with_magic: bool) -> None:
    with pytest.raises(StateError):
        decode_partial((MAGIC + noise) if with_magic else noise)


@FUZZ
@given(st.data())
def test_crafted_archives_decode_or_raise_state_error(
    small_encoded: bytes, data: st.DataObject
) -> None:
    """Damage behind a correct digest (what an attacker can write): the decoder's own checks
    stand alone, and either a partial or a StateError comes out, never another exception."""
    archive = bytearray(small_encoded[26:])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(archive) - 1))
        archive[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(len(archive) // 2, len(archive)))
    list(_decodes_or_state_error(_framed(bytes(archive[:cut]))))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON tree, as the keys and list indexes that lead to it."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _paths(item, (*prefix, number))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["object", "str", "<i8", "|O", "multi", "range", "plain", "sketch"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


@settings(FUZZ, max_examples=examples(100))
@given(st.data())
def test_crafted_manifests_decode_or_raise_state_error(
    small_encoded: bytes, data: st.DataObject
) -> None:
    """A manifest rewritten at any position (a value replaced, or removed), with a correct
    digest: every spec the reader follows is checked, and only a StateError escapes."""
    arrays = read_npz(small_encoded[26:])
    manifest = json.loads(arrays["manifest"].tobytes())
    where = data.draw(st.sampled_from(list(_paths(manifest))[1:]))
    parent = manifest
    for key in where[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[where[-1]] = data.draw(JSON)
    else:
        del parent[where[-1]]
    arrays["manifest"] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    list(_decodes_or_state_error(_framed(write_npz(arrays))))


def _sketched(logs: Path) -> bytes:
    """An encoding whose distinct agents are an HLL sketch (the cap set to 3 for the build)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(distinct_module, "UNIQUE_EXACT_CAP", 3)
        partial = _read(logs / "small-json.log", "json", None, keep_malformed=False)
    assert partial.agent_summary.unique.sketch is not None
    return encode_partial(partial)


def _with(data: bytes, **changes: np.ndarray[Any, Any]) -> bytes:
    """``data`` with some arrays replaced, re-framed with a correct digest."""
    arrays = read_npz(data[26:])
    arrays.update(changes)
    return _framed(write_npz(arrays))


def test_inconsistent_tables_are_refused(small_encoded: bytes, logs: Path) -> None:
    """What a digest cannot catch in a crafted file, the table checks do."""
    arrays = read_npz(small_encoded[26:])
    groups = len(decode_partial(small_encoded).latency.groups)
    offsets = arrays["paths.index.offsets"].copy()
    offsets[1] = offsets[-1] + 1
    cases = {
        "latency: group number out of range": {
            "latency.gid": np.full_like(arrays["latency.gid"], groups)
        },
        "latency: entries of different lengths": {"latency.count": arrays["latency.count"][1:]},
        "distinct agents: hashes not sorted and unique": {
            "agents.hashes": arrays["agents.hashes"][::-1].copy()
        },
        "string column 'paths.index': offsets go backwards": {"paths.index.offsets": offsets},
        "frame 'paths': column 'count' has the wrong length": {"paths.0": arrays["paths.0"][1:]},
        "array 'latency.value' has dtype <i8, not <f8": {
            "latency.value": arrays["latency.count"].astype(np.int64)
        },
        "array 'latency.count' has dtype <f8, not an integer one": {
            "latency.count": arrays["latency.value"]
        },
    }
    for message, change in cases.items():
        with pytest.raises(StateError) as caught:
            decode_partial(_with(small_encoded, **change))
        assert str(caught.value) == f"encoded partial is invalid: {message}"
    sketched = _sketched(logs)
    assert decode_partial(sketched).agent_summary.unique.sketch is not None
    with pytest.raises(StateError, match=r"^encoded partial is invalid: "):
        decode_partial(_with(sketched, **{"agents.sketch": np.arange(40, dtype=np.uint8)}))
