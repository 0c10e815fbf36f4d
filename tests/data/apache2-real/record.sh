#!/usr/bin/env bash
# Records the logs in this directory with a real Apache: Debian apache2 2.4.71-1~deb12u1
# ("Server version: Apache/2.4.71 (Debian)"), serving static files (apache2.conf.in), sent the
# request set of ../real-requests.sh (Host 127.0.0.1:PORT: the default virtual host), then three
# requests for the other virtual host (Host: other.example.test). /dir is mod_dir's 301, /error a
# configured 500, /slow proxied to ../real-origin.py (about 0.2 s), PUT and DELETE are 405.
# Every request is in each file:
#   combined.log        Debian's combined (%O: bytes sent, headers included)
#   combined-D.log      combined + %D (microseconds)
#   combined-msT.log    combined + %{ms}T (milliseconds)
#   vhost_combined.log  Debian's vhost_combined (%v:%p before combined; %p is the canonical
#                       port, 80, since the ServerNames name none)
# Listens on 127.0.0.1 only (free high ports) and stops everything it started.
# Usage: bash record.sh (needs apache2, curl, python3; runs as root, workers as www-data)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../real-requests.sh"
start_recording
chmod 755 "$dir"
origin=$(free_port) port=$(free_port)
make_docroot "$dir/www"
python3 "$here/../real-origin.py" "$origin" & pids+=($!)
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@ORIGIN@|$origin|g" "$here/apache2.conf.in" \
    > "$dir/apache2.conf"
wait_port "$origin"
TZ=UTC apache2 -f "$dir/apache2.conf" -DFOREGROUND & pids+=($!)
apache_pid=$!
wait_port "$port"
base="http://127.0.0.1:$port"
send_requests "$base"
curl -s -o /dev/null -A 'curl/7.88.1' -H 'Host: other.example.test' "$base/" || true
curl -s -o /dev/null -A 'curl/7.88.1' -H 'Host: other.example.test' "$base/missing" || true
curl -s -o /dev/null -A 'curl/7.88.1' -H 'Host: other.example.test' "$base/slow" || true
kill -TERM "$apache_pid"
wait_gone "$apache_pid"
for log in combined combined-D combined-msT vhost_combined; do cp "$dir/$log.log" "$here/$log.log"; done
apache2 -v | head -1 > "$here/VERSION"
