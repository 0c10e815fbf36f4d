"""Every preset of the table reads its genuine sample files with no option, as lnav checks the
samples of its format files.

For each row of :data:`pipeline.ingest.formats.table.PRESET_TABLE` with a ``samples``
directory, every file under ``tests/data/formats/<samples>/`` is ingested with the defaults
(auto-detection): the file must be read with the preset (or one listed in
:data:`READ_AS`), and every line must parse, except the lines :data:`MALFORMED` lists with the
reason. Field-by-field checks against an independent reference per format live in the format's
own test module (``tests/test_preset_*.py``); this test is the table's contract: a row without
samples, a sample that stops parsing, or a new malformed line fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest import options
from pipeline.ingest.formats.table import PRESET_TABLE
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions

FORMATS_DIR = Path(__file__).parent / "data" / "formats"

#: Presets whose samples live elsewhere in tests/data (real-server recordings), or that are the
#: project's own grammar, or generic keyed formats (json, logfmt: their genuine samples are
#: the named presets' files, read through the generic key aliases in tests/test_preset_*.py):
#: they are tested by their own modules.
WITHOUT_PUBLIC_SAMPLES: frozenset[str] = frozenset(
    {
        "default",
        "combined",
        "common",
        "json",
        "logfmt",
        # no public vcommon file was found (tests/data/README.md); the Elastic near-variant in
        # formats/vcombined reads as vcommon (READ_AS), tests/test_preset_proxy.py checks it
        "vcommon",
        # tests/data/lighttpd-real (a real lighttpd's default format): tests/test_preset_proxy.py
        "lighttpd",
    }
)

#: Sample files read with another preset than the directory's, and why (file -> preset).
READ_AS: dict[str, str] = {
    # a mixed Apache file: 4 vhost_combined lines among 11 combined/common ones; common parses
    # the most lines (tests/test_preset_proxy.py reads its vhost_combined lines with vcombined)
    "plaso-apache_access.log": "common",
    # near-variants of vhost_combined ('%v %h ...' and '%h:port %v:%p ...'): both are vcommon
    # lines with extras, only the second a vcombined line
    "elastic-integrations-test-access-vhost.log": "vcommon",
}

#: Lines of the genuine samples that are malformed on purpose, per file: (count, reason).
MALFORMED: dict[str, tuple[int, str]] = {
    # alb: NLB ("tls 2.0 ...") and ALB connection-log lines (a time, then client, ports and TLS
    # fields: no request) are other logs AWS writes, not ALB access entries
    "elastic-integrations-test-alb.log": (7, "4 NLB lines, 3 ALB connection-log lines"),
    "plaso-aws_elb_access.log": (6, "4 Classic ELB lines (elb's), 2 NLB lines"),
    # haproxy: lines that are not HTTP requests, or not option httplog
    "elastic-integrations-sample_logs-haproxy3.2.log": (
        6,
        "'Connection closed during SSL handshake' lines",
    ),
    "elastic-integrations-test-haproxy.log": (
        1,
        "a custom log-format line (a host column after the server, the status twice)",
    ),
    "lnav-haproxy_log-samples.log": (
        5,
        "Proxy started/stopped, Stopping frontend, SSL handshake, a TCP-mode (tcplog) line",
    ),
    "lnav-logfile_haproxy.log": (4, "3 'Proxy ... started' lines, 1 'SSL handshake failure'"),
    "logstash-patterns-core-haproxy_spec.log": (1, "a TCP-mode (tcplog, three timers) line"),
    "elastic-integrations-test-log.log": (
        2,
        "envoy lines inside a shipper's JSON ('message'): the container-wrapper work unwraps them",
    ),
    "elastic-integrations-test-format-common.log": (
        1,
        "the Apache manual's plain CLF line, which Traefik never writes (no router, no duration)",
    ),
    "plaso-apache_access.log": (
        6,
        "4 vhost_combined lines, 2 with an unescaped '\"' inside the request (not Apache output)",
    ),
    # w3c: a line whose column count differs from the #Fields in force is malformed
    "beats-filebeat-iis-test.log": (
        2,
        "the last two lines have the 15-column layout while the 22-column #Fields is in force",
    ),
    "elastic-integrations-test-iis10-access.log": (
        5,
        "no #Fields (Filebeat dropped the # lines): the 16-column lines are IIS's default set "
        "with cs-host; the five 18-column lines have fields no directive names",
    ),
    # docker compose output of a Caddy container: its startup and runtime messages (JSON
    # objects with msg but no request or status) are not requests
    "lnav-logfile_caddy_log.0-compose.log": (35, "Caddy's own non-request log lines"),
}


#: Files of a sample directory that two rows share which belong to one of them (file -> row):
#: the other row does not read them.
OWNED_BY: dict[str, str] = {
    # formats/traefik holds Traefik's CLF (row traefik) and its JSON (the JSON presets' row)
    "elastic-integrations-test-format-common.log": "traefik",
    "elastic-integrations-test-format-json.log": "traefik-json",
}


#: Sample files none of whose lines parse, so no preset can be detected for them (file ->
#: reason); their preset's own module reads them with ``--log-format`` and checks each line.
NO_LINE_PARSES: dict[str, str] = {
    "lnav-logfile_w3c.5.log": "its one data line has 17 columns, its #Fields names 6 "
    "(tests/test_preset_w3c.py)",
}


def _sample_files() -> list[tuple[str, Path]]:
    files = []
    for row in PRESET_TABLE:
        if not row.samples:
            continue
        for path in sorted((FORMATS_DIR / row.samples).iterdir()):
            owner = OWNED_BY.get(path.name, row.name)
            if owner == row.name and path.name not in NO_LINE_PARSES:
                files.append((row.name, path))
    return files


def test_every_preset_has_genuine_samples() -> None:
    for row in PRESET_TABLE:
        if row.name in WITHOUT_PUBLIC_SAMPLES:
            continue
        assert row.samples, f"preset {row.name} names no sample directory"
        directory = FORMATS_DIR / row.samples
        assert directory.is_dir() and any(directory.iterdir()), directory


@pytest.mark.parametrize(
    ("name", "path"), _sample_files(), ids=[p.name for _, p in _sample_files()]
)
def test_sample_file_parses_with_no_option(name: str, path: Path) -> None:
    document = run_ingest(str(path), ExecutionSettings(mode="sync"), IngestOptions()).to_dict()
    formats = document["inputs"]["formats"]
    assert formats == {READ_AS.get(path.name, name): 1}
    lines = document["lines"]
    expected = MALFORMED.get(path.name, (0, ""))[0]
    assert lines["malformed"] == expected, lines["malformed_samples"]
    assert document["inputs"]["failed"] == []
    assert lines["parsed"] > 0


#: Small blocks, so the larger samples (up to 47 KB) split into several blocks (each must know its
#: format and, for W3C, the directives in force at its start); below the library's floor, which
#: the test lowers (a floor for run time, not correctness).
SPLIT_BLOCKSIZE = 4096


@pytest.fixture(scope="module")
def all_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sample file of the table in one directory, named ``<row>-<file>``."""
    folder = tmp_path_factory.mktemp("samples")
    for name, path in _sample_files():
        (folder / f"{name}-{path.name}").write_bytes(path.read_bytes())
    return folder


