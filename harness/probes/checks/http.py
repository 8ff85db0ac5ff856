"""The HTTP check: read every acknowledged request back and expect one status.

`request.path` is filled per acknowledged request (`{idempotency_key}` or a field of
its JSON body, URL-quoted). At most CONCURRENCY reads are in flight, each bounded by
`timeout`, and the whole check by `deadline`. A status other than `expect_status` is
a definitive miss, except 401 and 403: the check could not authenticate, an error
that counts no write missing. A transport error or timeout (after ATTEMPTS tries), a
read not made before the deadline, or a body without the field to fill in leaves that
request without an answer (see `common` for how those make the status).

Credentials (`headers`, `basic_auth`, a password in the target URL) are resolved from
their `${...}` references only here, when the reads are sent; the evidence and every
message show the URL without them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from string import Formatter
from urllib.parse import quote

import httpx

from harness.load.generator import Record
from harness.probes.checks.common import CheckResult, Tally, acknowledged, no_data, value_of
from harness.secrets import SecretError, authorization, expand, strip_credentials, url_credentials
from harness.specs.experiment import HttpCheck, HttpCheckSpec

__all__ = ["ATTEMPTS", "CONCURRENCY", "check_http", "fill"]

CONCURRENCY = 8
ATTEMPTS = 2  # a transport error is retried once: one blip after a fault is not a verdict
Answer = int | str  # a status code, or why there was none
DENIED = (401, 403)


def check_http(
    check: HttpCheck,
    records: Sequence[Record],
    base_url: str,
    *,
    secrets_dir: Path,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult:
    """Run one HTTP check against `spec.target`, or `base_url` (the load's target).

    `secrets_dir` is the experiment file's directory, for `${file:PATH}` references.
    """
    spec = check.http
    template = (spec.target or base_url).rstrip("/")
    shown = strip_credentials(template)
    evidence = f"{spec.request.method} {shown}{spec.request.path} expecting {spec.expect_status}"
    subject = (
        f"{spec.from_.method} {spec.from_.path} read back by {spec.request.method} "
        f"{spec.request.path} (expecting {spec.expect_status})"
    )
    acked = acknowledged(records, spec.from_)
    if not acked:
        return no_data(check.name, "http", records, spec.from_, evidence)
    started = time.time()
    tally = Tally(len(acked))
    try:
        target, headers = _send_as(spec, template, secrets_dir)
    except SecretError as exc:  # preflight resolved it: the environment changed since
        tally.unanswered[str(exc)] = len(acked)
        return tally.result(check.name, "http", subject, evidence, started)
    paths = [fill(spec.request.path, r) for r in acked]
    todo = list(dict.fromkeys(p for p in paths if p is not None))
    answers = asyncio.run(_read_back(spec, target, headers, todo, transport))
    for path in paths:
        _count(tally, spec, path, answers, shown)
    if len(answers) < len(todo):
        subject += f"; the {spec.deadline:g}s deadline passed after {len(answers)} of {len(todo)}"
    return tally.result(check.name, "http", subject, evidence, started)


def fill(template: str, record: Record) -> str | None:
    """The path for one acknowledged request; None when a placeholder has no value."""
    out = []
    for literal, name, _, _ in Formatter().parse(template):
        out.append(literal)
        if name is not None:
            value = value_of(record, name)
            if value is None:
                return None
            out.append(quote(value, safe=""))
    return "".join(out)


def _send_as(spec: HttpCheckSpec, template: str, secrets_dir: Path) -> tuple[str, httpx.Headers]:
    """The base URL without credentials, and the headers with them, resolved now.

    An Authorization header of the check wins over its basic_auth, which wins over a
    password in the URL.
    """
    url, auth = url_credentials(template, secrets_dir)
    headers = httpx.Headers({k: expand(v, secrets_dir) for k, v in spec.headers.items()})
    if spec.basic_auth is not None:
        user = expand(spec.basic_auth.username, secrets_dir)
        auth = authorization(user, expand(spec.basic_auth.password, secrets_dir))
    if auth is not None and "authorization" not in headers:
        headers["Authorization"] = auth
    return url, headers


def _count(
    tally: Tally, spec: HttpCheckSpec, path: str | None, answers: dict[str, Answer], shown: str
) -> None:
    if path is None:
        tally.unanswered["with a placeholder not in the response"] += 1
        return
    answer = answers.get(path, "not read before the deadline")
    if answer == spec.expect_status:
        tally.verified += 1
    elif answer in DENIED:
        tally.denied = tally.denied or f"HTTP {answer} from {shown}{path}"
        tally.unanswered["check could not authenticate"] += 1
    elif isinstance(answer, int):
        tally.missing.append(f"{path} -> {answer}")
    else:
        tally.unanswered[answer] += 1


async def _read_back(
    spec: HttpCheckSpec,
    target: str,
    headers: httpx.Headers,
    paths: list[str],
    transport: httpx.AsyncBaseTransport | None,
) -> dict[str, Answer]:
    """Read each path; paths not read before the deadline are absent from the answers."""
    answers: dict[str, Answer] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=target, headers=headers, transport=transport) as client:

        async def one(path: str) -> None:
            async with gate:
                answers[path] = await _read(client, spec, path)

        tasks = [asyncio.create_task(one(p)) for p in paths]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=spec.deadline)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
    return answers


async def _read(client: httpx.AsyncClient, spec: HttpCheckSpec, path: str) -> Answer:
    why = "no answer"
    for _ in range(ATTEMPTS):
        try:
            request = client.request(spec.request.method, path, timeout=spec.timeout)
            return (await asyncio.wait_for(request, spec.timeout)).status_code
        except (httpx.HTTPError, TimeoutError) as exc:
            why = type(exc).__name__
    return why
