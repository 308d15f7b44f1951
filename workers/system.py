"""Operational jobs."""

from __future__ import annotations

from typing import Any


async def noop(ctx: dict[str, Any]) -> str:
    """Does nothing: the baseline that job benchmarks compare against."""
    return "ok"
