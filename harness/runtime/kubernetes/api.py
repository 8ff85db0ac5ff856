"""Every call the Kubernetes runtime makes to the API server, and what its failures mean.

A 403 is a refusal, not a crash: the harness's account lacks a permission, and the
message says which verb on which resource in which namespace, for whom, and where the
Role that grants it is written. A timeout, a connection that fails or another error
status is the stack not answering, naming the call. lightkube has no call for a delete
with a precondition or for a plain path like /readyz: `request` sends those through the
client's own connection (its auth, TLS and timeout), in this one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import lightkube
from lightkube.core.exceptions import ApiError, ConfigError
from lightkube.core.generic_client import BasicRequest

from harness.errors import Refused, StackError

__all__ = ["ROLE_DOC", "calling", "code_of", "request"]

ROLE_DOC = "docs/kubernetes.md"
_USER = re.compile(r'User "([^"]+)"')


@contextmanager
def calling(verb: str, resource: str, namespace: str | None = None) -> Iterator[None]:
    """Turn what a call to the API server can fail with into the harness's errors."""
    where = f" in namespace {namespace}" if namespace else ""
    try:
        yield
    except ApiError as e:
        raise _api_error(e, verb, resource, where) from None
    except httpx2.TimeoutException:
        raise StackError(
            f"the Kubernetes API server did not answer {verb} {resource}{where} in time"
        ) from None
    except (httpx2.HTTPError, ConfigError, OSError) as e:
        raise StackError(
            f"the Kubernetes API server could not be reached to {verb} {resource}{where}: "
            f"{type(e).__name__}: {e}"
        ) from None


def _api_error(e: ApiError, verb: str, resource: str, where: str) -> Exception:
    code, message = code_of(e), (e.status.message or "") if e.status else ""
    if code == 403:
        user = _USER.search(message)
        who = f" for user {user.group(1)}" if user else ""
        return Refused(
            f"the API server refused to {verb} {resource}{where}{who}: give the harness's "
            f"account the Role in {ROLE_DOC}"
        )
    if code == 401:
        return StackError(
            f"the API server did not accept the harness's credentials to {verb} {resource}"
            f"{where} (401): check the kubeconfig's user"
        )
    return StackError(f"the API server answered {code} to {verb} {resource}{where}: {message}")


def code_of(e: ApiError) -> int:
    """The HTTP status of an API error (the Status object's code, else the response's)."""
    if e.status is not None and e.status.code:
        return int(e.status.code)
    return e.response.status_code


def request(
    client: lightkube.Client,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> httpx2.Response:
    """One call by path (no leading slash), through the client's connection and timeout;
    an error status raises ApiError as lightkube's own calls do (a non-JSON body: the
    plain httpx2 error)."""
    generic = client._client  # lightkube's connection: auth, TLS, timeout, transport
    req = generic.build_adapter_request(
        BasicRequest(method=method, url=path, params=params or {}, data=body)
    )
    resp = generic.send(req)
    if resp.is_error and resp.headers.get("Content-Type") == "application/json":
        raise ApiError(request=req, response=resp)  # the API's Status: code, message
    resp.raise_for_status()  # anything else in the way (a proxy's 502): its status
    return resp
