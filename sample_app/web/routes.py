"""Route templates for labels and logs: bounded, never the raw path."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

__all__ = ["PROBE_PATHS", "UNMATCHED", "RouteResolver"]

UNMATCHED = "unmatched"
# probes and scrapes: never shed, not counted as traffic, not access-logged at INFO
PROBE_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})


class RouteResolver:
    """The template (`/orders/{order_id}`) of the route a request hits, or "unmatched"."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = list(routes)

    def templates(self) -> list[str]:
        """Every template a request can be labelled with (probes excluded)."""
        paths = {str(getattr(r, "path", UNMATCHED)) for r in self._routes}
        return sorted((paths - PROBE_PATHS) | {UNMATCHED})

    def template(self, scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path  # the router already matched it
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", UNMATCHED))
        return UNMATCHED
