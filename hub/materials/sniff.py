"""What an uploaded file really is: its content must agree with its extension.

Only the kinds campaigns use are accepted: films (mp4, webm, mov), audio (mp3, m4a), documents
(pdf, docx, odt, txt, md), images (png, jpeg, webp) and films' captions (vtt). SVG, HTML and
everything else is refused,
whatever it is called: those can carry scripts, and a partner opens what the hub hands out.

The check reads the first bytes of the content (:data:`HEAD_BYTES`, the "magic"):

* mp4 / m4a / mov: an ISO BMFF ``ftyp`` box. QuickTime (brand ``qt  ``) must be called .mov;
  an audio brand (``M4A `` ...) .m4a; HEIF/AVIF still images are refused.
* webm: an EBML header whose DocType is ``webm`` (Matroska .mkv is refused).
* mp3: an ID3 tag or an MPEG-1/2/2.5 Layer III frame header.
* pdf ``%PDF-``, png, jpeg (FF D8 FF) and webp (``RIFF....WEBP``).
* odt: a ZIP whose first member is the uncompressed ``mimetype`` file saying
  ``application/vnd.oasis.opendocument.text`` (as the ODF standard requires).
* docx: a ZIP whose first bytes name an Office Open XML part (``[Content_Types].xml``,
  ``_rels/``, ``word/`` or ``docProps/``). That is only a first look: once the whole file is
  stored, :func:`check_stored` reads the ZIP's central directory and requires
  ``[Content_Types].xml`` and a ``word/*.xml`` part (and, for both ODT and DOCX, no macros).
* vtt: WebVTT captions, a text file whose first line starts with ``WEBVTT``.
* txt / md / vtt: UTF-8 without NUL bytes (checked over the whole file by :class:`TextCheck`) that
  does not start with markup (``<svg``, ``<html``, ``<!doctype``, ``<?xml``...): a text file
  must not be an HTML page under another name.
"""

from __future__ import annotations

import codecs
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hub.errors import FieldError, InvalidInput
from hub.i18n import _, lazy
from hub.models import MaterialKind

# Enough for every signature below, and for a text file's first lines.
HEAD_BYTES = 4096
FIELD = "file"

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_TYPE = "application/vnd.oasis.opendocument.text"


@dataclass(frozen=True)
class FileType:
    extension: str
    kind: MaterialKind
    content_type: str


TYPES: dict[str, FileType] = {
    t.extension: t
    for t in (
        FileType("mp4", MaterialKind.film, "video/mp4"),
        FileType("webm", MaterialKind.film, "video/webm"),
        FileType("mov", MaterialKind.film, "video/quicktime"),
        FileType("mp3", MaterialKind.audio, "audio/mpeg"),
        FileType("m4a", MaterialKind.audio, "audio/mp4"),
        FileType("pdf", MaterialKind.document, "application/pdf"),
        FileType("docx", MaterialKind.document, DOCX_TYPE),
        FileType("odt", MaterialKind.document, ODT_TYPE),
        FileType("txt", MaterialKind.document, "text/plain; charset=utf-8"),
        FileType("md", MaterialKind.document, "text/markdown; charset=utf-8"),
        FileType("png", MaterialKind.image, "image/png"),
        FileType("jpg", MaterialKind.image, "image/jpeg"),
        FileType("jpeg", MaterialKind.image, "image/jpeg"),
        FileType("webp", MaterialKind.image, "image/webp"),
        FileType("vtt", MaterialKind.captions, "text/vtt; charset=utf-8"),
    )
}
TEXT_EXTENSIONS = frozenset({"txt", "md", "vtt"})
# Named in the refusal: these can run scripts in a browser.
SCRIPTABLE_EXTENSIONS = frozenset(
    {"svg", "svgz", "html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml", "xml", "js"}
)

ALLOWED = lazy(
    "films (MP4, WebM, MOV), audio (MP3, M4A), documents (PDF, DOCX, ODT, TXT, MD), "
    "images (PNG, JPEG, WebP) and captions of films (WebVTT)"
)


def refuse(message: str) -> InvalidInput:
    """An InvalidInput about the uploaded file (the ``file`` form field)."""
    return InvalidInput(message, errors=[FieldError(FIELD, message)])


def extension_of(filename: str) -> str:
    """The lowercased extension of a file name ("" when it has none)."""
    stem, dot, extension = filename.rpartition(".")
    return extension.strip().lower() if dot and stem else ""


def file_type(extension: str) -> FileType:
    """The accepted type for an extension, or InvalidInput saying what is accepted."""
    found = TYPES.get(extension.lower())
    if found is not None:
        return found
    if extension.lower() in SCRIPTABLE_EXTENSIONS:
        message = _(
            "SVG, HTML and XML files cannot be uploaded: they can contain scripts. "
            "Allowed are %(allowed)s."
        )
    else:
        message = _("This type of file cannot be uploaded. Allowed are %(allowed)s.")
    raise refuse(message % {"allowed": _(ALLOWED)})


