"""The origin server behind the proxies of the real-server samples (haproxy, squid, varnish).

Serves the paths that real-requests.sh asks for, the same way every time. Listens on 127.0.0.1
only. Usage: python3 real-origin.py PORT (runs until killed).
"""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LARGE = b"x" * 200000


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "origin/1"
    sys_version = ""

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if self.command == "PUT":
            self.reply(201, b"created\n")
        elif self.command == "DELETE":
            self.reply(405, b"not allowed\n", Allow="GET, HEAD, POST, PUT")
        elif path in ("/", "/index.html"):
            self.reply(200, b"hello\n")
        elif path == "/dir":
            self.reply(301, b"moved\n", Location="/dir/")
        elif path == "/dir/":
            self.reply(200, b"hello dir\n")
        elif path == "/large":
            self.reply(200, LARGE)
        elif path == "/error":
            self.reply(500, b"error\n")
        elif path == "/form" and self.command == "POST":
            self.reply(200, b"posted\n")
        elif path == "/cached":
            self.reply(200, b"cached\n", Cache_Control="max-age=60")
        elif path == "/slow":
            time.sleep(0.2)
            self.reply(200, b"slow\n")
        elif path == "/caf%C3%A9/na%20me.html":
            self.reply(200, b"escaped\n")
        else:
            self.reply(404, b"not found\n")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # proxies reset idle keep-alive connections: nothing to report


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Origin).serve_forever()
