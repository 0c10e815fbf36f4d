"""Apache and nginx format strings: every mod_log_config directive, ``%{format}t`` times, nginx
lists and hosts, tab-separated formats; against hand-computed values (and ``calendar.timegm``
as the independent reference of UTC times)."""

from __future__ import annotations

import calendar
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.engine.settings import ExecutionSettings
from pipeline.errors import InputError
from pipeline.ingest.formats.presets import compile_format, preset
from pipeline.ingest.job import run_ingest
from pipeline.ingest.options import IngestOptions
from pipeline.ingest.parsing.parse import parse_lines


def _utc_ms(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) * 1000


#: Every directive of Apache 2.4's mod_log_config table (other than %t, %r, %s and the latency
#: and size ones, tested with their values elsewhere) with a value Apache writes for it.
DIRECTIVES: list[tuple[str, str]] = [
    ("%a", "10.0.0.1"),
    ("%{c}a", "10.0.0.2"),
    ("%A", "192.168.1.1"),
    ("%B", "0"),
    ("%b", "-"),
    ("%{session}C", "abc"),
    ("%D", "1234"),
    ("%{HOME}e", "-"),
    ("%f", "/var/www/html/index.html"),
    ("%h", "host.example"),
    ("%{c}h", "10.0.0.3"),
    ("%H", "HTTP/1.1"),
    ("%{Referer}i", "-"),
    ("%k", "0"),
    ("%l", "-"),
    ("%L", "-"),
    ("%m", "GET"),
    ("%{note}n", "-"),
    ("%{Content-Type}o", "text/html"),
    ("%p", "443"),
    ("%{canonical}p", "80"),
    ("%{local}p", "8080"),
    ("%{remote}p", "51234"),
    ("%P", "4242"),
    ("%{pid}P", "4242"),
    ("%{tid}P", "140230"),
    ("%{hextid}P", "7f3a"),
    ("%q", "?a=1"),
    ("%R", "-"),
    ("%T", "0"),
    ("%{ms}T", "12"),
    ("%{us}T", "12000"),
    ("%{s}T", "1"),
    ("%u", "-"),
    ("%U", "/x"),
    ("%v", "www.example.test"),
    ("%V", "example.test"),
    ("%X", "+"),
    ("%I", "411"),
    ("%O", "5120"),
    ("%S", "5531"),
    ("%{Trailer}^ti", "-"),
    ("%{Trailer}^to", "-"),
    ("%^ti", "-"),
    ("%^to", "-"),
    ("%{sec}t", "971186136"),
    ("%{msec}t", "971186136123"),
    ("%{usec}t", "971186136123456"),
    ("%{msec_frac}t", "123"),
    ("%{usec_frac}t", "123456"),
    ("%%", "%"),
]


@pytest.mark.parametrize(("directive", "value"), DIRECTIVES, ids=[d for d, _ in DIRECTIVES])
def test_every_mod_log_config_directive_is_accepted(directive: str, value: str) -> None:
    fmt = compile_format(f"%h {directive} %>s")
    parsed = parse_lines([f"1.2.3.4 {value} 200"], fmt)
    assert parsed.malformed == [] and parsed.frame["status"].tolist() == [200]


