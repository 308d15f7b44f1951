"""Dependencies shared by every domain: the hub's state and the per-request unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.config import Settings
from hub.db import unit_of_work
from hub.state import HubState

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_state(request: Request) -> HubState:
    state: HubState = request.state.hub
    return state


StateDep = Annotated[HubState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_redis(state: StateDep) -> Redis:
    return state.redis


async def get_session(request: Request, state: StateDep) -> AsyncIterator[AsyncSession]:
    # Safe methods read only: a deferred transaction never blocks SQLite writers.
    write = request.method not in SAFE_METHODS
    async with unit_of_work(state.db, state.queue, write=write) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
# scope="function": commit before the response is sent, so a client never sees success for
# work that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
