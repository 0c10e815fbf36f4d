#!/usr/bin/env bash
# Records the log in this directory with a real lighttpd: Debian lighttpd 1.4.69-1
# ("lighttpd/1.4.69 (ssl) - a light and fast webserver"), serving static files
# (lighttpd.conf.in), sent the request set of ../real-requests.sh (Host 127.0.0.1:PORT), then
# two requests with Host: other.example.test. /dir is lighttpd's 301, /error a proxy to a port
# nothing listens on (503), /slow proxied to ../real-origin.py (about 0.2 s), POST and PUT on
# missing files 404, DELETE 501. This format has no latency.
#   access.log  mod_accesslog's default format:
#               %h %V %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" (%V: the Host asked for)
# Listens on 127.0.0.1 only (free high ports) and stops everything it started.
# Usage: bash record.sh (needs lighttpd, curl, python3; runs as root, serves as www-data)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../real-requests.sh"
start_recording
chmod 755 "$dir"
chown www-data: "$dir"  # lighttpd opens its logs as www-data
origin=$(free_port) dead=$(free_port) port=$(free_port)
make_docroot "$dir/www"
python3 "$here/../real-origin.py" "$origin" & pids+=($!)
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@ORIGIN@|$origin|g" -e "s|@DEAD@|$dead|g" \
    "$here/lighttpd.conf.in" > "$dir/lighttpd.conf"
wait_port "$origin"
TZ=UTC lighttpd -D -f "$dir/lighttpd.conf" & pids+=($!)
lighttpd_pid=$!
wait_port "$port"
base="http://127.0.0.1:$port"
send_requests "$base"
curl -s -o /dev/null -A 'curl/7.88.1' -H 'Host: other.example.test' "$base/" || true
curl -s -o /dev/null -A 'curl/7.88.1' -H 'Host: other.example.test' "$base/missing" || true
kill -TERM "$lighttpd_pid"
wait_gone "$lighttpd_pid"
cp "$dir/access.log" "$here/access.log"
lighttpd -v | head -1 > "$here/VERSION"
