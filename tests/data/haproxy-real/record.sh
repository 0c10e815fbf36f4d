#!/usr/bin/env bash
# Records the logs in this directory with a real haproxy: Debian haproxy 2.6.12-1+deb12u4
# ("HAProxy version 2.6.12-1+deb12u4"). Three frontends (haproxy.cfg.in), each sent the request
# set of ../real-requests.sh plus /dead (503, no server), a client that gives up on /slow after
# 50 ms (haproxy still logs the origin's 200: no abortonclose), and an
# empty connection; an origin (../real-origin.py) answers behind them. Logs go as UDP datagrams
# to syslog-listener.py:
#   httplog.log  option httplog (the 1.9+ default: timers end with Ta), no prefix
#   syslog.log   option httplog as RFC 3164 syslog lines (no <PRI>), captured User-Agent and Host
#   tt.log       the 1.8-era layout whose timers end with Tt (a log-format)
# Each file ends with the line haproxy logs when it stops ("Proxy NAME stopped (...)."): it is
# kept, as a real log has it.
# Listens on 127.0.0.1 only (free high ports) and stops everything it started.
# Usage: bash record.sh (needs haproxy, curl, python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../real-requests.sh"
start_recording
origin=$(free_port) dead=$(free_port)
p1=$(free_port) p2=$(free_port) p3=$(free_port)
l1=$(free_port) l2=$(free_port) l3=$(free_port)
python3 "$here/../real-origin.py" "$origin" & pids+=($!)
python3 "$here/syslog-listener.py" "$l1=$dir/httplog.log" "$l2=$dir/syslog.log:strip-pri" \
    "$l3=$dir/tt.log" & pids+=($!)
sed -e "s|@DIR@|$dir|g" -e "s|@ORIGIN@|$origin|g" -e "s|@DEAD@|$dead|g" \
    -e "s|@P1@|$p1|g" -e "s|@P2@|$p2|g" -e "s|@P3@|$p3|g" \
    -e "s|@L1@|$l1|g" -e "s|@L2@|$l2|g" -e "s|@L3@|$l3|g" "$here/haproxy.cfg.in" > "$dir/haproxy.cfg"
wait_port "$origin"
TZ=UTC haproxy -db -f "$dir/haproxy.cfg" 2> "$dir/haproxy.err" & pids+=($!)
haproxy_pid=$!
for port in "$p1" "$p2" "$p3"; do
    wait_port "$port"
    send_requests "http://127.0.0.1:$port"
    curl -s -o /dev/null -A 'curl/7.88.1' "http://127.0.0.1:$port/dead" || true
    curl -s -o /dev/null -A 'curl/7.88.1' --max-time 0.05 "http://127.0.0.1:$port/slow" || true
    empty_connection "$port"
done
sleep 0.5  # the aborted /slow and the empty connections are logged when they end
kill -USR1 "$haproxy_pid"  # soft stop
wait_gone "$haproxy_pid"
sleep 0.2
for log in httplog syslog tt; do cp "$dir/$log.log" "$here/$log.log"; done
haproxy -v | head -1 > "$here/VERSION"
