"""The JSON reports against ``docs/report.schema.json``, and the schema against ``docs/report.md``.

Real reports of many shapes validate (every optional key present in one and absent in another,
every nullable key null somewhere, every exact flag false once); reports broken on purpose do
not, so the schema is not vacuous; and the schema and the reference document name the same keys.

Key paths are written as in ``docs/report.md``: ``a.b`` a key of an object, ``a[].b`` a key of
the objects a list holds, ``a.*`` any key of a map, ``a["b.c"]`` a key that contains a dot, and
``<name>.b`` a key of the block ``$defs/name`` that several places share.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from pipeline import (
    ExecutionSettings,
    IngestOptions,
    PrimeOptions,
    render_json,
    run_ingest,
    run_prime,
)
from pipeline.cli import cli
from pipeline.ingest.aggregate import agent_parse, agents, distinct, limits
from pipeline.ingest.aggregate.distribution import Spec
from pipeline.ingest.aggregate.timeline import BUCKETS
from pipeline.ingest.convert.job import run_convert
from pipeline.loggen.generate import NGINX_TIMED_FORMAT, generate_logs
from pipeline.registry import BUILTIN
from pipeline.reporting.text import SCHEMA_VERSION
from tests.conftest import REPO_ROOT

SCHEMA: dict[str, Any] = json.loads((REPO_ROOT / "docs" / "report.schema.json").read_text())
DEFS: dict[str, Any] = SCHEMA["$defs"]
VALIDATOR = Draft202012Validator(SCHEMA)  # no format checker: "date-time" is an annotation
REFERENCE = (REPO_ROOT / "docs" / "report.md").read_text()
SYNC = ExecutionSettings(mode="sync")
DEFAULT_LINE = "[GET] /api/items/{n}, status=200, time={n}.5ms user-agent=curl/8.5.0"


#: The position of each feature's branch in the schema's ``oneOf``.
BRANCHES = {
    DEFS[ref["$ref"].removeprefix("#/$defs/")]["properties"]["feature"]["const"]: index
    for index, ref in enumerate(SCHEMA["oneOf"])
}


def _errors(document: Any) -> list[str]:
    """Where and why ``document`` is invalid. A failed ``oneOf`` over the features shows the
    errors of the branch of the document's own feature, not "valid under none"."""
    feature = document.get("feature") if isinstance(document, dict) else None
    found = []
    for error in VALIDATOR.iter_errors(document):
        inner = [
            sub
            for sub in error.context or ()
            if error.validator == "oneOf" and sub.relative_schema_path[0] == BRANCHES.get(feature)
        ]
        found += [
            f"{'/'.join(map(str, each.absolute_path))}: {each.message}" for each in inner or [error]
        ]
    return found