# --- signatures ----------------------------------------------------------------------------

QUICKTIME_BRANDS = frozenset({b"qt  "})
AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)
ZIP_LOCAL_HEADER = b"PK\x03\x04"
OOXML_NAMES = (b"[Content_Types].xml", b"_rels/", b"word/", b"docProps/")
MARKUP_LABELS = {"svg": "SVG", "html": "HTML", "!doctype": "HTML", "?xml": "XML"}


def _ftyp_brands(head: bytes) -> tuple[bytes, frozenset[bytes]] | None:
    """The major brand and all brands of an ISO BMFF file (mp4, m4a, mov), if it is one."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", head[:4])[0]
    if size < 16 or size % 4:
        return None
    major = head[8:12]
    compatible = [head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
    return major, frozenset([major, *compatible])


def _iso_label(head: bytes) -> str | None:
    brands = _ftyp_brands(head)
    if brands is None:
        return None
    major, all_brands = brands
    if major in IMAGE_BRANDS:
        return "HEIF/AVIF"
    if all_brands & QUICKTIME_BRANDS:
        return "MOV"
    if major in AUDIO_BRANDS:
        return "M4A"
    return "MP4"


def _ebml_doctype(head: bytes) -> bytes | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head):
        return None
    first = head[at + 2]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        return None
    size = first & (0xFF >> length)
    for byte in head[at + 3 : at + 2 + length]:
        size = (size << 8) | byte
    start = at + 2 + length
    return head[start : start + size].rstrip(b"\x00")


def _is_mp3(head: bytes) -> bool:
    if head.startswith(b"ID3") and len(head) >= 10 and head[3] in (2, 3, 4):
        return True
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11  # 01 is reserved
    layer = (head[1] >> 1) & 0b11  # 01 is Layer III (00 would be AAC's ADTS)
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate != 0b1111 and sample_rate != 0b11


def _first_zip_member(head: bytes) -> tuple[str, int, bytes] | None:
    """Name, compression method and (stored) data of the first ZIP member, if in the head."""
    if len(head) < 30 or not head.startswith(ZIP_LOCAL_HEADER):
        return None
    method = struct.unpack("<H", head[8:10])[0]
    compressed_size = struct.unpack("<I", head[18:22])[0]
    name_length, extra_length = struct.unpack("<HH", head[26:30])
    name = head[30 : 30 + name_length].decode("utf-8", "replace")
    start = 30 + name_length + extra_length
    return name, method, head[start : start + compressed_size]


def _is_odt(head: bytes) -> bool:
    member = _first_zip_member(head)
    return member is not None and member == ("mimetype", 0, ODT_TYPE.encode())


def _is_docx(head: bytes) -> bool:
    return head.startswith(ZIP_LOCAL_HEADER) and any(name in head for name in OOXML_NAMES)


def _markup(text: str) -> str | None:
    """ "HTML", "SVG" or "XML" when the text starts with markup (after a BOM and blanks)."""
    start = text.lstrip("\ufeff \t\r\n\f\v")
    if not start.startswith("<") or len(start) < 2:
        return None
    lowered = start[1:40].lower()
    for prefix, label in MARKUP_LABELS.items():
        if lowered.startswith(prefix):
            return label
    if start[1].isalpha() or start[1] in "!?/":
        return "HTML"
    return None


def _decode_head(head: bytes) -> str | None:
    """The head as text if it is UTF-8 (a character cut off at the end is fine)."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return None


