#!/usr/bin/env bash
# Records the log in this directory with a real caddy: Debian caddy 2.6.2-5 ("2.6.2"), serving
# static files (Caddyfile.in), sent the request set of ../real-requests.sh: /dir is a configured
# 301, /error a configured 500, /slow a reverse proxy to a port nothing listens on (502); this
# file_server answers any method: POST and PUT on missing files are 404, DELETE on a file is
# 200. Durations are seconds with nine decimals (0.000030557); the log level of 4xx and 5xx
# lines is "error".
#   access.log  Caddy's JSON access log (format json), a JSON object a line
# Listens on 127.0.0.1 only (a free high port) and stops everything it started.
# Usage: bash record.sh (needs caddy, curl, python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../real-requests.sh"
start_recording
port=$(free_port) dead=$(free_port)
make_docroot "$dir/www"
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@DEAD@|$dead|g" "$here/Caddyfile.in" \
    > "$dir/Caddyfile"
HOME=$dir XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config TZ=UTC \
    caddy run --config "$dir/Caddyfile" --adapter caddyfile > "$dir/caddy.out" 2>&1 & pids+=($!)
caddy_pid=$!
wait_port "$port"
send_requests "http://127.0.0.1:$port"
kill -INT "$caddy_pid"
wait_gone "$caddy_pid"
cp "$dir/access.log" "$here/access.log"
caddy version > "$here/VERSION"