# ----------------------------------------------------------------------------------------------
# Real reports


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every input of the shapes below, written once: small, so the module runs in seconds."""
    root = tmp_path_factory.mktemp("logs")
    for folder in ("mixed", "failed"):
        (root / folder).mkdir()
    generate_logs(root / "json.log", lines=200, log_format="json", seed=1)
    generate_logs(root / "combined.log", lines=300, log_format="combined", seed=2)
    generate_logs(root / "timed.log", lines=200, log_format="nginx-timed", seed=3)
    generate_logs(root / "mixed" / "default.log", lines=100, seed=4)
    generate_logs(root / "mixed" / "combined.log", lines=100, log_format="combined", seed=5)
    generate_logs(root / "failed" / "good.log", lines=50, seed=6)
    (root / "failed" / "garbage.log.gz").write_bytes(b"not gzip at all\n")
    generate_logs(
        root / "realistic.log", lines=1000, log_format="json", seed=7, cardinality="realistic"
    )
    good = [DEFAULT_LINE.format(n=n) for n in range(20)]
    bad = ["x" * 400, "[get] /lower, status=200, time=1ms user-agent=x", "\x1b]0;title\x07", ""]
    text = "\n".join(good[:10] + bad + good[10:]) + "\n"
    (root / "malformed.log").write_bytes(text.encode() + b"\xff\xfe broken bytes\n")
    ranges = [
        {"name": "first hundred", "start": 0, "end": 100},
        {"name": "no primes", "start": 24, "end": 28},
        {"start": 2, "end": 2},
        [90, 100_000],
        [90, 100_000],
    ]
    (root / "ranges.json").write_text(json.dumps({"ranges": ranges}))
    return root


def _tiny_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Caps small enough that every figure that can be approximate is (as in
    tests/test_ingest_bounded.py), and a timeline that must grow its slots."""
    monkeypatch.setattr(limits, "LATENCY", Spec(("method", "status_class"), 8, 0.001))
    monkeypatch.setattr(limits, "PATH_LATENCY", Spec(("path",), 4, 0.01))
    monkeypatch.setattr(limits, "TIMELINE_LATENCY", Spec(("minute",), 2, 0.02))
    monkeypatch.setattr(limits, "TIMELINE_SLOTS", 10)
    for name in ("PATHS", "ERROR_PATHS", "AGENTS", "CLIENTS", "REFERRER_SITES", "REFERRER_URLS"):
        monkeypatch.setattr(limits, name, 5)
    monkeypatch.setattr(limits, "CLIENT_LATENCY", Spec(("client",), 2, 0.01))
    monkeypatch.setattr(limits, "VISITORS_EXACT", 10)
    monkeypatch.setattr(limits, "BANDWIDTH_INTERVALS", 2)
    monkeypatch.setattr(agents, "NAMES_CAP", 2)
    monkeypatch.setattr(distinct, "UNIQUE_EXACT_CAP", 10)
    monkeypatch.setattr(agent_parse, "PARSE_BURST", 5)
    monkeypatch.setattr(agent_parse, "PARSES_PER_REQUEST", 0.001)
    agent_parse.forget_parses()  # a fresh budget, and agents parsed before are new again


def _ingest(path: str | Path, **options: Any) -> Any:
    return run_ingest(str(path), SYNC, IngestOptions(**options))


def _centuries(root: Path) -> Path:
    path = root / "centuries.log"
    path.write_text(
        '1.2.3.4 - - [01/Jan/0001:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "a"\n'
        '1.2.3.4 - - [31/Dec/9999:23:59:59 +0000] "GET / HTTP/1.1" 500 5 "-" "a"\n'
    )
    return path


#: Every shape of report the tests validate: name -> run on the inputs of :func:`logs`.
SHAPES: dict[str, Callable[[Path], Any]] = {
    # default grammar, a .gz file, malformed lines; no time, no size: no time_range, no timeline
    "ingest-bundled": lambda root: _ingest(REPO_ROOT / "data" / "logs"),
    # real nginx output: combined and JSON lines with times (timeline), sizes, failed inputs
    "ingest-nginx-real": lambda root: _ingest(REPO_ROOT / "tests" / "data" / "nginx-real" / "utc"),
    "ingest-json-lines": lambda root: _ingest(root / "json.log"),
    # filters and raw paths on a format without latency (null statistics, a note)
    "ingest-filtered": lambda root: _ingest(
        root / "combined.log", status="4xx,5xx", since="2026-11-27T06:00:00Z", raw_paths=True
    ),
    # everything filtered out of a timed format: null times, a timeline without rows
    "ingest-all-filtered": lambda root: _ingest(root / "combined.log", until="2000-01-01"),
    # a pasted nginx format (its name is the format string), an explicit bucket, more filters
    "ingest-pasted-format": lambda root: _ingest(
        root / "timed.log",
        log_format=NGINX_TIMED_FORMAT,
        bucket="1h",
        method="GET,POST",
        path_regex="^/api",
    ),
    # a format with times and one without: requests_without_time, a note
    "ingest-mixed-formats": lambda root: _ingest(root / "mixed"),
    "ingest-failed-input": lambda root: _ingest(root / "failed"),
    "ingest-malformed": lambda root: _ingest(root / "malformed.log", top=3),
    # realistic cardinality past the caps: every exact flag false, count_error in every list
    "ingest-capped": lambda root: _ingest(root / "realistic.log", bucket="1m"),
    # times in year 0001 and 9999: a 36500d timeline whose first bucket begins before year 1
    "ingest-centuries": lambda root: _ingest(_centuries(root)),
    # a format with times and one without: partitioned, the untimed rows in the null day
    "convert-mixed-formats": lambda root: run_convert(
        str(root / "mixed"), SYNC, str(root / "dataset-mixed")
    ),
    # no time: not partitioned; a failed input
    "convert-failed-input": lambda root: run_convert(
        str(root / "failed"), SYNC, str(root / "dataset-failed")
    ),
    "prime-ranges-file": lambda root: run_prime(str(root / "ranges.json"), SYNC),
    "prime-range-options": lambda root: run_prime(
        None, SYNC, PrimeOptions(ranges=["0:1e3", "24:28", "500:2000"])
    ),
    "prime-primes-out": lambda root: run_prime(
        None, SYNC, PrimeOptions(ranges=["0:1000"], primes_out=str(root / "primes.txt"))
    ),
    # --tuplets: the tuplets objects per range (one range without primes) and for the union
    "prime-tuplets": lambda root: run_prime(
        None, SYNC, PrimeOptions(ranges=["0:1e3", "24:28"], tuplets=True)
    ),
    "prime-nth": lambda root: run_prime(None, SYNC, PrimeOptions(nth=1000)),
}


