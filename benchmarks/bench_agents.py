"""User-agent parsing: ua-parser with and without its native accelerator, our summary, its budget.

Run: ``python -m benchmarks agents [--agents 200000] [--basic-sample 2000] [--seed 7]
[--ingest-mb 400 --rounds 3 --data /tmp/DIR]``.

Builds ``--agents`` distinct, realistic user-agent strings (browsers with build numbers, Android
phone models, iOS versions, bots, tools, in-house apps) and measures, in one process:

* the cost per distinct agent of ua-parser's resolvers, uncached: ``ua-parser-rs`` (the
  ``ua-parser[regex]`` extra) on every agent, twice (its regex engine builds its automata
  lazily: the first pass is what a new worker pays), the pure-Python resolver on
  ``--basic-sample`` of them (it is too slow for all);
* :func:`pipeline.ingest.aggregate.agents.summarize_agents` on all agents as one partition with
  the parse budget lifted, with a cold parse cache (every agent parsed) and a warm one (the
  agents still in the cache, the next block of a worker that saw them; scaled to all agents),
  and with the budget (a fresh process's credit: the rest of the agents are estimated);
* the pickled size of the partial and the unique count it reports.

With ``--ingest-mb N`` it also measures the budget where it matters, the CLI on two logs of about
N MB each in the default grammar, generated into ``--data`` (a temporary directory by default;
never the repository): **ordinary** (``generate-logs --cardinality low``, 12 agents) and
**distinct** (the same lines, each with a distinct realistic agent: a scraper that randomises its
agent on every request). Each runs as ``ingest --worker 2 --mode M --format json`` in a child
process (:func:`benchmarks.scale.measure`) in threading and process mode, the two shapes back to
back in each mode, ``--rounds`` times; the table gives wall and CPU seconds per GB and the
distinct / ordinary ratio of each round, then the medians per mode. The target of issue 22: no
agent distribution costs more than about 2.5 times ordinary traffic per byte.

Two **cross-checks** make it exit 1: both resolvers must give the same result for every sampled
agent, and the summary's unique count must be the number of agents (exact below its cap,
within four relative standard errors of the HyperLogLog estimate above); a CLI run that fails or
reads fewer lines than its file has does too.

The machine may be shared: compare the ratios, measured in the same run, and note the load.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import ua_parser
from ua_parser.regex import Resolver as RegexResolver

from pipeline.ingest.aggregate import agent_parse
from pipeline.ingest.aggregate import agents as agents_module
from pipeline.ingest.aggregate.distinct import relative_standard_error

_ANDROID_MODELS = (
    "SM-G991B", "SM-S918B", "SM-A546B", "SM-A145R", "Pixel 7", "Pixel 8 Pro", "2201116SG",
    "M2101K6G", "CPH2451", "RMX3630", "V2207", "moto g(60)", "LE2115", "22101316G", "K",
)  # fmt: skip


_DESKTOPS = (
    "Windows NT 10.0; Win64; x64",
    "Macintosh; Intel Mac OS X 10_15_7",
    "X11; Linux x86_64",
)


def realistic_agents(count: int, seed: int) -> list[str]:
    """``count`` distinct agents with the shapes and spread of real traffic (seeded)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(_one_agent(rng))
    return sorted(seen)


def _one_agent(rng: random.Random) -> str:
    pick = rng.random()
    major = rng.randint(100, 131)
    build = f"{major}.0.{rng.randint(4000, 6999)}.{rng.randint(0, 250)}"
    if pick < 0.35:
        system = rng.choice(_DESKTOPS)
        edge = f" Edg/{build}" if rng.random() < 0.2 else ""
        return (
            f"Mozilla/5.0 ({system}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{build} Safari/537.36{edge}"
        )
    if pick < 0.60:
        model = rng.choice(_ANDROID_MODELS)
        if rng.random() < 0.5:  # the long tail of phone models
            model = f"SM-{rng.choice('AGMNS')}{rng.randint(100, 999)}{rng.choice('BFUNW')}"
        return (
            f"Mozilla/5.0 (Linux; Android {rng.randint(9, 15)}; {model}) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Chrome/{build} Mobile Safari/537.36"
        )
    if pick < 0.78:
        ios = f"{rng.randint(15, 18)}_{rng.randint(0, 7)}"
        device = rng.choice(("iPhone", "iPad"))
        return (
            f"Mozilla/5.0 ({device}; CPU {device} OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{ios.replace('_', '.')} "
            f"Mobile/15E{rng.randint(100, 999)} Safari/604.1"
        )
    if pick < 0.86:
        version = f"{rng.randint(110, 133)}.{rng.randint(0, 3)}"
        return f"Mozilla/5.0 (X11; Linux x86_64; rv:{version}) Gecko/20100101 Firefox/{version}"
    if pick < 0.91:
        bot = rng.choice(("Googlebot/2.1", "bingbot/2.0", "AhrefsBot/7.0", "YandexBot/3.0"))
        return f"Mozilla/5.0 (compatible; {bot}; +http://example.com/bot-{rng.randint(1, 999)})"
    if pick < 0.96:
        tool = rng.choice(("curl", "python-requests", "Go-http-client", "okhttp", "Wget"))
        return f"{tool}/{rng.randint(1, 8)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
    return (
        f"ShopApp/{rng.randint(1, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 9999)} "
        f"(iPhone; iOS {rng.randint(15, 18)}.{rng.randint(0, 7)}; Scale/3.00)"
    )


