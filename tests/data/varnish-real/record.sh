#!/usr/bin/env bash
# Records the logs in this directory with a real varnish: Debian varnish 7.1.1-2+deb12u1
# ("varnishd (varnish-7.1.1 revision 7cee1c581bead20e88d101ab3d72afb29f14d87a)"), in front of
# ../real-origin.py (default.vcl.in), sent the request set of ../real-requests.sh, then /cached
# twice (a miss, then a hit), /dead (503 from Varnish: no backend), an HTTP/1.0 request without
# a Host header (varnishncsa writes "localhost" as its host), a PURGE (piped to the origin by the
# built-in VCL: status and size are "-") and a client that gives up on /slow after 50 ms (the
# first /slow is cached by then, so it is a quick 200). Varnish caches GETs by default (120 s),
# so repeated requests are hits. When the requests are done, varnishncsa reads the
# whole shared-memory log (-d) and writes:
#   access.log  varnishncsa's default output (its default format, combined)
#   time.log    the default format plus %D (microseconds), as a -F format
# Listens on 127.0.0.1 only (free high ports) and stops everything it started.
# Usage: bash record.sh (needs varnish, curl, python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../real-requests.sh"
start_recording
origin=$(free_port) dead=$(free_port) port=$(free_port)
python3 "$here/../real-origin.py" "$origin" & pids+=($!)
sed -e "s|@ORIGIN@|$origin|g" -e "s|@DEAD@|$dead|g" "$here/default.vcl.in" > "$dir/default.vcl"
wait_port "$origin"
TZ=UTC varnishd -F -j none -n "$dir/work" -a "127.0.0.1:$port" -T none -f "$dir/default.vcl" \
    -s malloc,32m > "$dir/varnishd.out" 2>&1 & pids+=($!)
varnishd_pid=$!
wait_port "$port"
base="http://127.0.0.1:$port"
send_requests "$base"
curl -s -o /dev/null -A 'curl/7.88.1' "$base/cached" || true
curl -s -o /dev/null -A 'curl/7.88.1' "$base/cached" || true
curl -s -o /dev/null -A 'curl/7.88.1' "$base/dead" || true
curl -s -o /dev/null -A 'curl/7.88.1' --http1.0 -H 'Host:' "$base/nohost" || true
curl -s -o /dev/null -A 'curl/7.88.1' -X PURGE "$base/cached" || true
curl -s -o /dev/null -A 'curl/7.88.1' --max-time 0.05 "$base/slow" || true
sleep 0.5  # the aborted /slow ends when the origin answers
TZ=UTC varnishncsa -d -n "$dir/work" -w "$dir/access.log"
TZ=UTC varnishncsa -d -n "$dir/work" -w "$dir/time.log" \
    -F '%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i" %D'
kill -TERM "$varnishd_pid"
wait_gone "$varnishd_pid"
for log in access time; do cp "$dir/$log.log" "$here/$log.log"; done
varnishd -V 2>&1 | head -1 > "$here/VERSION"
