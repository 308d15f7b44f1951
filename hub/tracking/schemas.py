"""API shapes of tracked links."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hub.models import Channel
from hub.schemas import MAX_DB_ID, ApiInput


class LinkCreate(ApiInput):
    item_id: int = Field(ge=1, le=MAX_DB_ID)
    language: str = Field(min_length=2, max_length=8)
    channel: Channel
    placement: str = Field(default="", max_length=100, description='e.g. "Entrance hall, block 4"')


class LinkRead(BaseModel):
    id: int
    code: str
    url: str = Field(description="The short address to hand out; QR codes carry it.")
    organisation_id: int
    campaign_id: int
    item_id: int
    language: str
    channel: Channel
    placement: str
    parent_id: int | None
    hop: int = Field(description="1: the partner's own link; 2 and more: shared on by citizens")
    created_at: datetime
    qr_svg_url: str
    qr_png_url: str
    clicks: int = 0
    previews: int = 0
    uniques: int = Field(default=0, description="Sum of the daily unique-visitor estimates")
    shared_clicks: int = Field(default=0, description="Clicks on links shared on from this one")


class LinkPage(BaseModel):
    items: list[LinkRead]
    total: int
