"""The route table: built once and shared by every app, and URLs built from route names."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, NoMatchFound, Router

from hub.config import Settings
from hub.main import create_app
from hub.routing import NamedRoutes


def _named_routes(app: FastAPI) -> list[tuple[str, dict[str, str]]]:
    """Every route name of the app with a value for each of its path parameters."""
    found: list[tuple[str, dict[str, str]]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        name, path = getattr(route, "name", None), getattr(route, "path", None)
        if name and path is not None:
            params = {p: "7" for p in re.findall(r"{(\w+)(?::\w+)?}", path)}
            if isinstance(route, Mount):
                params["path"] = "app.css"
            found.append((name, params))
    return found


def test_every_named_route_builds_the_same_url_as_starlette(settings: Settings) -> None:
    app = create_app(settings)
    named = _named_routes(app)
    assert len(named) > 150  # the whole hub, not a part of it
    for name, params in named:
        expected = Router.url_path_for(app.router, name, **params)
        assert app.router.url_path_for(name, **params) == expected, name
        assert app.router.url_path_for(name, **params) == expected, name  # remembered
    assert app.url_path_for("static", path="app.css") == "/static/app.css"


def test_an_unknown_name_or_parameter_is_still_no_match(settings: Settings) -> None:
    app = create_app(settings)
    with pytest.raises(NoMatchFound):
        app.router.url_path_for("no_such_page")
    with pytest.raises(NoMatchFound):
        app.router.url_path_for("campaign_page", nonsense="1")
    assert app.router.url_path_for("campaign_page", campaign_id=3) == "/campaigns/3"
    with pytest.raises(NoMatchFound):
        app.router.url_path_for("campaign_page", nonsense="1")


def test_the_remembered_route_serves_any_values_of_the_same_parameters() -> None:
    router = Router()
    router.add_route("/a/{x}", lambda request: None, name="a")
    router.add_route("/b/{y}", lambda request: None, name="b")
    named = NamedRoutes(router)
    assert named.url_path_for("b", y="1") == "/b/1"
    assert named.url_path_for("b", y="2") == "/b/2"
    assert named.url_path_for("a", x="3") == "/a/3"


def test_apps_share_one_route_table_but_not_their_settings(settings: Settings) -> None:
    first = create_app(settings)
    second = create_app(settings.model_copy(update={"default_language": "da"}))
    shared = [route for route in first.router.routes if route in second.router.routes]
    assert len(shared) >= len(first.router.routes) - 10  # all but FastAPI's own and /static
    assert first.router is not second.router
