"""Container wrappers (Docker json-file, Kubernetes CRI, a shipper's ``message``): detected, and
the line inside read with its own format, compared line by line with a plain reference
(``json.loads`` / ``split`` per line, then a plain ``re`` of the inner format).

The wrapped files are derived from our real-server recordings by ``tests/data/wrap-real.py``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.formats.presets import compile_format, preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.parsing.parse import parse_text
from tests.conftest import REPO_ROOT

WRAPPED = REPO_ROOT / "tests" / "data" / "wrapped-real"

COMBINED = re.compile(
    r'^\S+ \S+ \S+ \[(?P<time>[^]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) '
    r'(?P<bytes>\d+|-) "(?:[^"\\]|\\.)*" "(?P<agent>(?:[^"\\]|\\.)*)"(?: .*)?$'
)
#: A request line: METHOD TARGET PROTOCOL (anything else: method and path are "-").
REQUEST = re.compile(r"^([A-Z]+) (\S+)(?: HTTP/[0-9.]+)?$")
DEFAULT = re.compile(
    r"^\[(?P<method>[A-Z]+)\] (?P<path>\S+), status=(?P<status>[1-5]\d\d), "
    r"time=(?P<latency>\d+(?:\.\d+)?)ms user-agent=(?P<agent>.*)$"
)


def _ms(iso: str) -> int:
    """RFC 3339 with up to 9 fractional digits -> UTC ms (truncated)."""
    head, _, rest = iso.rstrip("Z").partition(".")
    moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1000 + int((rest + "000")[:3])


def _unwrap(line: str, wrapper: str) -> tuple[str, str]:
    """(inner line, wrapper time) by plain split / json.loads."""
    if wrapper == "cri":
        time, _stream, _tag, inner = line.split(" ", 3)
        return inner, time
    record = json.loads(line)
    if wrapper == "docker":
        return record["log"].rstrip("\n"), record["time"]
    return record["message"], record["@timestamp"]


def _reference(path: Path, wrapper: str, inner: str) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines():
        text, stamp = _unwrap(line, wrapper)
        if inner == "combined":
            match = COMBINED.match(text.strip())
            if match is None:
                continue
            clf = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
            request = REQUEST.match(match["request"])
            rows.append(
                {
                    "method": request[1] if request else "-",
                    "path": request[2] if request else "-",
                    "status": int(match["status"]),
                    "bytes": 0 if match["bytes"] == "-" else int(match["bytes"]),
                    "user_agent": "" if match["agent"] == "-" else match["agent"],
                    "time": int(clf.timestamp()) * 1000,  # the line's own time wins
                    "latency_ms": math.nan,
                }
            )
        else:
            match = DEFAULT.match(text.strip())
            if match is None:
                continue
            rows.append(
                {
                    "method": match["method"],
                    "path": match["path"],
                    "status": int(match["status"]),
                    "bytes": 0,
                    "user_agent": match["agent"],
                    "time": _ms(stamp),  # no time inside: the wrapper's
                    "latency_ms": float(match["latency"]),
                }
            )
    return rows


CASES = [
    ("docker-nginx-combined.log", "docker", "combined"),
    ("cri-apache2-combined.log", "cri", "combined"),
    ("message-nginx-main.log", "message", "combined"),
    ("cri-default.log", "cri", "default"),
]


@pytest.mark.parametrize(("name", "wrapper", "inner"), CASES)
def test_wrapped_lines_equal_the_reference(name: str, wrapper: str, inner: str) -> None:
    path = WRAPPED / name
    document = run_ingest(str(path), ExecutionSettings(mode="sync")).to_dict()
    assert document["inputs"]["formats"] == {f"{wrapper}:{inner}": 1}
    want = _reference(path, wrapper, inner)
    lines = len(path.read_text().splitlines())
    assert document["lines"]["parsed"] == len(want)
    assert document["lines"]["malformed"] == lines - len(want)
    parsed = parse_text(path.read_text(), preset(f"{wrapper}:{inner}"))
    frame = parsed.frame
    times = frame["time"].to_numpy(dtype="datetime64[ms]").view("int64").tolist()
    columns = zip(
        frame["method"].astype(str).tolist(),
        frame["path"].tolist(),
        frame["status"].tolist(),
        frame["bytes"].tolist(),
        frame["user_agent"].tolist(),
        times,
        frame["latency_ms"].tolist(),
        strict=True,
    )
    keys = ("method", "path", "status", "bytes", "user_agent", "time", "latency_ms")
    got: list[dict[str, Any]] = [dict(zip(keys, row, strict=True)) for row in columns]
    assert len(got) == len(want)
    for have, expect in zip(got, want, strict=True):
        assert {k: v for k, v in have.items() if k != "latency_ms"} == {
            k: v for k, v in expect.items() if k != "latency_ms"
        }
        assert have["latency_ms"] == expect["latency_ms"] or (
            math.isnan(have["latency_ms"]) and math.isnan(expect["latency_ms"])
        )
    # malformed lines are reported as written, wrapper included
    written = path.read_text().splitlines()
    assert [written[i] for i in parsed.malformed_index] == parsed.malformed


def test_cri_partial_pieces_are_not_joined() -> None:
    """A ``P`` piece and the ``F`` piece ending it are each read alone: both malformed."""
    line = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2 "-" "curl/8"'
    text = (
        f"2024-04-25T17:51:55.294Z stdout P {line[:40]}\n"
        f"2024-04-25T17:51:55.295Z stdout F {line[40:]}\n"
        f"2024-04-25T17:51:55.296Z stdout F {line}\n"
    )
    parsed = parse_text(text, preset("cri:combined"))
    assert len(parsed.frame) == 1
    assert parsed.malformed == text.splitlines()[:2]


def test_a_wrapper_is_named_in_log_format() -> None:
    assert compile_format("docker:combined") == preset("docker:combined")
    assert preset("docker:combined").wrapper == "docker"
    assert preset("docker:combined").has_time and not preset("default").has_time
    assert preset("cri:default").has_time  # the wrapper's time
