"""Secrets in experiment files: `${NAME}` and `${file:PATH}`, resolved late, redacted always.

An experiment file keeps the template (`Authorization: "Bearer ${API_TOKEN}"`), so the
file, its copy beside the run and every model built from it hold no secret. A value is
resolved only where a request is built (`expand`): `${NAME}` is the environment variable
NAME, `${file:PATH}` the stripped content of a file, relative to the experiment file's
directory. Validation checks the syntax only (`references`), so `validate` runs where
the secrets are not; preflight resolves every reference once and refuses a missing one
by name, never by value.

Every value resolved (and every basic-auth pair applied, as its base64) is registered
in one process-wide registry, and `redact` replaces each with `***` — together with the
password of any `scheme://user:password@host` URL — wherever the harness writes or
prints: the journal's write boundary, the reports, the terminal. The registry is
global on purpose: redaction must hold in every writer of the process, whoever
resolved the value.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "MASK",
    "REFERENCE",
    "SecretError",
    "authorization",
    "expand",
    "forget_all",
    "redact",
    "redact_data",
    "reference_problems",
    "references",
    "register",
    "strip_credentials",
    "url_credentials",
]

MASK = "***"
REFERENCE = re.compile(r"\$\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL_PASSWORD = re.compile(r"(?P<pre>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/@]+@")


class SecretError(ValueError):
    """A reference that cannot be resolved; the message names it, never a value."""


def references(text: str) -> list[str]:
    """The references in `text` (`NAME` or `file:PATH`), in order."""
    return REFERENCE.findall(text)


def reference_problems(text: str) -> list[str]:
    """What is wrong with the `${...}` syntax of `text` (empty: nothing)."""
    problems = []
    for ref in references(text):
        if ref.startswith("file:"):
            if not ref[5:].strip():
                problems.append("${file:PATH} needs a path")
        elif not _NAME.fullmatch(ref):
            problems.append(
                f"${{{ref}}}: give ${{NAME}} (an environment variable: letters, digits, _) "
                "or ${file:PATH}"
            )
    if "${" in REFERENCE.sub("", text):
        problems.append("an unclosed or nested ${: write ${NAME} or ${file:PATH}")
    return problems


def expand(template: str, base: Path, *, braces: bool = False) -> str:
    """`template` with every reference resolved (each value registered as a secret).

    `base` is the experiment file's directory (for `${file:PATH}`); `braces` doubles
    `{` and `}` in the values, for a template the load generator fills again later.
    SecretError names the first reference that cannot be resolved.
    """

    def one(match: re.Match[str]) -> str:
        value = _resolve(match.group(1), base)
        register(value)
        return value.replace("{", "{{").replace("}", "}}") if braces else value

    return REFERENCE.sub(one, template)


def _resolve(ref: str, base: Path) -> str:
    if ref.startswith("file:"):
        path = base / ref[5:].strip()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SecretError(f"${{{ref}}}: cannot read {path}: {why}") from None
        if not value:
            raise SecretError(f"${{{ref}}}: {path} is empty")
        return value
    value = os.environ.get(ref, "")
    if not value:
        raise SecretError(f"${{{ref}}}: the environment variable {ref} is not set (or empty)")
    return value


def authorization(username: str, password: str) -> str:
    """The `Authorization` header value of HTTP basic auth; its base64 is a secret too."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    register(password)
    register(token)
    return f"Basic {token}"


def url_credentials(url: str, base: Path) -> tuple[str, str | None]:
    """A URL template as sent: (the URL without `user:password@`, its Authorization or None).

    References may stand only in the userinfo (the address is checked against loopback as
    written: see `harness.specs.address`); each part is resolved on its own, so a password
    holding `@` or `/` cannot move the host.
    """
    masked, refs = _masked(url)
    parts = urlsplit(masked)
    userinfo, at, _ = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    username = expand(_unmask(unquote(user), refs), base)
    secret = expand(_unmask(unquote(password), refs), base)
    return strip_credentials(url), authorization(username, secret)


def strip_credentials(url: str) -> str:
    """`url` without its `user:password@` part: what may be shown or put in an error."""
    masked, refs = _masked(url)
    parts = urlsplit(masked)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return _unmask(parts._replace(netloc=netloc).geturl(), refs)


def _masked(text: str) -> tuple[str, list[str]]:
    """`text` with each reference replaced by a token no URL parser splits."""
    refs: list[str] = []

    def token(match: re.Match[str]) -> str:
        refs.append(match.group(0))
        return f"\0{len(refs) - 1}\0"

    return REFERENCE.sub(token, text), refs


def _unmask(text: str, refs: list[str]) -> str:
    return re.sub("\0(\\d+)\0", lambda m: refs[int(m.group(1))], text)


class _Registry:
    """The values to redact, and the forms they take in JSON, URLs and HTML."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        forms = {value, quote(value, safe=""), quote(value), json.dumps(value)[1:-1]}
        forms |= {html.escape(value), html.escape(value, quote=False), _jinja_escape(value)}
        with self._lock:
            known = set(self._forms) | {f for f in forms if f}
            self._forms = tuple(sorted(known, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._forms = ()

    def forms(self) -> tuple[str, ...]:
        return self._forms


def _jinja_escape(value: str) -> str:
    """How Jinja's autoescape (markupsafe) writes `value` in HTML."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;")):
        value = value.replace(char, entity)
    return value.replace("'", "&#39;")


_REGISTRY = _Registry()


def register(value: str) -> None:
    """Redact `value` from now on, wherever this process writes or prints."""
    if value:
        _REGISTRY.add(value)


def forget_all() -> None:
    """Forget every registered secret (tests isolate themselves with this)."""
    _REGISTRY.clear()


def redact(text: str) -> str:
    """`text` with every registered secret, and any URL's password, replaced by `***`."""
    for form in _REGISTRY.forms():
        if form in text:
            text = text.replace(form, MASK)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<pre>{MASK}@", text)
    return text


def redact_data(value: Any) -> Any:
    """A JSON-like value with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))
