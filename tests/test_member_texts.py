"""Texts of registration and membership: the LAG's Georgian name as the source text has it,
and the SMS HELP within two parts in every language and script."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, t
from bot.sms.encoding import sms_info
from models.members import SmsScript
from tests.factories import make_member
from tests.fakes.sms_segments import segment_count
from tests.harness import RunningBot

ROOT = Path(__file__).resolve().parent.parent
# The LAG's own text (../shared/seed/lagodekhi-lag.ka.txt) names it "ადგილობრივი განვითარების
# ჯგუფი"; "ადგილობრივი სამოქმედო ჯგუფი" is a calque of "Local Action Group" it never uses.
SOURCE_NAME = "ადგილობრივი განვითარების ჯგუფ"
CALQUE = "სამოქმედო ჯგუფ"


def _georgian_catalog_texts() -> dict[str, str]:
    texts: dict[str, str] = {}
    for folder in (ROOT / "locales" / "ka", ROOT / "web" / "locales" / "ka"):
        for path in sorted(folder.rglob("*.po")):
            with path.open("rb") as fh:
                for message in read_po(fh, locale=None):
                    if message.id and isinstance(message.string, str):
                        texts[f"{path.name}:{message.id}"] = message.string
    return texts


def test_every_georgian_catalog_names_the_lag_as_its_source_text_does() -> None:
    texts = _georgian_catalog_texts()
    calques = sorted(key for key, text in texts.items() if CALQUE in text)
    assert calques == []
    named = sorted(key for key, text in texts.items() if SOURCE_NAME in text)
    assert "registration.po:registration.consent_data" in named  # who collects the data
    assert "core.po:core.choose_language" in named  # the first thing a newcomer reads


# -- SMS HELP -----------------------------------------------------------------------------------

EVERY_KEYWORD = (
    "JOIN",
    "MYDATA",
    "PROFILE",
    "FORGET",
    "GRANTS",
    "YES E12",
    "P7 2",
    "YOUTH",
    "STOP",
)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("script", [SmsScript.NATIVE, SmsScript.LATIN])
async def test_sms_help_is_one_short_line_per_capability_in_two_parts(
    bot: RunningBot, language: str, script: str
) -> None:
    phone = "+995599626262"
    async with bot.rt.db.session() as session:
        await make_member(
            session, telegram=False, phone=phone, language=language, sms_script=script
        )
    [reply] = await bot.sms(phone, "HELP")
    assert all(keyword in reply for keyword in EVERY_KEYWORD), reply
    assert sms_info(reply).parts <= 2 and segment_count(reply) <= 2, reply
    if (script == SmsScript.LATIN and language != "ru") or language == "en":
        assert sms_info(reply).encoding == "GSM-7", reply  # Latin letters: cheap parts
    if language == "ka" and script == SmsScript.NATIVE:
        assert "GRANTS გრანტები" in reply  # Georgian letters for those who chose them
    if language == "ka" and script == SmsScript.LATIN:
        assert "GRANTS grantebi" in reply


async def test_sms_help_for_an_unknown_number_is_in_latin_letters(bot: RunningBot) -> None:
    [reply] = await bot.sms("+995599626263", "HELP")
    assert "JOIN tsevroba" in reply and "GRANTS grantebi" in reply
    assert sms_info(reply).encoding == "GSM-7" and sms_info(reply).parts == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_sms_help_lines_stay_short_in_the_catalogs(language: str) -> None:
    """Each capability's HELP line is a keyword and a word or two: room for more capabilities."""
    keys = [
        "sms.help",
        "registration.sms_help_line",
        "members.sms_help_line",
        "grants.sms_help",
        "events.sms_help",
        "polls.sms_help",
        "youth.sms_help",
        "sms.help_stop",
    ]
    for key in keys:
        assert len(t(key, language)) <= 36, (language, key, t(key, language))
