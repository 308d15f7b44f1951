"""Signed, expiring links: a partner hands one file to a colleague who has no account.

A token is ``<data>.<mac>``, both base64url without padding. ``data`` is compact JSON
``{"d": payload, "x": expiry as Unix seconds}``; ``mac`` is HMAC-SHA256 over it with a key
derived from the hub's secret *and a purpose*, so a download token is worthless anywhere a
token of another purpose is checked (and the other way round). Plain hmac rather than a
library: the whole scheme is the twenty lines below.

Every way a token can be wrong (tampered, truncated, expired, another purpose, another
secret) raises the same :class:`InvalidLink`, a NotFound, so a guessed URL tells nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from hub.errors import NotFound
from hub.i18n import _

DOWNLOAD_PURPOSE = "materials.download"
# Real tokens are around a hundred characters; refuse to even decode a long one.
MAX_TOKEN_LENGTH = 1000

Payload = dict[str, int | str]


class InvalidLink(NotFound):
    """A signed link that is malformed, tampered with, expired or meant for something else."""

    slug = "invalid-link"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(data: str, *, secret: str, purpose: str) -> bytes:
    if not secret:
        raise ValueError("signing needs a secret (settings.secret_key)")
    # The purpose goes into the key: the same data signed for two purposes gets unrelated MACs.
    key = hmac.new(secret.encode(), f"hub.signing:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, data.encode("ascii"), hashlib.sha256).digest()


def _invalid() -> InvalidLink:
    return InvalidLink(
        _("This download link is invalid or has expired. Ask the person who sent it for a new one.")
    )


def sign(
    payload: Payload,
    *,
    secret: str,
    expires_at: datetime,
    purpose: str = DOWNLOAD_PURPOSE,
) -> str:
    """A URL-safe token carrying ``payload`` until ``expires_at`` (timezone-aware)."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    body = {"d": payload, "x": int(expires_at.timestamp())}
    data = _b64encode(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{data}.{_b64encode(_mac(data, secret=secret, purpose=purpose))}"


def verify(
    token: str,
    *,
    secret: str,
    now: datetime | None = None,
    purpose: str = DOWNLOAD_PURPOSE,
) -> Payload:
    """The payload of a valid, unexpired token of this purpose; InvalidLink otherwise."""
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise _invalid()
    data, dot, signature = token.partition(".")
    if not dot:
        raise _invalid()
    # Compared as text: one token string per signature, no alternative spellings of it.
    expected = _b64encode(_mac(data, secret=secret, purpose=purpose))
    if not hmac.compare_digest(signature, expected):
        raise _invalid()
    # From here on the data is our own, but stay strict anyway.
    try:
        body = json.loads(_b64decode(data))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not isinstance(body, dict) or not isinstance(body.get("x"), int):
        raise _invalid()
    payload = body.get("d")
    if not isinstance(payload, dict) or not all(
        isinstance(value, int | str) and not isinstance(value, bool) for value in payload.values()
    ):
        raise _invalid()
    moment = now or datetime.now(UTC)
    if moment.timestamp() >= body["x"]:
        raise _invalid()
    return payload


# A shared download link works this long.
SHARE_DAYS = 7


def download_link(
    *, base_url: str, secret: str, variant_id: int, organisation_id: int | None
) -> tuple[str, datetime]:
    """The URL of a shared download of a variant's current file, and when it expires;
    downloads through it count for ``organisation_id``."""
    expires_at = datetime.now(UTC) + timedelta(days=SHARE_DAYS)
    token = sign({"v": variant_id, "o": organisation_id or 0}, secret=secret, expires_at=expires_at)
    return f"{base_url}/d/{token}", expires_at
