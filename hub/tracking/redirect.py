"""``GET /s/{code}``: the citizen's click, answered in front of the framework.

The hot path never touches the database: a code is resolved from this process's memory, else
from a Redis hash, and only a code seen nowhere yet is looked up in the database once (then
remembered in both). The click is counted in memory (:mod:`hub.tracking.counter`) and the
answer is a bare 302 to the link's own landing page; no cookie, nothing about the visitor
stored. FastAPI's routing and middleware would cost three quarters of the throughput
(``bench/redirect.py``), so this is plain ASGI, and it sends the hub's security headers itself
(made once, given by the app) rather than through the middleware that adds them elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from redis.exceptions import RedisError
from sqlmodel import select
from starlette.types import Receive, Scope, Send

from hub.db import unit_of_work
from hub.models import TrackedLink
from hub.state import HubState
from hub.system.metrics import count_redirect
from hub.tracking.counter import ClickCounter, is_preview

log = logging.getLogger("hub.tracking")

PREFIX = "/s/"
MAX_CACHED = 200_000
MAX_MISSES = 10_000
MISS_SECONDS = 30.0
_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_COMMON = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
_NOT_FOUND_BODY = (
    b'<!doctype html><html lang="da"><meta charset="utf-8">'
    b'<meta name="viewport" content="width=device-width, initial-scale=1">'
    b"<title>Linket findes ikke</title><h1>Linket findes ikke</h1>"
    b"<p>Tjek at hele adressen kom med.</p>"
    b'<p lang="en">This link does not exist. Check that the whole address came through.</p>'
)


def valid_code(code: str) -> bool:
    return 7 <= len(code) <= 16 and all(ch in _ALNUM for ch in code)


class Redirector:
    """One per app: the code cache and the click counter of this web process."""

    def __init__(
        self, counter: ClickCounter, security_headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        self.counter = counter
        # Ours first (no-referrer, no-store); then the app's that we do not set ourselves.
        ours = {name for name, _value in _COMMON}
        self._headers = [*_COMMON, *(h for h in security_headers if h[0] not in ours)]
        self._links: dict[str, int] = {}
        self._misses: dict[str, float] = {}
        self._lookups: dict[str, asyncio.Future[int | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await self._reply(send, 405, [(b"allow", b"GET, HEAD")], b"")
            return
        code = scope["path"][len(PREFIX) :]
        link_id = self._links.get(code)
        if link_id is None:
            try:
                link_id = await self._resolve(scope, code) if valid_code(code) else None
            except Exception:  # the database is away: say so, and let the visitor retry
                log.warning("tracking.resolve_failed", exc_info=True)
                headers = [(b"retry-after", b"10"), (b"content-type", b"text/plain")]
                await self._reply(send, 503, headers, b"Try again in a moment.", method == "HEAD")
                return
            if link_id is None:
                headers = [(b"content-type", b"text/html; charset=utf-8")]
                await self._reply(send, 404, headers, _NOT_FOUND_BODY, method == "HEAD")
                return
        agent = purpose = b""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                agent = value
            elif name in (b"sec-purpose", b"purpose"):
                purpose = value
        client = scope.get("client")
        self.counter.count(
            link_id,
            preview=is_preview(method, agent, purpose),
            client=client[0] if client else "",
            user_agent=agent,
        )
        await self._reply(send, 302, [(b"location", f"/c/{code}".encode())], b"")

    async def _reply(
        self,
        send: Send,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        head: bool = False,
    ) -> None:
        count_redirect(status)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *headers,
                    *self._headers,
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if head else body})

    async def _resolve(self, scope: Scope, code: str) -> int | None:
        missed = self._misses.get(code)
        if missed is not None and missed > time.monotonic():
            return None
        # A burst of first clicks on a code this process has not seen (a link just shared in
        # a big group) makes one lookup; the others wait for its answer.
        pending = self._lookups.get(code)
        if pending is not None:
            return await asyncio.shield(pending)
        lookup = asyncio.ensure_future(self._look_up(scope, code))
        self._lookups[code] = lookup
        try:
            return await asyncio.shield(lookup)
        finally:
            if lookup.done():
                self._lookups.pop(code, None)
            else:
                lookup.add_done_callback(lambda _f: self._lookups.pop(code, None))

    async def _look_up(self, scope: Scope, code: str) -> int | None:
        state: HubState = scope["state"]["hub"]
        keys = self.counter.keys
        link_id: int | None = None
        try:
            found = await state.redis.hget(keys.links, code)  # type: ignore[misc]
            link_id = int(found) if found is not None else None
        except RedisError:
            log.warning("tracking.link_cache_unavailable")
        if link_id is None:
            async with unit_of_work(state.db, None, write=False) as session:
                link_id = (
                    await session.exec(select(TrackedLink.id).where(TrackedLink.code == code))
                ).first()
            if link_id is None:
                if len(self._misses) >= MAX_MISSES:
                    self._misses.clear()
                self._misses[code] = time.monotonic() + MISS_SECONDS
                return None
            with contextlib.suppress(RedisError):
                await state.redis.hset(keys.links, code, str(link_id))  # type: ignore[misc]
        if len(self._links) >= MAX_CACHED:
            self._links.clear()
        self._links[code] = link_id
        return link_id
