"""Preflight: every secret an experiment refers to (`${NAME}`, `${file:PATH}`) resolves.

Validation checks only the syntax, so a file validates where its secrets are not (CI, an
editor). A run resolves each reference once here, before anything is injected, and
refuses a missing one by the field and the name of the variable or file — never a
value. What resolved is registered for redaction from then on (`harness.secrets`).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import InvalidInput, Issue
from harness.secrets import SecretError, expand, references
from harness.specs.credentials import BasicAuth
from harness.specs.experiment import Experiment, HttpCheck
from harness.specs.yamlload import Loc, Problem, load_model

__all__ = ["refuse_unresolved_secrets", "secret_fields"]


def secret_fields(exp: Experiment) -> list[tuple[Loc, str]]:
    """Every field of `exp` that may refer to a secret and does, with its template."""
    found: list[tuple[Loc, str]] = []
    if exp.load is not None:
        load = exp.load
        if load.target is not None and load.target.url is not None:
            found.append((("load", "target", "url"), load.target.url))
        for i, route in enumerate(load.routes):
            found += [(("load", "routes", i, "headers", k), v) for k, v in route.headers.items()]
        found += _auth(("load", "basic_auth"), load.basic_auth)
    for i, check in enumerate(exp.expectations.checks):
        if isinstance(check, HttpCheck):
            where: Loc = ("expectations", "checks", i, "http")
            if check.http.target is not None:
                found.append(((*where, "target"), check.http.target))
            found += [((*where, "headers", k), v) for k, v in check.http.headers.items()]
            found += _auth((*where, "basic_auth"), check.http.basic_auth)
    return [(loc, text) for loc, text in found if references(text)]


def _auth(where: Loc, auth: BasicAuth | None) -> list[tuple[Loc, str]]:
    if auth is None:
        return []
    return [((*where, "username"), auth.username), ((*where, "password"), auth.password)]


def refuse_unresolved_secrets(exp: Experiment, source: Path) -> None:
    """InvalidInput naming every reference of `exp` that does not resolve (file:line: field)."""
    problems: list[Problem] = []
    for loc, template in secret_fields(exp):
        for ref in dict.fromkeys(references(template)):
            try:
                expand(f"${{{ref}}}", source.parent)
            except SecretError as exc:
                problems.append((loc, str(exc)))
    if problems:
        raise InvalidInput(_located(source, problems))


def _located(source: Path, problems: list[Problem]) -> list[Issue]:
    """The problems with the lines they are on in `source` (re-read to find them)."""
    try:
        load_model(source, Experiment, lambda _: problems)
    except InvalidInput as exc:  # only ours: the file as run may have changed since
        if {i.message for i in exc.issues} == {message for _, message in problems}:
            return exc.issues
    fields = (".".join(str(p) for p in loc) for loc, _ in problems)
    return [Issue(str(source), None, f, m) for f, (_, m) in zip(fields, problems, strict=True)]
