"""Upsert dashboards into a Grafana through grafana-client, every call timed out.

The folder `chaos-harness` (uid `chaos-harness`) is found or created, then each dashboard
is written with `POST /api/dashboards/db` and `overwrite: true`: the same uid replaces
whatever version Grafana holds (a provisioned copy under compose included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, TokenAuth
from niquests.exceptions import RequestException  # what grafana-client lets through

from harness.dashboards.provisioning import FOLDER
from harness.errors import HarnessError

__all__ = ["DEFAULT_TIMEOUT", "GrafanaError", "Pushed", "connect", "ensure_folder", "push"]

DEFAULT_TIMEOUT = 10.0
MESSAGE = "harness dashboards push"


class GrafanaError(HarnessError):
    """Grafana could not be reached, or refused a call (exit 4)."""


@dataclass(frozen=True)
class Pushed:
    """What Grafana answered for one dashboard."""

    file: str
    uid: str
    url: str
    version: int


def connect(url: str, token: str | None, timeout: float = DEFAULT_TIMEOUT) -> GrafanaApi:
    """A client for `url` (user:password in the URL works too) with a bearer token."""
    credential = TokenAuth(token) if token else None
    return GrafanaApi.from_url(url, credential=credential, timeout=timeout)


def ensure_folder(api: GrafanaApi, title: str = FOLDER) -> str:
    """The uid of the folder `title` (uid = title), created when Grafana has none."""
    try:
        return str(api.folder.get_folder(title)["uid"])
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
    try:
        return str(api.folder.create_folder(title, uid=title)["uid"])
    except GrafanaClientError as exc:
        if exc.status_code not in (409, 412):  # a folder of that title, another uid
            raise
    same = [f for f in api.folder.get_all_folders() if f.get("title") == title]
    if not same:
        raise GrafanaError(f"Grafana refused the folder {title!r} and has none by that title")
    return str(same[0]["uid"])


def push(api: GrafanaApi, boards: Mapping[str, dict[str, Any]]) -> list[Pushed]:
    """Write each dashboard (file name → JSON) into the folder, overwriting."""
    try:
        folder = ensure_folder(api)
        return [_one(api, file, data, folder) for file, data in boards.items()]
    except GrafanaException as exc:
        raise GrafanaError(f"Grafana at {api.client.url}: {exc.message or exc}") from exc
    except RequestException as exc:  # refused, reset, DNS: grafana-client wraps only HTTPError
        raise GrafanaError(f"Grafana at {api.client.url} did not answer: {exc}") from exc


def _one(api: GrafanaApi, file: str, data: dict[str, Any], folder: str) -> Pushed:
    body = {
        "dashboard": {**data, "id": None},
        "folderUid": folder,
        "overwrite": True,
        "message": MESSAGE,
    }
    answer = api.dashboard.update_dashboard(body)
    return Pushed(
        file, str(answer.get("uid", "")), str(answer.get("url", "")), int(answer.get("version", 0))
    )
