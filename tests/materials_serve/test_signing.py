"""Signed, expiring download links: they round-trip, and every way of being wrong is a 404."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from hub.errors import NotFound
from hub.materials.signing import DOWNLOAD_PURPOSE, InvalidLink, sign, verify

SECRET = "test-secret-" + "x" * 40
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAYLOAD: dict[str, int | str] = {"m": 1234, "v": 56789, "o": 42, "n": "Vaccination før vinteren"}


def token(**overrides: object) -> str:
    options: dict[str, object] = {"secret": SECRET, "expires_at": NOW + timedelta(days=7)}
    options.update(overrides)
    return sign(PAYLOAD, **options)  # type: ignore[arg-type]


def test_a_signed_link_gives_back_its_payload_until_it_expires() -> None:
    signed = token()
    assert verify(signed, secret=SECRET, now=NOW) == PAYLOAD
    just_before = NOW + timedelta(days=7, seconds=-1)
    assert verify(signed, secret=SECRET, now=just_before) == PAYLOAD


def test_the_token_fits_in_a_url_as_it_is() -> None:
    signed = token()
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", signed)
    assert len(signed) < 160


def test_an_expired_link_is_refused() -> None:
    signed = token()
    for later in (NOW + timedelta(days=7), NOW + timedelta(days=400)):
        with pytest.raises(InvalidLink):
            verify(signed, secret=SECRET, now=later)
    with pytest.raises(InvalidLink):  # and without a clock given: the real one
        verify(token(expires_at=datetime.now(UTC) - timedelta(seconds=1)), secret=SECRET)


def test_a_tampered_link_is_refused() -> None:
    data, signature = token().split(".")
    forged_body = {"d": {**PAYLOAD, "m": 1}, "x": int((NOW + timedelta(days=7)).timestamp())}
    forged = base64.urlsafe_b64encode(json.dumps(forged_body).encode()).rstrip(b"=").decode()
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    longer_life = {**forged_body, "d": PAYLOAD, "x": forged_body["x"] + 10**6}
    extended = base64.urlsafe_b64encode(json.dumps(longer_life).encode()).rstrip(b"=").decode()
    for bad in (
        f"{forged}.{signature}",  # another material
        f"{extended}.{signature}",  # a later expiry
        f"{data}.{flipped}",
        f"{data[:-2]}.{signature}",
        f"{data}.{signature}=",  # another spelling of the same signature
        f"{data}.",
        f".{signature}",
        data,
        "",
        "..",
        "é.é",
        "a" * 5000,
    ):
        with pytest.raises(InvalidLink):
            verify(bad, secret=SECRET, now=NOW)


def test_a_link_signed_for_another_purpose_or_with_another_secret_is_refused() -> None:
    magic_link = token(purpose="auth.magic_link")
    with pytest.raises(InvalidLink):
        verify(magic_link, secret=SECRET, now=NOW)
    with pytest.raises(InvalidLink):  # and the other way round
        verify(token(), secret=SECRET, now=NOW, purpose="auth.magic_link")
    assert verify(magic_link, secret=SECRET, now=NOW, purpose="auth.magic_link") == PAYLOAD
    assert verify(token(purpose=DOWNLOAD_PURPOSE), secret=SECRET, now=NOW) == PAYLOAD
    with pytest.raises(InvalidLink):
        verify(token(), secret="another-secret-" + "y" * 40, now=NOW)


def test_a_refusal_is_a_404_that_does_not_say_why() -> None:
    details = set()
    for bad, now in ((token(), NOW + timedelta(days=8)), (token() + "x", NOW), ("junk", NOW)):
        with pytest.raises(NotFound) as refused:
            verify(bad, secret=SECRET, now=now)
        assert refused.value.status == 404
        details.add(refused.value.detail)
    assert len(details) == 1


def test_signing_needs_an_aware_expiry_and_a_secret() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        token(expires_at=datetime(2026, 3, 8, 12, 0))  # naive: the point of the test
    with pytest.raises(ValueError, match="secret"):
        token(secret="")
