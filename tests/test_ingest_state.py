"""The ``--state`` guarantee: after any appends, rotations and incremental runs, the report of the
last incremental run equals one run without ``--state`` over every line ever written.

A hypothesis property test drives :class:`tests.state_helpers.RotatingLog` (logrotate's
``create`` and ``copytruncate``, ``compress`` with and without ``delaycompress``, ``dateext``,
old files deleted) with incremental runs in between, over ``--path DIR`` (which covers the
rotated names). Plus the rules one by one: a partial last line is read whole next time, a
resumed W3C file keeps its ``#Fields``, a gone file keeps its counts and is named once.
"""

from __future__ import annotations

import gzip
import logging
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.distribution import Spec
from tests.conftest import examples
from tests.state_helpers import (
    RotatingLog,
    assert_same_report,
    line,
    run_report,
    write_reference,
)

#: One cycle of the writer and the cron job: lines appended (the last one maybe cut in two), maybe
#: an incremental run, more lines, maybe a rotation, maybe a run.
CYCLES = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.booleans(),
        st.booleans(),
        st.integers(0, 30),
        st.booleans(),
        st.booleans(),
    ),
    max_size=5,
)
Cycle = tuple[int, bool, bool, int, bool, bool]

#: The rotations a logrotate configuration can ask for, each drawn at least once.
KEY_CASES = [
    (False, "none", False),
    (False, "compress", False),
    (False, "delaycompress", False),
    (True, "none", False),
    (True, "compress", True),
    (False, "delaycompress", True),
]


def _scenario(
    root: Path, cycles: list[Cycle], copytruncate: bool, compress: str, dateext: bool
) -> None:
    logs = root / "logs"
    logs.mkdir()
    state = str(root / "nginx.state")
    log = RotatingLog(logs)
    for first, partial, run, second, rotate, run_after in cycles:
        log.append(first, partial=partial)
        if run:
            run_report(str(logs), state=state)
        log.append(second, partial=partial)
        if rotate:
            log.rotate_once(copytruncate=copytruncate, compress=compress, dateext=dateext)
        if run_after:
            run_report(str(logs), state=state)
    log.append(3)
    log.finish_line()
    incremental = run_report(str(logs), state=state)
    full = run_report(write_reference(log.written, root / "all.log"))
    assert incremental["lines"]["total"] == len(log.written)
    assert_same_report(incremental, full)


@pytest.mark.parametrize(("copytruncate", "compress", "dateext"), KEY_CASES)
def test_each_rotation_kind_between_runs_equals_one_full_run(
    tmp_path: Path, copytruncate: bool, compress: str, dateext: bool
) -> None:
    cycles: list[Cycle] = [(5, True, True, 4, True, False), (3, False, True, 2, True, True)]
    cycles += [(2, True, False, 2, True, True), (1, False, True, 0, True, True)]
    _scenario(tmp_path, cycles, copytruncate, compress, dateext)


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cycles=CYCLES,
    copytruncate=st.booleans(),
    compress=st.sampled_from(["none", "compress", "delaycompress"]),
    dateext=st.booleans(),
)
def test_incremental_runs_through_rotations_equal_one_full_run(
    tmp_path_factory: pytest.TempPathFactory,
    cycles: list[Cycle],
    copytruncate: bool,
    compress: str,
    dateext: bool,
) -> None:
    _scenario(tmp_path_factory.mktemp("rotations"), cycles, copytruncate, compress, dateext)


