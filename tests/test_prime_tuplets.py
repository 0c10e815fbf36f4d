"""``prime --tuplets``: twins to sextuplets per range and for the union, as primesieve counts them.

Two oracles: a plain Python reference (a list of primes, every pattern checked member by member
against the set of primes in the range or the union), and Debian's ``primesieve -c23456`` on
hundreds of random ranges up to 10^12, with small segments so that tuplets straddle task and
piece edges. Tiny kernel blocks (``_TUNING``) make tuplets straddle block edges too.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.prime import graph
from pipeline.prime.job import run_prime
from pipeline.prime.options import PrimeOptions
from pipeline.prime.sieve import kernel
from pipeline.prime.sieve.summary import Accumulator
from tests.conftest import examples

SYNC = ExecutionSettings(mode="sync")
#: The issue's patterns, written out as offsets from the smallest member, per JSON key.
PATTERNS: dict[str, list[tuple[int, ...]]] = {
    "twins": [(0, 2)],
    "triplets": [(0, 2, 6), (0, 4, 6)],
    "quadruplets": [(0, 2, 6, 8)],
    "quintuplets": [(0, 2, 6, 8, 12), (0, 4, 6, 10, 12)],
    "sextuplets": [(0, 4, 6, 10, 12, 16)],
}
PRIMESIEVE = shutil.which("primesieve")


def is_prime(n: int) -> bool:
    """Trial division: the slowest and plainest test (members of small ranges only)."""
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def reference(primes: set[int]) -> dict[str, int]:
    """Every pattern anchored at every prime, counted when all its members are in ``primes``."""
    return {
        name: sum(
            1 for p in primes for offsets in patterns if all(p + d in primes for d in offsets)
        )
        for name, patterns in PATTERNS.items()
    }


def counts(start: int, end: int) -> dict[str, Any]:
    """The JSON report of ``--range START:END --tuplets``."""
    return run_prime(None, SYNC, PrimeOptions(ranges=[f"{start}:{end}"], tuplets=True)).to_dict()


@pytest.fixture(params=["plain", "compiled", "compiled-tiny-blocks"])
def sieve(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The numpy sieve of tiny jobs, the compiled kernel, and the kernel with 1 KiB blocks."""
    if request.param != "plain":
        monkeypatch.setattr(graph, "PLAIN_MAX_COST", 0)
    if request.param == "compiled-tiny-blocks":
        tiny = np.array((10, 1, 1, 16, 20, 8), dtype=np.int64)
        monkeypatch.setattr(kernel, "_TUNING", tiny)
    yield str(request.param)


def test_small_ranges_and_their_union_match_the_plain_reference(sieve: str) -> None:
    """Random small ranges (some overlapping, some apart), tiny segments: per range and union."""
    rng = random.Random(26)
    for _ in range(examples(25)):
        ranges = []
        for _ in range(rng.randint(1, 4)):
            start = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, rng.randrange(50_000)])
            ranges.append((start, start + rng.randrange(0, rng.choice([30, 300, 5_000]))))
        segment = rng.choice([30, 31, 97, 1000, 2**20])
        options = PrimeOptions(
            ranges=[f"{a}:{b}" for a, b in ranges], tuplets=True, segment_size=segment
        )
        document = run_prime(None, SYNC, options).to_dict()
        union: set[int] = set()
        for (a, b), entry in zip(ranges, document["ranges"], strict=True):
            primes = {n for n in range(a, b + 1) if is_prime(n)}
            union |= primes
            assert entry["tuplets"] == reference(primes), (a, b, segment, sieve)
        assert document["tuplets"] == reference(union), (ranges, segment, sieve)
        assert document["tuplets"]["twins"] == document["twin_pairs"]


def test_3_5_7_is_not_a_triplet_and_5_counts_as_primesieve_does() -> None:
    """``primesieve 1 100 -c3`` is 8: (5, 7, 11) and (7, 11, 13) count, (3, 5, 7) does not."""
    assert counts(0, 100)["tuplets"] == {
        "twins": 8,
        "triplets": 8,
        "quadruplets": 2,
        "quintuplets": 3,
        "sextuplets": 1,
    }
    assert counts(3, 7)["tuplets"]["triplets"] == 0
    assert counts(5, 11)["tuplets"]["triplets"] == 1
    assert counts(6, 23)["tuplets"] == {
        "twins": 2,
        "triplets": 4,
        "quadruplets": 1,
        "quintuplets": 2,
        "sextuplets": 1,
    }


def test_without_tuplets_there_is_no_tuplets_key() -> None:
    document = run_prime(None, SYNC, PrimeOptions(ranges=["0:100"])).to_dict()
    assert "tuplets" not in document
    assert all("tuplets" not in entry for entry in document["ranges"])


