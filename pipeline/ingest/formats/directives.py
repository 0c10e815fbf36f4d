"""The tables of nginx variables and Apache directives: what each matches and means.

Log formats as data (the design of jwodder/apachelogs): one table maps each nginx ``$variable``
(:data:`NGINX_VARIABLES`) and each Apache ``%`` directive (:data:`APACHE_DIRECTIVES`, every
directive of Apache 2.4's mod_log_config) to the regular expression of its value and its role;
:mod:`pipeline.ingest.formats.presets` compiles a whole format string from them. Odd cases of
real output are comments next to the entry they concern.

Apache's ``%{format}t`` times are not rows: :func:`apache_time` reads their argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pipeline.ingest.formats.strftime import strftime_pattern

#: A quoted field as nginx and Apache write it: nginx escapes ``"`` as ``\\x22`` and Apache as
#: ``\\"``; both escape ``\\`` itself, so "anything but a quote or a backslash, or an escaped
#: character" covers both. Escapes are kept as written (not decoded) in paths and agents.
QUOTED: Final[str] = r'(?:[^"\\]|\\.)*'

#: A field outside quotes: no spaces (nginx writes ``-`` for an empty value).
BARE: Final[str] = r"[^ ]*"

#: Regular expressions of the field types (RE2 syntax, no capture groups).
CLF_TIME: Final[str] = r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"
ISO_TIME: Final[str] = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})"
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

#: A list of values nginx writes for ``$upstream_*`` variables: one per upstream tried, separated
#: by ``, `` (next server) or `` : `` (internal redirect). "Lists are values": a list never makes
#: a line malformed. Items have no spaces or commas (addresses, ``[::1]:80``, ``unix:/s``, ``-``).
VALUE_LIST: Final[str] = r"[^ ,]+(?:(?:, | : )[^ ,]+)*"
#: A field in a tab-separated format (a literal tab in the format string): anything but a tab.
TAB_FIELD: Final[str] = r"[^\t]*"
TAB_FIELD_NONEMPTY: Final[str] = r"[^\t]+"


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
    "host": Field(BARE, "host", QUOTED),
    # the address of the connection's peer (the client, or the last proxy without realip)
    "remote_addr": Field(BARE, "client", QUOTED),
    "http_referer": Field(BARE, "referer", QUOTED),
    "server_name": Field(BARE, "host", QUOTED),
    # lists (one value per upstream tried; ingress-nginx's upstreaminfo writes all of them)
    "upstream_addr": Field(VALUE_LIST, None, QUOTED),
    "upstream_status": Field(VALUE_LIST, None, QUOTED),
    "upstream_response_length": Field(VALUE_LIST, None, QUOTED),
    "upstream_bytes_received": Field(VALUE_LIST, None, QUOTED),
    "upstream_bytes_sent": Field(VALUE_LIST, None, QUOTED),
    "upstream_connect_time": Field(VALUE_LIST, None, QUOTED),
    "upstream_header_time": Field(VALUE_LIST, None, QUOTED),
    "upstream_cache_status": Field(VALUE_LIST, None, QUOTED),
    # X-Forwarded-For: "client, proxy1, proxy2" (usually quoted; a list outside quotes too)
    "http_x_forwarded_for": Field(VALUE_LIST, None, QUOTED),
    "proxy_add_x_forwarded_for": Field(VALUE_LIST, None, QUOTED),
}

#: Apache ``%`` directives, every one of mod_log_config's table in Apache 2.4: (``{argument}``,
#: letter) -> field. ``%{NAME}i`` (any request header), ``%{NAME}e``/``o``/``n``/``C``/``^ti``/
#: ``^to`` and ``%{format}t`` are handled in the compiler; ``%>s``/``%<s`` modifiers are dropped
#: first. Apache writes ``-`` for most values it does not have.
APACHE_DIRECTIVES: Final[dict[str, Field]] = {
    # remote host name (HostnameLookups On) or address: the client
    "h": Field(r"[^ ]+", "client"),
    "{c}h": Field(r"[^ ]+"),  # of the underlying connection
    "a": Field(r"[^ ]+", "client"),  # client address (mod_remoteip's, when it is used)
    "{c}a": Field(r"[^ ]+"),  # peer address of the connection
    "A": Field(r"[^ ]+"),  # local address
    "l": Field(r"[^ ]+"),  # remote logname (identd), "-"
    "u": Field(BARE, None, QUOTED),
    # %t writes the brackets itself, [10/Oct/2000:13:55:36 -0700]: see the compiler
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
    "v": Field(r"[^ ]+", "host"),  # the canonical ServerName of the virtual host
    "V": Field(r"[^ ]+", "host"),  # the server name by UseCanonicalName (lighttpd: Host header)
    "p": Field(r"[0-9]+"),  # canonical port of the server
    "{canonical}p": Field(r"[0-9]+"),
    "{local}p": Field(r"[0-9]+"),
    "{remote}p": Field(r"[0-9]+"),
    "P": Field(r"[0-9]+"),  # process id of the child
    "{pid}P": Field(r"[0-9]+"),
    "{tid}P": Field(r"[0-9]+"),
    "{hextid}P": Field(r"[0-9A-Fa-f]+"),
    "f": Field(BARE, None, QUOTED),  # file name served
    "R": Field(BARE, None, QUOTED),  # handler ("-" without one)
    "L": Field(BARE, None, QUOTED),  # request log id ("-" without one)
    "k": Field(r"[0-9]+"),  # keepalive requests on this connection
    "X": Field(r"[-+X]"),  # connection status when the response completed
    "I": Field(r"[0-9]+"),  # bytes received (mod_logio)
    "O": Field(r"[0-9]+"),  # bytes sent, headers included (mod_logio)
    "S": Field(r"[0-9]+"),  # bytes transferred, both ways (mod_logio)
}

#: Directives that take any ``{NAME}``: environment, notes, response headers, cookies, trailers
#: (``^ti``/``^to``); their values are matched, not used.
APACHE_NAMED: Final[frozenset[str]] = frozenset({"e", "o", "n", "C", "^ti", "^to"})

#: Apache's own ``%{...}t`` arguments (anything else is a strftime format): the time role or
#: None (matched only), and the pattern. ``begin:``/``end:`` prefixes are dropped first (the time
#: the request started or ended: either is the request's time here).
APACHE_TIME_ARGUMENTS: Final[dict[str, Field]] = {
    "sec": Field(r"[0-9]+", "time_epoch_s"),
    "msec": Field(r"[0-9]+", "time_epoch_ms"),
    "usec": Field(r"[0-9]+", "time_epoch_us"),
    "msec_frac": Field(r"[0-9]{3}"),
    "usec_frac": Field(r"[0-9]{6}"),
}

#: How the fractions and epoch seconds are spelled once adjacent ``%{...}t`` are merged into one
#: strftime format (see :mod:`pipeline.ingest.formats.strftime`).
MERGED_TIME_ARGUMENTS: Final[dict[str, str]] = {
    "msec_frac": "%3N",
    "usec_frac": "%6N",
    "sec": "%s",
}

#: The strftime format of ``%t`` itself: read by the fast fixed-width CLF converter.
CLF_STRFTIME: Final[str] = "%d/%b/%Y:%H:%M:%S %z"


def apache_time(argument: str) -> Field:
    """The field of ``%{argument}t`` (``argument`` without braces, ``begin:``/``end:`` dropped):
    Apache's own arguments, the CLF time, or role ``time_strftime`` with the format's pattern.

    >>> apache_time("msec").role, apache_time("%d/%b/%Y:%H:%M:%S %z").role
    ('time_epoch_ms', 'time_clf')
    >>> apache_time("%Y-%m-%dT%H:%M:%S").role
    'time_strftime'
    """
    if argument in APACHE_TIME_ARGUMENTS:
        return APACHE_TIME_ARGUMENTS[argument]
    if argument == CLF_STRFTIME:
        return Field(CLF_TIME, "time_clf")
    return Field(strftime_pattern(argument), "time_strftime")


#: Characters a field's pattern never matches, by pattern (what lets
#: :mod:`pipeline.ingest.parsing.scan` find where a field ends: at the first following delimiter it
#: cannot contain). A pattern not listed never ends early, so a format using one is parsed by the
#: regex alone.
NEVER_CONTAINS: Final[dict[str, str]] = {
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
    VALUE_LIST: '"[]',
    TAB_FIELD: "\t",
    TAB_FIELD_NONEMPTY: "\t",
}

#: Patterns in which a backslash escapes the next character (nginx's ``\x22`` and Apache's
#: ``\"``): such a field ends at the first delimiter that is not escaped, so a cut that skips
#: each backslash and the character after it finds the same end as the regex.
ESCAPED: Final[frozenset[str]] = frozenset({QUOTED})
