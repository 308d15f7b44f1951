"""The pieces of distribution on their own: SMS length, the retry schedule, phone numbers,
the rate limiter on real Redis, webhook signatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from hub.config import Settings
from hub.distribution import retry, sms, webhooks
from hub.distribution.channels import normalise_phone
from hub.distribution.ratelimit import RateLimiter


def test_gsm7_and_ucs2_lengths() -> None:
    assert sms.measure("a" * 160) == sms.SmsLength("GSM-7", 160, 1)
    assert sms.measure("a" * 161).segments == 2
    assert sms.measure("a" * 306).segments == 2 and sms.measure("a" * 307).segments == 3
    assert sms.measure("€").units == 2  # the extension table costs two septets
    assert sms.measure("Vaccination før vinteren").encoding == "GSM-7"  # ø is GSM-7
    arabic = "التطعيم قبل الشتاء"
    assert sms.measure(arabic).encoding == "UCS-2"
    assert sms.measure("ب" * 70).segments == 1 and sms.measure("ب" * 71).segments == 2
    assert sms.measure("💉").units == 2  # outside the BMP: two UTF-16 units


def test_fit_keeps_the_link_and_the_segment_budget() -> None:
    link = " https://hub.example/portal/campaigns/7"
    text = sms.fit("ب" * 500, max_segments=3, keep_end=link)
    assert text.endswith("…" + link)
    assert sms.measure(text).segments == 3
    assert sms.fit("kort", max_segments=1, keep_end=link) == "kort" + link


def test_the_backoff_schedule_and_the_72_hour_limit() -> None:
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    waits = [retry.next_attempt(n, first_attempt_at=now, now=now) for n in range(1, 7)]
    assert [w - now if w else None for w in waits] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
        None,
    ]
    late = now + timedelta(hours=71)
    assert retry.next_attempt(5, first_attempt_at=now, now=late) is None
    assert retry.http_is_temporary(503) and retry.http_is_temporary(429)
    assert retry.http_is_temporary(408) and not retry.http_is_temporary(400)
    assert not retry.http_is_temporary(410)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20 30 40 50", "+4520304050"),
        ("+45 20-30-40-50", "+4520304050"),
        ("0046 70 123 45 67", "+46701234567"),
        ("(+252) 61 234 5678", "+252612345678"),
        ("call me", None),
        ("", None),
        ("123", None),
    ],
)
def test_phone_numbers(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_signatures_follow_standard_webhooks() -> None:
    # The example of the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhooks.sign(
        secret, message_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhooks.verify(
        secret,
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=body,
        header=f"v1,bm90LXRoaXM= {signature}",
    )
    fresh = webhooks.new_secret()
    assert fresh.startswith("whsec_") and len(base64.b64decode(fresh[6:])) == 32


async def test_the_rate_limiter_shares_its_buckets(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        limiter = RateLimiter(redis, prefix=f"{settings.redis_prefix}unit:")
        granted, wait = await limiter.take("email", 10, per_second=4, per_hour=0)
        assert granted == 4 and 0 < wait <= 0.5
        other = RateLimiter(redis, prefix=f"{settings.redis_prefix}unit:")
        assert (await other.take("email", 1, per_second=4, per_hour=0))[0] == 0
        assert await limiter.take("sms", 3, per_second=0, per_hour=0) == (3, 0.0)
        hourly = await limiter.take("webhook", 10, per_second=100, per_hour=5)
        assert hourly[0] == 5 and hourly[1] > 60
    finally:
        await redis.aclose()


def test_the_fast_message_says_what_the_slow_one_says() -> None:
    from email import message_from_bytes, policy

    from hub.distribution.channels import EmailChannel
    from hub.distribution.service import Claimed, ContactRef, DeliveryRef
    from hub.mail import Mailer
    from hub.models import Campaign, DeliveryChannel, Organisation

    settings = Settings(_env_file=None, env="test", secret_key="k" * 40, base_url="https://hub.dk")  # type: ignore[call-arg]
    channel = EmailChannel(settings, Mailer(settings))
    claimed = Claimed(
        delivery=DeliveryRef(41, 7, 3, 9, DeliveryChannel.email),
        contact=ContactRef(9, "amina@example.org", "Amina <Ø>", "da", None),
        organisation=Organisation(id=3, name="Somali & Co", kind="association"),
        campaign=Campaign(id=7, title="Vinterens vaccination", purpose="Flere vaccinerede"),
    )
    raw = channel.raw(claimed)
    assert raw is not None
    fast = message_from_bytes(raw, policy=policy.default)
    slow = channel.message(claimed)
    for header in ("Subject", "From", "To", "Message-ID", "Content-Language"):
        assert str(fast[header]) == str(slow[header]), header
    assert fast["Message-ID"] == "<delivery-41@hub.dk>"
    # The same text, with the CRLF line ends of the wire.
    fast_parts = [p.get_content().replace("\r\n", "\n") for p in fast.iter_parts()]
    slow_parts = [p.get_content() for p in slow.iter_parts()]
    assert fast_parts == slow_parts
    assert "Amina <Ø>" in fast_parts[0] and "Amina &lt;Ø&gt;" in fast_parts[1]