@pytest.fixture(scope="module")
def documents(logs: Path) -> Callable[[str], dict[str, Any]]:
    """The JSON document of a shape, computed once per module (as ``json.loads`` of the text)."""
    done: dict[str, dict[str, Any]] = {}

    def document(shape: str) -> dict[str, Any]:
        if shape not in done:
            with pytest.MonkeyPatch.context() as patch:
                if shape == "ingest-capped":
                    _tiny_caps(patch)
                done[shape] = json.loads(render_json(SHAPES[shape](logs)))
            agent_parse.forget_parses()  # the tiny budget's state does not reach other tests
        return done[shape]

    return document


@pytest.mark.parametrize("shape", SHAPES)
def test_real_reports_validate(documents: Callable[[str], dict[str, Any]], shape: str) -> None:
    assert _errors(documents(shape)) == []


def test_the_shapes_cover_the_optional_and_nullable_keys(
    documents: Callable[[str], dict[str, Any]],
) -> None:
    """The reports above are the shapes they claim to be (so the schema is checked against
    each optional key both present and absent, and each nullable key null)."""
    shapes = {name: documents(name) for name in SHAPES}
    ingest = {name: doc for name, doc in shapes.items() if doc["feature"] == "ingest"}
    assert {"timeline" in doc for doc in ingest.values()} == {True, False}
    assert {"bytes_sent" in doc["requests"] for doc in ingest.values()} == {True, False}
    prime = [doc for doc in shapes.values() if doc["feature"] == "prime"]
    assert {"primes_out" in doc for doc in prime} == {True, False}
    assert {"tuplets" in doc for doc in prime} == {True, False}
    assert {"nth" in doc for doc in prime} == {True, False}
    assert shapes["prime-tuplets"]["ranges"][1]["tuplets"]["twins"] == 0
    assert ingest["ingest-all-filtered"]["time_range"]["first"] is None
    assert ingest["ingest-all-filtered"]["timeline"]["rows"] == []
    assert ingest["ingest-filtered"]["latency_ms"]["p95"] is None
    assert ingest["ingest-mixed-formats"]["time_range"]["requests_without_time"] > 0
    assert ingest["ingest-failed-input"]["inputs"]["failed"]
    assert any(
        name.startswith("nginx:") for name in ingest["ingest-pasted-format"]["inputs"]["formats"]
    )
    assert ingest["ingest-malformed"]["lines"]["malformed_samples"]
    capped = ingest["ingest-capped"]
    # the realistic JSON log has no referer and no host to cap: those lists are empty, exact
    empty = {"referrers.sites", "referrers.urls", "virtual_hosts"}
    exact = [key for key, exact in capped["exact"].items() if exact and key not in empty]
    assert exact == ["requests"]
    assert capped["bandwidth"]["p95_bps"] is None and "count_error" in capped["hosts"][0]
    assert capped["user_agents"]["estimated"] > 0
    assert sum(note.startswith("user-agent parse budget reached") for note in capped["notes"]) == 1
    assert set(capped["error_bounds"]) == {k for k, exact in capped["exact"].items() if not exact}
    lists = [capped["top_paths"], capped["top_errors"]]
    lists += [capped["user_agents"][key] for key in ("top", "browsers", "os", "devices")]
    assert all("count_error" in rows[0] for rows in lists)
    assert any(
        note.startswith("--bucket 1m is too fine for the time span from ")
        for note in capped["notes"]
    )
    assert any(row["max_gap"] is None for row in shapes["prime-ranges-file"]["ranges"])
    mixed, failed = shapes["convert-mixed-formats"], shapes["convert-failed-input"]
    assert mixed["dataset"]["partitions"][-1] == "__HIVE_DEFAULT_PARTITION__" and mixed["notes"]
    assert (failed["dataset"]["partitioned_by"], failed["dataset"]["partitions"]) == (None, [])
    assert failed["inputs"]["failed"]
    assert shapes["prime-range-options"]["ranges"][0]["name"] is None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ingest"], 0),
        (["ingest", "--path", "{logs}/failed"], 3),
        (["prime", "--range", "0:1000", "--range", "24:28"], 0),
        (["convert", "--path", "{logs}/combined.log", "--dataset", "{logs}/dataset-cli"], 0),
    ],
    ids=["ingest", "ingest-failed-input", "prime", "convert"],
)
def test_the_cli_json_output_validates(logs: Path, args: list[str], code: int) -> None:
    command = [arg.format(logs=logs) for arg in args] + ["--mode", "sync", "--format", "json"]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == code, result.stderr
    assert _errors(json.loads(result.stdout)) == []


