"""Georgian ↔ Latin: the national romanization (for cheaper SMS) and keyboard-layout typing."""

from __future__ import annotations

import unicodedata

# Whose SMS can go in Latin letters, more cheaply: Georgian and Azerbaijani.
LATIN_SMS_LANGUAGES = frozenset({"ka", "az"})
# Georgian national romanization (2002), apostrophes dropped: the typographic ’ is not GSM-7.
GEORGIAN_TO_LATIN: dict[str, str] = {
    "ა": "a", "ბ": "b", "გ": "g", "დ": "d", "ე": "e", "ვ": "v", "ზ": "z", "თ": "t",
    "ი": "i", "კ": "k", "ლ": "l", "მ": "m", "ნ": "n", "ო": "o", "პ": "p", "ჟ": "zh",
    "რ": "r", "ს": "s", "ტ": "t", "უ": "u", "ფ": "p", "ქ": "k", "ღ": "gh", "ყ": "q",
    "შ": "sh", "ჩ": "ch", "ც": "ts", "ძ": "dz", "წ": "ts", "ჭ": "ch", "ხ": "kh",
    "ჯ": "j", "ჰ": "h",
}  # fmt: skip
# Mtavruli capitals (U+1C90..) map like their Mkhedruli letters.
GEORGIAN_TO_LATIN.update(
    {chr(ord(ka) - 0x10D0 + 0x1C90): lat for ka, lat in list(GEORGIAN_TO_LATIN.items())}
)
# Azerbaijani letters that are not GSM-7 (ö ü ç are, or have a close GSM-7 form).
AZERBAIJANI_SIMPLE: dict[str, str] = {
    "ə": "e", "Ə": "E", "ğ": "g", "Ğ": "G", "ı": "i", "İ": "I", "ş": "s", "Ş": "S",
    "ç": "c", "Ç": "C",
}  # fmt: skip
# Common punctuation outside GSM-7 that has a plain equivalent.
PUNCTUATION: dict[str, str] = {
    "’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "…": "...", "\u00a0": " ", "№": "N",
}  # fmt: skip
# Georgian typed on a Latin keyboard (the standard layout; Shift gives the second letter).
KEYBOARD_TO_GEORGIAN: dict[str, str] = {
    "a": "ა", "b": "ბ", "g": "გ", "d": "დ", "e": "ე", "v": "ვ", "z": "ზ", "T": "თ",
    "i": "ი", "k": "კ", "l": "ლ", "m": "მ", "n": "ნ", "o": "ო", "p": "პ", "J": "ჟ",
    "r": "რ", "s": "ს", "t": "ტ", "u": "უ", "f": "ფ", "q": "ქ", "R": "ღ", "y": "ყ",
    "S": "შ", "C": "ჩ", "c": "ც", "Z": "ძ", "w": "წ", "W": "ჭ", "x": "ხ", "j": "ჯ",
    "h": "ჰ",
}  # fmt: skip
# Cyrillic letters that look like Latin ones, for codes typed on a Russian keyboard (Е12).
CYRILLIC_LOOKALIKES: dict[str, str] = {
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "г": "r", "п": "n", "и": "u", "ё": "e",
}  # fmt: skip


def is_georgian(ch: str) -> bool:
    return "\u10a0" <= ch <= "\u10ff" or "\u1c90" <= ch <= "\u1cbf" or "\u2d00" <= ch <= "\u2d2f"


def has_georgian(text: str) -> bool:
    return any(is_georgian(ch) for ch in text)


def romanize(text: str) -> str:
    """Georgian letters → national romanization; other characters unchanged."""
    return "".join(GEORGIAN_TO_LATIN.get(ch, ch) for ch in text)


def to_latin_sms(text: str) -> str:
    """The cheapest faithful SMS form: romanized Georgian, simplified Azerbaijani, plain quotes."""
    out = romanize(unicodedata.normalize("NFC", text))
    return "".join(AZERBAIJANI_SIMPLE.get(ch) or PUNCTUATION.get(ch) or ch for ch in out)


def keyboard_to_georgian(text: str) -> str:
    """What a Latin-keyboard typist meant in Georgian (`wevri` → `წევრი`)."""
    return "".join(KEYBOARD_TO_GEORGIAN.get(ch, ch) for ch in text)


def fix_cyrillic_lookalikes(text: str) -> str:
    return "".join(CYRILLIC_LOOKALIKES.get(ch, ch) for ch in text)
