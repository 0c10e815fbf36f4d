"""Derive container-wrapped logs from our real-server recordings, as the runtimes write them.

Docker's json-file driver writes each line a container prints as one JSON object
(``{"log": "<line>\\n", "stream": "stdout", "time": "<RFC 3339, ns>"}``, Go's encoding/json: keys
in that order, ``<``, ``>`` and ``&`` escaped as ``\\u003c`` ...); the Kubernetes CRI runtimes
(containerd, CRI-O) write ``<RFC 3339 ns time> stdout F <line>``; a shipper (Filebeat, Vector)
writes the line in ``message`` with an ``@timestamp``. The time each runtime stamps is when the
line was written, so here the request's own time (its ``[%d/%b/%Y:%H:%M:%S %z]``) plus a few
nanoseconds. Our own grammar has no time: its lines get increasing times from 2026-12-07T05:00Z.

Usage (from the repository root): python3 tests/data/wrap-real.py; writes tests/data/wrapped-real/.
"""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "wrapped-real"

#: (output file, wrapper, source file) for each derived log.
DERIVED = (
    ("docker-nginx-combined.log", "docker", "nginx-real/utc/combined.log"),
    ("cri-apache2-combined.log", "cri", "apache2-real/combined.log"),
    ("message-nginx-main.log", "message", "nginx-real/utc/main.log"),
    ("cri-default.log", "cri", "../../data/logs/sample.log"),
)

START = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)


def stamp(line: str, index: int) -> str:
    """RFC 3339 with nanoseconds: the line's CLF time, or START + index seconds."""
    try:
        clf = line.split("[", 1)[1].split("]", 1)[0]
        moment = datetime.strptime(clf, "%d/%b/%Y:%H:%M:%S %z").astimezone(timezone.utc)
    except (IndexError, ValueError):
        moment = START + timedelta(seconds=index)
    nanos = 123456789 + index  # a different sub-second on each line, as a runtime's clock gives
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def go_json(value: object) -> str:
    """JSON as Go's encoding/json writes it (HTML characters escaped, no spaces)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def wrap(line: str, wrapper: str, index: int) -> str:
    time = stamp(line, index)
    if wrapper == "docker":
        return go_json({"log": line + "\n", "stream": "stdout", "time": time})
    if wrapper == "cri":
        return f"{time} stdout F {line}"
    return go_json({"@timestamp": time, "message": line, "stream": "stdout"})


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, wrapper, source in DERIVED:
        lines = (HERE / source).read_text().splitlines()[:20]
        text = "".join(wrap(line, wrapper, i) + "\n" for i, line in enumerate(lines))
        (OUT / name).write_text(text)


if __name__ == "__main__":
    main()