def identify(head: bytes) -> str | None:
    """A short name for what the content is ("PNG", "HTML"...), or None if unknown."""
    binary = (
        ("PNG", head.startswith(b"\x89PNG\r\n\x1a\n")),
        ("JPEG", head.startswith(b"\xff\xd8\xff")),
        ("WebP", head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
        ("GIF", head[:6] in (b"GIF87a", b"GIF89a")),
        ("PDF", head.startswith(b"%PDF-")),
        ("ODT", _is_odt(head)),
        ("DOCX", _is_docx(head)),
        ("ZIP", head.startswith(ZIP_LOCAL_HEADER)),
        ("EXE", head.startswith(b"MZ") and b"\x00" in head[:64]),
        ("ELF", head.startswith(b"\x7fELF")),
    )
    for label, matches in binary:
        if matches:
            return label
    iso = _iso_label(head)
    if iso:
        return iso
    doctype = _ebml_doctype(head)
    if doctype is not None:
        return "WebM" if doctype == b"webm" else "MKV"
    if _is_mp3(head):
        return "MP3"
    text = _decode_head(head)
    if text is not None and "\x00" not in text:
        return _markup(text) or "text"
    return None


def _matches(head: bytes, extension: str) -> bool:
    match extension:
        case "mp4" | "mov" | "m4a":
            label = _iso_label(head)
            return label == {"mp4": "MP4", "mov": "MOV", "m4a": "M4A"}[extension] or (
                # An audio-only MP4 is often branded isom/mp42 and called .m4a.
                extension == "m4a" and label == "MP4"
            )
        case "webm":
            return _ebml_doctype(head) == b"webm"
        case "mp3":
            return _is_mp3(head)
        case "pdf":
            return head.startswith(b"%PDF-")
        case "png":
            return head.startswith(b"\x89PNG\r\n\x1a\n")
        case "jpg" | "jpeg":
            return head.startswith(b"\xff\xd8\xff")
        case "webp":
            return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        case "odt":
            return _is_odt(head)
        case "docx":
            return _is_docx(head) and not _is_odt(head)
    return False


def sniff(head: bytes, extension: str) -> tuple[MaterialKind, str]:
    """The kind and Content-Type of a file from its first bytes, or InvalidInput when the
    content is not what the extension says (or is not allowed at all)."""
    wanted = file_type(extension)
    if not head:
        raise refuse(_("The file is empty."))
    if wanted.extension in TEXT_EXTENSIONS:
        _check_text_head(head)
        if wanted.extension == "vtt" and not _is_webvtt(head):
            raise refuse(_("A captions file must be WebVTT: its first line says WEBVTT."))
    elif not _matches(head, wanted.extension):
        found = identify(head)
        if found in ("HTML", "SVG", "XML"):
            raise refuse(
                _("The file contains %(found)s markup, which cannot be uploaded.")
                % {"found": found}
            )
        if found is not None and found != "text":
            message = _(
                "The file name ends in .%(extension)s, but its content is of type %(found)s. "
                "Upload a file whose name matches its content."
            ) % {"extension": wanted.extension, "found": found}
        else:
            message = _(
                "The content of the file is not what its extension .%(extension)s says. "
                "Upload a file whose name matches its content."
            ) % {"extension": wanted.extension}
        raise refuse(message)
    return wanted.kind, wanted.content_type


def _is_webvtt(head: bytes) -> bool:
    text = head.removeprefix(codecs.BOM_UTF8)
    return text.startswith(b"WEBVTT") and text[6:7] in (b"", b" ", b"\t", b"\n", b"\r")


def _check_text_head(head: bytes) -> None:
    found = identify(head)
    if found not in (None, "text", *MARKUP_LABELS.values()):
        raise refuse(
            _(
                "The file name says text, but its content is of type %(found)s. "
                "Upload a file whose name matches its content."
            )
            % {"found": found}
        )
    text = _decode_head(head)
    if text is None or "\x00" in text:
        raise refuse(_not_utf8_message())
    markup = _markup(text)
    if markup is not None:
        raise refuse(
            _("The file contains %(found)s markup, which cannot be uploaded.") % {"found": markup}
        )


def _not_utf8_message() -> str:
    return _("The text file is not plain UTF-8 text. Save it as UTF-8 and upload it again.")


class TextCheck:
    """Checks a whole text file as it streams: valid UTF-8, no NUL characters."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.valid = True

    def feed(self, data: bytes | memoryview) -> None:
        if not self.valid:
            return
        try:
            # Decoding is the check; the text itself is not kept.
            if "\x00" in self._decoder.decode(data):
                self.valid = False
        except UnicodeDecodeError:
            self.valid = False

    def finish(self) -> None:
        """Raise InvalidInput if the text was not valid."""
        if self.valid:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.valid = False
        if not self.valid:
            raise refuse(_not_utf8_message())


def text_check(extension: str) -> TextCheck | None:
    """A whole-file check for the text types; None for the others."""
    return TextCheck() if extension.lower() in TEXT_EXTENSIONS else None


def check_stored(path: Path, extension: str) -> None:
    """The checks that need the whole file (ZIP documents: the central directory).

    Blocking: run it in a thread.
    """
    extension = extension.lower()
    if extension not in ("docx", "odt"):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        names = []
    if extension == "docx":
        valid = "[Content_Types].xml" in names and any(
            n.startswith("word/") and n.endswith(".xml") for n in names
        )
    else:
        valid = bool(names) and names[0] == "mimetype" and "content.xml" in names
    if not valid:
        raise refuse(
            _(
                "The content of the file is not what its extension .%(extension)s says. "
                "Upload a file whose name matches its content."
            )
            % {"extension": extension}
        )
    if any(_is_macro(name) for name in names):
        raise refuse(_("Documents with macros cannot be uploaded. Save it without macros."))


def _is_macro(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith("vbaproject.bin") or lowered.startswith(("basic/", "scripts/"))
