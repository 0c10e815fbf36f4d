"""Every benchmark on tiny inputs: its real code path and its cross-checks, in seconds.

``make bench`` runs each ``benchmarks/bench_*.py`` module's ``main`` on big inputs; here the same
``main`` runs with the smallest sizes its options allow (our CLI in threading mode only: process
mode is the same code path with another ``--mode``, and its pool costs seconds), so a benchmark
that no longer runs, whose table lost a row, or whose peers no longer agree with us fails the
suite. Each cross-check is also shown to fail when one engine is made to disagree.

A peer that is not installed (DuckDB and Polars from the ``bench`` extra, Debian's
``primesieve`` and ``goaccess``) skips its test with the reason; under ``CI=true`` it fails
instead, because CI installs them (``make test`` installs the ``bench`` extra, ``.ci/run`` the
Debian packages).
Generated inputs go to a temporary directory, not ``benchmarks/data/``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks import (
    bench_agents,
    bench_convert,
    bench_follow,
    bench_formats,
    bench_ingest,
    bench_prime,
    bench_state,
    ingest_peers,
    scale,
)
from benchmarks.__main__ import main as bench_main
from pipeline.ingest.options import MAX_BLOCKSIZE, MIN_BLOCKSIZE
from pipeline.loggen.generate import generate_logs

Table = tuple[list[str], list[list[str]]]

#: pi(10^6) and pi(10^5): the prime counts every method must print.
PI_1E6 = 78_498
PI_1E5 = 9_592


def _require(peer: str, present: bool, install: str) -> None:
    """Skip (fail under ``CI=true``) when ``peer`` is missing."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the benchmark peer {peer} is missing ({install})")
    pytest.skip(f"benchmark peer {peer} is not installed ({install})")


def _require_python_peers() -> None:
    for module in ("duckdb", "polars"):
        present = importlib.util.find_spec(module) is not None
        _require(module, present, "make test installs the bench extra")