# ----------------------------------------------------------------------------------------------
# Broken reports

_RENAME, _SET, _DELETE = "rename", "set", "delete"

#: (shape, path to the key, action, value): each must make a valid report invalid.
BROKEN: dict[str, tuple[str, tuple[str | int, ...], str, Any]] = {
    # a key renamed
    "renamed lines.parsed": ("ingest-nginx-real", ("lines", "parsed"), _RENAME, "parsed_lines"),
    "renamed top_paths[].p95": ("ingest-nginx-real", ("top_paths", 0, "p95"), _RENAME, "p95_ms"),
    "renamed timeline.rows[].latency_p95": (
        "ingest-nginx-real",
        ("timeline", "rows", 0, "latency_p95"),
        _RENAME,
        "p95_ms",
    ),
    "renamed exact.user_agents.top": (
        "ingest-nginx-real",
        ("exact", "user_agents.top"),
        _RENAME,
        "user_agents_top",
    ),
    "renamed ranges[].max_gap.gap": (
        "prime-ranges-file",
        ("ranges", 0, "max_gap", "gap"),
        _RENAME,
        "size",
    ),
    "renamed total_primes": ("prime-ranges-file", ("total_primes",), _RENAME, "primes"),
    "unknown key in top_paths[]": ("ingest-nginx-real", ("top_paths", 0, "p90"), _SET, 1.0),
    # a wrong type
    "requests.total as a string": ("ingest-nginx-real", ("requests", "total"), _SET, "81"),
    "a latency as a string": ("ingest-nginx-real", ("latency_ms", "p95"), _SET, "215.4"),
    "a count as a float": ("ingest-nginx-real", ("inputs", "files"), _SET, 5.5),
    "a negative count": ("ingest-nginx-real", ("inputs", "formats", "combined"), _SET, -1),
    "an exact flag as a string": ("ingest-nginx-real", ("exact", "latency_ms"), _SET, "yes"),
    "a sample's line as a string": (
        "ingest-nginx-real",
        ("lines", "malformed_samples", 0, "line"),
        _SET,
        "1",
    ),
    "timeline.rows as an object": ("ingest-nginx-real", ("timeline", "rows"), _SET, {}),
    "requests.total null": ("ingest-nginx-real", ("requests", "total"), _SET, None),
    "ranges[].start as a float": ("prime-ranges-file", ("ranges", 0, "start"), _SET, 0.5),
    "ranges[].name as a number": ("prime-ranges-file", ("ranges", 0, "name"), _SET, 7),
    "density.overall null": ("prime-ranges-file", ("density", "overall"), _SET, None),
    "primes_out null": ("prime-primes-out", ("primes_out",), _SET, None),
    # a value outside an enumeration
    "unknown timeline bucket": ("ingest-nginx-real", ("timeline", "bucket"), _SET, "2m"),
    "unknown ingest mode": ("ingest-nginx-real", ("execution", "mode"), _SET, "auto"),
    "unknown prime mode": ("prime-ranges-file", ("execution", "mode"), _SET, "threads"),
    "unknown feature": ("prime-ranges-file", ("feature",), _SET, "toy"),
    "ingest keys under feature prime": ("ingest-nginx-real", ("feature",), _SET, "prime"),
    "unknown status class": (
        "ingest-nginx-real",
        ("latency_by_status_class", "2xx"),
        _RENAME,
        "6xx",
    ),
    "unknown status code": ("ingest-nginx-real", ("requests", "by_status", "600"), _SET, 1),
    "unknown error_bounds key": ("ingest-nginx-real", ("error_bounds", "lines"), _SET, "x"),
    "an exact flag that is always true": (
        "ingest-nginx-real",
        ("exact", "requests"),
        _SET,
        False,
    ),
    "another schema_version": ("prime-ranges-file", ("schema_version",), _SET, 2),
    # a required key missing
    "no lines.malformed_samples": (
        "ingest-nginx-real",
        ("lines", "malformed_samples"),
        _DELETE,
        None,
    ),
    "no user_agents.by_family.bot": (
        "ingest-nginx-real",
        ("user_agents", "by_family", "bot"),
        _DELETE,
        None,
    ),
    "no inputs.failed[].error": (
        "ingest-nginx-real",
        ("inputs", "failed", 0, "error"),
        _DELETE,
        None,
    ),
    "no schema_version": ("ingest-nginx-real", ("schema_version",), _DELETE, None),
    "no ranges[].twin_pairs": ("prime-ranges-file", ("ranges", 0, "twin_pairs"), _DELETE, None),
    "no execution.segments": ("prime-ranges-file", ("execution", "segments"), _DELETE, None),
    # optional keys that come together
    "a timeline without exact.timeline": (
        "ingest-nginx-real",
        ("exact", "timeline"),
        _DELETE,
        None,
    ),
    "exact.timeline without a timeline": ("ingest-bundled", ("exact", "timeline"), _SET, True),
    "time_range without timeline": ("ingest-nginx-real", ("timeline",), _DELETE, None),
}


