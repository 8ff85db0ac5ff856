"""Checks after the fault, declared in the experiment: every acknowledged write read back
over HTTP, or found with a SQL query."""

from __future__ import annotations

from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, model_validator

from harness.specs.address import loopback_url
from harness.specs.base import NAME
from harness.specs.base import Strict as _Strict
from harness.specs.credentials import REFERENCES, BasicAuth, SecretText, header_problems
from harness.specs.durations import Duration
from harness.specs.yamlload import FieldError

__all__ = [
    "AckedRoute",
    "AnyCheck",
    "CheckRequest",
    "HttpCheck",
    "HttpCheckSpec",
    "SqlCheck",
    "SqlCheckSpec",
]


_FIELD = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_FILLED = (
    "idempotency_key (the request's header) or a field of the acknowledged JSON body; "
    "a dotted name reaches into its objects (data.id: the id in an answer wrapped in data)"
)


def _plain_placeholders(path: str) -> str:
    """A check's request path: every `{name}` plain, filled per acknowledged request."""
    try:
        names = [(n, s, c) for _, n, s, c in Formatter().parse(path) if n is not None]
    except ValueError as exc:
        raise ValueError(f"{path!r}: {exc} (write {{{{ and }}}} for braces)") from None
    for name, spec, conversion in names:
        if not all(part.isidentifier() for part in name.split(".")) or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain {{name}}: {_FILLED}")
    return path


def _keys_parameter(query: str) -> str:
    rest = query.replace("%%", "").replace("%(keys)s", "\0")
    if "\0" not in rest:
        raise ValueError("the query must take %(keys)s: the collected keys, an array")
    if "%" in rest:
        raise ValueError("%(keys)s is the only parameter: write %% for a literal %")
    return query


class AckedRoute(_Strict):
    """Which requests a check is about: those of this `load.routes` route answered 2xx."""

    method: Literal["POST", "PUT", "DELETE", "PATCH"] = Field(
        "POST", description="the route's method: a write (only writes keep their JSON body)"
    )
    path: str = Field(pattern=r"^/", description="the route's path template, as in load.routes")


class CheckRequest(_Strict):
    method: Literal["GET", "HEAD"] = Field("GET", description="a read: GET or HEAD")
    path: Annotated[str, AfterValidator(_plain_placeholders)] = Field(
        pattern=r"^/", description=f"made once per acknowledged request; `{{name}}`: {_FILLED}"
    )


class HttpCheckSpec(_Strict):
    from_: AckedRoute = Field(alias="from", description="which acknowledged requests to read back")
    request: CheckRequest = Field(description="the read made for each of them")
    expect_status: int = Field(
        200,
        ge=100,
        le=599,
        description="verifies one; any other: missing, but 401 and 403: the check could not "
        "authenticate (an error, no write counted missing)",
    )
    target: Annotated[str, AfterValidator(loopback_url)] | None = Field(
        None,
        description="base URL; default: the load's target URL, or its service's entry "
        "(replica 1's edge proxy), even when the load is spread over several replicas. "
        "Loopback only, like the load's; a password in it is a reference: " + REFERENCES,
    )
    headers: dict[str, SecretText] = Field(
        {}, description="sent with every read; a value may hold secrets: " + REFERENCES
    )
    basic_auth: BasicAuth | None = Field(
        None, description="HTTP basic auth for every read (an Authorization header wins)"
    )
    timeout: Duration = Field(5.0, gt=0, description="per request; past it: no answer")
    deadline: Duration = Field(30.0, gt=0, description="for the whole check; past it: error")

    @model_validator(mode="after")
    def _headers(self) -> HttpCheckSpec:
        problems = header_problems(self.headers)
        if problems:
            raise FieldError.of(problems)
        return self


class SqlCheckSpec(_Strict):
    database: Literal["postgres"] = Field(description="a database of the topology: postgres")
    query: Annotated[str, AfterValidator(_keys_parameter)] = Field(
        description="takes %(keys)s, the collected keys (an untyped array: PostgreSQL takes "
        "the type of what it is compared with); each must come back in the first column, "
        "e.g. SELECT k FROM t WHERE k = ANY(%(keys)s)"
    )
    from_: AckedRoute = Field(alias="from", description="which acknowledged requests to look up")
    key: str = Field("idempotency_key", pattern=_FIELD, description=f"what to collect: {_FILLED}")
    statement_timeout: Duration = Field(5.0, gt=0, description="PostgreSQL's, for the query")


class _CheckBase(_Strict):
    name: str = Field(pattern=NAME, description="unique among the experiment's checks")
    description: str = Field("", description="for people reading the report")

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("http" in data) == ("sql" in data):
            raise FieldError((), "give exactly one of http or sql")
        return data


class HttpCheck(_CheckBase):
    """Each acknowledged request read back over HTTP must answer `expect_status`."""

    http: HttpCheckSpec = Field(description="read every acknowledged request back over HTTP")


class SqlCheck(_CheckBase):
    """Each acknowledged request's key must come back from a query."""

    sql: SqlCheckSpec = Field(description="look every acknowledged request's key up in a database")


def _check_kind(value: object) -> str:
    sql = isinstance(value, SqlCheck) or (isinstance(value, dict) and "sql" in value)
    return "union:sql" if sql else "union:http"


AnyCheck = Annotated[
    Annotated[HttpCheck, Tag("union:http")] | Annotated[SqlCheck, Tag("union:sql")],
    Discriminator(_check_kind),
]
