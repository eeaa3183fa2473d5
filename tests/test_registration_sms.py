"""Registration by SMS on a basic phone: JOIN, one question per SMS, answers by number."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, select

from bot.db import Database
from bot.i18n import LANGUAGES, t
from bot.outbound import sms_body
from bot.settings import Settings
from bot.sms.encoding import sms_info
from handlers.registration_sms import HELP_KEYS, sms_pages
from models.communities import sync_communities
from models.dialogs import Dialog, get_dialog
from models.member_fields import FieldError
from models.members import Consent, Member, SmsScript
from models.registration_prompts import SMS, SMS_STEPS, prompt_for
from tests.harness import RunningBot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")

PHONE = "+995599445566"


async def _member(bot: RunningBot, phone: str) -> Member | None:
    async with bot.rt.db.session() as session:
        return (
            (await session.execute(select(Member).where(Member.phone == phone))).scalars().first()
        )


async def test_villager_registers_by_sms_in_latin_georgian(bot: RunningBot) -> None:
    languages = (await bot.sms(PHONE, "JOIN"))[0]
    assert "1 ქართული" in languages and "4 English" in languages
    script = (await bot.sms(PHONE, "1"))[0]
    assert "Latinuri" in script and "ქართული ასოებით" in script
    consent = (await bot.sms(PHONE, "2"))[0]
    assert consent.isascii() and "FORGET" in consent and "ki/ara" in consent
    assert await _member(bot, PHONE) is None  # nothing stored before consent
    announcements = (await bot.sms(PHONE, "ki"))[0]
    assert "STOP" in announcements and announcements.isascii()
    assert "saxeli" in (await bot.sms(PHONE, "ara"))[0].replace("kh", "x")
    communities = (await bot.sms(PHONE, "ნინო ბერიძე"))[0]
    assert communities.isascii() and "7 Kabali" in communities and "15 Chiauri" in communities
    assert sms_info(communities).parts <= 2  # the whole list fits, in Latin letters
    sector = (await bot.sms(PHONE, "7"))[0]
    assert "1 sajaro" in sector and "3 samokalako" in sector
    year = (await bot.sms(PHONE, "3"))[0]
    assert "1985" in year
    done = (await bot.sms(PHONE, "1968"))[0]
    assert "gilotsavt" in done and done.isascii()
    member = await _member(bot, PHONE)
    assert member is not None
    assert (member.name, member.language, member.sms_script) == ("ნინო ბერიძე", "ka", "latin")
    assert (member.sector, member.birth_year, member.joined_via) == ("civil", 1968, "sms")
    assert member.phone_verified and member.consent_announcements is False
    assert member.telegram_id is None and member.status == "active"
    async with bot.rt.db.session() as session:
        kinds = (
            (await session.execute(select(Consent).where(col(Consent.member_id) == member.id)))
            .scalars()
            .all()
        )
    assert {(c.kind, c.given, c.channel) for c in kinds} == {
        ("data", True, "sms"),
        ("announcements", False, "sms"),
    }
    again = (await bot.sms(PHONE, "JOIN"))[0]
    assert "ukve registrirebulia" in again


async def test_georgian_letters_get_the_community_list_in_pages(bot: RunningBot) -> None:
    phone = "+995599445567"
    await bot.sms(phone, "წევრი")  # JOIN in Georgian
    await bot.sms(phone, "1")
    await bot.sms(phone, "1")  # Georgian letters
    await bot.sms(phone, "კი")
    await bot.sms(phone, "კი")
    first = (await bot.sms(phone, "ლევან გელაშვილი"))[0]
    assert "1 ქ. ლაგოდეხი" in first and "0 - მეტი" in first and "15 ჭიაური" not in first
    assert sms_info(first).parts <= 2
    second = (await bot.sms(phone, "0"))[0]
    assert "15 ჭიაური" in second and sms_info(second).parts <= 2
    assert "სექტორი" in (await bot.sms(phone, "15"))[0]  # numbers run across the pages
    member_before = await _member(bot, phone)
    assert member_before is None


async def test_wrong_sms_answers_help_and_stop(bot: RunningBot) -> None:
    phone = "+995599445568"
    await bot.sms(phone, "JOIN")
    assert "1 ქართული" in (await bot.sms(phone, "9"))[0]  # not a language: asked again
    help_text = (await bot.sms(phone, "HELP"))[0]
    assert "ენის ნომერი" in help_text
    await bot.sms(phone, "3")  # Russian: no script question
    consent = (await bot.sms(phone, "может быть"))[0]
    assert "Ответьте: да или нет" in consent  # the reason; the question came just before
    assert "секретариат" in (await bot.sms(phone, "HELP"))[0]  # who sees the data
    await bot.sms(phone, "да")
    await bot.sms(phone, "нет")
    asked = (await bot.sms(phone, "12345"))[0]
    assert "не должно быть цифр" in asked and "имя и фамилия" in asked
    await bot.sms(phone, "Анна Петрова")
    assert "Отправьте номер от 1 до 15" in (await bot.sms(phone, "99"))[0]
    stopped = (await bot.sms(phone, "STOP"))[0]  # stops at any step
    assert "START" in stopped
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="sms", address=phone) is None
    assert await _member(bot, phone) is None


async def test_children_under_14_are_refused_by_sms(bot: RunningBot) -> None:
    phone = "+995599445569"
    for answer in ("JOIN", "4", "YES", "YES", "Luka Beridze", "1", "2"):
        await bot.sms(phone, answer)
    refused = (await bot.sms(phone, str(date.today().year - 11)))[0]
    assert "from age 14" in refused
    assert await _member(bot, phone) is None


async def test_forget_and_mydata_in_the_middle_are_not_taken_for_a_name(bot: RunningBot) -> None:
    phone = "+995599445570"
    for answer in ("JOIN", "4", "YES", "YES"):
        await bot.sms(phone, answer)
    assert "nothing has been saved" in (await bot.sms(phone, "MYDATA"))[0]
    assert "was deleted" in (await bot.sms(phone, "FORGET"))[0]
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="sms", address=phone) is None
    assert "JOIN" in (await bot.sms(phone, "Forget Me"))[0]  # no dialog: the newcomer hint


# -- every SMS prompt fits in two parts, in every language and script ---------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("script", [SmsScript.NATIVE, SmsScript.LATIN])
async def test_every_sms_prompt_fits_two_parts(
    db: Database, settings: Settings, language: str, script: str
) -> None:
    async with db.session() as session:
        await sync_communities(session=session, path=settings.communities_file)
        for step in SMS_STEPS:
            dialog = Dialog(
                channel="sms",
                address="+995599000000",
                flow="registration",
                step=step,
                data={"language": language, "sms_script": script},
            )
            for error in (None, FieldError("registration.err_choice", count=15)):
                prompt = await prompt_for(
                    session=session, settings=settings, channel=SMS, dialog=dialog, error=error
                )
                for page in sms_pages(prompt, language, script):
                    sent = sms_body(None, page, script=script)
                    assert sms_info(sent).parts <= 2, (language, script, step, sent)
    assert set(HELP_KEYS) == set(SMS_STEPS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_step_has_sms_help_in_every_language(language: str) -> None:
    for key in HELP_KEYS.values():
        text = t(key, language, consent_age=16)
        assert text != key and sms_info(text).parts <= 2, (language, key)
