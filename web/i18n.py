"""The staff UI's own catalogs: Georgian and English only (locales for members are in locales/).

Keys are written literally, as `_` calls, in templates and web code;
tests/test_dashboard_i18n.py checks that every one exists in both catalogs.
"""

from __future__ import annotations

import logging
import string
from functools import lru_cache
from pathlib import Path

from bot.i18n import read_catalog_dir

UI_LANGUAGES: tuple[str, ...] = ("ka", "en")
UI_LANGUAGE_NAMES = {"ka": "ქართული", "en": "English"}
WEB_LOCALES = Path(__file__).resolve().parent / "locales"
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def ui_catalogs() -> dict[str, dict[str, str]]:
    return {language: read_catalog_dir(language, WEB_LOCALES) for language in UI_LANGUAGES}


def ui_language(language: str | None) -> str:
    return language if language in UI_LANGUAGES else "ka"


def gettext(language: str, key: str, /, **values: object) -> str:
    """The staff UI text for `key` in `language` (ka or en), formatted with `values`."""
    catalogs = ui_catalogs()
    text = catalogs[ui_language(language)].get(key) or catalogs["ka"].get(key)
    if not text:
        log.error("missing web translation %s", key)
        return key
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        log.exception("bad placeholders in web/%s/%s", language, key)
        return text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
