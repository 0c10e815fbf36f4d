"""Real-world cardinality for ``generate-logs --cardinality realistic``: ids, agents, microseconds.

The ``low`` generator draws every path, query and user agent from a few dozen strings and rounds
latencies to 0.1 ms (default grammar) or 1 ms (web formats): a handful of distinct values, so
the ingest partials stay tiny. Production traffic is not like that, and a report's memory and
speed must be measured on logs that look like it. This module draws, per line and vectorised
(numpy draws, Arrow string kernels; no Python code per line):

* **paths with ids** that path templates fold: ``/api/v1/items/<int>`` (``{id}``),
  ``/api/v1/users/<uuid>/orders`` (``{uuid}``, 3 % written upper-case), ``/files/<sha1>``
  (``{hex}``), next to the shared low-cardinality paths;
* **a heavy tail of rare paths** that templates do *not* fold: asset names with a 12-digit
  build hash (``/static/app.3f9a0c1b2d4e.js``: the segment is not all hex), blog slugs of three
  words (``/blog/quiet-river-lantern``) and two-level docs pages (``/docs/garden/signal``);
* **query strings**: ``?page=N``, campaign tags (``?page=N&utm_source=...&utm_campaign=...``)
  and searches (``?q=word+word``);
* **user agents with versions and build numbers**: Chrome, Edge, Firefox, Safari desktop and
  mobile, Android phones, a mobile app, crawlers and tools, each with drawn (Zipf-skewed)
  versions, plus empty agents: tens of thousands of distinct strings per million lines;
* **latencies at microsecond resolution**: the caller's log-normal body (slower for 5xx and
  during the incident), plus a Pareto tail (:data:`TAIL_SHARE`, :data:`TAIL_ALPHA`), capped at
  :data:`MAX_LATENCY_MS`.

Every string is plain ASCII without ``"`` or ``\\``, so no format needs to escape it. All draws
come from the caller's generator, after the draws the ``low`` shape makes, so a seed still gives
the same bytes and ``low`` output is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.loggen.mix import PATHS, IntArray, pick, pick_zipf

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
#: Draws a column of strings for ``size`` lines.
Sampler = Callable[[np.random.Generator, int], pa.Array]

#: The values of ``--cardinality``.
CARDINALITIES: Final[tuple[str, ...]] = ("low", "realistic")

#: Distinct user ids (UUIDs) in the pool, Zipf-skewed. More: more distinct raw paths, a longer
#: pool build (about 1 ms per thousand). Legal range: >= 1.
USERS: Final[int] = 50_000
#: Distinct asset build hashes (deploys) in the pool. Legal range: >= 1.
BUILDS: Final[int] = 40
#: Share of lines whose latency is drawn from the Pareto tail instead of the log-normal body.
#: Legal range: [0, 1]; 0.015 puts the tail at about p98.5.
TAIL_SHARE: Final[float] = 0.015
#: Shape of the Pareto tail (smaller: heavier). Legal range: > 0; 1.3 gives a few requests per
#: million near the cap.
TAIL_ALPHA: Final[float] = 1.3
#: Where the tail starts, in ms. Legal range: > 0.
TAIL_START_MS: Final[float] = 400.0
#: Longest latency written (a proxy timeout), in ms; ingest accepts up to 1e9. Legal range: > 0.
MAX_LATENCY_MS: Final[float] = 300_000.0

#: Words of slugs, docs pages, searches and campaigns (their order sets their popularity).
_WORDS: Final = (
    "river", "lantern", "quiet", "garden", "signal", "harbor", "copper", "maple", "orbit",
    "velvet", "summit", "cobalt", "meadow", "pixel", "ember", "falcon", "willow", "canyon",
    "prism", "tundra", "beacon", "saffron", "glacier", "thistle", "marble", "comet", "juniper",
    "atlas", "quartz", "nebula", "cedar", "harvest", "lagoon", "mosaic", "raven", "solstice",
    "timber", "violet", "anchor", "breeze", "cinder", "delta", "echo", "fjord", "granite",
    "horizon", "indigo", "jasper", "kestrel", "lumen", "mango", "nectar", "opal", "pepper",
    "quill", "ridge", "sparrow", "tango", "umber", "vertex", "walnut", "yarrow", "zephyr",
    "amber", "birch", "coral", "dune", "fern", "grove", "hazel", "iris", "jade", "kelp",
    "lilac", "moss", "nova", "oak", "pine", "rain", "sage", "tide", "vale", "wren", "aster",
    "bloom", "cliff", "dawn", "field", "gale", "heath", "isle", "lake", "mist", "north",
    "peak", "reef", "shore", "stone", "trail", "vine", "wave", "yard", "zinc", "arrow", "bell",
    "crest", "drift", "frost", "gleam",
)  # fmt: skip
_MODELS: Final = (
    "SM-S918B", "SM-A546B", "SM-G991B", "Pixel 8", "Pixel 7a", "Pixel 6", "M2101K6G",
    "CPH2451", "moto g power (2023)", "2201117TY", "SM-A135F", "RMX3771", "22101320G",
    "SM-S911U", "Pixel 8 Pro", "IN2013",
)  # fmt: skip
_DESKTOPS: Final = (
    "Windows NT 10.0; Win64; x64",
    "Macintosh; Intel Mac OS X 10_15_7",
    "X11; Linux x86_64",
    "X11; CrOS x86_64 14541.0.0",
)
_FIREFOX_OS: Final = (
    "Windows NT 10.0; Win64; x64",
    "Macintosh; Intel Mac OS X 10.15",
    "X11; Ubuntu; Linux x86_64",
    "X11; Linux x86_64",
)
_ASSETS: Final = ("app", "vendor", "runtime", "main", "polyfills", "styles")
_SOURCES: Final = ("google", "newsletter", "twitter", "facebook", "linkedin", "partner")
_MEDIUMS: Final = ("cpc", "email", "social", "referral")


@dataclass(frozen=True)
class RealPlan:
    """The pools of one ``generate_logs`` call: user ids and asset build hashes."""

    uuids: pa.Array
    builds: pa.Array


@dataclass(frozen=True)
class RealFields:
    """The realistic fields of a chunk: request targets (path and query), agents ("" when
    none), latencies in whole microseconds."""

    targets: pa.Array
    agents: pa.Array
    latency_us: IntArray


def real_plan(rng: np.random.Generator) -> RealPlan:
    """Draw the pools (:data:`USERS` UUIDs, :data:`BUILDS` 12-digit build hashes)."""
    digits = _hex_digits(rng, USERS, 32)
    dash = np.full((USERS, 1), ord("-"), dtype=np.uint8)
    parts = [digits[:, :8], dash, digits[:, 8:12], dash, digits[:, 12:16], dash]
    parts += [digits[:, 16:20], dash, digits[:, 20:]]
    uuids = _strings(np.concatenate(parts, axis=1))
    return RealPlan(uuids=uuids, builds=_strings(_hex_digits(rng, BUILDS, 12)))


def real_fields(rng: np.random.Generator, plan: RealPlan, latency_ms: FloatArray) -> RealFields:
    """Targets, agents and tail-extended microsecond latencies for ``len(latency_ms)`` lines.

    ``latency_ms`` is the caller's log-normal body (its slowdowns applied); a share
    :data:`TAIL_SHARE` of it is replaced by Pareto draws from :data:`TAIL_START_MS`.
    """
    size = len(latency_ms)
    paths = _by_kind(rng, _path_shapes(plan), size)
    queries = _by_kind(rng, _QUERY_SHAPES, size)
    agents = _by_kind(rng, _AGENT_SHAPES, size)
    tail = rng.random(size) < TAIL_SHARE
    heavy = TAIL_START_MS * (1.0 + rng.pareto(TAIL_ALPHA, size))
    took = np.minimum(np.where(tail, heavy, latency_ms), MAX_LATENCY_MS)
    latency_us = np.maximum(np.round(took * 1000.0), 1).astype(np.int64)
    return RealFields(
        targets=pc.binary_join_element_wise(paths, queries, ""),
        agents=agents,
        latency_us=latency_us,
    )


def millis_text(latency_us: IntArray) -> pa.Array:
    """``51234`` us -> ``"51.234"`` (ms with three decimals, as the default grammar writes)."""
    return _decimal(latency_us, 1000, 3)


def seconds_text(latency_us: IntArray) -> pa.Array:
    """``51234`` us -> ``"0.051234"`` (seconds with six decimals: ``$request_time``, JSON)."""
    return _decimal(latency_us, 1_000_000, 6)


# ----------------------------------------------------------------------------------------------
# Drawing by kind: each line picks a shape, each shape fills its own lines


def _by_kind(
    rng: np.random.Generator, shapes: Sequence[tuple[Sampler, float]], size: int
) -> pa.Array:
    """One string per line: each line picks a shape by weight, each shape draws its lines."""
    weights = tuple((index, weight) for index, (_, weight) in enumerate(shapes))
    kinds = pick(rng, weights, size)
    order = np.argsort(kinds, kind="stable")
    counts = np.bincount(kinds, minlength=len(shapes))
    columns = [
        sampler(rng, int(count)).cast(pa.large_string())
        for (sampler, _), count in zip(shapes, counts.tolist(), strict=True)
    ]
    grouped = pa.concat_arrays(columns)
    back = np.empty(size, dtype=np.int64)
    back[order] = np.arange(size)
    return grouped.take(pa.array(back)).cast(pa.string())


def _template(text: str, **fields: Sampler) -> Sampler:
    """A sampler writing ``text`` with each ``{name}`` drawn by ``fields[name]`` (once per line,
    so a name used twice gets the same value twice)."""
    pieces = re.split(r"\{(\w+)\}", text)

    def draw(rng: np.random.Generator, size: int) -> pa.Array:
        values = {name: sampler(rng, size) for name, sampler in fields.items()}
        parts: list[pa.Array | str] = [
            values[piece] if index % 2 else piece for index, piece in enumerate(pieces)
        ]
        if len(pieces) == 1:
            return pa.array([text]).take(pa.array(np.zeros(size, dtype=np.int64)))
        return pc.binary_join_element_wise(*parts, "")

    return draw


def _ints(low: int, high: int, exponent: float = 0.0, newest_first: bool = True) -> Sampler:
    """Integers in ``[low, high]``: uniform (``exponent`` 0) or Zipf-skewed towards ``high``
    (``newest_first``: recent versions are the most common) or towards ``low``."""

    def draw(rng: np.random.Generator, size: int) -> pa.Array:
        count = high - low + 1
        if exponent <= 0.0:
            values = rng.integers(low, high + 1, size=size)
        else:
            rank = pick_zipf(rng, count, size, exponent=exponent)
            values = high - rank if newest_first else low + rank
        return _text(values)

    return draw


def _one_of(options: Sequence[str], exponent: float = 1.0) -> Sampler:
    """One of ``options``, Zipf-skewed towards the first."""
    pool = pa.array(list(options))

    def draw(rng: np.random.Generator, size: int) -> pa.Array:
        return pool.take(pa.array(pick_zipf(rng, len(options), size, exponent=exponent)))

    return draw


def _chrome(rng: np.random.Generator, size: int) -> pa.Array:
    """``131.0.6778.85``: a major (recent ones common), its build (a few per major) and one of
    a dozen patch releases (later ones more common): about 800 versions."""
    major = 131 - pick_zipf(rng, 22, size, exponent=1.3)
    build = 4896 + (major - 110) * 89 + rng.integers(0, 3, size=size)
    patch = 217 - 17 * pick_zipf(rng, 12, size, exponent=0.7)
    return pc.binary_join_element_wise(_text(major), ".0.", _text(build), ".", _text(patch), "")


def _ids(rng: np.random.Generator, size: int) -> pa.Array:
    """Ids with a Zipf head (popular items) and a tail up to ten million."""
    return _text(np.minimum(rng.zipf(1.15, size=size), 9_999_999))


def _sha1(rng: np.random.Generator, size: int) -> pa.Array:
    return _strings(_hex_digits(rng, size, 40))


def _slug(rng: np.random.Generator, size: int) -> pa.Array:
    words = [_one_of(_WORDS, 0.6)(rng, size) for _ in range(3)]
    return pc.binary_join_element_wise(*words, "-")


def _path_shapes(plan: RealPlan) -> tuple[tuple[Sampler, float], ...]:
    def user(rng: np.random.Generator, size: int) -> pa.Array:
        ids = plan.uuids.take(pa.array(pick_zipf(rng, len(plan.uuids), size, exponent=0.9)))
        return pc.if_else(pa.array(rng.random(size) < 0.03), pc.utf8_upper(ids), ids)

    def build(rng: np.random.Generator, size: int) -> pa.Array:
        return plan.builds.take(pa.array(pick_zipf(rng, len(plan.builds), size, exponent=1.5)))

    return (
        (_one_of(PATHS), 0.40),
        (_template("/api/v1/items/{id}", id=_ids), 0.18),
        (_template("/api/v1/users/{user}/orders", user=user), 0.08),
        (_template("/api/v2/orders/{id}/items", id=_ids), 0.05),
        (_template("/products/{id}/reviews", id=_ids), 0.03),
        (_template("/static/{name}.{build}.{ext}", name=_one_of(_ASSETS), build=build,
                   ext=_one_of(("js", "css"))), 0.12),
        (_template("/files/{sha}", sha=_sha1), 0.02),
        (_template("/blog/{slug}", slug=_slug), 0.07),
        (_template("/docs/{a}/{b}", a=_one_of(_WORDS, 0.8), b=_one_of(_WORDS, 0.8)), 0.05),
    )  # fmt: skip


_QUERY_SHAPES: Final[tuple[tuple[Sampler, float], ...]] = (
    (_template(""), 0.65),
    (_template("?page={n}", n=_ints(1, 50, 1.2, newest_first=False)), 0.18),
    (
        _template(
            "?page={n}&utm_source={s}&utm_medium={m}&utm_campaign={c}-{y}",
            n=_ints(1, 20, 1.2, newest_first=False),
            s=_one_of(_SOURCES),
            m=_one_of(_MEDIUMS),
            c=_one_of(_WORDS),
            y=_ints(2019, 2026, 1.0),
        ),
        0.10,
    ),
    (_template("?q={a}+{b}", a=_one_of(_WORDS, 0.7), b=_one_of(_WORDS, 0.7)), 0.07),
)

_WEBKIT: Final = "AppleWebKit/537.36 (KHTML, like Gecko)"
_AGENT_SHAPES: Final[tuple[tuple[Sampler, float], ...]] = (
    (_template(f"Mozilla/5.0 ({{os}}) {_WEBKIT} Chrome/{{v}} Safari/537.36",
               os=_one_of(_DESKTOPS), v=_chrome), 0.34),
    (_template(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/{{v}} "
               "Safari/537.36 Edg/{v}", v=_chrome), 0.05),
    (_template("Mozilla/5.0 ({os}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
               os=_one_of(_FIREFOX_OS), v=_ints(115, 133, 1.1)), 0.10),
    (_template("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/{v}.{m} Safari/605.1.15",
               v=_ints(15, 18, 1.0), m=_ints(0, 6)), 0.05),
    (_template("Mozilla/5.0 (iPhone; CPU iPhone OS {v}_{m} like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/{v}.{m} Mobile/15E148 Safari/604.1",
               v=_ints(15, 18, 1.0), m=_ints(0, 6)), 0.12),
    (_template(f"Mozilla/5.0 (Linux; Android {{a}}; {{model}}) {_WEBKIT} Chrome/{{v}} "
               "Mobile Safari/537.36",
               a=_ints(10, 14, 0.8), model=_one_of(_MODELS, 0.7), v=_chrome), 0.12),
    (_template("ShopApp/5.{m}.{p} (build {b}; {os})", m=_ints(0, 14, 1.0), p=_ints(0, 9),
               b=_ints(5000, 5999, 1.0), os=_one_of(("iOS 17.5", "iOS 18.1", "Android 14",
                                                      "Android 13"))), 0.03),
    (_template("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
               f"{_WEBKIT} Chrome/{{v}} Mobile Safari/537.36 (compatible; Googlebot/2.1; "
               "+http://www.google.com/bot.html)", v=_chrome), 0.03),
    (_template("Mozilla/5.0 (compatible; {bot})", bot=_one_of((
        "bingbot/2.0; +http://www.bing.com/bingbot.htm",
        "AhrefsBot/7.0; +http://ahrefs.com/robot/",
        "YandexBot/3.0; +http://yandex.com/bots",
        "SemrushBot/7~bl; +http://www.semrush.com/bot.html",
        "DotBot/1.2; +https://opensiteexplorer.org/dotbot",
        "PetalBot;+https://webmaster.petalsearch.com/site/petalbot",
    ))), 0.04),
    (_template("curl/{a}.{b}.{c}", a=_one_of(("8", "7")), b=_ints(0, 11), c=_ints(0, 3)), 0.02),
    (_template("python-requests/2.{b}.{c}", b=_ints(20, 32, 1.0), c=_ints(0, 3)), 0.02),
    (_template("Go-http-client/{v}", v=_one_of(("1.1", "2.0"))), 0.01),
    (_template("okhttp/4.{b}.{c}", b=_ints(9, 12, 1.0), c=_ints(0, 3)), 0.01),
    (_template("axios/1.{b}.{c}", b=_ints(0, 7, 1.0), c=_ints(0, 9)), 0.01),
    (_template("PostmanRuntime/7.{b}.{c}", b=_ints(30, 42, 1.0), c=_ints(0, 3)), 0.005),
    (_template("kube-probe/1.{b}", b=_ints(25, 31, 1.0)), 0.01),
    (_template(""), 0.035),
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Small vectorised helpers


def _hex_digits(rng: np.random.Generator, rows: int, width: int) -> np.ndarray[Any, Any]:
    """A ``(rows, width)`` uint8 array of random lower-case hex digit characters."""
    alphabet = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    return alphabet[rng.integers(0, 16, size=(rows, width))]


def _strings(chars: np.ndarray[Any, Any]) -> pa.Array:
    """Rows of a 2-D uint8 character array as an Arrow string array (no Python per row)."""
    rows, width = chars.shape
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width)
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    return pa.StringArray.from_buffers(rows, offsets.buffers()[1], data)


def _text(values: IntArray) -> pa.Array:
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def _decimal(values: IntArray, scale: int, digits: int) -> pa.Array:
    """``values / scale`` written with exactly ``digits`` decimals (integers, no float)."""
    whole = _text(values // scale)
    fraction = pc.utf8_lpad(_text(values % scale), width=digits, padding="0")
    return pc.binary_join_element_wise(whole, fraction, ".")
