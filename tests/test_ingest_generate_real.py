"""generate-logs ``--cardinality``: ``low`` keeps its bytes, ``realistic`` looks like production.

``realistic`` lines are read back by ``ingest`` (every line parsed, latencies kept) and inspected
with plain ``re`` per line: ids, UUIDs (some upper-case), hashes, slugs and query strings in the
targets, many distinct versioned user agents with some empty ones, microsecond latencies.
The full report on realistic lines is compared with a plain reference in
``tests/test_ingest_cardinality.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.loggen import WEB_FORMATS as FORMATS
from pipeline.loggen.generate import NGINX_TIMED_FORMAT, generate_logs

#: sha256 of ``generate_logs(out, lines=3001, files=2, seed=7, malformed_rate=0.02,
#: log_format=FMT)`` (both files, in order), computed on main at b9bc5d9, before
#: ``--cardinality`` existed: ``low`` must keep these bytes (benchmarks cache inputs by size).
LOW_BYTES = {
    "default": "89581e1be2117541b6875b2143b5bb9b767961254e6d7726eff61316875973f1",
    "common": "8b3fc813678eab9e8ef67be70a485f94cf67b3a9e397d8883f2916c0cb0bb28c",
    "combined": "c5dfee09c37cdf77765895a12668e60e3acd30c3f6551c00d6550e9913018fde",
    "nginx-timed": "008397788dff419afed1d2c64bdbdd17b3c6dd9c4f1821e1e15d4a4f6b55ea63",
    "json": "923437fd2b28ab20b0fd3acb23716d21c4eaaf342300f07a2a0b3d93342b5c77",
}

#: (target, agent, latency text) of a well-formed generated line, per format; a plain ``re``.
_Q = r'"((?:[^"\\]|\\.)*)"'
_CLF = r'\S+ - \S+ \[[^\]]+\] "[A-Z]+ (\S+) HTTP/[0-9.]+" [0-9]{3} (?:[0-9]+|-)'
FIELDS = {
    "default": re.compile(
        r"\[[A-Z]+\] (\S+), status=[0-9]{3}, time=([0-9]+\.[0-9]{3})ms user-agent=(.*)"
    ),
    "common": re.compile(_CLF),
    "combined": re.compile(_CLF + f" {_Q} {_Q}"),
    "nginx-timed": re.compile(_CLF + f" {_Q} {_Q}" + r" rt=([0-9]+\.[0-9]{6})"),
}
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _fields(fmt: str, line: str) -> tuple[str, str | None, str | None] | None:
    """(target, agent or None, latency text or None) of a line; None when it does not match."""
    if fmt == "json":
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict) or "request_time" not in record:
            return None
        return record["request_uri"], record["http_user_agent"], repr(record["request_time"])
    match = FIELDS[fmt].fullmatch(line)
    if match is None:
        return None
    if fmt == "default":
        return match.group(1), match.group(3), match.group(2)
    if fmt == "common":
        return match.group(1), None, None
    agent = "" if match.group(3) == "-" else match.group(3)
    return match.group(1), agent, match.group(4) if fmt == "nginx-timed" else None


def _ingest(path: Path, fmt: str) -> dict[str, Any]:
    log_format = NGINX_TIMED_FORMAT if fmt == "nginx-timed" else "auto"
    args = ["ingest", "--path", str(path), "--format", "json", "--mode", "sync", "--raw-paths"]
    result = CliRunner().invoke(cli, [*args, "--log-format", log_format])
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("fmt", FORMATS)
def test_low_keeps_the_bytes_it_always_wrote(tmp_path: Path, fmt: str) -> None:
    summary = generate_logs(
        tmp_path / "x", lines=3001, files=2, seed=7, malformed_rate=0.02, log_format=fmt
    )
    data = b"".join(path.read_bytes() for path in summary.files)
    assert hashlib.sha256(data).hexdigest() == LOW_BYTES[fmt]
    again = generate_logs(
        tmp_path / "y", lines=3001, files=2, seed=7, malformed_rate=0.02, log_format=fmt,
        cardinality="low",
    )  # fmt: skip
    assert b"".join(path.read_bytes() for path in again.files) == data


@pytest.mark.parametrize("fmt", FORMATS)
def test_realistic_lines_parse_and_have_real_cardinality(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "real.log"
    lines = 20_000
    summary = generate_logs(
        path, lines=lines, seed=4, log_format=fmt, cardinality="realistic", malformed_rate=0.01
    )
    report = _ingest(path, fmt)
    assert report["lines"]["malformed"] == summary.malformed
    assert 100 < summary.malformed < 300
    assert report["lines"]["parsed"] == lines - summary.malformed
    fields = [_fields(fmt, line) for line in path.read_text(encoding="utf-8").splitlines()]
    good = [f for f in fields if f is not None]
    # _fields skips the odd request lines of the text formats ("-", a TLS handshake) and keeps
    # a few malformed lines (31 Feb, a time without offset): it only needs the targets and agents
    assert lines - summary.malformed - 60 < len(good) < lines
    targets = [target for target, _, _ in good]
    assert len(set(targets)) > lines // 4  # ids, hashes, slugs, queries
    paths = [target.split("?", 1)[0] for target in targets]
    assert any(re.fullmatch(r"/api/v1/items/[0-9]+", p) for p in paths)
    assert any(re.fullmatch(rf"/api/v1/users/{UUID}/orders", p) and p != p.lower() for p in paths)
    assert any(re.fullmatch(r"/files/[0-9a-f]{40}", p) for p in paths)
    assert any(re.fullmatch(r"/static/[a-z]+\.[0-9a-f]{12}\.(js|css)", p) for p in paths)
    assert sum(1 for p in paths if re.fullmatch(r"/blog/[a-z]+-[a-z]+-[a-z]+", p)) > lines // 50
    assert sum(1 for t in targets if "&utm_source=" in t) > lines // 20
    # a raw path is counted as written (--raw-paths), so ingest sees every distinct path
    assert len(report["top_paths"]) == 10
    if fmt == "common":
        return
    agents = [agent for _, agent, _ in good if agent is not None]
    assert len(set(agents)) > lines // 10
    assert 0.02 < agents.count("") / len(agents) < 0.05
    assert any(re.search(r"Chrome/1[0-9]{2}\.0\.[0-9]{4}\.[0-9]+", a) for a in agents)
    assert any("Googlebot" in a for a in agents) and any(a.startswith("curl/") for a in agents)
    if fmt in ("combined",):
        return
    texts = [took for _, _, took in good if took is not None]
    digits = 3 if fmt == "default" else 6
    assert all(len(took.split(".")[1]) <= digits for took in texts)
    ms = [float(took) * (1 if fmt == "default" else 1000) for took in texts]
    assert sum(1 for value in ms if value != round(value)) > 0.99 * len(ms)  # sub-millisecond
    assert max(ms) > 20 * sorted(ms)[len(ms) // 2]  # a heavy tail
    assert report["latency_ms"]["count"] == report["lines"]["parsed"]  # every line has one


@pytest.mark.parametrize("fmt", ["default", "json"])
def test_realistic_is_deterministic_for_a_seed(tmp_path: Path, fmt: str) -> None:
    texts = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_logs(tmp_path / name, lines=3000, seed=seed, log_format=fmt,
                      cardinality="realistic")  # fmt: skip
        texts.append((tmp_path / name).read_bytes())
    assert texts[0] == texts[1] != texts[2]


def test_unknown_cardinality_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown cardinality 'high'; valid names: low, realistic"):
        generate_logs(tmp_path / "x.log", lines=1, cardinality="high")


def test_cli_option(tmp_path: Path) -> None:
    out = tmp_path / "r.log"
    args = ["generate-logs", "--lines", "500", "--out", str(out), "--cardinality", "realistic"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    size = f"{out.stat().st_size / 1024:.1f} KiB"
    assert result.stderr == f"wrote 500 lines (0 malformed, {size}) to {out}\n"
    generate_logs(tmp_path / "p.log", lines=500, cardinality="realistic")
    assert out.read_bytes() == (tmp_path / "p.log").read_bytes()
    bad = CliRunner().invoke(cli, [*args[:-1], "high"])
    assert bad.exit_code == 2
    assert (
        "Invalid value for '--cardinality': 'high' is not one of 'low', 'realistic'" in bad.stderr
    )
