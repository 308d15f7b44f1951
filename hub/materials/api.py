"""JSON routes of the materials library: upload a file (staff), read what is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import ClientDisconnect

from hub.auth.dependencies import ApiStaffDep
from hub.dependencies import SessionDep
from hub.errors import BadRequest
from hub.i18n import _
from hub.materials import service
from hub.materials.storage import Storage, storage_for
from hub.materials.upload import ReceivedUpload, discard_upload, receive_upload
from hub.models import Material, MaterialKind, ProcessingStatus
from hub.schemas import IdPath, problems

router = APIRouter(prefix="/api/v1/materials", tags=["materials"])


def get_storage(request: Request) -> Storage:
    """The media store the settings name (never served as static files)."""
    return storage_for(request.state.hub.settings)


StorageDep = Annotated[Storage, Depends(get_storage)]


class MaterialRead(BaseModel):
    id: int
    sha256: str
    size: int
    kind: MaterialKind
    content_type: str
    extension: str
    original_filename: str
    processing_status: ProcessingStatus
    created_at: datetime

    @classmethod
    def of(cls, material: Material, **extra: Any) -> Any:
        return cls(**{name: getattr(material, name) for name in MaterialRead.model_fields}, **extra)


class MaterialUploaded(MaterialRead):
    created: bool  # False: the identical file was already stored, and is what you get back


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": (
                                "The file: films (mp4, webm, mov), audio (mp3, m4a), documents "
                                "(pdf, docx, odt, txt, md) or images (png, jpeg, webp). Its "
                                "content must match its extension; at most HUB_MAX_UPLOAD_MB."
                            ),
                        }
                    },
                }
            }
        },
    }
}


async def receive_request_upload(
    request: Request,
    session: AsyncSession,
    storage: Storage,
    *,
    before_file: Callable[[dict[str, str]], None] | None = None,
) -> ReceivedUpload:
    """Stream the request's multipart body into a storage temp file (call it after the caller
    is authenticated; the caller discards the upload when done with it). ``before_file``
    checks the fields sent before the file (see :func:`hub.materials.upload.receive_upload`)."""
    # Authentication may have written (a token's last use): commit that now, so that no
    # transaction, and on SQLite no write lock, is held while a large body streams in.
    await session.commit()
    try:
        return await receive_upload(
            request.headers.get("content-type"),
            request.stream(),
            storage=storage,
            max_bytes=request.state.hub.settings.max_upload_bytes,
            before_file=before_file,
        )
    except ClientDisconnect:
        # Gone (or cut off by the body limit, whose 413 is already sent): nobody reads this.
        raise BadRequest(_("The upload is incomplete or malformed. Try again.")) from None


async def material_or_404(
    material_id: IdPath, _staff: ApiStaffDep, session: SessionDep
) -> Material:
    return await service.get_material(session, material_id)


MaterialDep = Annotated[Material, Depends(material_or_404)]


@router.post(
    "",
    status_code=201,
    response_model=MaterialUploaded,
    responses={
        200: {"model": MaterialUploaded, "description": "The identical file was stored before"},
        **problems(
            400,
            413,
            422,
            507,
            notes={
                413: "The file is larger than HUB_MAX_UPLOAD_MB",
                422: "The type is not allowed or the content does not match it",
                507: "The media storage is full; nothing was stored",
            },
        ),
    },
    openapi_extra=UPLOAD_BODY,
)
async def upload_material(
    request: Request,
    response: Response,
    principal: ApiStaffDep,
    session: SessionDep,
    storage: StorageDep,
) -> Any:
    """Upload a file (multipart/form-data, field ``file``); an identical file is stored once.

    The body is read here, after the caller is authenticated, and streamed straight to disk:
    no File()/Form() parameters, so FastAPI never reads it first."""
    upload = await receive_request_upload(request, session, storage)
    try:
        material, created = await service.store_material(
            session, upload, storage=storage, uploaded_by=principal
        )
    finally:
        await discard_upload(storage, upload)
    response.status_code = 201 if created else 200
    return MaterialUploaded.of(material, created=created)


@router.get("/{material_id}", response_model=MaterialRead, responses=problems(404))
async def read_material(material: MaterialDep) -> Any:
    """A stored material's description (staff)."""
    return MaterialRead.of(material)
