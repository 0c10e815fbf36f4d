"""Log formats as data: the presets, and format strings compiled (by
:mod:`pipeline.ingest.formats.compiler`, from the tables of
:mod:`pipeline.ingest.formats.directives`).

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
    time_epoch_s     $msec, %{sec}t  (1700000000.123)
    time_epoch_ms, time_epoch_us     %{msec}t, %{usec}t
    time_strftime    %{format}t (the strftime format is in ``options``)
    latency_s, latency_ms, latency_us   $request_time / %T; %{ms}T; %D / %{us}T
    latency_list_s   $upstream_response_time ("0.010, 0.020" or "0.010 : 0.020": summed)
    latency_duration "12ms", "0.005s" (a duration with its unit)
    bytes            $body_bytes_sent, %b, %B
    host             $host, $server_name, %v, %V (and a full-URL target's host)
    client           $remote_addr, %h, %a (client_port: "address:port", the port dropped)
    referer          $http_referer, %{Referer}i (any case)

When a format has several latency fields, the first of :data:`LATENCY_PRIORITY` is used; the
others only have to match.

>>> compile_format("$remote_addr [$time_local] \\"$request\\" $status $request_time").roles
('client', 'time_clf', 'request', 'status', 'latency_s')
>>> compile_format('%h %t "%r" %>s %D').name
'apache:%h %t "%r" %>s %D'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from pipeline.errors import InputError
from pipeline.ingest.formats.compiler import (
    Compiled,
    compile_apache,
    compile_nginx,
    unwrap_apache,
    unwrap_nginx,
)
from pipeline.ingest.formats.directives import APACHE_DIRECTIVES as APACHE_DIRECTIVES
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
    "time_clf_ms_utc",  # HAProxy accept_date, no offset
)

#: Time roles whose values carry no UTC offset and are read as UTC (the report notes it).
UTC_TIME_ROLES: Final[frozenset[str]] = frozenset({"time_clf_ms_utc"})

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
        For ``regex``: the format as a sequence of ``("literal", text, "", False)`` and
        ``("field", group or "", characters the field never contains, whether a backslash
        escapes the next character in it)`` (used by
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
    layout: tuple[tuple[str, str, str, bool], ...] = ()
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
    def keyed(self) -> bool:
        """Lines are records of keys (JSON, logfmt): ``--field`` overrides apply."""
        return self.kind in ("json", "logfmt")

    @property
    def time_role(self) -> str | None:
        """The role the time is read from, or None when the format has no time field."""
        if self.kind == "w3c":  # per line: a #Fields with date and time
            return "w3c"
        if self.keyed:
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
    def time_without_offset(self) -> bool:
        """Its times carry no UTC offset (HAProxy's accept_date, an Apache ``%{...}t`` without
        ``%z``): read as UTC."""
        if self.time_role in UTC_TIME_ROLES:
            return True
        if self.time_role != "time_strftime":
            return False
        return not has_offset(dict(self.options).get("strftime", ""))

    @property
    def has_bytes(self) -> bool:
        return self.keyed or self.kind == "w3c" or "bytes" in self.roles


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
        compiled = _regex(name, compile_nginx(unwrap_nginx(row.spec), name))
    else:
        compiled = _regex(name, compile_apache(row.spec, name))
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
    outer, colon, inner = text.partition(":")
    if text in DETECTION_ORDER or (colon and outer in WRAPPERS and inner in DETECTION_ORDER):
        return preset(text)
    if re.fullmatch(r"[A-Za-z_-]+", text):
        raise InputError(f"unknown log format {text!r}; valid names: {', '.join(PRESETS)}")
    nginx = unwrap_nginx(text)
    if re.search(r"\$\{?[A-Za-z_]", nginx):
        json_escape = re.match(r"log_format\s+\S+\s+escape=json\b", text) is not None
        return _regex(f"nginx:{nginx}", compile_nginx(nginx, f"nginx:{nginx}", json_escape))
    apache = unwrap_apache(text)
    if "%" in apache:
        return _regex(f"apache:{apache}", compile_apache(apache, f"apache:{apache}"))
    raise InputError(
        f"log format {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a format string "
        "with nginx $variables or Apache % directives"
    )


def _regex(name: str, compiled: Compiled) -> LogFormat:
    return LogFormat(
        name,
        "regex",
        compiled.pattern,
        compiled.roles,
        layout=compiled.layout,
        options=compiled.options,
    )
