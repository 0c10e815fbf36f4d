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
from pipeline.ingest.formats.table import PRESET_NAMES, Kind, preset_row

#: A quoted field as nginx and Apache write it: nginx escapes ``"`` as ``\\x22`` and Apache as
#: ``\\"``; both escape ``\\`` itself, so "anything but a quote or a backslash, or an escaped
#: character" covers both. Escapes are kept as written (not decoded) in paths and agents.
QUOTED: Final[str] = r'(?:[^"\\]|\\.)*'

#: A field outside quotes: no spaces (nginx writes ``-`` for an empty value).
BARE: Final[str] = r"[^ ]*"

#: Regular expressions of the field types (RE2 syntax, no capture groups).
CLF_TIME: Final[str] = r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"
ISO_TIME: Final[str] = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
DECIMAL: Final[str] = r"[0-9]+(?:\.[0-9]+)?"
DECIMAL_OR_DASH: Final[str] = rf"(?:{DECIMAL}|-)"
INTEGER_OR_DASH: Final[str] = r"(?:[0-9]+|-)"
STATUS: Final[str] = r"[1-5][0-9][0-9]"
#: ``$upstream_response_time``: one time per upstream tried, separated by ``, `` (next server)
#: or `` : `` (internal redirect); each may be ``-``; ``escape=json`` writes none as ``""``.
LATENCY_LIST: Final[str] = rf"{DECIMAL_OR_DASH}(?:(?:, | : ){DECIMAL_OR_DASH})*"
#: The same in an ``escape=json`` format, where nginx writes an empty value as ``""``.
LATENCY_LIST_OR_EMPTY: Final[str] = rf"(?:{LATENCY_LIST})?"

#: ``$request_method``: nginx writes ``-`` when there is none (``""`` with ``escape=json``).
METHOD_OR_DASH: Final[str] = r"(?:[A-Za-z]*|-)"

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
)

#: Time roles in the order they are preferred (converters:
#: :data:`pipeline.ingest.parsing.roles.TIME_ROLES`).
TIME_ROLES: Final[tuple[str, ...]] = ("time_clf", "time_iso", "time_epoch_s")

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
class Field:
    """What one variable or directive matches and means (``role`` None: matched, not used)."""

    pattern: str
    role: str | None = None
    quoted_pattern: str | None = None  # used instead of ``pattern`` between double quotes


#: nginx variables with a meaning or a shape (any other ``$name`` matches ``BARE``/``QUOTED``).
NGINX_VARIABLES: Final[dict[str, Field]] = {
    "request": Field(r'[^"]*', "request", QUOTED),
    "request_method": Field(METHOD_OR_DASH, "method", METHOD_OR_DASH),
    "request_uri": Field(BARE, "target", QUOTED),
    "uri": Field(BARE, "path", QUOTED),
    "document_uri": Field(BARE, "path", QUOTED),
    "args": Field(BARE, "query", QUOTED),
    "query_string": Field(BARE, "query", QUOTED),
    "status": Field(STATUS, "status"),
    "http_user_agent": Field(BARE, "user_agent", QUOTED),
    "time_local": Field(CLF_TIME, "time_clf"),
    "time_iso8601": Field(ISO_TIME, "time_iso"),
    "msec": Field(r"[0-9]+\.[0-9]+", "time_epoch_s"),
    "request_time": Field(DECIMAL_OR_DASH, "latency_s"),
    "upstream_response_time": Field(LATENCY_LIST, "latency_list_s"),
    "body_bytes_sent": Field(INTEGER_OR_DASH, "bytes"),
}

