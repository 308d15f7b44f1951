"""Building a URL from a route's name without walking every route each time.

Starlette answers ``url_for`` by asking each route in turn until one knows the name, catching
an exception from every one that does not: with the hub's two hundred routes that is most of
the cost of a link on a page, and a page has dozens. :class:`NamedRoutes` remembers which
route answered a name, and asks that one directly from then on.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, NoMatchFound, Router


class NamedRoutes:
    """Remembers, for each route name (and set of parameter names), the route that builds it."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._found: dict[tuple[str, frozenset[str]], BaseRoute] = {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        key = (name, frozenset(path_params))
        route = self._found.get(key)
        if route is not None:
            return route.url_path_for(name, **path_params)
        for route in self.router.routes:
            try:
                path = route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
            self._found[key] = route
            return path
        raise NoMatchFound(name, path_params)

    def install(self) -> None:
        """Answer the router's ``url_path_for`` (and so ``request.url_for``) from here."""
        self.router.url_path_for = self.url_path_for  # type: ignore[method-assign]
