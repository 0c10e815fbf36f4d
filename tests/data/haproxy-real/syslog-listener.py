"""Receives haproxy's log datagrams on 127.0.0.1 (UDP) and writes each to a file, a line each.

Usage: python3 syslog-listener.py PORT=FILE[:strip-pri] ... (runs until SIGTERM). With
:strip-pri, the leading <PRI> of an RFC 3164 message is dropped, as a syslog daemon does when it
writes a log file; the rest of the message is written as haproxy sent it.
"""

import re
import select
import signal
import socket
import sys
from typing import Any


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sockets: dict[socket.socket, tuple[Any, bool]] = {}
    for arg in sys.argv[1:]:
        port, spec = arg.split("=", 1)
        path, _sep, option = spec.partition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", int(port)))
        sockets[sock] = (open(path, "wb"), option == "strip-pri")  # noqa: SIM115 - open until killed
    while True:
        ready, _, _ = select.select(list(sockets), [], [])
        for sock in ready:
            out, strip = sockets[sock]
            data = sock.recv(65536).rstrip(b"\n")
            if strip:
                data = re.sub(rb"^<\d+>", b"", data)
            out.write(data + b"\n")
            out.flush()


if __name__ == "__main__":
    main()
