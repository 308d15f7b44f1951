"""What belongs to the request (or job) being handled: its id, for log lines, and who acts,
for the audit log. Each is set once per request or job and reset after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did something: a signed-in user, or the hub itself (``user_id`` None)."""

    user_id: int | None
    label: str


REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
ACTOR: ContextVar[Actor | None] = ContextVar("actor", default=None)


@contextmanager
def handling(request_id: str, actor: Actor | None = None) -> Iterator[None]:
    """Within: the request or job ``request_id``, done by ``actor`` until someone signs in."""
    id_token = REQUEST_ID.set(request_id)
    actor_token = ACTOR.set(actor)
    try:
        yield
    finally:
        ACTOR.reset(actor_token)
        REQUEST_ID.reset(id_token)
