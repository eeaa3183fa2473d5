"""Normalizing what villagers type: keywords in four scripts, codes like E12, numbers like 1,3."""

from __future__ import annotations

import re
import unicodedata

from bot.sms.translit import (
    fix_cyrillic_lookalikes,
    has_georgian,
    keyboard_to_georgian,
    romanize,
)
from bot.text_input import scrub

CODE_RE = re.compile(r"^([a-z])(\d{1,5})$")
NUMBERS_RE = re.compile(r"^\d{1,2}(?:\s*[,;.\s]\s*\d{1,2})*$")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN_ONLY = re.compile(r"^[A-Za-z]+$")


def clean(text: str) -> str:
    """Trim, NFC, and fold runs of white space; keeps the text otherwise as typed."""
    return " ".join(unicodedata.normalize("NFC", scrub(text)).split())


def token_variants(token: str) -> set[str]:
    """Every reading of one typed word that a keyword alias may match."""
    token = unicodedata.normalize("NFC", token).strip(" .,!?;:\"'()")
    folded = token.casefold()
    variants = {folded}
    if has_georgian(token):
        variants.add(romanize(folded))
    if _CYRILLIC.search(token):
        variants.add(fix_cyrillic_lookalikes(folded))
    if _LATIN_ONLY.match(token):
        variants.add(romanize(keyboard_to_georgian(token)).casefold())
        variants.add(romanize(keyboard_to_georgian(token.lower())))
    variants.discard("")
    return variants


def alias_keys(alias: str) -> set[str]:
    """The forms under which an alias is stored (matched against `token_variants`)."""
    folded = unicodedata.normalize("NFC", alias).casefold()
    keys = {folded}
    if has_georgian(folded):
        keys.add(romanize(folded))
    return keys


def parse_code(token: str) -> str | None:
    """`E12`, `е12` (Cyrillic), `ე12` (Georgian) → `e12`; anything else → None."""
    for variant in sorted(token_variants(token)):
        if CODE_RE.match(variant):
            return variant
    return None


def parse_numbers(text: str) -> list[int] | None:
    """`2` → [2]; `1,3` / `1 3` / `1, 3` → [1, 3]; never reads `1 3` as 13."""
    text = text.strip()
    if not NUMBERS_RE.match(text):
        return None
    return [int(n) for n in re.split(r"[,;.\s]+", text) if n]
