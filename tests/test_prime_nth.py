"""``prime --nth N``: the Nth prime, as ``primesieve N -n`` finds it.

Oracles: a plain numpy sieve's list of primes (bounds for every N up to 10^5, the prime and the
report of ``[0, p_N]`` for random small N), and Debian's primesieve for random N up to 10^7.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.prime.job import run_prime
from pipeline.prime.nth import nth_bounds
from pipeline.prime.options import PrimeOptions
from pipeline.prime.tuning import MAX_NTH
from tests.conftest import examples

SYNC = ExecutionSettings(mode="sync")
PRIMESIEVE = shutil.which("primesieve")
RANGE_ERROR = (
    "Error: --nth must be between 1 and 29,844,570,422,669 "
    "(the index of the largest prime below 10^15)"
)


def plain_primes(limit: int) -> list[int]:
    """Every prime <= limit: the textbook sieve."""
    flags = np.ones(limit + 1, dtype=np.bool_)
    flags[:2] = False
    for i in range(2, int(limit**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = False
    return [int(p) for p in np.flatnonzero(flags)]


PRIMES = plain_primes(1_400_000)  # 107,000 primes


def test_bounds_bracket_every_nth_prime_up_to_100000() -> None:
    for n in range(1, 100_001):
        lo, hi = nth_bounds(n)
        assert lo <= PRIMES[n - 1] <= hi, n


def test_bounds_of_the_largest_n_stay_within_the_sieve_limit() -> None:
    """The last prime below 10^15 (index ``MAX_NTH``) is bracketed, and ``hi`` is capped."""
    lo, hi = nth_bounds(MAX_NTH)
    assert lo <= 999_999_999_999_989 <= hi == 10**15
    assert hi - lo < 10**11  # the interval sieved past the count of [0, lo)


def test_random_small_n_give_the_prime_and_the_report_of_0_to_it() -> None:
    rng = random.Random(26)
    for n in [1, 2, 3, 4, 5, 6, 7, *(rng.randint(1, 100_000) for _ in range(examples(30)))]:
        result = run_prime(None, SYNC, PrimeOptions(nth=n, segment_size=rng.choice([2**14, 2**20])))
        p = PRIMES[n - 1]
        document = result.to_dict()
        assert document["nth"] == {"n": n, "prime": p}
        (entry,) = document["ranges"]
        assert (entry["start"], entry["end"], entry["count"]) == (0, p, n)
        assert document["total_primes"] == n and document["largest"] == p
        primes = PRIMES[:n]
        assert document["twin_pairs"] == sum(1 for a, b in itertools.pairwise(primes) if b - a == 2)


def test_nth_with_tuplets_is_the_range_report() -> None:
    """``--nth N --tuplets`` gives the figures of ``--range 0:p_N --tuplets``."""
    for n in (10, 1229, 54_321):
        nth = run_prime(None, SYNC, PrimeOptions(nth=n, tuplets=True)).to_dict()
        ranged = run_prime(
            None, SYNC, PrimeOptions(ranges=[f"0:{PRIMES[n - 1]}"], tuplets=True)
        ).to_dict()
        assert nth["tuplets"] == ranged["tuplets"]
        assert nth["ranges"][0] == ranged["ranges"][0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nth": 0}, "--nth must be between 1 and 29,844,570,422,669"),
        (
            {"nth": MAX_NTH + 1},
            "(the index of the largest prime below 10^15), got 29,844,570,422,670",
        ),
        ({"nth": 5, "ranges": ["0:10"]}, "--nth and --range cannot be used together"),
        ({"nth": 5, "primes_out": "p.txt"}, "--nth and --primes-out cannot be used together"),
    ],
)
def test_invalid_nth_raises_input_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        PrimeOptions(**options)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--nth", "5", "--range", "0:10"], "Error: --nth and --range cannot be used together"),
        (
            ["--nth", "5", "--path", "data/ranges.json"],
            "Error: --path and --nth cannot be used together",
        ),
        (
            ["--nth", "0"],
            f"{RANGE_ERROR}, got 0",
        ),
        (
            ["--nth", "29844570422670"],
            f"{RANGE_ERROR}, got 29,844,570,422,670",
        ),
        (
            ["--nth", "1.5"],
            "Error: Invalid value for '--nth': '1.5' is not a whole number "
            "(examples: 1000000, 1e6)",
        ),
    ],
)
def test_cli_refuses_with_exit_2_and_one_line(args: list[str], line: str) -> None:
    result = CliRunner().invoke(cli, ["prime", *args])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == line


def test_cli_text_and_json_show_the_nth_prime() -> None:
    runner = CliRunner()
    text = runner.invoke(cli, ["prime", "--nth", "1e4", "--mode", "sync"]).stdout
    assert "nth prime:    the 10,000th prime is 104,729" in text
    document = json.loads(
        runner.invoke(cli, ["prime", "--nth", "10000", "--format", "json", "--mode", "sync"]).stdout
    )
    assert document["nth"] == {"n": 10_000, "prime": 104_729}
    html = runner.invoke(cli, ["prime", "--nth", "10000", "--format", "html", "--mode", "sync"])
    assert '<div class="value">#10,000: 104,729</div><div class="label">nth prime</div>' in (
        html.stdout
    )
    assert "<tr><th>input</th><td>--nth 10000</td></tr>" in html.stdout  # what replaced --path


@pytest.mark.subprocess
def test_random_n_up_to_10_million_match_primesieve() -> None:
    """N log-uniform up to 10^7 (and 10^7 itself): ``run_prime`` equals ``primesieve N -n``."""
    if PRIMESIEVE is None:
        pytest.fail("primesieve is missing: apt-get install primesieve (.ci/run installs it)")
    rng = random.Random(1026)
    ns = [10**7, *(int(10 ** rng.uniform(0, 7)) for _ in range(examples(100)))]
    for n in ns:
        expected = subprocess.run(
            [PRIMESIEVE, str(n), "-n", "-q"], capture_output=True, text=True, check=True
        ).stdout.strip()
        document = run_prime(None, SYNC, PrimeOptions(nth=n, segment_size=2**22)).to_dict()
        assert document["nth"] == {"n": n, "prime": int(expected)}
        (entry,) = document["ranges"]
        assert (entry["end"], entry["count"], entry["largest"]) == (int(expected), n, int(expected))
