"""HELP <keyword>: one keyword's full explanation by SMS (HELP alone stays a two-part list).

Typed in any script or alias (`HELP GRANT`, `დახმარება გრანტი`, `помощь P`), answered in the
member's language — in Latin letters for members who chose them and for unknown numbers — and
never more than two SMS parts. Each capability registers its explanation in `setup` beside its
HELP line: `rt.sms_help_details[topic] = "<domain>.<key>"`.
"""

from __future__ import annotations

import pytest

from bot.i18n import LANGUAGES, t
from bot.runtime import Runtime
from bot.sms.encoding import sms_info
from bot.sms.translit import has_georgian, to_latin_sms
from models.members import SmsScript
from tests.factories import make_member
from tests.fakes.sms_segments import segment_count
from tests.harness import RunningBot

PHONE = "+995599747474"

# Typed after HELP → what the answer must say (English), one per topic this file's owners keep.
ASKED = {
    "HELP": "HELP and a keyword",
    "STOP": "stops every SMS at once",
    "START": "brings back the SMS you stopped",
    "JOIN": "registers you by SMS",
    "MYDATA": "short summary of what is kept",
    "FORGET": "FORGET YES erases",
    "PROFILE": "changes your name, language",
    "GRANTS": "lists the open grant calls",
    "GRANT": "interested in call G3",
    "G3": "lists the open grant calls",
    "P7": "P7 0 withdraws your vote",
    "MAYBE": "MAYBE E12",
    "YES": "answers invitation E12",
    "E12": "answers invitation E12",
    "SIGNUP": "SIGNUP Y4 signs you up",
    "LEAVE": "LEAVE Y4 takes you off",
    "Y4": "open youth initiatives",
}


async def _member(bot: RunningBot, language: str, script: str = SmsScript.NATIVE) -> None:
    async with bot.rt.db.session() as session:
        await make_member(session, telegram=False, phone=PHONE, language=language,
                          sms_script=script)  # fmt: skip


async def test_help_and_a_keyword_explains_that_keyword(bot: RunningBot) -> None:
    await _member(bot, "en")
    [listing] = await bot.sms(PHONE, "HELP")
    for word, said in ASKED.items():
        [reply] = await bot.sms(PHONE, f"HELP {word}")
        assert said in reply, (word, reply)
        assert reply != listing and sms_info(reply).parts <= 2 and segment_count(reply) <= 2
    [unknown] = await bot.sms(PHONE, "HELP BANANA")
    assert unknown == listing  # nothing by that name: the list of keywords


async def test_the_keyword_may_be_any_alias_in_any_script(bot: RunningBot) -> None:
    await _member(bot, "ka")
    [georgian] = await bot.sms(PHONE, "დახმარება გრანტი")
    assert georgian == t("grants.sms_help_grant", "ka")  # Georgian letters: she chose them
    [typed] = await bot.sms(PHONE, "daxmareba granti")  # the same, typed in Latin letters
    assert typed == georgian
    [cyrillic] = await bot.sms(PHONE, "помощь стоп")
    assert cyrillic == t("sms.help_detail_stop", "ka")
    [code] = await bot.sms(PHONE, "info g12")
    assert code == t("grants.sms_help_grants", "ka")
    [profile] = await bot.sms(PHONE, "help ჩემი")
    assert profile == t("members.sms_help_profile_detail", "ka")


async def test_a_code_letter_alone_names_its_capability(bot: RunningBot) -> None:
    await _member(bot, "ru")
    [polls] = await bot.sms(PHONE, "помощь P")
    assert polls == t("polls.sms_help_vote", "ru") and "P7 0 — отозвать голос" in polls
    [georgian] = await bot.sms(PHONE, "დახმარება პ")  # P on a Georgian keyboard
    assert georgian == polls


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("script", [SmsScript.NATIVE, SmsScript.LATIN])
async def test_every_explanation_fits_two_parts_in_the_members_letters(
    bot: RunningBot, language: str, script: str
) -> None:
    await _member(bot, language, script)
    for word in ASKED:
        [reply] = await bot.sms(PHONE, f"HELP {word}")
        assert sms_info(reply).parts <= 2 and segment_count(reply) <= 2, (word, reply)
        if language == "ka":
            assert has_georgian(reply) == (script == SmsScript.NATIVE), reply
        if script == SmsScript.LATIN and language in ("ka", "az"):
            assert sms_info(reply).encoding == "GSM-7", reply  # the cheap parts they chose


async def test_an_unknown_number_is_answered_in_latin_letters(bot: RunningBot) -> None:
    [reply] = await bot.sms("+995599747475", "HELP JOIN")
    assert reply == to_latin_sms(t("registration.sms_help_join", "ka"))
    assert reply.startswith("JOIN (tsevri)") and sms_info(reply).encoding == "GSM-7"


async def test_help_about_a_keyword_in_the_middle_of_a_question_keeps_the_question(
    bot: RunningBot,
) -> None:
    await _member(bot, "en")
    [menu] = await bot.sms(PHONE, "PROFILE")
    assert "1 Name" in menu
    [step] = await bot.sms(PHONE, "HELP")
    assert step == t("members.sms_help_profile", "en")  # HELP alone: the question in hand
    [forget] = await bot.sms(PHONE, "HELP FORGET")
    assert "FORGET YES erases" in forget
    [asked] = await bot.sms(PHONE, "1")  # the question is still open: 1 is its answer
    assert "name" in asked.lower()


def test_every_registered_explanation_is_in_every_language_within_two_parts(
    rt: Runtime,
) -> None:
    details = rt.sms_help_details
    mine = {"help", "stop", "start", "join", "mydata", "forget", "profile", "grant", "code:p",
            "maybe", "signup", "leave", "code:e", "code:y"}  # fmt: skip
    assert mine <= set(details)
    for key in set(details.values()):
        for language in LANGUAGES:
            text = t(key, language)
            assert text != key, (language, key)
            latin = to_latin_sms(text)
            assert min(sms_info(text).parts, sms_info(latin).parts) <= 2, (language, key)
            if language in ("ka", "ru"):  # own letters (UCS-2): the member who chose them gets
                assert sms_info(text).parts <= 2, (language, key)  # them, not Latin
