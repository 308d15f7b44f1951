"""These tests touch neither the database nor Redis: skip the suite's per-test cleanup of both
(and with it the need for either server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_slate() -> Iterator[None]:
    yield
