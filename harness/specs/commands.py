"""How a topology says to start a replica: an argv template, never a shell string.

Placeholders are `{name}` and nothing else (no format specs, no attribute access), so
a value can never reach into the harness; an unknown name is an error at file:line.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.specs.yamlload import FieldError

__all__ = ["LINK_KEYS", "REPLICA_KEYS", "CommandSpec", "fill", "placeholders"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
REPLICA_KEYS = ("python", "service", "replica", "index", "host", "port")
LINK_KEYS = (*REPLICA_KEYS, "dependency", "target", "address", "url", "user", "database")


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def fill(text: str, values: dict[str, str]) -> str:
    """Replace every `{name}` with its value (the names were checked at load time)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


class CommandSpec(BaseModel):
    """How the harness starts one replica: an argv (never a shell string), env, directory.

    Placeholders in argv and env: {python} (the harness's interpreter), {service},
    {replica}, {index}, {host}, {port}. `per_link` adds argv once per link to a
    dependency, with {dependency}, {target} (the replica or backing service behind the
    link), {address} (host:port of its proxy), {url} (http://address), and for
    postgres {user} and {database}.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: tuple[str, ...] = Field(min_length=1)
    per_link: dict[str, tuple[str, ...]] = {}
    env: dict[str, str] = {}
    cwd: Path | None = None  # relative to the stack file's directory

    @model_validator(mode="after")
    def _known_placeholders(self) -> CommandSpec:
        for i, arg in enumerate(self.argv):
            _check_keys(arg, REPLICA_KEYS, ("argv", i))
        for name, value in self.env.items():
            _check_keys(value, REPLICA_KEYS, ("env", name))
        for dep, args in self.per_link.items():
            for i, arg in enumerate(args):
                _check_keys(arg, LINK_KEYS, ("per_link", dep, i))
        return self


def _check_keys(text: str, known: tuple[str, ...], loc: tuple[str | int, ...]) -> None:
    unknown = [p for p in placeholders(text) if p not in known]
    if unknown:
        raise FieldError(loc, f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(known)})")
