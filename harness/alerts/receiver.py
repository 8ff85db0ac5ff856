"""A webhook receiver for Alertmanager that records every notification with its arrival time.

Run as: python -m harness.alerts.receiver --host 127.0.0.1 --port 19094 --out notifications.jsonl

    POST /hooks/{receiver}            Alertmanager's webhook JSON (version 4): one line in --out, 200
    GET  /notifications?since=SECONDS the recorded notifications with received_at >= since
    GET  /-/ready                     200

A recorded line is the payload's fields plus `received_at` (time.time() when the request
arrived, unix seconds) and `receiver` (the name in the path, which wins over the payload's
own `receiver`; the generated Alertmanager config makes them equal). The file keeps every
notification; memory keeps the last MAX_IN_MEMORY, loaded from the file at start so a
restart keeps the history.

Why the standard library's ThreadingHTTPServer rather than FastAPI/uvicorn: three endpoints
whose only validation is "a JSON object", so a framework buys nothing; it imports and binds
in milliseconds (the supervisor waits for it before Alertmanager); a thread per request
means a slow reader of /notifications never delays the timestamp of a delivery; and there
is no event loop that a blocking file write could stall.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["MAX_IN_MEMORY", "Recorder", "main", "make_server"]

MAX_IN_MEMORY = 10_000
MAX_BODY = 8 * 1024 * 1024  # Alertmanager's payloads are kilobytes; refuse anything absurd
HOOK = re.compile(r"^/hooks/([A-Za-z0-9_.-]+)$")


class Recorder:
    """Notifications in arrival order: appended whole to a JSON-lines file, the last
    `limit` kept in memory."""

    def __init__(self, path: Path, limit: int = MAX_IN_MEMORY) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._recent: deque[dict[str, Any]] = deque(_load(path), maxlen=limit)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def record(self, receiver: str, payload: dict[str, Any], received_at: float) -> dict[str, Any]:
        entry = {"received_at": received_at, **payload, "receiver": receiver}
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:  # one write of one whole line, never interleaved with another
            self._file.write(line)
            self._file.flush()
            self._recent.append(entry)
        return entry

    def since(self, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            recent = list(self._recent)
        return [e for e in recent if since is None or e["received_at"] >= since]

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _load(path: Path) -> list[dict[str, Any]]:
    """Every whole line of a previous run's file; a line cut short by a crash is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("received_at"), int | float):
            out.append(entry)
    return out


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "harness-alert-receiver"

    def do_POST(self) -> None:
        received_at = time.time()  # at arrival, before the body is read
        match = HOOK.match(urlsplit(self.path).path)
        if match is None:
            return self._reply(404, {"error": "post to /hooks/<receiver>"})
        payload, problem = self._read_json()
        if problem:
            return self._reply(400 if problem != "too large" else 413, {"error": problem})
        self.server.recorder.record(match.group(1), payload, received_at)
        self._reply(200, {"status": "recorded"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/-/ready":
            return self._reply(200, {"status": "ready"})
        if url.path != "/notifications":
            return self._reply(404, {"error": "GET /notifications or /-/ready"})
        since = parse_qs(url.query).get("since", [None])[-1]
        try:
            threshold = float(since) if since not in (None, "") else None
        except ValueError:
            return self._reply(400, {"error": f"since={since!r}: give unix seconds"})
        self._reply(200, self.server.recorder.since(threshold))

    def _read_json(self) -> tuple[dict[str, Any], str | None]:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return {}, "a Content-Length header is required"
        if length > MAX_BODY:
            return {}, "too large"
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError as exc:
            return {}, f"not JSON: {exc}"
        if not isinstance(payload, dict):
            return {}, "the body must be a JSON object (Alertmanager's webhook payload)"
        return payload, None

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.command == "POST" or str(code) != "200":  # not every readiness poll
            super().log_request(code, size)

    def log_message(self, format: str, *args: Any) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        sys.stderr.write(f"{stamp} alert-receiver: {self.address_string()} {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], recorder: Recorder) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.recorder = recorder
        super().__init__(address, _Handler)


def make_server(host: str, port: int, out: Path) -> _Server:
    """A bound server (port 0: any free port, see `server_address`); call serve_forever()."""
    return _Server((host.strip("[]"), port), Recorder(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="the only address bound")
    parser.add_argument("--port", type=int, default=19094)
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file (appended)")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.out)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"alert-receiver: listening on {args.host}:{args.port}, recording to {args.out}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.recorder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
