"""QR codes of tracked links (segno: pure Python, SVG and PNG without an imaging library)."""

from __future__ import annotations

import io

import segno

# Medium error correction, raised by segno when the code's size allows: a poster in a
# stairwell gets scuffed.
ERROR = "m"


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR, micro=False)


def svg(url: str, *, title: str = "") -> bytes:
    """A standalone SVG file."""
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="svg", scale=10, border=4, title=title or None)
    return buffer.getvalue()


def svg_inline(url: str) -> str:
    """An ``<svg>`` element for a page, scaling with its box (print pages)."""
    return str(_code(url).svg_inline(scale=10, border=4, omitsize=True, svgclass="qr"))


def png(url: str, *, scale: int = 12) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
