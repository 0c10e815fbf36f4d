"""The patterns of the load balancer and proxy presets: ``alb``, ``elb``, ``haproxy``, ``squid``
and ``s3``, as RE2 patterns whose named groups are roles.

Each is a row of :data:`pipeline.ingest.formats.table.PRESET_TABLE` (compiled by
:func:`pipeline.ingest.formats.presets.compile_pattern`). These formats are not nginx or Apache
format strings: their fields are fixed by the product (AWS, HAProxy's ``option httplog``,
Squid's native ``logformat squid``), so one hand-written pattern per format says exactly what a
line may hold, with the odd cases of genuine output as comments next to the field they concern
(the samples are under ``tests/data/formats/`` and ``tests/data/*-real/``).

Roles used (see :mod:`pipeline.ingest.parsing.roles` for the converters)::

    alb, elb   latency_s_or_neg1 (x3, summed; -1 in any: no latency), time_iso, status,
               request (full URL: reduced to its path, host kept), user_agent, bytes,
               client_port (client:port, the port dropped)
    haproxy    time_clf_ms_utc (accept_date, no offset: UTC), latency_ms_or_neg1 (Ta or Tt),
               status, request, bytes, client_port (client_ip:client_port)
    squid      time_epoch_s, latency_ms (elapsed), status, method, target, bytes, client
    s3         time_clf, host (the bucket), request, status, bytes, latency_ms (total time),
               user_agent, client (remote_ip), referer

None of them writes a Referer except S3 (HAProxy's captured headers are configuration, see
below).

Every pattern is anchored and uses no construct that backtracks (RE2 runs a DFA anyway).
"""

from __future__ import annotations

from typing import Final

#: A decimal, or ``-1``: AWS's "no value" of a processing time (the load balancer could not
#: send the request to a target, or the client closed the connection first).
_SECONDS_OR_NEG1: Final[str] = r"(?:-1|[0-9]+(?:\.[0-9]+)?)"

#: ISO 8601 with the zone AWS writes (``Z``) and microseconds.
_ISO: Final[str] = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)

#: A double-quoted field's content: no quote, except escaped (``\\"``) as AWS writes them.
_QUOTED: Final[str] = r'(?:[^"\\]|\\.)*'

_STATUS: Final[str] = r"[1-5][0-9][0-9]"

#: The three processing times of ALB and Classic ELB (request, target/backend, response).
_PROCESSING_TIMES: Final[str] = (
    rf"(?P<latency_s_or_neg1>{_SECONDS_OR_NEG1}) "
    rf"(?P<latency_s_or_neg1__2>{_SECONDS_OR_NEG1}) "
    rf"(?P<latency_s_or_neg1__3>{_SECONDS_OR_NEG1})"
)

#: AWS Application Load Balancer access log entry::
#:
#:     type time elb client:port target:port request_processing_time target_processing_time
#:     response_processing_time elb_status_code target_status_code received_bytes sent_bytes
#:     "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" ...
#:
#: * ``type`` is ``http``, ``https``, ``h2``, ``grpcs``, ``ws`` or ``wss``: what tells an ALB
#:   line from a Classic ELB one (which starts with its time) and from NLB (``tls 2.0 ...``) and
#:   ALB connection-log lines (which start with a time and carry no request): those are not
#:   access lines and are malformed.
#: * ``target:port`` is ``-`` when no target was reached; so is ``target_status_code``.
#: * ``elb_status_code`` is the status (the one the client got); it is always three digits.
#: * ``request`` is ``"METHOD scheme://host:port/path?query PROTOCOL"``: the path is the URL's
#:   path, its host the line's host. AWS writes a request it could not parse as is
#:   (``"- http://host:80- "``, a target with a space): method and path ``-``.
#: * ALB appends fields over the years (``trace_id``, ``domain_name``, ... ``conn_trace_id``):
#:   anything after the user agent is ignored.
ALB: Final[str] = (
    rf"^(?:https?|h2|grpcs|wss?) (?P<time_iso>{_ISO}) [^ ]+ (?P<client_port>[^ ]+) [^ ]+ "
    rf"{_PROCESSING_TIMES} "
    rf"(?P<status>{_STATUS}) (?:{_STATUS}|-) [0-9]+ (?P<bytes>[0-9]+) "
    rf'"(?P<request>{_QUOTED})" "(?P<user_agent>{_QUOTED})"(?: .*)?$'
)

#: AWS Classic Load Balancer (ELB) access log entry::
#:
#:     time elb client:port backend:port request_processing_time backend_processing_time
#:     response_processing_time elb_status_code backend_status_code received_bytes sent_bytes
#:     "request" "user_agent" ssl_cipher ssl_protocol
#:
#: * TCP listeners log ``-`` for both status codes and ``"- - - "`` as the request: the line is
#:   a request without a response status (class ``none``), method and path ``-``.
#: * ``backend:port`` is ``-`` and the processing times ``-1`` when no backend was reached
#:   (``-1 -1 -1 408 -``); ``received_bytes``/``sent_bytes`` are ``-1`` on some TCP lines: no
#:   size (0 bytes), like ``-``. No other negative value is accepted.
#: * Entries written before the user agent and TLS fields existed end after the request.
ELB: Final[str] = (
    rf"^(?P<time_iso>{_ISO}) [^ ]+ (?P<client_port>[^ ]+) [^ ]+ {_PROCESSING_TIMES} "
    rf"(?P<status>{_STATUS}|-) (?:{_STATUS}|-) (?:-1|[0-9]+) (?:-1|(?P<bytes>[0-9]+)) "
    rf'"(?P<request>{_QUOTED})"(?: "(?P<user_agent>{_QUOTED})"(?: [^ ]+ [^ ]+)?)?$'
)