def test_a_partial_last_line_is_read_whole_next_time(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    text = line(0) + line(1)
    (logs / "access.log").write_text(text[: len(line(0)) + 10])
    first = run_report(str(logs), state=state)
    assert first["lines"]["total"] == 1
    (logs / "access.log").write_text(text)
    second = run_report(str(logs), state=state)
    assert second["lines"]["total"] == 2
    assert second["requests"]["by_status"] == {"200": 2}


def test_nothing_new_is_read_again(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    (logs / "access.log").write_text(line(0) + line(1) + line(2))
    reports = [run_report(str(logs), state=state) for _ in range(3)]
    assert [report["lines"]["total"] for report in reports] == [3, 3, 3]


W3C_HEAD = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
W3C_FIELDS = "#Fields: date time cs-method cs-uri-stem sc-status time-taken\n"


def test_a_w3c_file_resumed_mid_file_keeps_its_fields(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    first = W3C_HEAD + W3C_FIELDS + "2026-12-07 10:00:00 GET /a 200 15\n"
    later = "2026-12-07 10:00:01 POST /b 500 30\n2026-12-07 10:00:02 GET /c 404 45\n"
    (logs / "u_ex261207.log").write_text(first)
    run_report(str(logs), state=state)
    with open(logs / "u_ex261207.log", "a") as handle:
        handle.write(later)
    incremental = run_report(str(logs), state=state)
    (tmp_path / "all").mkdir()
    (tmp_path / "all" / "u_ex261207.log").write_text(first + later)
    full = run_report(str(tmp_path / "all"))
    assert incremental["lines"]["parsed"] == 3
    assert incremental["requests"]["by_method"] == {"GET": 2, "POST": 1}
    assert_same_report(incremental, full)


def test_a_gone_file_keeps_its_counts_and_is_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    (logs / "access.log.1").write_text(line(0) + line(1))
    (logs / "access.log").write_text(line(2))
    run_report(str(logs), state=state)
    (logs / "access.log.1").unlink()
    with caplog.at_level(logging.WARNING):
        second = run_report(str(logs), state=state)
        third = run_report(str(logs), state=state)
    assert second["lines"]["total"] == third["lines"]["total"] == 3
    gone = [r.getMessage() for r in caplog.records if "is gone" in r.getMessage()]
    assert gone == [
        f"--state: {logs / 'access.log.1'} is gone and no input continues it; its counts "
        "are kept (does --path cover its rotated names?)"
    ]


@pytest.mark.parametrize(("kept", "longer"), [(50, True), (55, False)])
def test_a_file_rewritten_with_the_same_start_is_read_from_its_start(
    tmp_path: Path, kept: int, longer: bool
) -> None:
    """Same first 4 KiB, other text before the offset (longer, or shorter than the offset):
    rewritten, so every line of it is new."""
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    before = "".join(line(n) for n in range(60))
    after = "".join(line(n) for n in range(kept))
    if longer:
        after += "".join(line(n) for n in range(1000, 1060))
    assert before[:4096] == after[:4096]
    (logs / "access.log").write_text(before)
    run_report(str(logs), state=state)
    with open(logs / "access.log", "r+") as handle:  # in place: same inode
        handle.truncate(0)
        handle.write(after)
    incremental = run_report(str(logs), state=state)
    full = run_report(write_reference([before, after], tmp_path / "all.log"))
    assert incremental["lines"]["total"] == 60 + after.count("\n")
    assert_same_report(incremental, full)


def test_the_report_counts_every_input_file_of_the_run(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    (logs / "access.log.1").write_text(line(0))
    (logs / "access.log").write_text(line(1))
    run_report(str(logs), state=state)
    with open(logs / "access.log", "a") as handle:
        handle.write(line(2))
    second = run_report(str(logs), state=state)
    assert second["inputs"]["files"] == 2  # one with new lines, one without
    assert second["lines"]["total"] == 3


def test_malformed_out_gets_the_new_malformed_lines_only(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state, out = str(tmp_path / "s.state"), tmp_path / "bad.txt"
    (logs / "access.log").write_text(line(0) + "first bad\n")
    run_report(str(logs), state=state, malformed_out=str(out))
    with open(logs / "access.log", "a") as handle:
        handle.write("second bad\n" + line(1))
    second = run_report(str(logs), state=state, malformed_out=str(out))
    assert second["lines"]["malformed"] == 2
    assert out.read_text() == f"{logs / 'access.log'}\tsecond bad\n"


def _default_line(number: int) -> str:
    """A line of the project's grammar: 13 raw paths, many distinct latencies."""
    status = (200, 200, 301, 404, 500)[number % 5]
    return (
        f"[GET] /items/{number * 7 % 13}, status={status}, "
        f"time={number * 31 % 97}.{number % 10}ms user-agent=curl/{number % 5}\n"
    )


def test_past_the_caps_approximate_figures_stay_within_their_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny caps: the sketched latencies and the capped top lists of the incremental report
    are flagged, and each top-path count is within its stated bound of the true count."""
    monkeypatch.setattr(limits, "LATENCY", Spec(("method", "status_class"), 4, 0.01))
    monkeypatch.setattr(limits, "PATHS", 3)
    monkeypatch.setattr(limits, "ERROR_PATHS", 3)
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    written: list[str] = []
    for count, rotate in ((300, False), (200, True), (100, False)):
        new = [_default_line(len(written) + i) for i in range(count)]
        written.extend(new)
        with open(logs / "access.log", "a") as handle:
            handle.write("".join(new))
        if rotate:
            (logs / "access.log").rename(logs / "access.log.1")
        run_report(str(logs), state=state, raw_paths=True)
    incremental = run_report(str(logs), state=state, raw_paths=True)
    full = run_report(write_reference(written, tmp_path / "all.log"), raw_paths=True)
    assert not incremental["exact"]["top_paths"] and not incremental["exact"]["latency_ms"]
    for key in ("requests", "latency_ms", "latency_by_method", "timeline", "user_agents"):
        assert incremental.get(key) == full.get(key), key
    truth = Counter(text.split(",")[0].split()[1] for text in written)
    for row in incremental["top_paths"]:
        assert row["count"] <= truth[row["path"]] <= row["count"] + row["count_error"], row
    for key, exact in incremental["exact"].items():
        assert not exact or full["exact"][key], key


def test_a_file_being_compressed_is_counted_once(tmp_path: Path) -> None:
    """A run between gzip writing access.log.1.gz and deleting access.log.1 sees both."""
    logs = tmp_path / "logs"
    logs.mkdir()
    state = str(tmp_path / "s.state")
    log = RotatingLog(logs)
    log.append(20)
    log.rotate_once(copytruncate=False, compress="none", dateext=False)
    log.append(5)
    plain, packed = logs / "access.log.1", logs / "access.log.1.gz"
    with open(plain, "rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    during = run_report(str(logs), state=state)  # both names: the plain one is read
    plain.unlink()
    after = run_report(str(logs), state=state)  # the .gz continues its cursor
    assert during["lines"]["total"] == after["lines"]["total"] == 25