#: Apache ``%`` directives: (letter, optional ``{argument}``) -> field. ``%{NAME}i`` (any request
#: header) is handled in :func:`_apache_field`; ``%>s``/``%<s`` modifiers are dropped first.
APACHE_DIRECTIVES: Final[dict[str, Field]] = {
    "h": Field(r"[^ ]+"),
    "a": Field(r"[^ ]+"),
    "{c}a": Field(r"[^ ]+"),
    "l": Field(r"[^ ]+"),
    "u": Field(BARE, None, QUOTED),
    # %t writes the brackets itself, [10/Oct/2000:13:55:36 -0700]: see _compile_apache
    "t": Field(CLF_TIME, "time_clf"),
    "r": Field(r'[^"]*', "request", QUOTED),
    "m": Field(r"[A-Za-z]+", "method"),
    "U": Field(BARE, "path", QUOTED),
    "q": Field(BARE, "query", QUOTED),  # "" or "?a=1"
    "H": Field(r"[^ ]*"),
    "s": Field(STATUS, "status"),
    "b": Field(INTEGER_OR_DASH, "bytes"),  # "-" for no body
    "B": Field(r"[0-9]+", "bytes"),
    "D": Field(r"[0-9]+", "latency_us"),
    "{us}T": Field(r"[0-9]+", "latency_us"),
    "{ms}T": Field(r"[0-9]+", "latency_ms"),
    "T": Field(r"[0-9]+", "latency_s_int"),
    "{s}T": Field(r"[0-9]+", "latency_s_int"),
    "v": Field(r"[^ ]+"),
    "V": Field(r"[^ ]+"),
    "p": Field(r"[0-9]+"),
    "I": Field(r"[0-9]+"),
    "O": Field(r"[0-9]+"),
    "S": Field(r"[0-9]+"),
}


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
    wrapper
        The container wrapper the lines come in (one of :data:`WRAPPERS`), "" for none: the
        line inside is read with this format (:mod:`pipeline.ingest.parsing.wrappers`).
    """

    name: str
    kind: Kind
    pattern: str = ""
    roles: tuple[str, ...] = ()
    json_fields: tuple[tuple[str, str, str | None], ...] = ()
    layout: tuple[tuple[str, str, str], ...] = ()
    extras: bool = False
    options: tuple[tuple[str, str], ...] = ()
    wrapper: str = ""

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
        return self.time_role is not None or bool(self.wrapper)  # a wrapper carries a time

    @property
    def has_bytes(self) -> bool:
        return self.kind == "json" or "bytes" in self.roles


#: Preset names accepted by ``--log-format``, in the order auto-detection breaks ties (the rows
#: of :data:`pipeline.ingest.formats.table.PRESET_TABLE`).
DETECTION_ORDER: Final[tuple[str, ...]] = PRESET_NAMES
PRESETS: Final[tuple[str, ...]] = ("auto", *DETECTION_ORDER)

#: Container wrappers (:mod:`pipeline.ingest.parsing.wrappers`): ``<wrapper>:<preset>`` names a
#: preset read inside that wrapper (``docker:combined``), in ``--log-format`` and the report.
WRAPPERS: Final[tuple[str, ...]] = ("docker", "cri", "message")


def wrapped(fmt: LogFormat, wrapper: str) -> LogFormat:
    """``fmt`` read inside ``wrapper``, named ``<wrapper>:<name>``.

    >>> wrapped(preset("combined"), "cri").name
    'cri:combined'
    """
    return replace(fmt, name=f"{wrapper}:{fmt.name}", wrapper=wrapper)


def preset(name: str) -> LogFormat:
    """A preset by name (not ``auto``, which is a choice between presets per file), built from
    its row of the preset table.

    A preset with ``extras`` ignores fields after its last declared one (many sites append
    fields to combined), so its pattern ends with an optional `` ...``.
    """
    outer, colon, inner = name.partition(":")
    if colon and outer in WRAPPERS and preset_row(inner) is not None:
        return wrapped(preset(inner), outer)
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
    compiled = replace(compiled, options=row.options)
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
    outer, colon, inner = text.partition(":")
    if text in DETECTION_ORDER or (colon and outer in WRAPPERS and inner in DETECTION_ORDER):
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
        return re.sub(r"\\(.)", r"\1", match.group(1))
    match = re.fullmatch(r"'(.*)'", body)
    return match.group(1) if match else body


def _literal(text: str) -> str:
    """RE2 pattern matching ``text`` exactly."""
    return "".join(ch if ch.isalnum() or ch in " _" else "\\" + ch for ch in text)


#: Characters a field's pattern never matches, by pattern (what lets
#: :mod:`pipeline.ingest.parsing.scan` find where a field ends: at the first following delimiter it
#: cannot contain). A pattern not listed never ends early, so a format using one is parsed by the
#: regex alone.
_NEVER_CONTAINS: Final[dict[str, str]] = {
    BARE: " ",
    r"[^ ]+": " ",
    QUOTED: '"',
    r'[^"]*': '"',
    STATUS: ' "[]',
    r"[0-9]+": ' "[]',
    INTEGER_OR_DASH: ' "[]',
    DECIMAL_OR_DASH: ' "[]',
    r"[0-9]+\.[0-9]+": ' "[]',
    r"[A-Za-z]+": ' "[]',
    METHOD_OR_DASH: ' "[]',
    CLF_TIME: '"[]',
    ISO_TIME: ' "[]',
    LATENCY_LIST: '"[]',
    LATENCY_LIST_OR_EMPTY: '"[]',
}


class _Builder:
    """Accumulates pattern pieces, capture groups and the layout while a format is scanned."""

    def __init__(self, json_escape: bool = False) -> None:
        self.json_escape = json_escape
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
        stops = _NEVER_CONTAINS.get(pattern, "")
        role = field.role
        if role is None or role in self.roles:  # a repeated role is matched, not captured
            self.parts.append(f"(?:{pattern})")
            self.layout.append(("field", "", stops))
            return
        group = f"g{len(self.roles)}"
        self.roles.append(role)
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
        )


def _quoted_at(fmt: str, start: int, end: int) -> bool:
    return start > 0 and fmt[start - 1] == '"' and end < len(fmt) and fmt[end] == '"'


def _compile_nginx(fmt: str, name: str, json_escape: bool = False) -> LogFormat:
    builder = _Builder(json_escape)
    position = 0
    for match in re.finditer(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))", fmt):
        builder.literal(fmt[position : match.start()])
        variable = match.group(1) or match.group(2)
        field = NGINX_VARIABLES.get(variable, Field(BARE))
        builder.field(field, _quoted_at(fmt, match.start(), match.end()))
        position = match.end()
    builder.literal(fmt[position:])
    return builder.build(name)


def _compile_apache(fmt: str, name: str) -> LogFormat:
    builder = _Builder()
    position = 0
    directive = re.compile(r"%(?:[<>]|!?[0-9,]+)*(\{[^}]*\})?([A-Za-z%])")
    for match in directive.finditer(fmt):
        builder.literal(fmt[position : match.start()])
        argument, letter = match.group(1), match.group(2)
        if letter == "%":
            builder.literal("%")
        elif letter == "t" and argument is None:  # [10/Oct/2000:13:55:36 -0700]
            builder.literal("[")
            builder.field(APACHE_DIRECTIVES["t"], quoted=False)
            builder.literal("]")
        else:
            field = _apache_field(argument, letter, match.group(0))
            builder.field(field, _quoted_at(fmt, match.start(), match.end()))
        position = match.end()
    rest = fmt[position:]
    if "%" in rest:
        raise InputError(f"unsupported Apache directive {rest[rest.index('%') :][:12]!r}")
    builder.literal(rest)
    return builder.build(name)


def _apache_field(argument: str | None, letter: str, text: str) -> Field:
    if letter == "i" and argument:
        header = argument[1:-1].lower()
        return Field(BARE, "user_agent" if header == "user-agent" else None, QUOTED)
    key = (argument or "") + letter
    if key in APACHE_DIRECTIVES:
        return APACHE_DIRECTIVES[key]
    if letter in "eonC" and argument:  # environment, notes, response headers, cookies
        return Field(BARE, None, QUOTED)
    raise InputError(f"unsupported Apache directive {text!r}")
