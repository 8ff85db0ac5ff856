"""The one rule for every address an experiment makes the harness send requests to.

The load target's URL and an HTTP check's target both pass `loopback_url`: loopback
only. The topology's own addresses (its proxies, replicas and backing services) are
loopback-only too, so every address of a topology passes, and nothing else does.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from harness.secrets import REFERENCE, redact, reference_problems

__all__ = ["is_loopback", "loopback_url"]


def loopback_url(url: str) -> str:
    """A pydantic validator: an http(s) base URL whose host is loopback, else ValueError.

    Loopback is 127.0.0.0/8, ::1 or the name localhost (no other name is resolved). The
    load generator sends open-loop traffic, up to thousands of requests a second, while
    faults make the target misbehave: aimed at another host that is an unannounced load
    test on a system nobody agreed to hurt. So this tool only sends traffic to loopback,
    and this one function is where that rule lives. `${...}` (a secret, see
    `harness.secrets`) may stand only in the `user:password@` part: the address is
    checked as written, so it must be written out.
    """
    problems = reference_problems(url)
    if problems:
        raise ValueError(problems[0])
    shown, userinfo = redact(url), _userinfo(url)
    parts = urlsplit(REFERENCE.sub("x", url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{shown!r}: give an http:// URL with a host, e.g. http://127.0.0.1:8000")
    if REFERENCE.search(url.replace(userinfo, "", 1)):
        raise ValueError(
            f"{shown!r}: ${{...}} goes only in the user:password@ part of a URL; write the "
            "address out (it must be loopback)"
        )
    password = userinfo[:-1].partition(":")[2]
    if password and not REFERENCE.search(password):
        raise ValueError(
            f"{shown!r}: write the password as ${{NAME}} or ${{file:PATH}}: written out, it "
            "would be copied with every run and printed in its report"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{shown!r}: a base URL takes no ?query or #fragment (put it in a path)")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"{shown!r}: {exc}") from None
    if not is_loopback(parts.hostname):
        raise ValueError(
            f"{shown!r}: {parts.hostname} is not loopback; this tool only sends traffic to "
            "loopback (127.0.0.0/8, ::1, localhost)"
        )
    return url


def _userinfo(url: str) -> str:
    """The `user:password@` part of `url` as written ('' when it has none)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    masked = REFERENCE.sub(lambda m: "x" * len(m.group(0)), rest)
    end = min((i for i in (masked.find(c) for c in "/?#") if i >= 0), default=len(masked))
    at = masked.rfind("@", 0, end)
    return rest[: at + 1] if at >= 0 else ""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
