"""Sending limits per channel: two token buckets in Redis (per second and per hour), taken
from atomically, so every worker process shares them."""

from __future__ import annotations

import time

from redis.asyncio import Redis

# KEYS: the per-second and per-hour buckets. ARGV: now (ms), wanted, then rate (tokens/s) and
# capacity of each bucket (a rate of 0: that bucket does not limit). Returns how many tokens
# were taken (0..wanted) and, when fewer than wanted, the milliseconds until the next one.
_TAKE = """
local now = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local buckets = {}
local grant = wanted
for i = 1, 2 do
  local rate = tonumber(ARGV[1 + 2 * i])
  local capacity = tonumber(ARGV[2 + 2 * i])
  if rate > 0 then
    local b = redis.call('HMGET', KEYS[i], 't', 'ts')
    local tokens = tonumber(b[1]) or capacity
    local ts = tonumber(b[2]) or now
    tokens = math.min(capacity, tokens + math.max(0, now - ts) / 1000 * rate)
    buckets[i] = {tokens, rate, capacity}
    grant = math.min(grant, math.floor(tokens))
  end
end
local wait = 0
for i = 1, 2 do
  local b = buckets[i]
  if b then
    local left = b[1] - grant
    redis.call('HSET', KEYS[i], 't', left, 'ts', now)
    redis.call('PEXPIRE', KEYS[i], math.ceil(b[3] / b[2] * 1000) + 1000)
    if grant < wanted then
      wait = math.max(wait, math.ceil((1 - (left - math.floor(left))) / b[2] * 1000))
    end
  end
end
return {grant, wait}
"""


class RateLimiter:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_TAKE)

    async def take(
        self, channel: str, wanted: int, *, per_second: float, per_hour: int
    ) -> tuple[int, float]:
        """Up to ``wanted`` sends allowed now, and the seconds to wait for more if fewer."""
        if wanted <= 0 or (per_second <= 0 and per_hour <= 0):
            return wanted, 0.0
        keys = [f"{self.prefix}rate:{channel}:second", f"{self.prefix}rate:{channel}:hour"]
        second_capacity = max(1.0, per_second)  # a burst of one second's worth
        granted, wait_ms = await self._script(
            keys=keys,
            args=[
                int(time.time() * 1000),
                wanted,
                per_second,
                second_capacity,
                per_hour / 3600 if per_hour else 0,
                per_hour,
            ],
        )
        return int(granted), int(wait_ms) / 1000
