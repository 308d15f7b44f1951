"""Types shared by the API schemas of every domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

# Ids are 32-bit integers in the database; anything outside is refused as input (a 4xx) before
# a query could fail on it.
MAX_DB_ID = 2_147_483_647

DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
