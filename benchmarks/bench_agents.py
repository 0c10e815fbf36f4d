"""User-agent parsing: ua-parser with and without its native accelerator, and our summary.

Run: ``python -m benchmarks agents [--agents 200000] [--basic-sample 2000] [--seed 7]``.

Builds ``--agents`` distinct, realistic user-agent strings (browsers with build numbers, Android
phone models, iOS versions, bots, tools, in-house apps) and measures, in one process:

* the cost per distinct agent of ua-parser's resolvers, uncached: ``ua-parser-rs`` (the
  ``ua-parser[regex]`` extra) on every agent, twice (its regex engine builds its automata
  lazily: the first pass is what a new worker pays), the pure-Python resolver on
  ``--basic-sample`` of them (it is too slow for all);
* :func:`pipeline.ingest.aggregate.agents.summarize_agents` on all agents as one partition, with
  a cold parse cache (every agent parsed) and a warm one (the agents still in the cache, the next
  block of a worker that saw them; scaled to all agents);
* the pickled size of the partial and the unique count it reports.

Two **cross-checks** make it exit 1: both resolvers must give the same result for every sampled
agent, and the summary's unique count must be the number of agents (exact below its cap,
within four relative standard errors of the HyperLogLog estimate above).

The machine may be shared: compare the ratios, measured in the same run, and note the load.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import sys
import time
from collections.abc import Sequence

import pandas as pd
import ua_parser
from ua_parser.regex import Resolver as RegexResolver

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
    args = parser.parse_args(argv)
    started = time.perf_counter()
    agents = realistic_agents(args.agents, args.seed)
    print(f"{len(agents):,} distinct agents built in {time.perf_counter() - started:.1f} s")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    counts = pd.Series(1, index=pd.Index(agents, dtype=object), dtype="int64")
    agents_module._resolver()  # built once per process (setup timed below)
    agents_module._parsed.cache_clear()
    started = time.perf_counter()
    partial = agents_module.summarize_agents(counts)
    cold = time.perf_counter() - started
    # the agents still in the parse cache: the next block of a worker that saw them
    recent = counts.iloc[-agents_module.PARSE_CACHE_SIZE :]
    started = time.perf_counter()
    agents_module.summarize_agents(recent)
    warm = (time.perf_counter() - started) / len(recent) * len(counts)
    report = agents_module.agents_report(partial, 10)

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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
