#!/usr/bin/env bash
# Records the logs in this directory with a real squid: Debian squid 5.7-2+deb12u6 ("Squid Cache:
# Version 5.7"), a forward proxy (squid.conf.in) in front of ../real-origin.py, sent the request
# set of ../real-requests.sh through the proxy, then: /cached twice (TCP_MISS, then a memory hit),
# a client that gives up on /slow after 50 ms (an aborted transaction), a port that nothing
# listens on (TCP_MISS/503), a port the ACL denies, for GET and for CONNECT (TCP_DENIED/403),
# and an empty connection (NONE_NONE/000, error:transaction-end-before-headers).
#   access.log    squid's native format (padded columns, elapsed ms, CODE/status)
#   combined.log  the same requests in squid's predefined "combined" logformat
# Listens on 127.0.0.1 only (free high ports) and stops everything it started.
# Usage: bash record.sh (needs squid, curl, python3; runs squid as root, which drops to proxy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../real-requests.sh"
start_recording
chmod 755 "$dir"
chown proxy: "$dir"
origin=$(free_port) dead=$(free_port) port=$(free_port) denied=$(free_port)
python3 "$here/../real-origin.py" "$origin" & pids+=($!)
sed -e "s|@DIR@|$dir|g" -e "s|@ORIGIN@|$origin|g" -e "s|@DEAD@|$dead|g" -e "s|@PORT@|$port|g" \
    "$here/squid.conf.in" > "$dir/squid.conf"
wait_port "$origin"
TZ=UTC squid -N -f "$dir/squid.conf" 2> "$dir/squid.err" & pids+=($!)
squid_pid=$!
wait_port "$port"
proxy=(-x "http://127.0.0.1:$port")
base="http://127.0.0.1:$origin"
send_requests "$base" "${proxy[@]}"
curl -s -o /dev/null "${proxy[@]}" -A 'curl/7.88.1' "$base/cached" || true
curl -s -o /dev/null "${proxy[@]}" -A 'curl/7.88.1' "$base/cached" || true
curl -s -o /dev/null "${proxy[@]}" -A 'curl/7.88.1' --max-time 0.05 "$base/slow" || true
curl -s -o /dev/null "${proxy[@]}" -A 'curl/7.88.1' "http://127.0.0.1:$dead/" || true
curl -s -o /dev/null "${proxy[@]}" -A 'curl/7.88.1' "http://127.0.0.1:$denied/" || true
curl -s -o /dev/null "${proxy[@]}" -A 'curl/7.88.1' "https://127.0.0.1:$denied/" || true
empty_connection "$port"
sleep 0.5  # the aborted /slow is logged when the origin's answer comes
kill -TERM "$squid_pid"
wait_gone "$squid_pid"
for log in access combined; do cp "$dir/$log.log" "$here/$log.log"; done
squid -v | head -1 > "$here/VERSION"
