"""Helpers for the upload tests: a multipart body built by hand, sent in counted chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hub import i18n
from hub.config import Settings
from hub.db import Database
from hub.materials.storage import Storage
from hub.models import Role
from tests.factories import api_token, bearer, make_user

BOUNDARY = "----HubTestBoundary7MA4YWxkTrZu0gW"
UPLOAD_URL = "/api/v1/materials"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with i18n.use_language("en"):
        yield


def stored(storage: Storage, key: str, content: bytes) -> None:
    """Put ``content`` in the store as ``key``, written in two pieces as uploads are."""
    temp = storage.open_temp()
    try:
        temp.write([content[: len(content) // 2], content[len(content) // 2 :]])
        storage.commit(temp, key)
    finally:
        storage.discard(temp)


def multipart(
    filename: str | None,
    content: bytes,
    *,
    name: str = "file",
    fields: dict[str, str] | None = None,
    closed: bool = True,
) -> bytes:
    """A multipart/form-data body as a browser sends it (fields first, then the file)."""
    parts = []
    for key, value in (fields or {}).items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    parts.append(
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


CONTENT_TYPE = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@dataclass
class CountedBody:
    """A request body sent in chunks that counts how much of it the server pulled."""

    body: bytes
    chunk_size: int = 64 * 1024
    chunks_pulled: int = 0
    bytes_pulled: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.chunk_size):
            chunk = self.body[start : start + self.chunk_size]
            self.chunks_pulled += 1
            self.bytes_pulled += len(chunk)
            yield chunk


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.fixture
def media(settings: Settings) -> Path:
    return settings.media_root


@pytest.fixture
async def staff_headers(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    officer = await make_user(db, role=Role.officer, password=None)
    # English messages, which the tests read.
    return {**bearer(await api_token(client, db, officer)), "Accept-Language": "en"}
