"""Translations: gettext catalogs under locales/<lang>/LC_MESSAGES/<domain>.po.

Messages are looked up by key (`t("core.welcome_back", "az", name=...)`), one catalog per
capability so each can be edited on its own. Every key must exist in all four languages;
tests/test_i18n.py fails on a missing or empty one, or placeholders that differ.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES: tuple[str, ...] = ("ka", "az", "ru", "en")
DEFAULT_LANGUAGE = "ka"
# Endonyms: each language is named in itself, so they need no translation.
LANGUAGE_NAMES: dict[str, str] = {
    "ka": "ქართული",
    "az": "Azərbaycanca",
    "ru": "Русский",
    "en": "English",
}
# For content written by the secretariat in some languages only.
CONTENT_FALLBACK: dict[str, tuple[str, ...]] = {
    "ka": ("ka",),
    "az": ("az", "ru", "ka"),
    "ru": ("ru", "ka"),
    "en": ("en", "ka"),
}

log = logging.getLogger(__name__)


def read_catalog_dir(language: str, root: Path = LOCALES_DIR) -> dict[str, str]:
    messages: dict[str, str] = {}
    for po_file in sorted((root / language / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as fh:
            catalog = read_po(fh, locale=None)
        for message in catalog:
            if message.id and isinstance(message.id, str):
                messages[message.id] = str(message.string or "")
    return messages


@lru_cache(maxsize=1)
def catalogs() -> dict[str, dict[str, str]]:
    return {language: read_catalog_dir(language) for language in LANGUAGES}


def t(key: str, language: str | None = None, /, **values: object) -> str:
    """The message `key` in `language` (falls back to Georgian), formatted with `values`."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    all_catalogs = catalogs()
    text = all_catalogs[language].get(key) or all_catalogs[DEFAULT_LANGUAGE].get(key)
    if not text:
        log.error("missing translation %s for %s", key, language)
        return key
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        log.exception("bad placeholders in %s/%s", language, key)
        return text


def pick_content(texts: dict[str, str], language: str) -> tuple[str, str]:
    """Choose the secretariat-written version for a member: (language used, text)."""
    for candidate in CONTENT_FALLBACK.get(language, (language, DEFAULT_LANGUAGE)):
        if texts.get(candidate):
            return candidate, texts[candidate]
    for candidate, text in texts.items():
        if text:
            return candidate, text
    return DEFAULT_LANGUAGE, ""
