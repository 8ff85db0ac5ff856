"""How a topology says to start a replica: an argv template, never a shell string.

Placeholders are `{name}` or `{DEP.key}` and nothing else (no format specs, no
attribute access), so a value can never reach into the harness; an unknown name is an
error at file:line. `{DEP.key}` names a link value of a dependency (`{db.address}`):
this module checks its key, the topology checks DEP (harness.specs.startvalues).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.specs.durations import Duration
from harness.specs.yamlload import FieldError

__all__ = [
    "DEP_KEYS",
    "LINK_KEYS",
    "REPLICA_KEYS",
    "CommandSpec",
    "InitSpec",
    "dotted",
    "fill",
    "placeholders",
]

_PLACEHOLDER = re.compile(r"\{((?:[A-Za-z0-9_][A-Za-z0-9_-]*\.)?[A-Za-z_][A-Za-z0-9_]*)\}")
REPLICA_KEYS = ("python", "service", "replica", "index", "host", "port")
LINK_KEYS = (*REPLICA_KEYS, "dependency", "target", "address", "url", "user", "database")
# `{DEP.key}`: a dependency's link values, in argv, env, per_link and init alike
DEP_KEYS = ("address", "url", "addresses", "urls", "user", "database")
DEP_FORMS = "{DEP.address} {DEP.url} {DEP.addresses} {DEP.urls} {DEP.user} {DEP.database}"


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def dotted(text: str) -> list[tuple[str, str]]:
    """The `{DEP.key}` placeholders in `text`, as (DEP, key)."""
    out = []
    for name in placeholders(text):
        if "." in name:
            dep, key = name.rsplit(".", 1)
            out.append((dep, key))
    return out


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

    Everywhere (argv, env, per_link, init), `{DEP.key}` gives a dependency's link
    values by name, for a service that reads them from its environment: `{db.address}`,
    `{db.url}` (postgresql://user@address/database for postgres, redis://address for
    redis, http://address for a service), `{postgres.user}`, `{postgres.database}`;
    for a dependency with several replicas `{api.addresses}` and `{api.urls}`
    (comma-separated, in replica order).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: tuple[str, ...] = Field(
        min_length=1,
        description="the program and its arguments, never a shell string; placeholders: "
        "{python} {service} {replica} {index} {host} {port}, and {DEP.address} etc. (as env)",
    )
    per_link: dict[str, tuple[str, ...]] = Field(
        {},
        description="by dependency (of depends_on): arguments added once per link to it; also "
        "{dependency} {target} {address} {url}, and {user} {database} for postgres",
    )
    env: dict[str, str] = Field(
        {},
        description="environment variables set for each replica; argv's placeholders and "
        "{DEP.address} {DEP.url} {DEP.addresses} {DEP.urls} {DEP.user} {DEP.database}",
    )
    cwd: Path | None = Field(
        None, description="working directory, relative to the stack file's directory"
    )

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
    for name in placeholders(text):
        if "." in name and name.rsplit(".", 1)[1] not in DEP_KEYS:
            raise FieldError(loc, f"unknown placeholder {{{name}}} (per dependency: {DEP_FORMS})")
        if "." not in name and name not in known:
            raise FieldError(loc, f"unknown placeholder {{{name}}} (known: {', '.join(known)})")


class InitSpec(BaseModel):
    """A one-shot command run once before any replica of the service starts, such as a
    schema migration. It runs to completion; `harness up` fails, showing its log, when it
    exits non-zero or outlasts `timeout`. Placeholders: those of replica 1 (argv's, and
    `{DEP.key}` for its dependencies, so a migration reaches the database through
    replica 1's proxy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: tuple[str, ...] = Field(
        min_length=1,
        description="the program and its arguments, never a shell string; the placeholders "
        "of command.argv for replica 1, and {DEP.address} {DEP.url} ... of its dependencies",
    )
    env: dict[str, str] = Field(
        {}, description="environment variables it runs with (the replicas' env is not inherited)"
    )
    cwd: Path | None = Field(
        None, description="working directory, relative to the stack file's directory"
    )
    timeout: Duration = Field(
        120.0, gt=0, description="how long it may run before `harness up` fails (default 120s)"
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> InitSpec:
        for i, arg in enumerate(self.argv):
            _check_keys(arg, REPLICA_KEYS, ("argv", i))
        for name, value in self.env.items():
            _check_keys(value, REPLICA_KEYS, ("env", name))
        return self