def _document(folder: Path, settings: ExecutionSettings) -> dict[str, object]:
    options = IngestOptions(blocksize=SPLIT_BLOCKSIZE)
    document = run_ingest(str(folder), settings, options).to_dict()
    document.pop("execution")
    return document


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "settings",
    [
        ExecutionSettings(mode="threading", workers=3),
        ExecutionSettings(mode="process", workers=2),
        ExecutionSettings(mode="distributed", workers=2),
    ],
    ids=["threading", "process", "distributed"],
)
def test_every_mode_reads_all_samples_alike(
    all_samples: Path, settings: ExecutionSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All the samples in one run, split in small blocks, detected with no option: each mode gives
    the sync report, whose formats and line counts are the table's contract above."""
    monkeypatch.setattr(options, "MIN_BLOCKSIZE", SPLIT_BLOCKSIZE)
    want = _document(all_samples, ExecutionSettings(mode="sync"))
    expected_formats: dict[str, int] = {}
    for name, path in _sample_files():
        read_as = READ_AS.get(path.name, name)
        expected_formats[read_as] = expected_formats.get(read_as, 0) + 1
    inputs = want["inputs"]
    assert isinstance(inputs, dict)
    assert inputs["formats"] == dict(sorted(expected_formats.items()))
    assert inputs["failed"] == []
    lines = want["lines"]
    assert isinstance(lines, dict)
    assert lines["malformed"] == sum(
        MALFORMED.get(path.name, (0, ""))[0] for _, path in _sample_files()
    )
    assert _document(all_samples, settings) == want


def test_files_read_together_are_detected_as_when_alone(all_samples: Path) -> None:
    """Small files are detected together (their samples joined in one parse per preset): a
    file's lines, or a W3C file's directives, must not change how the next file is judged."""
    document = run_ingest(str(all_samples), ExecutionSettings(mode="sync"), IngestOptions())
    expected: dict[str, int] = {}
    for name, path in _sample_files():
        read_as = READ_AS.get(path.name, name)
        expected[read_as] = expected.get(read_as, 0) + 1
    assert document.to_dict()["inputs"]["formats"] == dict(sorted(expected.items()))
    assert document.to_dict()["inputs"]["failed"] == []
