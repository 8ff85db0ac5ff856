"""Credentials in experiment files: header values and basic auth, written as `${...}`.

A value that authenticates is written as a reference (`${NAME}`, `${file:PATH}`) and
resolved only when a request is sent (`harness.secrets`): the file, its copy beside the
run and the report keep the reference. A password written out in the file would be
copied with every run, so `basic_auth.password`, a URL's password and an
`Authorization` header must be references. Validation checks the syntax only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, Field

from harness.secrets import reference_problems, references
from harness.specs.base import Strict as _Strict
from harness.specs.yamlload import Problem

__all__ = [
    "REFERENCES",
    "BasicAuth",
    "SecretText",
    "header_problems",
    "secret_syntax",
    "unwritten",
]

REFERENCES = (
    "`${NAME}` is the environment variable NAME and `${file:PATH}` the stripped content "
    "of a file (relative to the experiment file), read when the request is sent and "
    "shown as *** wherever the harness writes or prints"
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110's token
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization"}


def secret_syntax(text: str) -> str:
    """A pydantic validator: every `${...}` in `text` is well formed."""
    problems = reference_problems(text)
    if problems:
        raise ValueError(problems[0])
    return text


def unwritten(text: str) -> str:
    """A pydantic validator: a credential is a reference, never written out."""
    secret_syntax(text)
    if not references(text):
        raise ValueError(
            "write a credential as ${NAME} or ${file:PATH}: written out, it would be copied "
            "with every run and printed in its report"
        )
    return text


SecretText = Annotated[str, AfterValidator(secret_syntax)]


class BasicAuth(_Strict):
    """HTTP basic auth, applied when each request is sent."""

    username: SecretText = Field(
        min_length=1, description=f"the user name, as written or a reference: {REFERENCES}"
    )
    password: Annotated[str, AfterValidator(unwritten)] = Field(
        description=f"the password: a reference, never written out; {REFERENCES}"
    )


def header_problems(headers: Mapping[str, str]) -> list[Problem]:
    """Header names that are no token, values with a line break, `${...}` syntax, and
    credential headers written out; located under `headers`."""
    problems: list[Problem] = []
    for name, value in headers.items():
        where = ("headers", name)
        if not _HEADER_NAME.fullmatch(name):
            problems.append((where, f"{name!r} is not a valid header name"))
        elif "\r" in value or "\n" in value:
            problems.append((where, "a header value cannot hold a line break"))
        else:
            problems += [(where, p) for p in reference_problems(value)]
            if name.lower() in _CREDENTIAL_HEADERS and not references(value):
                message = f"{name}: write the credential as ${{NAME}} or ${{file:PATH}}"
                problems.append((where, message + ", never in the file"))
    return problems
