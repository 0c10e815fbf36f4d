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
from pipeline.ingest.formats.table import PRESET_TABLE
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions

FORMATS_DIR = Path(__file__).parent / "data" / "formats"

#: Presets whose samples live elsewhere in tests/data (real-server recordings), or that are the
#: project's own grammar, or generic keyed formats (json, logfmt: their genuine samples are
#: the named presets' files, read through the generic key aliases in tests/test_preset_*.py):
#: they are tested by their own modules.
WITHOUT_PUBLIC_SAMPLES: frozenset[str] = frozenset(
    {"default", "combined", "common", "json", "logfmt"}
)

#: Sample files read with another preset than the directory's, and why (file -> preset).
READ_AS: dict[str, str] = {}

#: Lines of the genuine samples that are malformed on purpose, per file: (count, reason).
MALFORMED: dict[str, tuple[int, str]] = {
    # docker compose output of a Caddy container: its startup and runtime messages (JSON
    # objects with msg but no request or status) are not requests
    "lnav-logfile_caddy_log.0-compose.log": (35, "Caddy's own non-request log lines"),
}


def _sample_files() -> list[tuple[str, Path]]:
    files = []
    for row in PRESET_TABLE:
        if not row.samples:
            continue
        for path in sorted((FORMATS_DIR / row.samples).iterdir()):
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
