"""Every user-visible string is in all four catalogs, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, catalogs, pick_content, t

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "models", "scheduler", "web")
# t("key", ...), request.t("key"), rt.t("key"), and keys kept in tuples/dicts as "x.y" strings
# next to a *_key name or argument.
CALL_RE = re.compile(r"""\bt\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']""")
KEY_ARG_RE = re.compile(
    r"""\b(?:description|label|hint|help|message|text|title)_key\s*[=:]\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']"""
)


def used_keys() -> set[str]:
    keys: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            keys.update(CALL_RE.findall(source))
            keys.update(KEY_ARG_RE.findall(source))
    return keys


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_used_in_code_exists_in_every_language() -> None:
    all_catalogs = catalogs()
    keys = used_keys()
    assert len(keys) > 15, "the scan found suspiciously few keys"
    missing = {
        language: sorted(k for k in keys if not all_catalogs[language].get(k))
        for language in LANGUAGES
    }
    assert all(not m for m in missing.values()), missing


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    all_catalogs = catalogs()
    reference = all_catalogs["ka"]
    for language in LANGUAGES:
        assert set(all_catalogs[language]) == set(reference), language
        for key, text in all_catalogs[language].items():
            assert text.strip(), f"{language}/{key} is empty"
            assert placeholders(text) == placeholders(reference[key]), f"{language}/{key}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_t_formats_in_each_language(language: str) -> None:
    text = t("core.welcome_back", language, name="ნინო")
    assert "ნინო" in text
    assert text != "core.welcome_back"


def test_unknown_language_falls_back_to_georgian() -> None:
    assert t("core.cmd_help", "xx") == t("core.cmd_help", "ka")


def test_secretariat_content_falls_back_az_to_ru_before_georgian() -> None:
    texts = {"ka": "შეხვედრა", "ru": "Встреча"}
    assert pick_content(texts, "az") == ("ru", "Встреча")
    assert pick_content(texts, "en") == ("ka", "შეხვედრა")
    assert pick_content({"ka": "შეხვედრა", "az": "Görüş"}, "az") == ("az", "Görüş")
