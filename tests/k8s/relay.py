"""A TCP relay to the test bed's API server that a test can cut: a runtime connected
through it loses its control plane (every connection closed, nothing listening) while
the session's bed runs on for the other tests."""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Relay"]


class Relay:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Stop listening and close every relayed connection, both ends."""
        with self._lock:
            self._cut = True
            _close(self._listener)  # shutdown wakes the accept (close alone would not)
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # cut
                return
            server = socket.create_connection(self.target, timeout=5)
            server.settimeout(None)  # an idle keep-alive connection stays open
            with self._lock:
                if self._cut:
                    _close(client)
                    _close(server)
                    return
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
