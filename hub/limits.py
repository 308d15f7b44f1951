"""Request body limits enforced while the body streams in, before any parsing finishes."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import i18n
from hub.i18n import _


class BodyLimitMiddleware:
    """Refuse request bodies above a per-path-prefix limit with 413.

    A declared Content-Length above the limit is refused before a byte of the body is read. A
    body without one (chunked) is counted as it arrives: once past the limit the client gets 413
    at once, the app sees a disconnect, and whatever it tries to send afterwards is dropped.
    """

    def __init__(self, app: ASGIApp, *, limits: list[tuple[str, int]]) -> None:
        self.app = app
        # Longest prefix first, so /api/v1/imports can differ from /api.
        self.limits = sorted(limits, key=lambda item: -len(item[0]))

    def _limit(self, path: str) -> int | None:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, send, limit)
                return

        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        megabytes = max(1, limit // (1024 * 1024))
        with i18n.use_language(i18n.language_of_scope(scope, i18n.DEFAULT_LANGUAGE)):
            detail = _("The file is larger than %(size)d MiB. Split it into smaller files.") % {
                "size": megabytes
            }
        if scope["path"].startswith("/api/"):
            body = json.dumps(
                {
                    "type": "/problems/payload-too-large",
                    "title": "Payload too large",
                    "status": 413,
                    "detail": detail,
                    "instance": scope["path"],
                }
            ).encode()
            content_type = b"application/problem+json"
        else:
            body = f"<!doctype html><title>413</title><p>{detail}</p>".encode()
            content_type = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
