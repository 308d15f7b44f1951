"""HTML pages of forward reports: the partner's form and list, the officer's list and flags."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
