"""Sign-in throttling in Redis, per account and per client, counted on failures only.

The same answer comes for an unknown e-mail address and a wrong password, and the account
counter counts attempts on any address, so the limit itself reveals nothing either.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from hub.config import Settings
from hub.errors import TooManyRequests
from hub.i18n import ngettext


class LoginLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    def _key(self, kind: str, value: str) -> str:
        # Hashed with the secret: Redis never holds an e-mail address or an IP address.
        digest = hashlib.sha256(f"{self.settings.secret_key}|{kind}|{value}".encode()).hexdigest()
        return f"{self.settings.redis_prefix}login:{kind}:{digest[:32]}"

    async def check(self, *, email: str, client: str) -> None:
        account, client_count = await self.redis.mget(
            self._key("account", email.strip().lower()), self._key("client", client)
        )
        if (
            int(account or 0) >= self.settings.login_max_failures_per_account
            or int(client_count or 0) >= self.settings.login_max_failures_per_client
        ):
            minutes = max(1, self.settings.login_window_seconds // 60)
            raise TooManyRequests(
                ngettext(
                    "Too many failed sign-in attempts. Wait %(num)d minute and try again.",
                    "Too many failed sign-in attempts. Wait %(num)d minutes and try again.",
                    minutes,
                )
                % {"num": minutes},
                headers={"Retry-After": str(self.settings.login_window_seconds)},
            )

    async def record_failure(self, *, email: str, client: str) -> None:
        window = self.settings.login_window_seconds
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (self._key("account", email.strip().lower()), self._key("client", client)):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()

    async def reset(self, *, email: str) -> None:
        await self.redis.delete(self._key("account", email.strip().lower()))


async def allow_link_request(redis: Redis, settings: Settings, *, email: str) -> bool:
    """At most a few sign-in links per address and window; beyond that, silently none."""
    digest = hashlib.sha256(f"{settings.secret_key}|link|{email.strip().lower()}".encode())
    key = f"{settings.redis_prefix}login:link:{digest.hexdigest()[:32]}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, settings.login_window_seconds, nx=True)
        count, _expiry = await pipe.execute()
    return int(count) <= settings.magic_link_max_per_window
