"""How many SMS parts a text costs: the reference count the fakes and tests rely on.

GSM-7 (3GPP TS 23.038 default alphabet): 160 septets in one SMS, 153 per part of a concatenated
SMS; the extension characters cost two septets (ESC + char) and an escape pair is never split
between parts. One character outside GSM-7 turns the whole text UCS-2: 70 UTF-16 code units in one
SMS, 67 per part; a surrogate pair (emoji) costs two units and is never split either.
"""

from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _unit_costs(text: str) -> list[int]:
    if is_gsm7(text):
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text occupies."""
    return sum(_unit_costs(text))


def segment_count(text: str) -> int:
    """Number of SMS parts; 0 for an empty text."""
    if not text:
        return 0
    single, per_part = _LIMITS[encoding(text)]
    costs = _unit_costs(text)
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts
