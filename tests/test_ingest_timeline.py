"""The timeline is bounded by the report, not by the time span (issue 22), and ``elapsed_s``
covers building the report.

The oracle is plain Python: a request at ``t`` ms is in bucket ``t // L`` of a bucket of ``L``
ms; the bucket a run uses and the slots its partials keep are chosen again here from the
documented rules (docs/report.md ``timeline.bucket``) with integer arithmetic only. Times are
whole seconds in the combined format, from 0001-01-01 to 9999-12-31 (what a report can write).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.ingest.report.result as result_module
from pipeline.engine.settings import ExecutionSettings
from pipeline.ingest.aggregate.partial import (
    MINUTE_MS,
    Partial,
    aggregate_partition,
    merge_partials,
)
from pipeline.ingest.aggregate.timeline import timeline_rows
from pipeline.ingest.formats.presets import preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.parse import parse_text
from pipeline.ingest.report.result import build_result
from pipeline.ingest.report.text import render_ingest
from tests.conftest import examples

SYNC = ExecutionSettings(mode="sync")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
LAST_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z
DAY = 1440  # minutes

# the documented buckets (minutes) and partial slots, written out again
REF_BUCKETS = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": DAY, "7d": 7 * DAY}
REF_BUCKETS |= {"30d": 30 * DAY, "365d": 365 * DAY, "3650d": 3650 * DAY, "36500d": 36500 * DAY}
REF_SLOTS = {1: "1m", 5: "5m", 15: "15m", 60: "1h", DAY: "1d", 5 * DAY: "5d"}
REF_SLOTS |= {365 * DAY: "365d", 3650 * DAY: "3650d"}
MAX_SLOTS = 5000
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
AUTO_ROWS = 300


def iso(ms: int) -> str:
    moment = EPOCH + timedelta(milliseconds=ms)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def clf_line(ms: int, status: int) -> str:
    moment = EPOCH + timedelta(milliseconds=ms)
    month = MONTHS[moment.month - 1]
    when = (
        f"{moment.day:02d}/{month}/{moment.year:04d}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000"
    )
    return f'1.2.3.4 - - [{when}] "GET /x HTTP/1.1" {status} 10 "-" "curl/8"'


def rows_of(first: int, last: int, minutes: int) -> int:
    length = minutes * 60_000
    return last // length - first // length + 1


def reference(times: list[int], statuses: list[int], requested: str) -> dict[str, Any]:
    """The timeline, its notes and the partials' slot, from the documented rules."""
    first, last = min(times), max(times)
    slot = next(m for m in REF_SLOTS if rows_of(first, last, m) <= MAX_SLOTS)
    names = list(REF_BUCKETS)
    if requested == "auto":
        fits = [n for n in names if rows_of(first, last, REF_BUCKETS[n]) <= AUTO_ROWS]
        chosen = fits[0] if fits else names[-1]
    else:
        chosen = requested
    fitted = next(
        n
        for n in names[names.index(chosen) :]
        if REF_BUCKETS[n] % slot == 0 and rows_of(first, last, REF_BUCKETS[n]) <= MAX_SLOTS
    )
    span = f"the time span from {iso(first)} to {iso(last)}"
    notes = []
    if fitted != chosen:
        notes.append(
            f"--bucket {chosen} is too fine for {span} (the timeline keeps at most 5,000 slots, "
            f"here of {REF_SLOTS[slot]}); the timeline uses {fitted}"
        )
    elif requested == "auto" and REF_BUCKETS[chosen] > DAY:
        notes.append(
            f"the timeline uses {chosen} buckets: {span} is too long for finer ones within 300 rows"
        )
    length = REF_BUCKETS[fitted] * 60_000
    requests = Counter(t // length for t in times)
    errors = Counter(t // length for t, s in zip(times, statuses, strict=True) if s >= 500)
    rows = [
        {
            "start": iso(max(index * length, FIRST_MS)),
            "requests": requests[index],
            "status_5xx": errors[index],
        }
        for index in range(first // length, last // length + 1)
    ]
    return {"bucket": fitted, "rows": rows, "notes": notes, "slot": slot}


def partial_of(times: list[int], statuses: list[int]) -> Partial:
    text = "".join(clf_line(t, s) + "\n" for t, s in zip(times, statuses, strict=True))
    return aggregate_partition(parse_text(text, preset("combined")), "a.log")


def held_slots(partial: Partial) -> int:
    """Distinct time slots a partial holds (in its counts and in its latency groups)."""
    minutes = set(partial.timeline.index.get_level_values("minute"))
    return max(len(minutes), len(partial.timeline_latency.groups))


def check_report(times: list[int], statuses: list[int], partial: Partial, requested: str) -> None:
    expected = reference(times, statuses, requested)
    assert partial.timeline_minutes == expected["slot"]
    assert rows_of(min(times), max(times), partial.timeline_minutes) <= MAX_SLOTS
    assert held_slots(partial) <= MAX_SLOTS
    document = build_result(
        partial, SYNC, time.perf_counter(), has_time=True, bucket=requested
    ).to_dict()
    timeline = document["timeline"]
    assert timeline["bucket"] == expected["bucket"]
    got = [{k: row[k] for k in ("start", "requests", "status_5xx")} for row in timeline["rows"]]
    assert got == expected["rows"]
    assert len(got) <= (AUTO_ROWS if requested == "auto" else MAX_SLOTS)
    assert document["notes"] == expected["notes"]
    assert document["time_range"]["first"] == iso(min(times))
    assert document["time_range"]["last"] == iso(max(times))


@pytest.mark.parametrize(
    ("bucket", "chosen", "rows"),
    [("auto", "36500d", 101), ("1m", "3650d", 1002), ("1d", "3650d", 1002)],
)
def test_two_lines_years_apart_give_a_small_report(
    tmp_path: Path, bucket: str, chosen: str, rows: int
) -> None:
    """Year 0001 and year 9999 in a 2-line log: 3.65 million daily rows before the fix."""
    log = tmp_path / "two.log"
    log.write_text(clf_line(FIRST_MS, 200) + "\n" + clf_line(LAST_MS, 503) + "\n")
    document = run_ingest(str(log), SYNC, IngestOptions(bucket=bucket)).to_dict()
    assert document["time_range"] == {
        "first": "0001-01-01T00:00:00Z",
        "last": "9999-12-31T23:59:59Z",
        "requests_without_time": 0,
    }
    timeline = document["timeline"]
    assert (timeline["bucket"], len(timeline["rows"])) == (chosen, rows)
    expected = reference([FIRST_MS, LAST_MS], [200, 503], bucket)
    assert [r["requests"] for r in timeline["rows"]] == [r["requests"] for r in expected["rows"]]
    assert timeline["rows"][0]["start"] == "0001-01-01T00:00:00Z"  # its bucket begins in 30 BC
    span = "the time span from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
    time_notes = [note for note in document["notes"] if "time span" in note]
    assert time_notes == expected["notes"] and span in time_notes[0]
    assert len(json.dumps(document)) < 200_000  # 595 MB before the fix


def test_a_partial_of_year_1_1970_and_9999_keeps_few_slots() -> None:
    """One block with times all over the years 0001 to 9999: 3650d slots, at most 5,000."""
    rng = random.Random(1)
    times = [FIRST_MS, 0, LAST_MS] + [
        rng.randrange(FIRST_MS, LAST_MS) // 1000 * 1000 for _ in range(12_000)
    ]
    statuses = [rng.choice([200, 404, 500]) for _ in times]
    partial = partial_of(times, statuses)
    assert partial.timeline_minutes == 3650 * DAY
    assert held_slots(partial) <= MAX_SLOTS
    check_report(times, statuses, partial, "auto")


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_blocks_of_year_1_1970_and_9999_merge_into_few_slots(order: tuple[int, int, int]) -> None:
    """Three blocks each narrow (1-minute slots), merged: the merge grows the slot to 3650d."""
    rng = random.Random(2)
    blocks: list[tuple[list[int], list[int]]] = []
    for center in (FIRST_MS, 0, LAST_MS - 3_600_000):
        times = [center + rng.randrange(3_600) * 1000 for _ in range(50)]
        blocks.append((times, [rng.choice([200, 500]) for _ in times]))
    partials = [partial_of(*block) for block in blocks]
    assert [p.timeline_minutes for p in partials] == [1, 1, 1]
    merged = merge_partials([partials[i] for i in order])
    times = [t for i in order for t in blocks[i][0]]
    statuses = [s for i in order for s in blocks[i][1]]
    assert merged.timeline_minutes == 3650 * DAY
    pairwise = merge_partials(
        [merge_partials([partials[order[0]], partials[order[1]]]), partials[order[2]]]
    )
    assert pairwise.timeline_minutes == 3650 * DAY
    for partial in (merged, pairwise):
        check_report(times, statuses, partial, "auto")
        check_report(times, statuses, partial, "1h")


@settings(max_examples=examples(20), deadline=None)
@given(
    exponent=st.integers(0, 48),
    where=st.floats(0, 1),
    fractions=st.lists(st.floats(0, 1), min_size=0, max_size=30),
    blocks=st.integers(1, 3),
    requested=st.sampled_from(["auto", *REF_BUCKETS]),
    seed=st.integers(0, 1000),
)
def test_random_spans_match_the_reference(
    exponent: int,
    where: float,
    fractions: list[float],
    blocks: int,
    requested: str,
    seed: int,
) -> None:
    """Spans from a second to the whole range, 1 to 3 blocks merged, every bucket asked for."""
    span = min(2**exponent * 1000, LAST_MS - FIRST_MS)
    start = FIRST_MS + int(where * (LAST_MS - FIRST_MS - span)) // 1000 * 1000
    times = [start, start + span] + [start + int(f * span) // 1000 * 1000 for f in fractions]
    rng = random.Random(seed)
    rng.shuffle(times)
    statuses = [rng.choice([200, 302, 503]) for _ in times]
    cuts = sorted(rng.sample(range(1, len(times)), min(blocks - 1, len(times) - 1)))
    pieces = [times[a:b] for a, b in zip([0, *cuts], [*cuts, len(times)], strict=True)]
    codes = [statuses[a:b] for a, b in zip([0, *cuts], [*cuts, len(times)], strict=True)]
    partial = merge_partials([partial_of(t, s) for t, s in zip(pieces, codes, strict=True)])
    check_report(times, statuses, partial, requested)


def test_seven_day_buckets_over_decades_are_raised_to_30d() -> None:
    """Past about 13.7 years the partials keep 5-day slots: 7d cannot be built from them."""
    times = [0, 6_000 * 86_400_000]
    partial = partial_of(times, [200, 200])
    assert partial.timeline_minutes == 5 * DAY
    check_report(times, [200, 200], partial, "7d")
    document = build_result(
        partial, SYNC, time.perf_counter(), has_time=True, bucket="7d"
    ).to_dict()
    assert document["timeline"]["bucket"] == "30d"
    assert document["notes"] == [
        "--bucket 7d is too fine for the time span from 1970-01-01T00:00:00Z to "
        "1986-06-06T00:00:00Z (the timeline keeps at most 5,000 slots, here of 5d); the "
        "timeline uses 30d"
    ]


class FakeClock:
    """``time.perf_counter`` that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_elapsed_covers_building_the_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow timeline (100 s on a fake clock) is in ``elapsed_s`` and in "computed in"."""
    clock = FakeClock()
    monkeypatch.setattr(time, "perf_counter", clock)
    original = timeline_rows

    def slow_timeline(*args: Any) -> Any:
        clock.now += 100.0
        return original(*args)

    monkeypatch.setattr(result_module, "timeline_rows", slow_timeline)
    log = tmp_path / "two.log"
    log.write_text(clf_line(0, 200) + "\n" + clf_line(MINUTE_MS * 5, 200) + "\n")
    result = run_ingest(str(log), SYNC)
    assert result.to_dict()["execution"]["elapsed_s"] == 100.0
    assert "computed in 100.000 s, mode sync, 1 worker" in render_ingest(result)
