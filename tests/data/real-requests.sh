# Shared by the */record.sh scripts of the real-server samples (sourced, not run): the fixed set
# of curl requests each server is sent, in this order, plus small helpers. Paths the servers know:
# / and /index.html (200), /dir (301 to /dir/), /large (200, 200000 bytes), /error (a 5xx: the
# origin's 500, or each server's own way to fail), /form (POST), /slow (0.2 s) and /cached
# (Cache-Control: max-age=60) on the proxies' origin only,
# /caf%C3%A9/na%20me.html (a %-escaped name); anything else is a 404.

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: waits (up to 10 s) until something listens on 127.0.0.1:PORT. It reads
# /proc/net/tcp instead of connecting, so no probe connection shows in a log.
wait_port() {
    local i hex
    hex=$(printf ':%04X 00000000:0000 0A' "$1")
    for i in $(seq 100); do
        grep -q "0100007F$hex" /proc/net/tcp && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

# wait_gone PID: waits (up to 10 s) until process PID has exited.
wait_gone() {
    local i
    for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    echo "process $1 did not stop" >&2
    return 1
}

# make_docroot DIR: the files the web servers serve (the proxies' origin serves the same).
make_docroot() {
    mkdir -p "$1/dir" "$1/café"
    printf 'hello\n' > "$1/index.html"
    printf 'hello dir\n' > "$1/dir/index.html"
    printf 'escaped\n' > "$1/café/na me.html"
    head -c 200000 /dev/zero | tr '\0' 'x' > "$1/large"
    chmod -R a+rX "$1"
}

# send_requests BASE [CURL_OPTION...]: the fixed request set, against BASE (http://host:port),
# each curl call also given the extra options (a proxy, say). Failures are ignored: a few
# requests are meant to fail.
send_requests() {
    local base=$1
    shift
    c() { curl -s -o /dev/null --max-time 10 "$@" || true; }
    c "$@" -A 'curl/7.88.1' "$base/"
    c "$@" -A 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0' \
        -e "$base/" "$base/index.html?q=log+files&page=2&x=%22y%22"
    c "$@" -A 'curl/7.88.1' "$base/missing"
    c "$@" -A 'curl/7.88.1' "$base/dir"
    c "$@" -A 'curl/7.88.1' "$base/dir/"
    c "$@" -A 'Wget/1.21.3' "$base/large"
    c "$@" -A 'curl/7.88.1' "$base/error"
    c "$@" -A 'curl/7.88.1' "$base/caf%C3%A9/na%20me.html"
    c "$@" -A 'python-requests/2.31.0' -X POST -d 'a=1&b=two' "$base/form"
    c "$@" -A 'curl/7.88.1' -X PUT --data-binary 'put body' "$base/upload.txt"
    c "$@" -A 'curl/7.88.1' -X DELETE "$base/index.html"
    c "$@" -A 'curl/7.88.1' -I "$base/"
    c "$@" -A 'evil "quoted" agent \ with backslash' "$base/"
    c "$@" -A 'Googlebot/2.1 (+http://www.google.com/bot.html)' "$base/index.html"
    c "$@" -A '' "$base/"  # no User-Agent header at all
    c "$@" -A 'curl/7.88.1' "$base/slow"
    c "$@" -A 'curl/7.88.1' "$base/"
}

# empty_connection PORT: opens a TCP connection to 127.0.0.1:PORT and closes it without sending
# anything (servers log these differently: haproxy <BADREQ>, squid NONE_NONE/000, ...).
empty_connection() {
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1)).close()"
}

# A temporary directory "$dir" for the server's files, and "$pids", the processes started (append
# with pids+=($!)): at exit every one is stopped and waited for, and the directory removed.
start_recording() {
    dir=$(mktemp -d)
    pids=()
    trap stop_recording EXIT
}

stop_recording() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