def _per_agent(
    resolver: ua_parser.Resolver, sample: list[str]
) -> tuple[float, list[ua_parser.PartialResult]]:
    """Seconds per agent of ``resolver`` over ``sample``, and its results (for the cross-check)."""
    results = []
    started = time.perf_counter()
    for agent in sample:
        results.append(resolver(agent, ua_parser.Domain.ALL))
    return (time.perf_counter() - started) / len(sample), results


def _cross_check(
    agents: Sequence[str],
    fast: Sequence[object],
    sample: Sequence[str],
    basic: Sequence[object],
    unique: int,
    exact: bool,
) -> list[str]:
    """How the resolvers disagree on the sample, and the unique count on the agents; empty if
    they agree."""
    by_agent = dict(zip(agents, fast, strict=True))
    problems = [
        f"resolvers differ on {agent!r}: ua-parser-rs {by_agent[agent]}, pure Python {result}"
        for agent, result in zip(sample, basic, strict=True)
        if by_agent[agent] != result
    ]
    tolerance = 0 if exact else 4 * relative_standard_error() * len(agents)
    if abs(unique - len(agents)) > tolerance:
        problems.append(f"unique count {unique:,} of {len(agents):,} distinct agents")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks agents")
    parser.add_argument("--agents", type=int, default=200_000)
    parser.add_argument("--basic-sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ingest-mb", type=int, default=0, help="0: no CLI runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", default=None, help="where the logs go (default: a temp dir)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    agents = realistic_agents(args.agents, args.seed)
    print(f"{len(agents):,} distinct agents built in {time.perf_counter() - started:.1f} s")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    counts = pd.Series(1, index=pd.Index(agents, dtype=object), dtype="int64")
    agent_parse._resolver()  # built once per process (setup timed below)
    burst = agent_parse.PARSE_BURST
    agent_parse.PARSE_BURST = len(agents)  # type: ignore[misc]  # the budget lifted
    agent_parse.forget_parses()
    started = time.perf_counter()
    partial = agents_module.summarize_agents(counts)
    cold = time.perf_counter() - started
    # the agents still in the parse cache (its newer half): the next block of a worker
    recent = counts.iloc[-agent_parse.PARSE_CACHE_SIZE // 2 :]
    started = time.perf_counter()
    agents_module.summarize_agents(recent)
    warm = (time.perf_counter() - started) / len(recent) * len(counts)
    report = agents_module.agents_report(partial, 10)
    agent_parse.PARSE_BURST = burst  # type: ignore[misc]
    agent_parse.forget_parses()
    started = time.perf_counter()
    budgeted = agents_module.summarize_agents(counts)
    capped = time.perf_counter() - started
    agent_parse.forget_parses()

    started = time.perf_counter()
    fast = RegexResolver(ua_parser.load_lazy_builtins())
    fast(agents[0], ua_parser.Domain.ALL)
    fast_setup = time.perf_counter() - started
    started = time.perf_counter()
    basic = ua_parser.BasicResolver(ua_parser.load_builtins())
    basic(agents[0], ua_parser.Domain.ALL)
    basic_setup = time.perf_counter() - started
    sample = random.Random(args.seed).sample(agents, min(args.basic_sample, len(agents)))
    fast_first, _ = _per_agent(fast, agents)  # the regex engine builds its automata as it goes
    fast_each, fast_results = _per_agent(fast, agents)
    basic_each, basic_results = _per_agent(basic, sample)

    print()
    print("| what | per distinct agent | all agents |")
    print("|---|---|---|")
    print(f"| ua-parser-rs resolver, first pass (setup {fast_setup:.2f} s) | "
          f"{fast_first * 1e6:.1f} us | {fast_first * len(agents):.1f} s |")  # fmt: skip
    print(f"| ua-parser-rs resolver, second pass | {fast_each * 1e6:.1f} us | "
          f"{fast_each * len(agents):.1f} s |")  # fmt: skip
    print(f"| pure-Python resolver (setup {basic_setup:.2f} s, {len(sample):,} sampled) | "
          f"{basic_each * 1e6:.0f} us | "
          f"{basic_each * len(agents):.0f} s (extrapolated) |")  # fmt: skip
    print(f"| summarize_agents, cold parse cache | {cold / len(agents) * 1e6:.1f} us | "
          f"{cold:.1f} s |")  # fmt: skip
    print(f"| summarize_agents, warm parse cache | {warm / len(agents) * 1e6:.1f} us | "
          f"{warm:.1f} s |")  # fmt: skip
    print(f"| summarize_agents, with the parse budget ({len(agents) - budgeted.estimated:,} "
          f"parsed) | {capped / len(agents) * 1e6:.1f} us | {capped:.1f} s |")  # fmt: skip
    print()
    print(f"accelerator speed-up: {basic_each / fast_first:.0f}x (first pass), "
          f"{basic_each / fast_each:.0f}x (second)")  # fmt: skip
    print(
        f"partial: {len(pickle.dumps(partial)) / 1024:.0f} KiB pickled; unique {report.unique:,} "
        f"({'exact' if report.unique_exact else report.unique_error}); "
        f"browsers {len(partial.browsers.table)}, os {len(partial.os.table)}, "
        f"devices {len(partial.devices.table)} names kept"
    )
    problems = _cross_check(
        agents, fast_results, sample, basic_results, report.unique, report.unique_exact
    )
    if problems:
        print("CROSS-CHECK FAILED:\n  " + "\n  ".join(problems[:10]))
        return 1
    print(
        f"cross-check: both resolvers agree on the {len(sample):,} sampled agents; "
        f"unique count {report.unique:,} of {len(agents):,}"
    )
    if args.ingest_mb > 0:
        data = Path(args.data or Path(tempfile.gettempdir()) / "mini-orchestrator-agents")
        return per_byte(ingest_files(args.ingest_mb, data), args.rounds)
    return 0


#: Bytes per line of ``generate-logs --cardinality low`` in the default grammar (measured: 93).
_LOW_LINE_BYTES = 93


def ingest_files(megabytes: int, data: Path) -> dict[str, Path]:
    """The ordinary and distinct logs of about ``megabytes`` MB each (cached in ``data``)."""
    from pipeline.loggen.generate import generate_logs

    data.mkdir(parents=True, exist_ok=True)
    ordinary = data / f"ordinary-{megabytes}mb.log"
    distinct = data / f"distinct-{megabytes}mb.log"
    if not ordinary.exists():
        partial = ordinary.with_suffix(".tmp")
        lines = int(megabytes * 1e6 / _LOW_LINE_BYTES)
        generate_logs(partial, lines=lines, seed=42, cardinality="low")
        partial.rename(ordinary)
    if not distinct.exists():
        rng = random.Random(7)
        written, partial = 0, distinct.with_suffix(".tmp")
        with ordinary.open("rb") as source, partial.open("wb") as out:
            for number, line in enumerate(source):
                head = line.split(b" user-agent=", 1)[0]
                text = head + f" user-agent={_one_agent(rng)} r{number}\n".encode()
                out.write(text)
                written += len(text)
                if written >= megabytes * 1e6:
                    break
        partial.rename(distinct)
    return {"ordinary": ordinary, "distinct": distinct}


def per_byte(files: dict[str, Path], rounds: int) -> int:
    """Both logs through the CLI in both modes, ``rounds`` times; print the tables."""
    from benchmarks.scale import measure

    sizes = {shape: path.stat().st_size for shape, path in files.items()}
    lines = {shape: sum(1 for _ in path.open("rb")) for shape, path in files.items()}
    print(f"\nload average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    failed = []
    for round_ in range(1, rounds + 1):
        for mode in ("threading", "process"):
            for shape, path in files.items():
                run = measure(path, shape, mode, limit=8 * 10**9, round_=round_)
                if run.error or run.stopped or run.lines != lines[shape]:
                    failed.append(f"{shape} {mode}: {run.error or run.lines}")
                rows.append(run)
                print(f"  round {round_} {mode} {shape}: {run.wall:.1f} s, CPU {run.cpu:.1f} s",
                      flush=True)  # fmt: skip
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| round | mode | shape | MB | wall s | CPU s | wall s/GB | CPU s/GB "
          "| distinct / ordinary wall | CPU |")  # fmt: skip
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios: dict[str, list[tuple[float, float]]] = {"threading": [], "process": []}
    for run in rows:
        gigabytes = sizes[run.shape] / 1e9
        cells = ["", ""]
        if run.shape == "distinct":
            key = (run.round, run.mode, "ordinary")
            low = next(r for r in rows if (r.round, r.mode, r.shape) == key)
            low_gb = sizes["ordinary"] / 1e9
            wall = (run.wall / gigabytes) / (low.wall / low_gb)
            cpu = (run.cpu / gigabytes) / (low.cpu / low_gb)
            ratios[run.mode].append((wall, cpu))
            cells = [f"{wall:.2f}", f"{cpu:.2f}"]
        print(f"| {run.round} | {run.mode} | {run.shape} | {sizes[run.shape] / 1e6:,.0f} "
              f"| {run.wall:.1f} | {run.cpu:.1f} | {run.wall / gigabytes:.1f} "
              f"| {run.cpu / gigabytes:.1f} | {cells[0]} | {cells[1]} |")  # fmt: skip
    print("\n| mode | rounds | distinct / ordinary per byte, wall: median (range) | CPU |")
    print("|---|---:|---|---|")
    for mode, pairs in ratios.items():
        walls, cpus = [w for w, _ in pairs], [c for _, c in pairs]
        print(f"| {mode} | {len(pairs)} | {statistics.median(walls):.2f} ({min(walls):.2f}-"
              f"{max(walls):.2f}) | {statistics.median(cpus):.2f} ({min(cpus):.2f}-"
              f"{max(cpus):.2f}) |")  # fmt: skip
    for problem in failed:
        print(f"FAILED: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
