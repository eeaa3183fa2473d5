"""How many SMS parts a text costs: GSM-7 (160/153) or UCS-2 (70/67)."""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")  # two septets each: ESC + the character
# (ESC itself, 0x1B, is the extension prefix, not a character a message can carry.)


@dataclass(frozen=True)
class SmsInfo:
    encoding: str  # "GSM-7" | "UCS-2"
    parts: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    forcing_char: str | None  # the first character that made the text UCS-2

    @property
    def chars_left(self) -> int:
        single, multi = (160, 153) if self.encoding == "GSM-7" else (70, 67)
        capacity = single if self.parts <= 1 else multi * self.parts
        return capacity - self.units


def first_non_gsm(text: str) -> str | None:
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            return ch
    return None


def sms_info(text: str) -> SmsInfo:
    forcing = first_non_gsm(text)
    if forcing is None:
        septets = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        total = sum(septets)
        if total <= 160:
            return SmsInfo("GSM-7", 1 if total else 0, total, None)
        return SmsInfo("GSM-7", _split_count(septets, 153), total, None)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    total = sum(units)
    if total <= 70:
        return SmsInfo("UCS-2", 1, total, forcing)
    return SmsInfo("UCS-2", _split_count(units, 67), total, forcing)


def _split_count(widths: list[int], per_part: int) -> int:
    """Parts needed when a character (escape pair, surrogate pair) is never split."""
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts += 1
            used = 0
        used += width
    return parts
