"""Child processes of the test bed: free loopback ports, one process group per component,
stopped by PID. Nothing is found or signalled by name."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# Below the kernel's ephemeral range (32768+), so no outgoing connection takes one between
# the check and the bind; above the test stacks' shifted ports (7xxx to 29xxx, see OFFSET in
# tests/integration/*.py); none of Kubernetes' standard ports lie here.
PORT_RANGE = range(30000, 32768)
STANDARD_PORTS = frozenset({6443, 2379, 2380, 2381, 10247, 10250, 10257, 10259, 10080, 9443})


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, rng: random.Random | None = None) -> list[int]:
    """`count` distinct ports of PORT_RANGE free on 127.0.0.1 now, from a random start
    (two beds started at once rarely probe the same ports)."""
    rng = rng or random.Random()
    candidates = [p for p in PORT_RANGE if p not in STANDARD_PORTS]
    start = rng.randrange(len(candidates))
    chosen: list[int] = []
    for port in candidates[start:] + candidates[:start]:
        if _free(port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"fewer than {count} free ports in {PORT_RANGE}")


@dataclass
class Component:
    """One running component: its PID (the leader of its own process group) and log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        """The end of its log, for a failure message."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to its process group, SIGKILL after `grace` s; reaps it."""
        if self.process.poll() is not None:
            return
        _signal_group(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.pid, signal.SIGKILL)
            self.process.wait(timeout=grace)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # the group's id is the PID we started (start_new_session), never a looked-up name
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even by SIGKILL (PR_SET_PDEATHSIG),
    so a killed pytest leaves no API server behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def spawn(
    name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> Component:
    """Start `argv` in its own session (process group), stdout and stderr to log_dir/name.log."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    return Component(name=name, process=process, log=log)