def _primesieve_counts(start: int, end: int) -> dict[str, int]:
    assert PRIMESIEVE is not None
    out = subprocess.run(
        [PRIMESIEVE, str(start), str(end), "-c23456", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    # one line per count: "Twin primes: 35", "Prime triplets: 30", ...
    return dict(zip(PATTERNS, (int(line.rsplit(":", 1)[1]) for line in out), strict=True))


def _random_ranges(rng: random.Random, count: int) -> list[tuple[int, int]]:
    """Sizes log-uniform up to 10^7, starts up to 10^12 (some near 0, some overlapping)."""
    ranges: list[tuple[int, int]] = []
    for _ in range(count):
        size = int(10 ** rng.uniform(0, 7))
        start = rng.choice([rng.randrange(100), rng.randrange(10**6), rng.randrange(10**12)])
        if ranges and rng.random() < 0.1:  # overlap the previous range
            start = ranges[-1][0] + rng.randrange(ranges[-1][1] - ranges[-1][0] + 1)
        ranges.append((start, start + size))
    return ranges


@pytest.mark.subprocess
def test_hundreds_of_random_ranges_match_primesieve() -> None:
    """Per-range tuplets of 300 random ranges equal ``primesieve START END -c23456``.

    Segments of 2^16 to 2^20 numbers: most ranges are cut into many tasks, so tuplets straddle
    task edges, and each range's pieces straddle the others' boundaries.
    """
    if PRIMESIEVE is None:
        pytest.fail("primesieve is missing: apt-get install primesieve (.ci/run installs it)")
    rng = random.Random(1026)
    ranges = _random_ranges(rng, examples(300))
    segment = rng.choice([2**16, 2**18, 2**20])
    options = PrimeOptions(
        ranges=[f"{a}:{b}" for a, b in ranges], tuplets=True, segment_size=segment
    )
    document = run_prime(None, SYNC, options).to_dict()
    for (a, b), entry in zip(ranges, document["ranges"], strict=True):
        assert entry["tuplets"] == _primesieve_counts(a, b), (a, b, segment)


@pytest.mark.subprocess
def test_union_of_adjacent_ranges_matches_primesieve_on_the_whole() -> None:
    """Ranges cut at random points of one interval: the union's tuplets are the whole's, and
    the per-range sums miss exactly the straddling ones (primesieve's adjacent-interval check)."""
    if PRIMESIEVE is None:
        pytest.fail("primesieve is missing: apt-get install primesieve (.ci/run installs it)")
    rng = random.Random(7)
    for _ in range(examples(10)):
        lo = rng.choice([0, rng.randrange(10**12)])
        hi = lo + rng.randrange(10**5, 10**6)
        cuts = sorted(rng.sample(range(lo + 1, hi), rng.randint(1, 30)))
        bounds = [lo, *cuts, hi + 1]
        ranges = [f"{a}:{b - 1}" for a, b in itertools.pairwise(bounds)]
        options = PrimeOptions(ranges=ranges, tuplets=True, segment_size=rng.choice([2**12, 2**17]))
        document = run_prime(None, SYNC, options).to_dict()
        assert document["tuplets"] == _primesieve_counts(lo, hi), (lo, hi, cuts)


def test_cli_text_and_json() -> None:
    """``--tuplets`` adds the union's line, a per-range table and the JSON objects."""
    runner = CliRunner()
    result = runner.invoke(cli, ["prime", "--range", "0:100", "--tuplets", "--mode", "sync"])
    assert result.exit_code == 0
    assert "tuplets:      triplets 8, quadruplets 2, quintuplets 3, sextuplets 1 (union)" in (
        result.stdout
    )
    assert re.search(r"^#0 +8 +8 +2 +3 +1$", result.stdout, re.MULTILINE)
    args = ["prime", "--range", "0:100", "--range", "90:200", "--tuplets", "--format", "json"]
    document = json.loads(runner.invoke(cli, [*args, "--mode", "sync"]).stdout)
    assert document["tuplets"] == reference({n for n in range(201) if is_prime(n)})
    assert document["ranges"][1]["tuplets"] == reference({n for n in range(90, 201) if is_prime(n)})
    plain = runner.invoke(cli, ["prime", "--range", "0:100", "--mode", "sync"]).stdout
    assert "tuplets" not in plain
    html = runner.invoke(cli, [*args, "--mode", "sync", "--format", "html"]).stdout
    union = reference({n for n in range(201) if is_prime(n)})
    for name in ("triplets", "quadruplets", "quintuplets", "sextuplets"):
        card = f'<div class="value">{union[name]}</div><div class="label">{name}</div>'
        assert card in html
    assert "<th" in html and ">sextuplets</th>" in html


def test_accumulator_chunks_give_the_summary_of_the_whole() -> None:
    """Tuplets across the chunks given to one :class:`Accumulator` count once, as in one chunk."""
    rng = random.Random(5)
    for _ in range(examples(200)):
        lo = rng.choice([0, 5, rng.randrange(10**6)])
        hi = lo + rng.randrange(1, 3000)
        primes = [n for n in range(lo, hi) if is_prime(n)]
        cuts = sorted(rng.sample(range(len(primes) + 1), min(len(primes) + 1, rng.randint(0, 6))))
        acc = Accumulator(lo, hi, tuplets=True)
        for a, b in itertools.pairwise([0, *cuts, len(primes)]):
            acc.add(np.array(primes[a:b], dtype=np.int64))
        expected = reference(set(primes))
        twins, *rest = expected.values()
        assert (acc.summary().twin_pairs, acc.summary().tuplets) == (twins, tuple(rest))


@pytest.mark.subprocess
@pytest.mark.parametrize("mode", ["threading", "process"])
def test_every_mode_counts_the_same_tuplets(mode: str) -> None:
    """Summaries with tuplets cross process boundaries (pickled) and merge as in sync mode."""
    ranges = ["0:3e6", "1e6:5e6", f"{10**12}:{10**12 + 2 * 10**6}"]
    options = PrimeOptions(ranges=ranges, tuplets=True, segment_size=2**19)
    sync = run_prime(None, SYNC, options).to_dict()
    other = run_prime(None, ExecutionSettings(mode=mode, workers=2), options).to_dict()
    assert other["tuplets"] == sync["tuplets"]
    assert [r["tuplets"] for r in other["ranges"]] == [r["tuplets"] for r in sync["ranges"]]
