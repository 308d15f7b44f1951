"""When a failed delivery is tried again, and which failures are final."""

from __future__ import annotations

from datetime import datetime, timedelta

# After the 1st, 2nd, … failed attempt the next one waits this long; after the last, it fails.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# No attempt later than this after the first one (a paused or throttled sending included).
GIVE_UP_AFTER = timedelta(hours=72)


def next_attempt(attempts: int, *, first_attempt_at: datetime, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    at = now + BACKOFF[attempts - 1]
    if at > first_attempt_at + GIVE_UP_AFTER:
        return None
    return at


def http_is_temporary(status: int) -> bool:
    """Timeouts, throttling and server errors pass; other client errors will not."""
    return status in (408, 425, 429) or status >= 500
