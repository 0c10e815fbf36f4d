"""Log formats as data: the presets, and one compiler from nginx and Apache format strings.

A :class:`LogFormat` says how one line is read. Three kinds exist:

* ``default``: the project's own grammar, parsed by the fast positional path of
  :mod:`pipeline.ingest.parsing.parse`.
* ``regex``: one RE2 pattern with a named group per field that carries meaning (the ``role`` of
  the group). ``common``, ``combined`` and every pasted nginx ``log_format`` or Apache
  ``LogFormat`` string compile to this kind, with the tables :data:`NGINX_VARIABLES` and
  :data:`APACHE_DIRECTIVES` mapping each variable or directive to its regular expression and role
  (the design of jwodder/apachelogs, but compiled once and applied to a whole partition).
* ``json``: JSON lines, keys looked up through :data:`pipeline.ingest.parsing.jsonlines.ALIASES`.

Roles (what a captured field means)::

    request          "METHOD TARGET PROTOCOL" ($request, %r)
    method           $request_method, %m
    target           $request_uri (path and query)
    path, query      $uri / %U and $args / %q
    status           $status, %s, %>s
    user_agent       $http_user_agent, %{User-Agent}i
    time_clf         $time_local, %t  (10/Oct/2000:13:55:36 -0700)
    time_iso         $time_iso8601   (2000-10-10T13:55:36-07:00)
    time_epoch_s     $msec           (1700000000.123)
    latency_s, latency_ms, latency_us   $request_time / %T; %{ms}T; %D / %{us}T
    latency_list_s   $upstream_response_time ("0.010, 0.020" or "0.010 : 0.020": summed)
    bytes            $body_bytes_sent, %b, %B

When a format has several latency fields, the first of :data:`LATENCY_PRIORITY` is used; the
others only have to match.

>>> compile_format("$remote_addr [$time_local] \\"$request\\" $status $request_time").roles
('time_clf', 'request', 'status', 'latency_s')
>>> compile_format('%h %t "%r" %>s %D').name
'apache:%h %t "%r" %>s %D'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from pipeline.errors import InputError
from pipeline.ingest.formats.directives import APACHE_DIRECTIVES as APACHE_DIRECTIVES
from pipeline.ingest.formats.directives import (
    APACHE_NAMED,
    MERGED_TIME_ARGUMENTS,
    NEVER_CONTAINS,
    TAB_FIELD,
    TAB_FIELD_NONEMPTY,
    apache_time,
)
from pipeline.ingest.formats.directives import BARE as BARE
from pipeline.ingest.formats.directives import CLF_TIME as CLF_TIME
from pipeline.ingest.formats.directives import ISO_TIME as ISO_TIME
from pipeline.ingest.formats.directives import LATENCY_LIST as LATENCY_LIST
from pipeline.ingest.formats.directives import LATENCY_LIST_OR_EMPTY as LATENCY_LIST_OR_EMPTY
from pipeline.ingest.formats.directives import NGINX_VARIABLES as NGINX_VARIABLES
from pipeline.ingest.formats.directives import QUOTED as QUOTED
from pipeline.ingest.formats.directives import STATUS as STATUS
from pipeline.ingest.formats.directives import Field as Field
from pipeline.ingest.formats.strftime import has_offset
from pipeline.ingest.formats.table import PRESET_NAMES, Kind, preset_row

#: Latency roles in the order they are preferred (their converters, with the unit of each, are
#: :data:`pipeline.ingest.parsing.roles.LATENCY_ROLES`, which has the same keys).
LATENCY_PRIORITY: Final[tuple[str, ...]] = (
    "latency_s",  # $request_time
    "latency_us",  # %D, %{us}T
    "latency_ms",  # %{ms}T
    "latency_s_int",  # %T, %{s}T (whole seconds)
    "latency_s_or_neg1",  # ALB/ELB processing times (summed); -1 is none
    "latency_ms_or_neg1",  # HAProxy Ta/Tt; -1 is none
    "latency_list_s",  # $upstream_response_time
    "latency_duration",  # "12ms", "0.005s" (Traefik CLF, duration strings)
)

#: Time roles in the order they are preferred (converters:
#: :data:`pipeline.ingest.parsing.roles.TIME_ROLES`).
TIME_ROLES: Final[tuple[str, ...]] = (
    "time_clf",
    "time_iso",
    "time_epoch_s",
    "time_epoch_ms",  # Apache %{msec}t
    "time_epoch_us",  # Apache %{usec}t
    "time_strftime",  # Apache %{format}t (the format is in LogFormat.options)
)

#: Separates a role from the number of one of its captures: ``latency_s_or_neg1__2`` is another
#: capture of ``latency_s_or_neg1`` (captures of one latency role add up).
CAPTURE_SEPARATOR: Final[str] = "__"


def base_role(role: str) -> str:
    """The role a group captures, without its capture number.

    >>> base_role("latency_s_or_neg1__2"), base_role("status")
    ('latency_s_or_neg1', 'status')
    """
    return role.split(CAPTURE_SEPARATOR, 1)[0]


@dataclass(frozen=True)
class LogFormat:
    """How the lines of one file are read (small and picklable: it travels with every task).

    Attributes
    ----------
    name
        ``default``, ``common``, ``combined``, ``json``, or ``nginx:<string>`` /
        ``apache:<string>`` for a pasted format (the name the report uses).
    kind
        ``default`` (positional fast path), ``regex`` or ``json``.
    pattern
        For ``regex``: the RE2 pattern of a whole trimmed line, groups ``g0``, ``g1``, ...
    roles
        For ``regex``: the role of each group, in group order.
    json_fields
        For ``json``: ``--field`` overrides as ``(canonical, key, unit)``.
    layout
        For ``regex``: the format as a sequence of ``("literal", text, "")`` and
        ``("field", group or "", characters the field never contains)`` (used by
        :mod:`pipeline.ingest.parsing.scan` to cut validated lines at their delimiters).
    extras
        The line may continue after the format (``common``/``combined``: `` ...``).
    options
        Settings of the kind's parser (:attr:`pipeline.ingest.formats.table.Preset.options`).
    """

    name: str
    kind: Kind
    pattern: str = ""
    roles: tuple[str, ...] = ()
    json_fields: tuple[tuple[str, str, str | None], ...] = ()
    layout: tuple[tuple[str, str, str], ...] = ()
    extras: bool = False
    options: tuple[tuple[str, str], ...] = ()

    @property
    def match_pattern(self) -> str:
        """``pattern`` without capture groups: RE2 then runs its fast DFA to validate lines."""
        return re.sub(r"\(\?P<\w+>", "(?:", self.pattern)

    @property
    def latency_role(self) -> str | None:
        """The role the latency is read from, or None when the format has none."""
        if self.kind != "regex":
            return "latency_ms"  # default grammar and JSON (a JSON line may still lack it)
        present = {base_role(role) for role in self.roles}
        return next((role for role in LATENCY_PRIORITY if role in present), None)

    @property
    def time_role(self) -> str | None:
        """The role the time is read from, or None when the format has no time field."""
        if self.kind == "json":
            return "json"
        present = {base_role(role) for role in self.roles}
        return next((role for role in TIME_ROLES if role in present), None)

    @property
    def has_latency(self) -> bool:
        return self.latency_role is not None

    @property
    def has_time(self) -> bool:
        return self.time_role is not None

    @property
    def time_without_offset(self) -> bool:
        """Its times carry no UTC offset (an Apache ``%{...}t`` without ``%z``): read as UTC."""
        if self.time_role != "time_strftime":
            return False
        return not has_offset(dict(self.options).get("strftime", ""))

    @property
    def has_bytes(self) -> bool:
        return self.kind == "json" or "bytes" in self.roles


#: Preset names accepted by ``--log-format``, in the order auto-detection breaks ties (the rows
#: of :data:`pipeline.ingest.formats.table.PRESET_TABLE`).
DETECTION_ORDER: Final[tuple[str, ...]] = PRESET_NAMES
PRESETS: Final[tuple[str, ...]] = ("auto", *DETECTION_ORDER)


def preset(name: str) -> LogFormat:
    """A preset by name (not ``auto``, which is a choice between presets per file), built from
    its row of the preset table.

    A preset with ``extras`` ignores fields after its last declared one (many sites append
    fields to combined), so its pattern ends with an optional `` ...``.
    """
    row = preset_row(name)
    if row is None:
        raise InputError(f"unknown log format {name!r}; valid names: {', '.join(PRESETS)}")
    if row.kind != "regex":
        return LogFormat(name, row.kind, options=row.options)
    if row.spec.startswith("^"):
        compiled = compile_pattern(row.spec, name)
    elif "$" in row.spec:
        compiled = _compile_nginx(_unwrap_nginx(row.spec), name)
    else:
        compiled = _compile_apache(row.spec, name)
    compiled = replace(compiled, options=compiled.options + row.options)
    if not row.extras:
        return compiled
    pattern = compiled.pattern.removesuffix("$") + "(?: .*)?$"
    return replace(compiled, pattern=pattern, extras=True)


def compile_pattern(pattern: str, name: str) -> LogFormat:
    """A format from an RE2 pattern whose named groups are roles (``(?P<status>...)``, or
    ``(?P<latency_s_or_neg1__2>...)`` for another capture of a role); unnamed groups must be
    non-capturing. The groups are renamed ``g0``, ``g1``, ... in order, as compiled format
    strings name them.

    >>> fmt = compile_pattern(r"^(?P<status>[0-9]{3}) (?P<latency_ms>[0-9]+)$", "x")
    >>> fmt.pattern, fmt.roles, fmt.latency_role
    ('^(?P<g0>[0-9]{3}) (?P<g1>[0-9]+)$', ('status', 'latency_ms'), 'latency_ms')
    """
    roles: list[str] = []

    def rename(match: re.Match[str]) -> str:
        roles.append(match.group(1))
        return f"(?P<g{len(roles) - 1}>"

    renamed = re.sub(r"\(\?P<(\w+)>", rename, pattern)
    if "status" not in {base_role(role) for role in roles}:
        raise InputError(f"log format {name!r} has no status group")
    return LogFormat(name, "regex", renamed, tuple(roles))


def compile_format(spec: str) -> LogFormat:
    """A preset name, or an nginx ``log_format`` / Apache ``LogFormat`` string, compiled.

    A string with ``$variables`` is nginx's, one with ``%`` directives Apache's. A whole pasted
    directive (``log_format main '...' '...';`` with or without ``escape=...``, or
    ``LogFormat "..." nickname``) is accepted: its quoted pieces are joined.
    """
    text = spec.strip()
    if text in DETECTION_ORDER:
        return preset(text)
    if re.fullmatch(r"[A-Za-z_-]+", text):
        raise InputError(f"unknown log format {text!r}; valid names: {', '.join(PRESETS)}")
    nginx = _unwrap_nginx(text)
    if re.search(r"\$\{?[A-Za-z_]", nginx):
        json_escape = re.match(r"log_format\s+\S+\s+escape=json\b", text) is not None
        return _compile_nginx(nginx, f"nginx:{nginx}", json_escape)
    apache = _unwrap_apache(text)
    if "%" in apache:
        return _compile_apache(apache, f"apache:{apache}")
    raise InputError(
        f"log format {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a format string "
        "with nginx $variables or Apache % directives"
    )


def _unwrap_nginx(text: str) -> str:
    """The format of a pasted ``log_format NAME [escape=...] '...' '...';`` or a quoted string."""
    body = text.removesuffix(";").strip()
    directive = re.match(r"log_format\s+\S+\s*(?:escape=\S+\s*)?", body)
    if directive:
        body = body[directive.end() :]
    pieces = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", body)
    if pieces and re.fullmatch(r"(?:\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))+\s*", body):
        return "".join(single or double for single, double in pieces)
    return body


def _unwrap_apache(text: str) -> str:
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
        self.layout: list[tuple[str, str, str]] = []

    def literal(self, text: str) -> None:
        if not text:
            return
        self.parts.append(_literal(text))
        self.layout.append(("literal", text, ""))

    def field(self, field: Field, quoted: bool) -> None:
        pattern = field.quoted_pattern if quoted and field.quoted_pattern else field.pattern
        if quoted and field.quoted_pattern is None and field.pattern in (BARE, r"[^ ]+"):
            pattern = QUOTED
        if self.json_escape and pattern == LATENCY_LIST:
            pattern = LATENCY_LIST_OR_EMPTY
        if self.tabs and not quoted:
            pattern = {BARE: TAB_FIELD, r"[^ ]+": TAB_FIELD_NONEMPTY}.get(pattern, pattern)
        stops = NEVER_CONTAINS.get(pattern, "")
        role = field.role
        if role is None or role in self.roles:  # a repeated role is matched, not captured
            self.parts.append(f"(?:{pattern})")
            self.layout.append(("field", "", stops))
            return
        group = f"g{len(self.roles)}"
        self.roles.append(role)
        if role == "time_strftime":
            self.strftime = self.time_spec
        self.parts.append(f"(?P<{group}>{pattern})")
        self.layout.append(("field", group, stops))

    def build(self, name: str) -> LogFormat:
        if "status" not in self.roles:
            raise InputError(
                f"log format {name.split(':', 1)[-1]!r} has no status field ($status, %s or %>s); "
                "every request needs one"
            )
        return LogFormat(
            name,
            "regex",
            "^" + "".join(self.parts) + "$",
            tuple(self.roles),
            layout=tuple(self.layout),
            options=(("strftime", self.strftime),) if self.strftime else (),
        )


def _quoted_at(fmt: str, start: int, end: int) -> bool:
    return start > 0 and fmt[start - 1] == '"' and end < len(fmt) and fmt[end] == '"'


def _compile_nginx(fmt: str, name: str, json_escape: bool = False) -> LogFormat:
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


def _compile_apache(fmt: str, name: str) -> LogFormat:
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


def _apache_field(argument: str | None, letter: str, text: str) -> Field:
    if letter == "i" and argument:
        header = argument[1:-1].lower()
        return Field(BARE, "user_agent" if header == "user-agent" else None, QUOTED)
    key = (argument or "") + letter
    if key in APACHE_DIRECTIVES:
        return APACHE_DIRECTIVES[key]
    if letter in APACHE_NAMED and (argument or letter.startswith("^")):
        return Field(BARE, None, QUOTED)  # environment, notes, headers, cookies, trailers
    raise InputError(f"unsupported Apache directive {text!r}")
