"""The coarse user-agent family of an agent: browser, bot, tool, other or unknown.

>>> user_agent_family("Mozilla/5.0 (compatible; Googlebot/2.1)"), user_agent_family("curl/8.5")
('bot', 'tool')
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FAMILIES: Final[tuple[str, ...]] = ("browser", "bot", "tool", "other", "unknown")
_BOT_WORDS: Final[tuple[str, ...]] = ("bot", "crawler", "spider", "slurp")
_TOOL_PREFIXES: Final[tuple[str, ...]] = (
    "curl/",
    "wget/",
    "python-requests/",
    "python-urllib",
    "go-http-client/",
    "postmanruntime/",
    "httpie/",
    "okhttp/",
    "axios/",
    "node-fetch",
    "java/",
)


def user_agent_family(agent: str) -> str:
    """The family of a user agent; case-insensitive rules, first match wins."""
    if agent == "":
        return "unknown"
    lowered = agent.lower()
    if any(word in lowered for word in _BOT_WORDS):
        return "bot"
    if lowered.startswith(_TOOL_PREFIXES):
        return "tool"
    if lowered.startswith("mozilla/"):
        return "browser"
    return "other"


def families(agents: pd.Series) -> pd.Series:
    """Requests per family from requests per distinct agent: the rules of
    :func:`user_agent_family`, vectorised over the distinct agents with Arrow."""
    text = pc.utf8_lower(pa.array(agents.index.astype(str), type=pa.large_string()))
    bot = pc.match_substring_regex(text, "|".join(_BOT_WORDS)).to_numpy(zero_copy_only=False)
    tool = pc.match_substring_regex(
        text, "^(?:" + "|".join(re.escape(prefix) for prefix in _TOOL_PREFIXES) + ")"
    ).to_numpy(zero_copy_only=False)
    browser = pc.starts_with(text, "mozilla/").to_numpy(zero_copy_only=False)
    empty = pc.utf8_length(text).to_numpy(zero_copy_only=False) == 0
    names = np.select(
        [empty, bot, tool, browser], ["unknown", "bot", "tool", "browser"], default="other"
    )
    counts: pd.Series = agents.groupby(pd.Index(names, name="family"), sort=False).sum()
    counts.name = "count"
    return counts
