"""The staff UI speaks Georgian and English completely: every key in both, same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.dashboard_members import CSV_COLUMNS
from models.members import Gender, MemberStatus, Role, Sector, SmsScript
from models.outbox import OutStatus
from web.i18n import UI_LANGUAGES, gettext, placeholders, ui_catalogs

WEB = Path(__file__).resolve().parent.parent / "web"
KEY_RE = re.compile(r"""\b_\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']\s*[,)]""")


def literal_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        keys.update(KEY_RE.findall(path.read_text(encoding="utf-8")))
    return keys


def family_keys() -> set[str]:
    """Keys built from a value at run time (`_("sector." ~ m.sector)`)."""
    families = {
        "sector": [*(s.value for s in Sector), "none"],
        "gender": [g.value for g in Gender],
        "role": [r.value for r in Role] + ["web_secretariat", "web_board"],
        "status": [*(s.value for s in MemberStatus), "all"],
        "delivery": [s.value for s in OutStatus],
        "script": [s.value for s in SmsScript],
        "language": ["ka", "az", "ru", "en"],
        "channel": ["telegram", "sms", "both", "none"],
        "optout": ["any", "telegram", "sms", "announcements"],
        "youth": ["yes", "no", "done_created", "done_created_open", "done_texts_saved",
                  "done_unchanged"],
        "csv": list(CSV_COLUMNS),
        "field": ["name", "phone", "community_id", "birth_year", "sector", "gender", "language",
                  "sms_script", "youth", "channel", "opted_out", "role", "status"],
        "edit": ["name", "phone", "phone_taken", "phone_reserved", "no_channel", "choice",
                 "birth_year", "erased"],
        "rolechange": ["choice", "not_active", "own_role", "last_secretariat"],
        "account": ["done_password", "done_password_removed", "done_signed_out", "via_link",
                    "via_password", "bad_login", "short_password", "password_is_login",
                    "login_taken", "mismatch"],
        "overview": ["group_assembly", "group_board", "sector_warning_assembly",
                     "sector_warning_board"],
        "member": ["done_saved", "done_role"],
        "simulator": ["done_wiped"],
        "grants": ["done_created", "done_saved", "done_unchanged", "done_published"],
        "rem": ["done_send", "done_skip", "done_restore", "moved_later_quiet",
                "moved_later_holiday", "moved_earlier_quiet", "moved_earlier_holiday"],
        "bc": ["sched_do_pause", "sched_do_resume", "sched_do_cancel", "done_schedule_pause",
               "done_schedule_resume", "done_schedule_cancel", "err_confirm",
               "err_schedule_unchanged"],
    }  # fmt: skip
    return {f"{family}.{value}" for family, values in families.items() for value in values}


def test_every_key_the_pages_use_is_in_both_languages() -> None:
    catalogs = ui_catalogs()
    keys = literal_keys() | family_keys()
    assert len(keys) > 150
    missing = {lang: sorted(k for k in keys if not catalogs[lang].get(k)) for lang in UI_LANGUAGES}
    assert missing == {"ka": [], "en": []}


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    catalogs = ui_catalogs()
    assert set(catalogs["ka"]) == set(catalogs["en"])
    for key, text in catalogs["ka"].items():
        assert text.strip() and catalogs["en"][key].strip(), key
        assert placeholders(text) == placeholders(catalogs["en"][key]), key


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_a_formatted_message(language: str) -> None:
    text = gettext(language, "common.page_of", page=2, pages=5)
    assert "2" in text and "5" in text
