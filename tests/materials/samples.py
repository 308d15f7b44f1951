"""Tiny files of every allowed kind, built by hand with real headers (no Pillow here)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

DANISH_ARABIC = (
    "Vaccination i Gellerup: få svar på dine spørgsmål.\n"
    "التطعيم في غيلروب: احصل على إجابات لأسئلتك.\n"
)


def png(width: int = 1, height: int = 1, seed: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + bytes([seed % 256, 120, 200]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\x00" * 32 + b"\xff\xd9"
    )


def webp() -> bytes:
    # A 1x1 lossless image (VP8L).
    vp8l = b"\x2f\x00\x00\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def iso_media(major: bytes, compatible: list[bytes], payload: bytes = b"\x00" * 64) -> bytes:
    brands = b"".join(compatible)
    ftyp = struct.pack(">I", 16 + len(brands)) + b"ftyp" + major + b"\x00\x00\x02\x00" + brands
    mdat = struct.pack(">I", 8 + len(payload)) + b"mdat" + payload
    return ftyp + mdat


def mp4(payload: bytes = b"\x00" * 64) -> bytes:
    return iso_media(b"isom", [b"isom", b"iso2", b"avc1", b"mp41"], payload)


def mov() -> bytes:
    return iso_media(b"qt  ", [b"qt  "])


def m4a() -> bytes:
    return iso_media(b"M4A ", [b"M4A ", b"mp42", b"isom"])


def webm(doctype: bytes = b"webm") -> bytes:
    header = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        + b"\x42\x82"
        + bytes([0x80 | len(doctype)])
        + doctype
        + b"\x42\x87\x81\x04"  # DocTypeVersion 4
        b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\x00" * 32
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + segment


def mp3() -> bytes:
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x00"
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
    return id3 + frame * 2


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def docx(extra: dict[str, bytes] | None = None, content_types: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr(
            "word/document.xml",
            f'<?xml version="1.0"?><w:document><w:t>{DANISH_ARABIC}</w:t></w:document>',
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            b"application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr(
            "META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>', zipfile.ZIP_DEFLATED
        )
        archive.writestr(
            "content.xml",
            f'<?xml version="1.0"?><office:document-content>{DANISH_ARABIC}'
            "</office:document-content>",
            zipfile.ZIP_DEFLATED,
        )
    return buffer.getvalue()


def txt() -> bytes:
    return DANISH_ARABIC.encode()


def md() -> bytes:
    return ("# Vaccination\n\n" + DANISH_ARABIC + "\n- Gratis\n- Uden tidsbestilling\n").encode()


# name, content, kind, content type
ALLOWED = [
    ("film.mp4", mp4(), "film", "video/mp4"),
    ("film.webm", webm(), "film", "video/webm"),
    ("film.MOV", mov(), "film", "video/quicktime"),
    ("lyd.mp3", mp3(), "audio", "audio/mpeg"),
    ("lyd.m4a", m4a(), "audio", "audio/mp4"),
    ("plakat.pdf", pdf(), "document", "application/pdf"),
    (
        "manuskript.docx",
        docx(),
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("manuskript.odt", odt(), "document", "application/vnd.oasis.opendocument.text"),
    ("spørgsmål.txt", txt(), "document", "text/plain; charset=utf-8"),
    ("README.md", md(), "document", "text/markdown; charset=utf-8"),
    ("billede.png", png(), "image", "image/png"),
    ("foto.jpg", jpeg(), "image", "image/jpeg"),
    ("foto.JPEG", jpeg() + b"\x00", "image", "image/jpeg"),
    ("billede.webp", webp(), "image", "image/webp"),
]