def _broken(document: dict[str, Any], path: tuple[str | int, ...], action: str, value: Any) -> Any:
    broken = copy.deepcopy(document)
    *parents, last = path
    target: Any = broken
    for key in parents:
        target = target[key]
    if action == _RENAME:
        target[value] = target.pop(last)
    elif action == _SET:
        target[last] = value
    else:
        del target[last]
    return broken


@pytest.mark.parametrize("case", BROKEN)
def test_broken_reports_are_rejected(documents: Callable[[str], dict[str, Any]], case: str) -> None:
    shape, path, action, value = BROKEN[case]
    document = documents(shape)
    assert _errors(document) == []
    assert _errors(_broken(document, path, action, value)), f"{case}: accepted"


# ----------------------------------------------------------------------------------------------
# The schema, the code and docs/report.md


def test_the_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_covers_every_builtin_feature() -> None:
    branches = [DEFS[ref["$ref"].removeprefix("#/$defs/")] for ref in SCHEMA["oneOf"]]
    features = [branch["properties"]["feature"]["const"] for branch in branches]
    assert sorted(features) == sorted(SCHEMA["properties"]["feature"]["enum"]) == sorted(BUILTIN)


def test_the_schema_enumerates_every_timeline_bucket(
    documents: Callable[[str], dict[str, Any]],
) -> None:
    timeline = DEFS["ingest"]["properties"]["timeline"]["properties"]
    assert timeline["bucket"]["enum"] == list(BUCKETS)
    assert documents("ingest-centuries")["timeline"]["bucket"] == "36500d"


