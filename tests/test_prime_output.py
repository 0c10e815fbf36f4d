"""``--range``, ``--primes-out`` (streamed, atomic, a full disk) and density through the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import REPO_ROOT
from tests.test_prime_kernel import reference_primes


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["prime", *args])
    return result.exit_code, result.stdout, result.stderr


def test_range_option_is_repeatable_and_takes_1e_notation() -> None:
    code, out, err = run(
        "--range", "0:1e3", "--range", "10:20", "--format", "json", "--mode", "sync"
    )
    assert code == 0, err
    assert "INFO prime: 2 range(s), 1 union interval(s), 1,001 numbers in 1 task(s)" in err
    assert "estimated" in err
    doc = json.loads(out)
    assert [(r["start"], r["end"], r["count"]) for r in doc["ranges"]] == [
        (0, 1000, 168),
        (10, 20, 4),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5", "Error: --range '5': expected START:END, e.g. 0:1e6"),
        ("a:5", "Error: --range 'a:5': start must be an integer, got string 'a'"),
        ("1.5:5", "Error: --range '1.5:5': start must be an integer, got the fraction 1.5"),
        ("9:3", "Error: --range '9:3': start 9 is greater than end 3"),
        ("-1:3", "Error: --range '-1:3': start must be >= 0, got -1"),
        (
            "0:2000000000000000",
            "Error: --range '0:2000000000000000': end 2000000000000000 exceeds the supported "
            "limit 1000000000000000 (10^15)",
        ),
        (
            "0:1e16",
            "Error: --range '0:1e16': end: float 1e+16 is above 2^53 and not exact; "
            "write it as an integer",
        ),
    ],
)
def test_bad_range_values_exit_2_with_one_line(value: str, message: str) -> None:
    code, out, err = run("--range", value)
    assert (code, out) == (2, "")
    assert err.strip() == message


def test_path_and_range_together_are_a_usage_error(tmp_path: Path) -> None:
    ranges = tmp_path / "r.json"
    ranges.write_text("[[0, 10]]")
    code, out, err = run("--path", str(ranges), "--range", "0:10")
    assert (code, out) == (2, "")
    assert err.strip() == "Error: --path and --range cannot be used together"


@pytest.mark.subprocess
@pytest.mark.parametrize("mode", ["sync", "threading", "process"])
def test_primes_out_is_streamed_in_order_in_every_mode(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "primes.txt"
    code, _, err = run(
        "--range", "0:300000", "--range", "250000:400000", "--range", "10:20",
        "--primes-out", str(out), "--segment-size", "30000", "--mode", mode, "--worker", "2",
    )  # fmt: skip
    assert code == 0, err
    assert [int(x) for x in out.read_text().split()] == reference_primes(0, 400_001)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["primes.txt"]  # no temporary left


def test_primes_out_compiled_kernel(tmp_path: Path) -> None:
    out = tmp_path / "primes.txt"
    lo, hi = 10**12, 10**12 + 3 * 10**6
    code, stdout, err = run(
        "--range", f"{lo}:{hi}", "--primes-out", str(out), "--format", "json", "--mode", "sync"
    )  # fmt: skip
    assert code == 0, err
    assert [int(x) for x in out.read_text().split()] == reference_primes(lo, hi + 1)
    assert json.loads(stdout)["total_primes"] == len(reference_primes(lo, hi + 1))


@pytest.mark.subprocess
def test_full_disk_is_exit_2_with_the_report_and_one_line() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    done = subprocess.run(
        [sys.executable, "cli.py", "prime", "--range", "0:3e6", "--primes-out", "/dev/full"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 2
    assert re.search(
        r"^primes: +216,816\b", done.stdout, re.MULTILINE
    )  # the report is still printed
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert errors == ["Error: cannot write primes to /dev/full: No space left on device"]


@pytest.mark.subprocess
def test_failed_write_leaves_no_truncated_file(tmp_path: Path) -> None:
    """A file size limit (``ulimit -f``) stops the write part-way: nothing is left behind."""
    out = tmp_path / "primes.txt"
    limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))"
    run_cli = (
        "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path('cli.py', run_name='__main__')"
    )
    script = f"{limit}; {run_cli}"
    done = subprocess.run(
        [sys.executable, "-c", script, "cli.py", "prime", "--range", "0:1e6",
         "--primes-out", str(out), "--mode", "sync"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert re.search(r"^primes: +78,498\b", done.stdout, re.MULTILINE)
    assert f"Error: cannot write primes to {out}: File too large" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_density_min_max_mean_across_ranges() -> None:
    ranges = [(0, 99), (100, 1099), (10**6, 10**6 + 9), (24, 28)]
    args = [a for lo, hi in ranges for a in ("--range", f"{lo}:{hi}")]
    code, out, err = run(*args, "--format", "json", "--mode", "sync")
    assert code == 0, err
    densities = [len(reference_primes(lo, hi + 1)) / (hi - lo + 1) for lo, hi in ranges]
    doc = json.loads(out)["density"]
    assert doc["min"] == min(densities) == 0.0
    assert doc["max"] == max(densities) == 0.25
    assert doc["mean"] == pytest.approx(sum(densities) / len(densities))
    assert len({doc["min"], doc["max"], doc["mean"]}) == 3