#: A syslog prefix before an HAProxy line: RFC 3164 (``Feb  6 12:14:14 host haproxy[14389]:``,
#: no year: the time is taken from ``accept_date``) or an ISO 8601 time in its place
#: (rsyslog's ``RSYSLOG_FileFormat``). Absent with ``log stdout format raw``.
_SYSLOG: Final[str] = (
    r"(?:[A-Z][a-z]{2} +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?) [^ ]+ [^ ]+: "
)

#: A timer of HAProxy: milliseconds, ``-1`` when the step did not happen.
_TIMER: Final[str] = r"(?:-1|[0-9]+)"

#: HAProxy ``option httplog`` line, with or without a syslog prefix::
#:
#:     client:port [accept_date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes_read
#:     captured_request_cookie captured_response_cookie termination_state
#:     actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue
#:     {captured_request_headers} {captured_response_headers} "http_request"
#:
#: * ``accept_date`` (``09/Feb/2009:16:31:28.430``) has no offset: it is read as UTC.
#: * The latency is the fifth timer: ``Ta`` (1.9 and later: the whole request, from accept to
#:   the last byte) or ``Tt`` in 1.8-era lines (``Tq/Tw/Tc/Tr/Tt``, the whole session); with
#:   ``option logasap`` it and ``bytes_read`` carry a ``+`` (a value so far); ``-1`` is none.
#: * ``status`` is ``-1`` when no response was sent: status class ``none``.
#: * ``<BADREQ>`` (an invalid or timed-out request) is not a request line: method and path ``-``.
#:   A request longer than HAProxy's buffer is cut, without its closing quote.
#: * Captured headers (``capture request header``) are zero, one or two ``{a|b}`` blocks; which
#:   header each slot holds is configuration, not in the line, so they are not read (the user
#:   agent stays empty).
#: * Not requests, so malformed: ``Proxy ... started``, ``Connection closed during SSL
#:   handshake``, TCP-mode (``option tcplog``: three timers) lines.
HAPROXY: Final[str] = (
    rf"^(?:{_SYSLOG})?(?P<client_port>[^ ]+) "
    r"\[(?P<time_clf_ms_utc>[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3})\] "
    rf"[^ ]+ [^ ]+ {_TIMER}/{_TIMER}/{_TIMER}/{_TIMER}/\+?(?P<latency_ms_or_neg1>{_TIMER}) "
    rf"(?P<status>{_STATUS}|-1) \+?(?P<bytes>[0-9]+) [^ ]+ [^ ]+ [^ ]+ "
    r"[0-9]+/[0-9]+/[0-9]+/[0-9]+/\+?[0-9]+ [0-9]+/[0-9]+(?: \{[^}]*\}){0,2} "
    r'"(?P<request>[^"]*)"?$'
)

#: Squid's native access log (``logformat squid``, the default)::
#:
#:     time.ms elapsed client code/status bytes method URL user hierarchy/host type
#:
#: * Columns are padded with spaces (``%6tr``: the elapsed milliseconds are right-aligned), so
#:   any run of spaces separates them.
#: * ``status`` is ``000`` when no response was sent (``TCP_MISS/000``, ``NONE_NONE/000``):
#:   status class ``none``; such a line may have method ``-`` and a URL such as
#:   ``error:transaction-end-before-headers`` (kept as the path).
#: * The URL is a full URL (reduced to its path, host kept), or ``host:443`` for ``CONNECT``
#:   (kept as the path).
SQUID: Final[str] = (
    r"^(?P<time_epoch_s>[0-9]+\.[0-9]{3}) +(?P<latency_ms>[0-9]+) +(?P<client>[^ ]+) +"
    rf"[A-Z_]+/(?P<status>{_STATUS}|000) +(?P<bytes>[0-9]+) +"
    r"(?P<method>[A-Za-z][A-Za-z_-]*|-) +(?P<target>[^ ]+) +[^ ]+ +[A-Z_]+/[^ ]+ +[^ ]+$"
)

#: Amazon S3 server access log::
#:
#:     bucket_owner bucket [time] remote_ip requester request_id operation key "request_uri"
#:     http_status error_code bytes_sent object_size total_time turn_around_time "referer"
#:     "user_agent" version_id host_id ...
#:
#: * The bucket is the line's host; ``total_time`` (milliseconds) is the latency.
#: * ``-`` is none in every field (``bytes_sent`` ``-``: 0 bytes; ``total_time`` ``-``: no
#:   latency). Fields after the user agent (added over time) are ignored.
S3: Final[str] = (
    r"^[^ ]+ (?P<host>[^ ]+) "
    r"\[(?P<time_clf>[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})\] "
    r"(?P<client>[^ ]+) [^ ]+ [^ ]+ [^ ]+ [^ ]+ "
    rf'"(?P<request>{_QUOTED})" (?P<status>{_STATUS}|-) [^ ]+ '
    r"(?P<bytes>[0-9]+|-) (?:[0-9]+|-) (?P<latency_ms>[0-9]+|-) (?:[0-9]+|-) "
    rf'"(?P<referer>{_QUOTED})" "(?P<user_agent>{_QUOTED})"(?: .*)?$'
)
