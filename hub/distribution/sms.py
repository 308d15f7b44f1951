"""SMS text length: GSM 03.38 (7-bit) when every character has a GSM-7 code, else UCS-2.

A GSM-7 message holds 160 characters (153 per part when split), characters of the extension
table counting twice; UCS-2 (Arabic, Urdu, Somali with curly quotes…) holds 70 UTF-16 code
units (67 per part)."""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets or UTF-16 code units
    segments: int


def measure(text: str) -> SmsLength:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return SmsLength(encoding=encoding, units=units, segments=segments)


def fit(text: str, *, max_segments: int, keep_end: str = "") -> str:
    """``text`` shortened (with an ellipsis) so that it plus ``keep_end`` fits the segments."""
    if measure(text + keep_end).segments <= max_segments:
        return text + keep_end
    low, high = 0, len(text)
    while low < high:  # the longest prefix that still fits
        mid = (low + high + 1) // 2
        if measure(text[:mid].rstrip() + "…" + keep_end).segments <= max_segments:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…" + keep_end