def test_the_schema_has_the_current_schema_version() -> None:
    assert DEFS["schema_version"] == {"const": SCHEMA_VERSION}
    assert f"The current value is {SCHEMA_VERSION}" in REFERENCE


def test_the_version_rule_is_written_down() -> None:
    rule = (
        "raised once per issue that changes a key's name, type or enumeration; "
        "docs/report.schema.json changes with it"
    )
    assert rule in " ".join(REFERENCE.split())


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"].removeprefix("#/$defs/")
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


#: Object definitions used in several places: documented once, as ``<name>.key``.
BLOCKS = {
    name
    for name, uses in Counter(_references(SCHEMA)).items()
    if uses > 1 and DEFS[name].get("type") == "object"
}


def _join(prefix: str, key: str) -> str:
    step = f'["{key}"]' if "." in key else f".{key}"
    return (prefix + step).removeprefix(".")


def schema_paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    """Every key path under ``node``; a shared block is walked once, as ``<name>``."""
    paths: set[str] = set()
    name = node.get("$ref", "").removeprefix("#/$defs/")
    if name in BLOCKS:
        return schema_paths(DEFS[name], f"<{name}>")
    if name:
        node = DEFS[name]
    for key, sub in node.get("properties", {}).items():
        path = _join(prefix, key)
        paths |= {path} | schema_paths(sub, path)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        path = _join(prefix, "*")
        paths |= {path} | schema_paths(extra, path)
    if "items" in node:
        paths |= schema_paths(node["items"], prefix + "[]")
    for alternative in node.get("oneOf", []) + node.get("anyOf", []):
        paths |= schema_paths(alternative, prefix)
    return paths


#: The sections of docs/report.md whose tables document keys, and the features they cover.
SECTIONS = {
    "Keys of every report": ("convert", "ingest", "prime"),
    "The convert report": ("convert",),
    "The ingest report": ("ingest",),
    "The prime report": ("prime",),
}


def documented_paths() -> dict[str, set[str]]:
    """Key paths per feature: the backticked paths in the first cell of a table row."""
    found: dict[str, set[str]] = {feature: set() for feature in BUILTIN}
    features: tuple[str, ...] = ()
    for line in REFERENCE.splitlines():
        if line.startswith("## "):
            features = SECTIONS.get(line.removeprefix("## ").strip(), ())
        elif line.startswith("| `") and features:
            for feature in features:
                found[feature] |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return found


def test_the_path_convention_reads_the_schema() -> None:
    ingest = schema_paths(DEFS["ingest"])
    assert {"lines.malformed_samples[].line", "latency_by_method.*", "<latency>.p95"} <= ingest
    assert {'exact["user_agents.top"]', "timeline.rows[].start"} <= ingest
    assert "ranges[].max_gap.after" in schema_paths(DEFS["prime"])


@pytest.mark.parametrize("feature", sorted(BUILTIN))
def test_every_key_is_documented_and_every_documented_key_exists(feature: str) -> None:
    in_schema = schema_paths(DEFS[feature])
    in_docs = documented_paths()[feature]
    assert sorted(in_schema - in_docs) == [], "keys of the schema missing from docs/report.md"
    assert sorted(in_docs - in_schema) == [], "keys of docs/report.md missing from the schema"
