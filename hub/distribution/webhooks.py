"""Partner webhooks: Standard Webhooks signatures and the refusal of internal addresses."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from hub.errors import FieldError, InvalidInput
from hub.i18n import _

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format (whsec_ + base64 of 32 bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: v1,<base64 HMAC-SHA256 of id.timestamp.body>."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, *, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver does (used by the tests and documented for partners)."""
    expected = sign(secret, message_id=message_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected.encode(), c.encode()) for c in header.split())


class UnsafeTarget(InvalidInput):
    """The URL is not http(s), or its host resolves to an internal address."""


def _unsafe(message: str) -> UnsafeTarget:
    return UnsafeTarget(message, errors=[FieldError("webhook_url", message)])


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_syntax(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _unsafe(_("A webhook address starts with https:// and names a host."))
    if parts.username or parts.password:
        raise _unsafe(_("A webhook address cannot hold a user name or password."))
    return url


async def check_target(url: str, *, allow_private: bool) -> str:
    """The URL, if it is http(s) and (unless allowed) every address of its host is public."""
    url = check_syntax(url)
    if allow_private:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        raise _unsafe(_("The webhook's host name does not resolve.")) from None
    if not infos or any(_is_internal(str(info[4][0])) for info in infos):
        raise _unsafe(
            _("The webhook address leads to an internal network address, which is not allowed.")
        )
    return url
