"""The compiler of nginx ``log_format`` and Apache ``LogFormat`` strings into one RE2 pattern.

A format string is scanned once: its literal text becomes escaped pattern text, each variable or
directive the pattern and role of its row in :mod:`pipeline.ingest.formats.directives` (quoted
where the format quotes it), and the groups that carry a role are named ``g0``, ``g1``, ... in
order. The layout (literals and fields with the characters each field never contains, and
whether a backslash escapes the next character in it) lets
:mod:`pipeline.ingest.parsing.scan` cut validated lines without capture groups.
:func:`pipeline.ingest.formats.presets.compile_format` wraps the result in a ``LogFormat``.

>>> compile_nginx('$remote_addr "$request" $status', "x").roles
('client', 'request', 'status')
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from pipeline.errors import InputError
from pipeline.ingest.formats.directives import (
    APACHE_DIRECTIVES,
    APACHE_NAMED,
    BARE,
    ESCAPED,
    LATENCY_LIST,
    LATENCY_LIST_OR_EMPTY,
    MERGED_TIME_ARGUMENTS,
    NEVER_CONTAINS,
    NGINX_VARIABLES,
    QUOTED,
    TAB_FIELD,
    TAB_FIELD_NONEMPTY,
    Field,
    apache_time,
)


class Compiled(NamedTuple):
    """A compiled format string: what a regex ``LogFormat`` holds (see its attributes)."""

    pattern: str
    roles: tuple[str, ...]
    layout: tuple[tuple[str, str, str, bool], ...]
    options: tuple[tuple[str, str], ...]


def unwrap_nginx(text: str) -> str:
    """The format of a pasted ``log_format NAME [escape=...] '...' '...';`` or a quoted string."""
    body = text.removesuffix(";").strip()
    directive = re.match(r"log_format\s+\S+\s*(?:escape=\S+\s*)?", body)
    if directive:
        body = body[directive.end() :]
    pieces = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", body)
    if pieces and re.fullmatch(r"(?:\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))+\s*", body):
        return "".join(single or double for single, double in pieces)
    return body


def unwrap_apache(text: str) -> str:
    """The format of a pasted ``LogFormat "..." [nickname]`` or a quoted string.

    Inside double quotes, Apache's config escapes (``\\"``) are undone.
    """
    body = text.strip()
    match = re.fullmatch(r'(?:LogFormat\s+)?"((?:[^"\\]|\\.)*)"(?:\s+\S+)?', body)
    if match:
        return re.sub(r"\\(.)", lambda m: _CONTROL.get(m.group(1), m.group(1)), match.group(1))
    match = re.fullmatch(r"'(.*)'", body)
    return match.group(1) if match else body


#: The C-style escapes both servers' configurations turn into control characters in a format
#: (Apache's mod_log_config and nginx's configuration parser): a tab-separated format is written
#: with ``\t``. A format given on the command line may spell them the same way.
_CONTROL: Final[dict[str, str]] = {"t": "\t", "n": "\n"}


def _control_escapes(fmt: str) -> str:
    """``fmt`` with the two-character escapes ``\\t`` and ``\\n`` as the characters."""
    return fmt.replace("\\t", "\t").replace("\\n", "\n")


def _literal(text: str) -> str:
    """RE2 pattern matching ``text`` exactly."""
    escaped = "".join(ch if ch.isalnum() or ch in " _" else "\\" + ch for ch in text)
    return escaped.replace("\\\t", "\\t").replace("\\\n", "\\n")


class _Builder:
    """Accumulates pattern pieces, capture groups and the layout while a format is scanned."""

    def __init__(self, json_escape: bool = False, tabs: bool = False) -> None:
        self.json_escape = json_escape
        self.tabs = tabs  # a tab-separated format: fields outside quotes end at a tab only
        self.strftime = ""  # the strftime format of the time, for role time_strftime
        self.time_spec = ""  # the argument of the %{...}t directive being added
        self.parts: list[str] = []
        self.roles: list[str] = []
        self.layout: list[tuple[str, str, str, bool]] = []

    def literal(self, text: str) -> None:
        if not text:
            return
        self.parts.append(_literal(text))
        self.layout.append(("literal", text, "", False))

    def field(self, field: Field, quoted: bool) -> None:
        pattern = field.quoted_pattern if quoted and field.quoted_pattern else field.pattern
        if quoted and field.quoted_pattern is None and field.pattern in (BARE, r"[^ ]+"):
            pattern = QUOTED
        if self.json_escape and pattern == LATENCY_LIST:
            pattern = LATENCY_LIST_OR_EMPTY
        if self.tabs and not quoted:
            pattern = {BARE: TAB_FIELD, r"[^ ]+": TAB_FIELD_NONEMPTY}.get(pattern, pattern)
        stops = NEVER_CONTAINS.get(pattern, "")
        escaped = pattern in ESCAPED
        role = field.role
        if role is None or role in self.roles:  # a repeated role is matched, not captured
            self.parts.append(f"(?:{pattern})")
            self.layout.append(("field", "", stops, escaped))
            return
        group = f"g{len(self.roles)}"
        self.roles.append(role)
        if role == "time_strftime":
            self.strftime = self.time_spec
        self.parts.append(f"(?P<{group}>{pattern})")
        self.layout.append(("field", group, stops, escaped))

    def build(self, name: str) -> Compiled:
        if "status" not in self.roles:
            raise InputError(
                f"log format {name.split(':', 1)[-1]!r} has no status field ($status, %s or %>s); "
                "every request needs one"
            )
        return Compiled(
            "^" + "".join(self.parts) + "$",
            tuple(self.roles),
            tuple(self.layout),
            (("strftime", self.strftime),) if self.strftime else (),
        )


def _quoted_at(fmt: str, start: int, end: int) -> bool:
    return start > 0 and fmt[start - 1] == '"' and end < len(fmt) and fmt[end] == '"'


def compile_nginx(fmt: str, name: str, json_escape: bool = False) -> Compiled:
    fmt = _control_escapes(fmt)
    builder = _Builder(json_escape, tabs="\t" in fmt)
    position = 0
    for match in re.finditer(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))", fmt):
        builder.literal(fmt[position : match.start()])
        variable = match.group(1) or match.group(2)
        field = NGINX_VARIABLES.get(variable, Field(BARE))
        builder.field(field, _quoted_at(fmt, match.start(), match.end()))
        position = match.end()
    builder.literal(fmt[position:])
    return builder.build(name)


#: An Apache directive: ``%``, modifiers (``>``, ``<``, status conditions), an optional
#: ``{argument}``, and its letter (or ``^ti``/``^to``, the trailers).
_DIRECTIVE: Final = re.compile(r"%(?:[<>]|!?[0-9,]+)*(\{[^}]*\})?(\^t[io]|[A-Za-z%])")


def compile_apache(fmt: str, name: str) -> Compiled:
    fmt = _control_escapes(fmt)
    builder = _Builder(tabs="\t" in fmt)
    position = 0
    matches = list(_DIRECTIVE.finditer(fmt))
    index = 0
    while index < len(matches):
        match = matches[index]
        builder.literal(fmt[position : match.start()])
        argument, letter = match.group(1), match.group(2)
        if letter == "%":
            builder.literal("%")
        elif letter == "t" and argument is None:  # [10/Oct/2000:13:55:36 -0700]
            builder.literal("[")
            builder.field(APACHE_DIRECTIVES["t"], quoted=False)
            builder.literal("]")
        elif letter == "t":
            index, builder.time_spec = _time_run(fmt, matches, index)
            match = matches[index]
            builder.field(apache_time(builder.time_spec), quoted=False)
        else:
            field = _apache_field(argument, letter, match.group(0))
            builder.field(field, _quoted_at(fmt, match.start(), match.end()))
        position = match.end()
        index += 1
    rest = fmt[position:]
    if "%" in rest:
        raise InputError(f"unsupported Apache directive {rest[rest.index('%') :][:12]!r}")
    builder.literal(rest)
    return builder.build(name)


def _time_argument(match: re.Match[str]) -> str | None:
    """The argument of a ``%{...}t`` directive without braces and ``begin:``/``end:``."""
    if match.group(2) != "t" or match.group(1) is None:
        return None
    argument = match.group(1)[1:-1]
    return re.sub(r"^(?:begin|end):", "", argument)


def _time_run(fmt: str, matches: list[re.Match[str]], first: int) -> tuple[int, str]:
    """The last of the adjacent ``%{...}t`` directives from ``first`` on, and the one strftime
    format they write together (``%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t`` is one time: its
    parts are merged, the fractions spelled ``%3N``/``%6N``; see
    :mod:`pipeline.ingest.formats.strftime`). A lone directive keeps its own argument."""
    argument = _time_argument(matches[first])
    assert argument is not None
    last, spec = first, MERGED_TIME_ARGUMENTS.get(argument, argument)
    mergeable = argument not in ("msec", "usec")
    while mergeable and last + 1 < len(matches):
        following = _time_argument(matches[last + 1])
        if following is None or following in ("msec", "usec"):
            break
        between = fmt[matches[last].end() : matches[last + 1].start()].replace("%", "%%")
        spec += between + MERGED_TIME_ARGUMENTS.get(following, following)
        last += 1
    return last, (argument if last == first else spec)


#: Request headers (``%{Name}i``, lowercased) that carry a role.
_HEADER_ROLES: Final[dict[str, str]] = {"user-agent": "user_agent", "referer": "referer"}


def _apache_field(argument: str | None, letter: str, text: str) -> Field:
    if letter == "i" and argument:
        header = argument[1:-1].lower()  # header names are case-insensitive
        return Field(BARE, _HEADER_ROLES.get(header), QUOTED)
    key = (argument or "") + letter
    if key in APACHE_DIRECTIVES:
        return APACHE_DIRECTIVES[key]
    if letter in APACHE_NAMED and (argument or letter.startswith("^")):
        return Field(BARE, None, QUOTED)  # environment, notes, headers, cookies, trailers
    raise InputError(f"unsupported Apache directive {text!r}")
