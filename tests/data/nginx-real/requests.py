"""The requests record.sh sends: ordinary ones with curl-like headers, and nasty raw ones."""

import socket
import sys
import time
import urllib.request

PORT = int(sys.argv[1]) if __name__ == "__main__" else 0


def get(path: str, agent: str | None = "curl/7.88.1", method: str = "GET", **headers: str) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", method=method)
    if agent is not None:
        request.add_header("User-Agent", agent)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        urllib.request.urlopen(request, data=b"x=1" if method in ("POST", "PUT") else None).read()
    except urllib.error.HTTPError as exc:
        exc.read()


def raw(data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", PORT)) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass


def main() -> None:
    """Send every request once, in this order (the logs keep it)."""
    get("/")
    get("/api/items/42?x=1&y=%22", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
    get("/missing")
    get("/slow")
    get("/pair/index.html")
    get("/pair/index.html", "Wget/1.21")
    get("/pair/slow", "okhttp/4.12")
    get("/redirect/x")
    get("/redirect-static/y")
    get("/back/slow", "python-requests/2.31")
    get("/", "Googlebot/2.1 (+http://www.google.com/bot.html)", X_Forwarded_For="2001:db8::1")
    get("/v6?x=1", "curl/7.88.1", X_Forwarded_For="fe80::1ff:fe23:4567:890a")
    get("/", 'evil "quoted" agent \\ backslash')
    get("/", "caf\u00e9 agent".encode().decode("latin-1"))
    get("/", None)
    get("/post", method="POST")
    get("/", method="DELETE")
    get("/", method="HEAD")
    raw(b"\x16\x03\x01\x00\xca\x01\x00\x00\xc6\x03\x03")
    raw(b"GARBAGE\r\n\r\n")
    raw(b"GET /http09\r\n")
    raw(b"get /lower HTTP/1.1\r\nHost: x\r\n\r\n")
    raw(b'GET /a"b HTTP/1.1\r\nHost: x\r\nUser-Agent: tab\there\r\n\r\n')
    raw(b"GET /p\xc3\xa4th/\xc3\xbcnicode?q=\xe2\x82\xac HTTP/1.1\r\nHost: x\r\n\r\n")
    raw(b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")
    raw(b"GET /x HTTP/1.1\r\nHost: x\r\nUser-Agent: \r\n\r\n")
    raw(b"PURGE /cache HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)


if __name__ == "__main__":
    main()