def _tables(out: str) -> list[Table]:
    """The Markdown tables in ``out``: each header and its rows, cells stripped."""
    lines = out.splitlines()
    tables = []
    for index, line in enumerate(lines[:-1]):
        if line.startswith("| ") and lines[index + 1].startswith("|---"):
            rows = []
            for row in lines[index + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append([cell.strip() for cell in row.strip("|").split("|")])
            tables.append(([cell.strip() for cell in line.strip("|").split("|")], rows))
    return tables


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Generated benchmark inputs in a temporary directory instead of ``benchmarks/data/``."""
    monkeypatch.setattr(bench_ingest, "DATA", tmp_path)
    monkeypatch.setattr(scale, "DATA", tmp_path)
    monkeypatch.setattr(bench_state, "DATA", tmp_path)
    monkeypatch.setattr(bench_convert, "DATA", tmp_path)
    return tmp_path


def test_state_incremental_run_equals_the_full_run(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bench_state.main(["--gb", "0.0005"]) == 0
    out = capsys.readouterr().out
    assert "incremental report equals the full run's" in out
    assert "5,376 + 53 lines" in out
    assert os.listdir(data) == []  # the generated file is removed
    # the cross-check is real: reports compared whole (their run times differ) fail it
    monkeypatch.setattr(bench_state, "_comparable", lambda report: report)
    assert bench_state.main(["--gb", "0.0005"]) == 1


@pytest.mark.subprocess
def test_follow_soak_counts_every_line_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_follow, "POOL_LINES", 2000)
    assert bench_follow.main(["--seconds", "4", "--rate", "500"]) == 0
    out = capsys.readouterr().out
    pattern = r"lines written ([0-9,]*[0-9]), counted in the final report ([0-9,]*[0-9])"
    written = re.search(pattern, out)
    assert written is not None and written[1] == written[2] and written[1] != "0"
    assert "| peak RSS of the process tree |" in out


@pytest.mark.subprocess  # GoAccess
def test_ingest_every_engine_parses_what_we_parse(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _require_python_peers()
    _require("goaccess", shutil.which("goaccess") is not None, "apt-get install goaccess")
    argv = ["--lines", "2000", "--repeat", "1", "--modes", "threading"]
    assert bench_ingest.main([*argv, "--cases", "default,combined,realistic"]) == 0
    out = capsys.readouterr().out
    parsed = [
        int(n.replace(",", "")) for n in re.findall(r"every engine parsed ([\d,]+) lines", out)
    ]
    default_parsed, combined_parsed, realistic_parsed = parsed
    # the default grammar against an oracle of its own: the naive parser, line by line
    text = (data / "ingest-2000.log").read_text().splitlines()
    assert default_parsed == sum(bench_ingest.parse_line(line) is not None for line in text)
    assert 1900 < default_parsed < 2000 and 1900 < combined_parsed <= 2000  # 0.1 % malformed
    assert 1900 < realistic_parsed <= 2000
    # the plain patterns: what a plain per-line `re` of the same pattern (with a real date)
    # matches in the file, independently of the engines
    timed = (data / "ingest-nginx-timed-2000.log").read_text().splitlines()
    plain = re.compile(ingest_peers.TIMED_PLAIN)
    expected = sum(
        1 for line in timed if (m := plain.match(line)) is not None and _real_date(m.group(3))
    )
    assert f"plain pattern (all cores) counts {expected:,}:" in out
    assert f"Polars `str.extract_groups`, plain pattern counts {expected:,}:" in out
    engines = {
        "DuckDB `regexp_extract` into a struct (all cores)",
        "**ingest `--worker 2 --mode threading`** (whole report)",
        "Polars `str.extract_groups`",
    }
    combined_engines = {
        "DuckDB `regexp_extract`, plain pattern (all cores)",
        "DuckDB `regexp_extract` into a struct (all cores, strict pattern)",
        "**ingest `--worker 2 --mode threading`** (whole report)",
        "Polars `str.extract_groups`, strict pattern",
        "Polars `str.extract_groups`, plain pattern",
        "GoAccess 1.7 (one thread)",
    }
    naive = "naive `read_text -> Bag.map(parse) -> to_dataframe()`"
    default, combined, realistic = _tables(out)
    assert {row[0] for row in default[1]} == engines | {naive}
    assert {row[0] for row in combined[1]} == combined_engines
    assert {row[0] for row in realistic[1]} == combined_engines
    for _, rows in (default, combined, realistic):
        assert all(float(row[1]) > 0 and row[2].replace(",", "").isdigit() for row in rows)


def _real_date(stamp: str) -> bool:
    try:
        datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return False
    return True


def test_goaccess_view_adds_the_dates_that_do_not_exist(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    good = '1.2.3.4 - - [28/Feb/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-"'
    log.write_text(f"{good}\n{good.replace('28/Feb', '31/Feb')}\n{good.replace('28/', '30/')}\n")
    assert ingest_peers.impossible_dates(log) == 2
    ours = bench_ingest.Figures(1, {"GET": 1}, {"200": 1}, {})
    assert ingest_peers.goaccess_view(ours, log) == bench_ingest.Figures(3, {}, {}, {})


def test_plain_view_leaves_out_the_unparsed_request_lines() -> None:
    ours = bench_ingest.Figures(
        5, {"GET": 3, "-": 2}, {"200": 3, "400": 2}, {"GET": (3, 1.0, 1.0, 1.0), "-": (2, 0, 0, 0)}
    )
    assert ingest_peers.without_unparsed_requests(ours, Path("unused")) == bench_ingest.Figures(
        3, {"GET": 3}, {}, {"GET": (3, 1.0, 1.0, 1.0)}
    )


def test_ingest_cross_check_fails_when_an_engine_disagrees(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_python_peers()
    real = bench_ingest._polars

    def off_by_one(case: bench_ingest.Case) -> Callable[[Path], bench_ingest.Figures]:
        def run(path: Path) -> bench_ingest.Figures:
            figures = real(case)(path)
            return dataclasses.replace(figures, parsed=figures.parsed + 1)

        return run

    monkeypatch.setattr(bench_ingest, "_polars", off_by_one)
    argv = ["--lines", "300", "--repeat", "1", "--modes", "threading", "--cases", "default"]
    assert bench_ingest.main([*argv, "--skip-naive"]) == 1
    out = capsys.readouterr().out
    assert "CROSS-CHECK FAILED:\n  Polars `str.extract_groups`: parsed " in out
    assert "DuckDB" not in out.split("CROSS-CHECK FAILED")[1]
    assert _tables(out) == []


def test_ingest_cross_check_compares_every_figure() -> None:
    ours = bench_ingest.Figures(
        parsed=3,
        by_method={"GET": 2, "POST": 1},
        by_status={"200": 3},
        latency={"GET": (2, 5.0, 5.0, 6.0), "POST": (1, 1.0, 1.0, 1.0)},
    )
    assert bench_ingest.cross_check("peer", ours, ours) == []
    nan = float("nan")  # the naive pipeline computes no p95: not compared
    no_p95 = dataclasses.replace(ours, latency={"GET": (2, 5.0, 5.0, nan), "POST": (1, 1, 1, nan)})
    assert bench_ingest.cross_check("naive", no_p95, ours) == []
    other_status = dataclasses.replace(ours, by_status={"200": 2, "500": 1})
    assert bench_ingest.cross_check("peer", other_status, ours) == [
        "peer: by_status {'200': 2, '500': 1} != ours {'200': 3}"
    ]
    other_p95 = dataclasses.replace(ours, latency={**ours.latency, "GET": (2, 5.0, 5.0, 6.1)})
    assert bench_ingest.cross_check("peer", other_p95, ours) == [
        "peer: latency p95 of GET: 6.1 != ours 6.0"
    ]
    missing = dataclasses.replace(ours, latency={"GET": (2, 5.0, 5.0, 6.0)})
    assert bench_ingest.cross_check("peer", missing, ours) == [
        "peer: latency count of POST: None != ours (1, 1.0, 1.0, 1.0)"
    ]


#: The engines of ``benchmarks formats`` run here. Our ingest reads W3C and ALB only once the
#: presets of issue 23 are merged (auto-detection included): then add it, ("duckdb", "ours",
#: "polars"), and these tests cross-check the peers against our report.
FORMATS_ENGINES: tuple[str, ...] = ("duckdb", "polars")


def test_formats_every_engine_parses_what_the_generator_wrote(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _require_python_peers()
    argv = ["--lines", "4000", "--repeat", "1", "--modes", "threading"]
    assert bench_formats.main([*argv, "--engines", ",".join(FORMATS_ENGINES)]) == 0
    out = capsys.readouterr().out
    parsed = [
        int(n.replace(",", "")) for n in re.findall(r"every engine parsed ([\d,]+) lines", out)
    ]
    for case, count in zip(("w3c", "alb"), parsed, strict=True):
        # the oracle: what the generator wrote (bench_ingest._log_file's seed and malformed rate)
        summary = generate_logs(
            data / f"oracle-{case}", lines=4000, seed=42, malformed_rate=0.001, log_format=case
        )
        assert count == 4000 - summary.malformed
        assert summary.malformed > 0
    w3c, alb = _tables(out)
    engines = {
        "duckdb": {"w3c": "DuckDB `read_csv(delim=' ', comment='#')` (all cores)"},
        "ours": {"w3c": "**ingest `--worker 2 --mode threading`** (whole report, auto-detected)"},
        "polars": {"w3c": "Polars `scan_csv(separator=' ')`", "alb": "Polars `str.extract_groups`"},
    }
    engines["duckdb"]["alb"] = "DuckDB `regexp_extract` (all cores)"
    engines["ours"]["alb"] = engines["ours"]["w3c"]
    for case, (_, rows) in (("w3c", w3c), ("alb", alb)):
        assert [row[0] for row in rows] == [engines[name][case] for name in FORMATS_ENGINES]
        assert all(float(row[1]) > 0 and row[2].replace(",", "").isdigit() for row in rows)


def test_formats_cross_check_fails_when_an_engine_disagrees(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_python_peers()
    real = bench_formats._polars

    def one_more_post(case: bench_ingest.Case) -> Callable[[Path], bench_ingest.Figures]:
        def run(path: Path) -> bench_ingest.Figures:
            figures = real(case)(path)
            by_method = {**figures.by_method, "POST": figures.by_method["POST"] + 1}
            return dataclasses.replace(figures, by_method=by_method)

        return run

    monkeypatch.setattr(bench_formats, "_polars", one_more_post)
    argv = ["--lines", "300", "--repeat", "1", "--modes", "threading", "--cases", "alb"]
    assert bench_formats.main([*argv, "--engines", ",".join(FORMATS_ENGINES)]) == 1
    out = capsys.readouterr().out
    assert "CROSS-CHECK FAILED:\n  Polars `str.extract_groups`: by_method " in out
    assert _tables(out) == []


def test_formats_our_report_is_the_reference_when_ours_runs(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``ours`` among the engines, both peers are cross-checked against our figures."""
    _require_python_peers()

    def ours(mode: str, case: bench_ingest.Case) -> Callable[[Path], bench_ingest.Figures]:
        def run(path: Path) -> bench_ingest.Figures:  # a report that counted one line too many
            figures = bench_formats._duckdb(case)(path)
            return dataclasses.replace(figures, parsed=figures.parsed + 1)

        return run

    monkeypatch.setattr(bench_formats, "_ours", ours)
    argv = ["--lines", "300", "--repeat", "1", "--modes", "threading", "--cases", "w3c"]
    assert bench_formats.main(argv) == 1
    problems = capsys.readouterr().out.split("CROSS-CHECK FAILED:")[1].strip().splitlines()
    assert [line.split(":")[0].strip() for line in problems] == [
        "DuckDB `read_csv(delim=' ', comment='#')` (all cores)",
        "Polars `scan_csv(separator=' ')`",
    ]
    assert all(" parsed " in line and "!= ours" in line for line in problems)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--engines", "polars"], "--engines must include duckdb"),
        (["--engines", "duckdb,spark"], "--engines 'duckdb,spark': expected some of"),
        (["--cases", "s3"], "--cases 's3': expected some of w3c, alb"),
        (["--lines", "0"], "--lines must be at least 1"),
    ],
)
def test_formats_rejects_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench_formats.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_ingest_small_files_and_parse_profile(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--small-files", "20", "--repeat", "1", "--modes", "threading"]
    assert bench_ingest.main(argv) == 0
    assert bench_ingest.main(["--profile-parse", "--lines", "1000"]) == 0
    out = capsys.readouterr().out
    assert "20 one-line files, 1 read task(s)" in out
    small, *profiles = _tables(out)
    assert [row[0] for row in small[1]] == ["`--worker 2 --mode threading`"]
    assert len(profiles) == 3  # default, combined and realistic
    assert re.findall(r"parse_text, format .*: one \d+ MiB block, ([\d,]+) lines", out)
    for _, rows in profiles:
        assert any(row[0].startswith("`pc.") for row in rows)


@pytest.mark.subprocess
def test_scale_measures_the_cli(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # one shape (an ingest CLI process costs seconds); both shapes' tables are checked below
    monkeypatch.setattr(scale, "SHAPES", ("low",))
    argv = ["--scale-gb", "0.0002", "--scale-mode", "threading"]
    assert bench_ingest.main(argv) == 0
    out = capsys.readouterr().out
    ((header, rows),) = _tables(out)
    assert header[:5] == ["round", "shape", "lines", "GB", "mode"]
    ((round_, shape, lines, _, mode, peak, wall, cpu, *ratios),) = rows
    assert (round_, shape, mode, ratios) == ("1", "low", "threading", ["", ""])
    (log,) = data.glob("scale-low-*.log")
    assert int(lines.replace(",", "")) == len(log.read_bytes().splitlines()) > 1000
    assert peak.endswith(" MiB") and int(peak.removesuffix(" MiB").replace(",", "")) > 50
    assert float(wall) > 0 and float(cpu) > 0


def test_scale_tables_and_a_run_that_missed_lines(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def measured(path: Path, shape: str, mode: str, limit: int, round_: int = 1) -> scale.Run:
        lines = len(path.read_bytes().splitlines())
        if (shape, round_) == ("realistic", 2):
            lines -= 1  # what a CLI that missed a line would report
        wall = 2.0 if shape == "low" else 3.0
        return scale.Run(shape, mode, round_, 2**27, wall, wall / 2, lines, stopped=False)

    monkeypatch.setattr(scale, "measure", measured)
    assert scale.scale(0.0001, rss_limit_gb=4, modes=("threading",), rounds=2) == 1
    out = capsys.readouterr().out
    assert re.search(r"realistic threading failed: read [\d,]+ of the file's [\d,]+ lines", out)
    (_, rows), (_, summary) = _tables(out)
    assert [(row[0], row[1], row[8], row[9]) for row in rows] == [
        ("1", "low", "", ""),
        ("1", "realistic", "1.50", "1.50"),
        ("2", "low", "", ""),
        ("2", "realistic", "> 1.50", "> 1.50"),
    ]
    # the summary counts only complete rounds
    assert summary == [["threading", "1", "1.50 (1.50-1.50)", "1.50 (1.50-1.50)", "128 / 128 MiB"]]


@pytest.mark.parametrize(("slow", "heavy", "status"), [(2.9, 1.4, 0), (3.1, 1.4, 1), (1.0, 1.6, 1)])
def test_blocksize_rules(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    slow: float,
    heavy: float,
    status: int,
) -> None:
    # the smallest blocksize takes `slow` times the default's wall time, the largest `heavy` GiB
    def measured(
        path: Path, shape: str, mode: str, limit: int, round_: int = 1, extra: tuple[str, ...] = ()
    ) -> scale.Run:
        lines = len(path.read_bytes().splitlines()) if shape == "realistic" else 0
        size = int(extra[1]) if extra else 0
        wall = 10 * slow if size == MIN_BLOCKSIZE else 10.0
        peak = int(heavy * 2**30) if size == MAX_BLOCKSIZE else 2**28
        return scale.Run(shape, mode, round_, peak, wall, wall, lines, stopped=False)

    monkeypatch.setattr(scale, "measure", measured)
    assert bench_main(["blocksize", "--gb", "0.0001", "--empty-mb", "1"]) == status
    out = capsys.readouterr().out
    ((header, rows),) = _tables(out)
    assert header[:3] == ["round", "mode", "blocksize"]
    assert [(row[1], row[2], row[6]) for row in rows] == [
        (mode, size, ratio)
        for mode in ("threading", "process")
        for size, ratio in [(f"{MIN_BLOCKSIZE >> 20} MiB", f"{slow:.2f}"), ("16 MiB", "1.00"),
                            (f"{MAX_BLOCKSIZE >> 20} MiB", "1.00"),
                            ("1 MB of empty lines", "")]
    ]  # fmt: skip
    assert out.count("BROKEN") == (0 if status == 0 else 2)


@pytest.mark.subprocess
def test_prime_every_method_counts_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--repeat", "1", "--modes", "threading", "--cases", "0:1e6", "--first-run", "0:1e5"]
    assert bench_prime.main([*argv, "--trivial", "1"]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out
    assert re.search(
        r"first run .*, --range 0:1e5 threading: [\d.]+ s; .* \(target <= \+3 s: ", out
    )
    assert re.search(
        r"trivial run \(--range 0:100\), median of 1: [\d.]+ s \(target < 0.4 s: ", out
    )
    ((header, rows),) = _tables(out)
    assert header == ["method", "wall s", "primes", "vs primesieve"]
    counts = {row[0]: int(row[2].replace(",", "")) for row in rows}
    binary = shutil.which("primesieve")
    expected = {"prime --mode threading --worker 2", "plain numpy sieve, measured up to 1e+06"}
    if binary:
        expected.add("primesieve 0 1000000 -c -t2")
    assert counts == dict.fromkeys(expected, PI_1E6)
    _require("primesieve", binary is not None, ".ci/run installs it: apt-get install primesieve")


def test_prime_mismatch_fails_the_benchmark(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def wrong_at_1e6(
        lo: int, hi: int, mode: str, workers: int, env: dict[str, str] | None = None
    ) -> tuple[float, int]:
        known = {(0, 100): 25, (0, 10**5): PI_1E5, (0, 10**6): PI_1E6 + 1}
        return 0.0, known[(lo, hi)]

    monkeypatch.setattr(bench_prime, "_ours", wrong_at_1e6)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # primesieve's row is not needed
    argv = ["--repeat", "1", "--modes", "threading", "--cases", "0:1e6", "--first-run", "0:1e5"]
    assert bench_prime.main(argv) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH in 0:1e6: {{'threading': [{PI_1E6 + 1}], 'plain numpy': [{PI_1E6}]}}" in out


def test_prime_rejects_an_unknown_case(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench_prime.main(["--cases", "pi1e12"])
    assert exit_info.value.code == 2
    assert (
        "unknown case 'pi1e12'; valid: pi1e10, pi1e11, high or START:END" in capsys.readouterr().err
    )


def test_agents_through_the_dispatcher(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["agents", "--agents", "300", "--basic-sample", "30"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== bench_agents ==\n300 distinct agents built in ")
    ((_, rows),) = _tables(out)
    assert len(rows) == 6
    assert rows[0][0].startswith("ua-parser-rs resolver, first pass")
    assert rows[-2][0] == "summarize_agents, warm parse cache"
    assert rows[-1][0] == "summarize_agents, with the parse budget (300 parsed)"
    assert "unique 300 (exact)" in out
    assert (
        "cross-check: both resolvers agree on the 30 sampled agents; unique count 300 of 300" in out
    )


def test_agents_ingest_logs_are_ordinary_and_all_distinct(tmp_path: Path) -> None:
    files = bench_agents.ingest_files(1, tmp_path)
    ordinary = files["ordinary"].read_text().splitlines()
    distinct = files["distinct"].read_text().splitlines()
    assert abs(files["distinct"].stat().st_size - 1e6) < 1_000  # about 1 MB each
    assert abs(files["ordinary"].stat().st_size - 1e6) < 20_000
    agents = [line.split(" user-agent=", 1)[1] for line in distinct]
    assert len(set(agents)) == len(agents)  # every request its own agent
    assert len({line.split(" user-agent=", 1)[1] for line in ordinary}) <= 12
    # the same requests otherwise: only the agents differ
    heads = [line.split(" user-agent=", 1)[0] for line in ordinary[: len(distinct)]]
    assert [line.split(" user-agent=", 1)[0] for line in distinct] == heads


def test_agents_cross_check_fails_on_disagreement() -> None:
    agents = [f"agent/{index}" for index in range(1000)]
    resolved = [f"result of {agent}" for agent in agents]
    check = bench_agents._cross_check
    assert check(agents, resolved, agents[:2], resolved[:2], 1000, exact=True) == []
    (differ,) = check(agents, resolved, agents[:1], ["other"], 1000, exact=True)
    assert (
        differ == "resolvers differ on 'agent/0': ua-parser-rs result of agent/0, pure Python other"
    )
    assert check(agents, resolved, [], [], 1001, exact=True) == [
        "unique count 1,001 of 1,000 distinct agents"
    ]
    # an estimate within four relative standard errors (0.81% each) passes, beyond fails
    assert check(agents, resolved, [], [], 1030, exact=False) == []
    assert len(check(agents, resolved, [], [], 1040, exact=False)) == 1


#: The Nth-prime case alone: one round, threading, no range case, no cold-cache run.
NTH_ALONE = ["--repeat", "1", "--modes", "threading", "--cases", "", "--first-run", ""]
NTH_ALONE += ["--nth", "1e5"]


@pytest.mark.subprocess
def test_prime_nth_against_primesieve(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_prime.main(NTH_ALONE) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "first run" not in out
    ((header, rows),) = _tables(out)
    assert header == ["method", "wall s", "Nth prime", "vs primesieve"]
    found = {row[0]: int(row[2].replace(",", "")) for row in rows}
    binary = shutil.which("primesieve")
    expected = {"prime --nth 100000 --mode threading --worker 2"}
    if binary:
        expected.add("primesieve 100000 -n -t2")
    assert found == dict.fromkeys(expected, 1_299_709)  # the 100,000th prime
    _require("primesieve", binary is not None, ".ci/run installs it: apt-get install primesieve")


def test_prime_nth_mismatch_fails_the_benchmark(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_prime, "_ours", lambda *args, **kwargs: (0.0, 25))
    monkeypatch.setattr(bench_prime, "_ours_nth", lambda n, mode, workers: (1.0, 1_299_721))
    monkeypatch.setattr(bench_prime, "_primesieve_nth", lambda n, binary: (1.0, 1_299_709))
    monkeypatch.setattr(shutil, "which", lambda name: "primesieve")
    assert bench_prime.main(NTH_ALONE) == 1
    out = capsys.readouterr().out
    assert "MISMATCH in nth 100000: {'threading': [1299721], 'primesieve': [1299709]}" in out


def test_convert_writes_what_duckdb_writes(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _require_python_peers()
    assert bench_convert.main(["--lines", "2000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    (table,) = _tables(out)
    assert [row[0] for row in table[1]] == ["DuckDB COPY", "ours convert --worker 2 (threading)"]
    found = re.search(r"both wrote the same ([\d,]+) rows", out)
    assert found is not None and 1900 < int(found[1].replace(",", "")) < 2000
    assert sorted(path.name for path in data.iterdir()) == ["convert-combined-2000.log"]


def test_convert_cross_check_fails_when_the_outputs_differ(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_python_peers()
    # DuckDB made to drop the DELETE requests: fewer rows, other sums
    monkeypatch.setattr(
        bench_convert, "PATTERN", bench_convert.PATTERN.replace("[A-Z]+", "[A-Z]{3,4}")
    )
    assert bench_convert.main(["--lines", "2000", "--repeat", "1"]) == 1
    out = capsys.readouterr().out
    assert "CROSS-CHECK FAILED" in out and "rows: ours" in out
