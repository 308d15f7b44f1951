"""The content check on its own: signatures, brands and the edges between look-alike types;
and the local storage's temp files and keys."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.errors import InvalidInput
from hub.materials import sniff
from hub.materials.storage import InvalidKey, LocalStorage
from hub.materials.upload import safe_filename
from hub.models import MaterialKind
from tests.materials import samples


@pytest.fixture(autouse=True)
def _clean_slate() -> Iterator[None]:
    """No database or Redis here: skip the suite's per-test cleanup."""
    yield


def refused(head: bytes, extension: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        sniff.sniff(head, extension)
    assert caught.value.errors[0].field == "file"
    return caught.value.detail


def test_extensions_are_case_insensitive_and_jpg_and_jpeg_both_work() -> None:
    assert sniff.extension_of("Film.MP4") == "mp4"
    assert sniff.extension_of("arkiv.tar.gz") == "gz"
    assert sniff.extension_of(".bashrc") == ""
    assert sniff.sniff(samples.jpeg(), "JPG") == (MaterialKind.image, "image/jpeg")
    assert sniff.sniff(samples.jpeg(), "jpeg") == (MaterialKind.image, "image/jpeg")


def test_iso_media_brands_decide_between_mp4_m4a_and_mov() -> None:
    audio_as_isom = samples.iso_media(b"isom", [b"isom", b"mp42"])
    assert sniff.sniff(audio_as_isom, "m4a")[0] == MaterialKind.audio  # what ffmpeg writes
    assert "M4A" in refused(samples.m4a(), "mp4")
    assert "MOV" in refused(samples.mov(), "m4a")
    # An iPhone photo is an ISO BMFF file too, but not a film.
    heic = samples.iso_media(b"heic", [b"mif1", b"heic"])
    assert "HEIF/AVIF" in refused(heic, "mp4")
    assert "ftyp" not in refused(b"\x00\x00\x00\x08free" + b"\x00" * 64, "mp4")


def test_mp3_needs_an_id3_tag_or_a_layer_iii_frame() -> None:
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 64
    assert sniff.sniff(frame, "mp3")[0] == MaterialKind.audio
    adts_aac = b"\xff\xf1\x50\x80" + b"\x00" * 64
    refused(adts_aac, "mp3")
    refused(b"\xff\xfb\xf0\x64" + b"\x00" * 64, "mp3")  # bitrate index 15 is invalid


def test_webm_is_told_from_matroska_by_its_doctype() -> None:
    assert sniff.sniff(samples.webm(), "webm")[0] == MaterialKind.film
    assert "MKV" in refused(samples.webm(b"matroska"), "webm")
    refused(b"\x1a\x45\xdf\xa3", "webm")  # cut off before its DocType


def test_odt_needs_its_mimetype_first_and_uncompressed() -> None:
    assert sniff.sniff(samples.odt(), "odt")[0] == MaterialKind.document
    head = bytearray(samples.odt())
    head[8] = 8  # pretend the mimetype member is deflated
    refused(bytes(head), "odt")


def test_text_must_be_utf8_without_markup_at_its_start() -> None:
    assert sniff.sniff(samples.md(), "md") == (
        MaterialKind.document,
        "text/markdown; charset=utf-8",
    )
    assert sniff.sniff("ø".encode()[:1], "txt")  # a character cut in half by the head
    assert "HTML" in refused(b"  <html><body>hi</body></html>", "txt")
    assert "HTML" in refused(b"<div>hi</div>", "md")
    assert sniff.sniff(b"1 < 2, and 3 > 2\n", "txt")
    assert "UTF-8" in refused(b"caf\xe9 au lait", "txt")

    check = sniff.TextCheck()
    for piece in ("Blåbær".encode()[:3], "Blåbær".encode()[3:], " مرحبا".encode()):
        check.feed(memoryview(piece))
    check.finish()
    broken = sniff.TextCheck()
    broken.feed("ø".encode()[:1])
    with pytest.raises(InvalidInput):
        broken.finish()


def test_refused_types_name_what_is_allowed() -> None:
    for extension in ("svg", "html", "htm", "exe", "gif", "", "SVG"):
        with pytest.raises(InvalidInput) as caught:
            sniff.file_type(extension)
        assert "films (MP4, WebM, MOV)" in caught.value.detail
    with pytest.raises(InvalidInput) as caught:
        sniff.file_type("svg")
    assert "scripts" in caught.value.detail


def test_check_stored_reads_the_zip_directory(tmp_path: Path) -> None:
    path = tmp_path / "a.docx"
    path.write_bytes(samples.docx())
    sniff.check_stored(path, "docx")
    path.write_bytes(b"PK\x03\x04 word/ but not a zip at all")
    with pytest.raises(InvalidInput):
        sniff.check_stored(path, "docx")
    path.write_bytes(samples.docx({"xl/workbook.xml": "<x/>"}, content_types=True))
    sniff.check_stored(path, "docx")


def test_uploaded_names_are_cleaned_for_display_only() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\Ane\\Plakat æøå.pdf") == "Plakat æøå.pdf"
    assert safe_filename("ملصق التطعيم.pdf") == "ملصق التطعيم.pdf"
    assert safe_filename("a\x00b\r\n.pdf") == "ab.pdf"
    assert safe_filename("...") == ""
    long = safe_filename("x" * 400 + ".docx")
    assert len(long) == 255 and long.endswith(".docx")
    # Persian and Urdu spelling needs the zero-width non-joiner; it stays.
    assert safe_filename("می\u200cخواهم.txt") == "می\u200cخواهم.txt"


def test_local_storage_commits_by_renaming_and_refuses_made_up_keys(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    temp = storage.open_temp()
    assert stat.S_IMODE(temp.path.stat().st_mode) == 0o600
    temp.write([b"hello ", memoryview(b"world")])
    inode = temp.path.stat().st_ino
    key = "ab" * 32 + ".txt"
    storage.commit(temp, key)

    assert storage.path(key).read_bytes() == b"hello world"
    assert storage.path(key).stat().st_ino == inode  # renamed, not copied
    assert storage.temp_files() == []
    assert storage.exists(key)
    storage.discard(temp)  # after a commit: harmless
    assert storage.exists(key)

    for bad in ("../../etc/passwd", "..", "a/b", ".hidden", "x"):
        with pytest.raises(InvalidKey):
            storage.path(bad)

    second = storage.open_temp()
    second.write([os.urandom(10)])
    storage.discard(second)
    assert storage.temp_files() == [] and not second.path.exists()
    storage.delete(key)
    assert not storage.exists(key)


def test_captions_must_be_webvtt() -> None:
    for good in (b"WEBVTT\n\n00:00.000 --> 00:01.000\nHej\n", b"\xef\xbb\xbfWEBVTT - Kommunen\n"):
        assert sniff.sniff(good, "vtt") == (MaterialKind.captions, "text/vtt; charset=utf-8")
    for bad in (b"1\n00:00:00,000 --> 00:00:01,000\nHej\n", b"WEBVTTX\n", b"<html>WEBVTT"):
        refused(bad, "vtt")