@pytest.mark.parametrize("directive", ["%Z", "%{x}Q", "%J", "%{foo}a", "%{ns}T", "%{x}p"])
def test_a_directive_outside_the_table_is_exit_2_with_one_line(
    tmp_path: Path, directive: str
) -> None:
    log = tmp_path / "a.log"
    log.write_text("1.2.3.4 x 200\n")
    result = CliRunner().invoke(
        cli, ["ingest", "--path", str(log), "--log-format", f"%h {directive} %>s"]
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"unsupported Apache directive '{directive}'" in result.stderr


@pytest.mark.parametrize(
    ("argument", "text", "expected"),
    [
        ("%Y-%m-%dT%H:%M:%S", "2000-10-10T13:55:36", _utc_ms(2000, 10, 10, 13, 55, 36)),
        ("%d/%b/%Y:%H:%M:%S %z", "10/Oct/2000:13:55:36 -0700", _utc_ms(2000, 10, 10, 20, 55, 36)),
        ("%Y-%m-%d %T%z", "2000-10-10 13:55:36+0130", _utc_ms(2000, 10, 10, 12, 25, 36)),
        ("%e %B %Y %k:%M:%S", " 5 February 2024  7:00:01", _utc_ms(2024, 2, 5, 7, 0, 1)),
        ("%D %r", "02/29/24 12:30:00 AM", _utc_ms(2024, 2, 29, 0, 30, 0)),
        ("%D %r", "02/29/24 12:30:00 PM", _utc_ms(2024, 2, 29, 12, 30, 0)),
        ("%D %r", "12/31/69 01:00:00 pm", _utc_ms(1969, 12, 31, 13, 0, 0)),
        ("%a, %d %h %Y %T %Z", "Tue, 16 Apr 2024 06:21:39 UTC", _utc_ms(2024, 4, 16, 6, 21, 39)),
        ("%F", "2024-04-16", _utc_ms(2024, 4, 16, 0, 0, 0)),
        ("sec", "971186136", _utc_ms(2000, 10, 10, 13, 55, 36)),
        ("msec", "971186136123", _utc_ms(2000, 10, 10, 13, 55, 36) + 123),
        ("usec", "971186136123999", _utc_ms(2000, 10, 10, 13, 55, 36) + 123),
        ("begin:%Y%m%d%H%M%S", "20001010135536", _utc_ms(2000, 10, 10, 13, 55, 36)),
        ("end:msec", "971186136123", _utc_ms(2000, 10, 10, 13, 55, 36) + 123),
    ],
)
def test_apache_time_formats(argument: str, text: str, expected: int) -> None:
    fmt = compile_format(f"%h [%{{{argument}}}t] %>s")
    parsed = parse_lines([f"1.2.3.4 [{text}] 200"], fmt)
    assert parsed.malformed == []
    assert parsed.frame["time"].iloc[0].value // 10**6 == expected


@pytest.mark.parametrize(
    ("argument", "text"),
    [
        ("%Y-%m-%dT%H:%M:%S", "2023-02-29T00:00:00"),  # not a leap year
        ("%Y-%m-%dT%H:%M:%S", "2024-01-01T24:00:00"),
        ("%D %r", "01/01/24 13:00:00 PM"),
        ("%d/%b/%Y:%H:%M:%S %z", "10/Foo/2000:13:55:36 -0700"),
        ("%Y-%m-%d %T%z", "2000-10-10 13:55:36+2460"),
    ],
)
def test_impossible_times_are_malformed(argument: str, text: str) -> None:
    fmt = compile_format(f"%h [%{{{argument}}}t] %>s")
    assert parse_lines([f"1.2.3.4 [{text}] 200"], fmt).malformed == [f"1.2.3.4 [{text}] 200"]


def test_adjacent_time_directives_are_one_time() -> None:
    """The example of Apache's manual: date, milliseconds and offset in three directives."""
    fmt = compile_format('%h [%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t] "%r" %>s')
    line = '1.2.3.4 [10/Oct/2000 13:55:36.250 -0700] "GET /x HTTP/1.1" 200'
    parsed = parse_lines([line], fmt)
    assert parsed.frame["time"].iloc[0].value // 10**6 == _utc_ms(2000, 10, 10, 20, 55, 36) + 250
    assert not fmt.time_without_offset
    usec = compile_format("%h %{sec}t.%{usec_frac}t %>s")
    parsed = parse_lines(["1.2.3.4 971186136.999999 200"], usec)
    assert parsed.frame["time"].iloc[0].value // 10**6 == _utc_ms(2000, 10, 10, 13, 55, 36) + 999


@pytest.mark.parametrize("spec", ["%{%Y%m%d}t %{%Y%m%d}j", "%{%j}t", "%{%H:%M}t", "%{%Y%Y%m%d}t"])
def test_unreadable_time_formats_are_input_errors(spec: str) -> None:
    with pytest.raises(InputError):
        compile_format(f"%h {spec} %>s")


def test_time_without_offset_is_read_as_utc_with_a_note(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text('1.2.3.4 [2000-10-10 13:55:36] "GET / HTTP/1.1" 200\n')
    for spec, noted in (("%Y-%m-%d %T", True), ("%Y-%m-%d %T%z", False)):
        options = IngestOptions(log_format=f'%h [%{{{spec}}}t] "%r" %>s')
        if not noted:
            log.write_text('1.2.3.4 [2000-10-10 13:55:36+0000] "GET / HTTP/1.1" 200\n')
        document = run_ingest(str(log), ExecutionSettings(mode="sync"), options).to_dict()
        note = [n for n in document["notes"] if "without a UTC offset" in n]
        assert note == (
            [
                f"format 'apache:%h [%{{{spec}}}t] \"%r\" %>s' writes times without a UTC offset: "
                "they are read as UTC"
            ]
            if noted
            else []
        )
        assert document["time_range"]["first"] == "2000-10-10T13:55:36Z"


def test_tab_separated_formats() -> None:
    """A tab in a format (written \\t, as in Apache's and nginx's configuration) separates
    fields that may hold spaces."""
    line = "1.2.3.4\tbob smith\t971186136123\t404\tMozilla/5.0 (X11; Linux)\t/a b"
    for spec in (
        r"%h\t%u\t%{msec}t\t%>s\t%{User-Agent}i\t%U",
        "%h\t%u\t%{msec}t\t%>s\t%{User-Agent}i\t%U",
    ):
        parsed = parse_lines([line], compile_format(spec))
        assert parsed.malformed == []
        row = parsed.frame.iloc[0]
        assert (row["status"], row["user_agent"], row["path"]) == (
            404,
            "Mozilla/5.0 (X11; Linux)",
            "/a b",
        )
    nginx = compile_format(r"$remote_addr\t$status\t$request_time\t$http_user_agent")
    parsed = parse_lines(["1.2.3.4\t200\t0.250\tcurl/8 (x y)"], nginx)
    assert parsed.frame[["status", "latency_ms", "user_agent"]].values.tolist() == [
        [200, 250.0, "curl/8 (x y)"]
    ]


def test_a_single_space_in_a_format_is_one_space() -> None:
    """Apache and nginx write literal text exactly: padding is not accepted."""
    fmt = compile_format("$remote_addr $status")
    assert parse_lines(["1.2.3.4  200"], fmt).malformed == ["1.2.3.4  200"]


def test_nginx_lists_and_hosts() -> None:
    fmt = compile_format(
        "$host $remote_addr $http_x_forwarded_for $status $upstream_addr $upstream_status "
        "$upstream_response_length $upstream_response_time"
    )
    lines = [
        "a.example 10.0.0.9 1.1.1.1, 2.2.2.2 502 10.0.0.1:80, 10.0.0.2:80 502, 200 0, 59 "
        "0.004, 0.010",
        "- 10.0.0.9 - 200 unix:/run/app.sock 200 59 0.004 : 0.010",
        "b.example 10.0.0.9 - 200 [::1]:80 - - -",
    ]
    parsed = parse_lines(lines, fmt)
    assert parsed.malformed == []
    latency = parsed.frame["latency_ms"].tolist()
    assert latency[:2] == [14.0, 14.0] and math.isnan(latency[2])
    assert parsed.frame["host"].tolist()[::2] == ["a.example", "b.example"]
    assert parsed.frame["host"].isna().tolist() == [False, True, False]


def test_server_name_and_apache_virtual_hosts_fill_host() -> None:
    nginx = parse_lines(["site.test 200"], compile_format("$server_name $status"))
    apache = parse_lines(["site.test:443 200"], compile_format("%v:%p %>s"))
    assert nginx.frame["host"].tolist() == apache.frame["host"].tolist() == ["site.test"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2000-10-10T13:55:36+02:00", _utc_ms(2000, 10, 10, 11, 55, 36)),
        ("2000-10-10T13:55:36+0200", _utc_ms(2000, 10, 10, 11, 55, 36)),
        ("2000-10-10T13:55:36Z", _utc_ms(2000, 10, 10, 13, 55, 36)),
        ("2000-10-10T13:55:36.987-07:00", _utc_ms(2000, 10, 10, 20, 55, 36) + 987),
        ("2000-10-10T13:55:36-0930", _utc_ms(2000, 10, 10, 23, 25, 36)),
    ],
)
def test_iso_8601_times_with_any_offset(text: str, expected: int) -> None:
    parsed = parse_lines([f"{text} 200"], compile_format("$time_iso8601 $status"))
    assert parsed.malformed == []
    assert parsed.frame["time"].iloc[0].value // 10**6 == expected


def test_envoy_lines_with_fields_after_the_default_ones() -> None:
    """Newer Envoy setups (Istio's) append fields to the default format: they are ignored."""
    line = (
        '[2024-01-01T00:00:00.000Z] "GET /a HTTP/2" 200 - via_upstream - "-" 0 12 7 6 "-" "curl/8" '
        '"id" "a.test" "10.0.0.1:80" outbound|80||a.test 10.0.0.2:4000 10.0.0.3:80 - default'
    )
    parsed = parse_lines([line], preset("envoy"))
    assert parsed.malformed == [line]  # not the default field order: no guessing
    appended = (
        '[2024-01-01T00:00:00.000Z] "GET /a HTTP/2" 200 - 0 12 7 6 "-" "curl/8" "id" "a.test" '
        '"10.0.0.1:80" outbound|80||a.test 10.0.0.2:4000'
    )
    frame = parse_lines([appended], preset("envoy")).frame
    assert frame[["path", "status", "latency_ms", "bytes", "host"]].values.tolist() == [
        ["/a", 200, 7.0, 12, "a.test"]
    ]
