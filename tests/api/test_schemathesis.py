"""The JSON API against its own OpenAPI schema, fuzzed by Schemathesis as an officer and as a
partner: every operation, with valid and invalid data, under all of Schemathesis' default checks
(server errors; status codes, content types, headers and bodies as declared; invalid data
refused and valid data accepted; authentication enforced; nothing usable after its deletion).

The run is Schemathesis' own engine, the one behind ``st run``: its phases (the schema's
examples, the edges of every parameter, random fuzzing, then chains of calls that follow the
links between operations) and its checks, against the app in process, with a fixed seed. Its
pytest fixture integration (``schemathesis.pytest.from_fixture``) does not run under pytest 9.2,
and only the engine's chains of calls can find a deleted object still answering.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.python import asgi

from hub.models import Role
from tests.api.conftest import Seed
from tests.conftest import DB_KIND

SEED = 20260101
MAX_EXAMPLES = 8  # random cases per operation, besides the schema's examples and the edges
SCENARIOS = 60  # chains of calls in the stateful phase ...
MAX_STEPS = 10  # ... of at most this many calls each
# What Schemathesis takes for "accepted" by default, when it sends valid data.
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx"]

OPERATIONS: list[dict[str, Any]] = [
    {
        # The services check what a schema cannot state: that referenced rows exist and belong
        # together (an item of this campaign, in one of its languages), dates against today and
        # the campaign, language codes against the known ones, text without control characters,
        # the contents of CSV files and uploads, a webhook address that resolves to a public
        # host. Such a body is refused with a 422 naming the field (as documented), so a body
        # valid by the schema may still be refused. Reads and deletes keep the whole check.
        "include-method": ["POST", "PUT", "PATCH"],
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
    },
    {
        # A partner's webhook is a setting of its organisation, not an object: DELETE clears
        # it, and GET then answers that no address is set ({"url": null}), not 404.
        "include-name": "GET /api/v1/organisations/{organisation_id}/webhook",
        "checks": {"use_after_free": {"enabled": False}},
    },
    {
        # No job worker runs here, so /readyz answers "not ready" with a 503, which is what it
        # is for (tests/system/test_health.py covers both of its answers).
        "include-path": "/readyz",
        "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", 503]}},
    },
]

HEALTH = ("/healthz", "/readyz")  # JSON too (hub.main answers their errors as problem+json)
# Routes under /api/ that the schema leaves out on purpose.
NOT_IN_SCHEMA = {
    "HEAD /api/v1/variants/{variant_id}/download": "a download's HEAD; its GET is documented",
    "HEAD /api/v1/materials/{material_id}/download": "a download's HEAD; its GET is documented",
}


def config_for(role: Role, token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "color": False,
            "cache": {"enabled": False},
            "continue-on-failure": True,  # every failure at once, not the first of each
            "generation": {
                "mode": "all",  # valid and invalid data
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                # The edges of every parameter, mostly invalid ones, as the officer only: the
                # API validates input before it looks at the caller's role, so the partner
                # would repeat them (or hear 403 for the officers' operations), for a minute.
                "coverage": {"enabled": role is Role.officer},
                # Chains that create, change and delete: valid data, so that they get going.
                "stateful": {
                    "max-steps": MAX_STEPS,
                    "generation": {"mode": "positive", "max-examples": SCENARIOS},
                },
            },
            "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
            "operations": OPERATIONS,
        }
    )


def load_schema(app: FastAPI, role: Role, token: str, ids: dict[str, int | str]) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config_for(role, token))

    @schema.hook
    def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> Any:
        # Half of the valid ids become a seeded row's, so that operations reach their real work
        # and not only "not found"; invalid values (negative cases) stay as they were drawn.
        choices = {}
        for name, value in (path_parameters or {}).items():
            seeded = ids.get(name)
            valid = (isinstance(value, int) and value >= 1) or name == "language"
            choices[name] = st.sampled_from([seeded, value]) if seeded and valid else st.just(value)
        return st.fixed_dictionaries(choices)

    return schema


@dataclass
class Phase:
    cases: int = 0
    requests: int = 0
    seconds: float = 0.0


def run(schema: Any) -> tuple[list[str], dict[str, Phase]]:
    """Every phase; the failures found (each once), and what each phase did."""
    failures: dict[tuple[str, str, str], str] = {}
    phases: dict[str, Phase] = {}
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted):
            started = time.monotonic()
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value in phases:
            phases[event.phase.name.value].seconds += time.monotonic() - started
        elif isinstance(event, events.ScenarioFinished):
            phase = phases.setdefault(event.phase.value, Phase())
            phase.cases += len(event.recorder.cases)
            phase.requests += len(event.recorder.interactions)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    failures.setdefault(
                        (failure.operation or "", failure.title, failure.message),
                        f"{failure.operation}: {failure.title}\n{failure.message}\n"
                        f"{check.failure_info.code_sample}",
                    )
        elif isinstance(event, events.NonFatalError):
            failures.setdefault(("", event.label, str(event.value)), f"{event.label}: {event.info}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return list(failures.values()), phases


@pytest.mark.skipif(
    DB_KIND == "sqlite" and not os.path.exists("var/test-postgres.skip"),
    reason="runs on the PostgreSQL pass, whose types are stricter (a minute per database)",
)
@pytest.mark.parametrize("role", [Role.officer, Role.partner], ids=str)
# Thousands of calls: about a minute on a quiet machine, several on a busy one.
@pytest.mark.timeout(900)
def test_api_conforms_to_its_schema(hub_app: FastAPI, seed: Seed, role: Role) -> None:
    ids = {**seed.ids, "token_id": seed.spare_tokens[role]}
    schema = load_schema(hub_app, role, seed.tokens[role], ids)
    failures, phases = run(schema)
    operations = sum(1 for _ in schema.get_all_operations())
    done = ", ".join(
        f"{name} {p.cases} cases/{p.requests} requests/{p.seconds:.1f} s"
        for name, p in phases.items()
    )
    print(f"\nschemathesis as {role}: {operations} operations; {done}")
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
    # The run kept its identity to the end: with its token revoked or its user disabled, it
    # would have become a run of 401s that passes every check.
    with asgi.get_client(hub_app) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {seed.tokens[role]}"})
    assert me.status_code == 200, me.text


def test_every_json_route_is_in_the_schema(hub_app: FastAPI) -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, operations in hub_app.openapi()["paths"].items()
        for method in operations
    }
    json_routes = {
        f"{method} {context.path_format}"
        for context in iter_route_contexts(hub_app.routes)
        if context.path_format
        and (
            context.path_format.startswith("/api/")
            or context.path_format in ("/healthz", "/readyz")
        )
        for method in context.methods or ()
    }
    assert json_routes - documented == NOT_IN_SCHEMA.keys()
    assert len(documented) >= 90  # the walk saw the routes (a wrapper could hide them)
