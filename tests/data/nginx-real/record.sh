#!/usr/bin/env bash
# Records the logs in this directory with a real nginx (Debian nginx-light 1.22.1), once per time
# zone: utc/ (+0000), plus0200/ (+0200) and minus0530/ (-0530). Listens on 127.0.0.1 only and
# stops its own nginx (by the pid in its pid file) when done. Usage: bash record.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run() {  # run NAME TZ PORT
    local name=$1 tz=$2 port=$3 dir
    dir=$(mktemp -d)
    chmod 755 "$dir"  # the workers run as nobody
    mkdir -p "$dir/www/back" "$dir/tmp"
    printf 'hello\n' > "$dir/www/index.html"
    printf 'hello\n' > "$dir/www/back/index.html"
    head -c 60000 /dev/zero | tr '\0' 'x' > "$dir/www/slow"
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@BACK@|$((port + 1))|g" \
        -e "s|@DEAD@|$((port + 2))|g" "$here/nginx.conf.in" > "$dir/nginx.conf"
    TZ=$tz nginx -c "$dir/nginx.conf"
    python3 "$here/requests.py" "$port"
    kill -QUIT "$(cat "$dir/nginx.pid")"
    while [ -e "$dir/nginx.pid" ]; do sleep 0.1; done
    mkdir -p "$here/$name"
    for log in combined main upstream vars json; do cp "$dir/$log.log" "$here/$name/$log.log"; done
    rm -rf "$dir"
}
run utc UTC 18431
run plus0200 UTC-02:00 18441   # POSIX TZ: "UTC-02:00" is two hours *ahead* of UTC
run minus0530 UTC+05:30 18451
