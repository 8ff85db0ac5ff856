"""A trivial HTTP/1.1 target for the load-generator benchmark: 200 at once, keep-alive.

`GET /stall?at=T&for=S` (T on CLOCK_MONOTONIC, shared by every process on the host)
makes every request that arrives in [T, T+S) wait until T+S before it is answered:
the target stalls, as a GC pause or a lock would, while connections are still
accepted and requests still read.

    .venv/bin/python -m bench.http_target [--port 0] [--cpu 1]

Prints the port it listens on, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from urllib.parse import parse_qs, urlsplit

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
_window = [0.0, 0.0]  # [start, end) of the stall, monotonic seconds


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.monotonic()
            line, *headers = head.decode("latin-1").split("\r\n")
            length = _content_length(headers)
            if length:
                await reader.readexactly(length)
            target = line.split(" ")[1] if " " in line else "/"
            if target.startswith("/stall"):
                _set_window(target)
            elif _window[0] <= arrived < _window[1]:
                await asyncio.sleep(_window[1] - time.monotonic())
            writer.write(_OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _content_length(headers: list[str]) -> int:
    for header in headers:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-length":
            return int(value)
    return 0


def _set_window(target: str) -> None:
    query = parse_qs(urlsplit(target).query)
    start = float(query["at"][0])
    _window[:] = [start, start + float(query["for"][0])]


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cpu", type=int, default=None, help="pin to this core")
    args = ap.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(main(args.port))
