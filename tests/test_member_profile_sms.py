"""An SMS-only member changes their profile by SMS: PROFILE, then one question per SMS."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.i18n import LANGUAGES
from bot.sms.encoding import sms_info
from models.audit import AuditLog
from models.dialogs import get_dialog
from models.members import Member, SmsScript
from tests.factories import make_member
from tests.harness import RunningBot
from tests.registration_helpers import patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")

PHONE = "+995599717171"


async def _villager(bot: RunningBot, phone: str = PHONE, **fields: object) -> int:
    async with bot.rt.db.session() as session:
        values: dict[str, object] = {"name": "ნინო ბერიძე", "telegram": False, "phone": phone}
        values.update(fields)
        member = await make_member(session, **values)  # type: ignore[arg-type]
        assert member.id is not None
        return member.id


async def _member(bot: RunningBot, member_id: int) -> Member:
    async with bot.rt.db.session() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return member


async def _dialog_flow(bot: RunningBot, phone: str) -> str | None:
    async with bot.rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="sms", address=phone)
        return dialog.flow if dialog else None


async def test_sms_member_changes_letters_language_community_village_and_name(
    bot: RunningBot,
) -> None:
    member_id = await _villager(bot, village="ნაპოლეონის უბანი")
    menu = (await bot.sms(PHONE, "PROFILE"))[0]
    assert "ნინო ბერიძე; ქართული; ქ. ლაგოდეხი; ნაპოლეონის უბანი" in menu
    assert "1 სახელი" in menu and "2 ენა" in menu and "3 დამწერლობა" in menu
    assert "4 თემი" in menu and "5 სოფელი" in menu and "0 დასრულება" in menu

    letters = (await bot.sms(PHONE, "3"))[0]
    assert "1 ქართული ასოებით" in letters and "2 Latinuri asoebit" in letters
    saved = (await bot.sms(PHONE, "2"))[0]  # Latin letters: cheaper, and this reply already is
    assert saved.isascii() and "shenakhulia" in saved and "4 temi" in saved
    assert (await _member(bot, member_id)).sms_script == SmsScript.LATIN

    languages = (await bot.sms(PHONE, "2"))[0]
    assert "1 kartuli" in languages and "3 Русский" in languages  # Latin letters from now on
    russian = (await bot.sms(PHONE, "3"))[0]
    assert "Сохранено: Язык" in russian
    assert "3 Община" in russian and "4 Село" in russian  # no letters choice for Russian
    assert (await _member(bot, member_id)).language == "ru"

    communities = (await bot.sms(PHONE, "3"))[0]
    assert "2 Арешперани" in communities
    village = (await bot.sms(PHONE, "2"))[0]  # the old village is cleared: the new one next
    assert village.startswith("Община сохранена, село удалено.\nВаше село?")
    assert "1 Zemo Bolkvi" in village
    assert "Сохранено: Село" in (await bot.sms(PHONE, "2"))[0]
    member = await _member(bot, member_id)
    assert member.village == "ქვემო ბოლქვი" and member.community_id is not None

    assert "фамилия" in (await bot.sms(PHONE, "1"))[0].lower()
    assert "Сохранено: Имя" in (await bot.sms(PHONE, "Нино Беридзе"))[0]
    closed = (await bot.sms(PHONE, "0"))[0]
    assert "PROFILE" in closed and await _dialog_flow(bot, PHONE) is None
    member = await _member(bot, member_id)
    assert (member.name, member.language, member.sms_script) == ("Нино Беридзе", "ru", "latin")

    async with bot.rt.db.session() as session:
        audit = (
            (
                await session.execute(
                    select(AuditLog)
                    .where(col(AuditLog.action) == "profile.update")
                    .order_by(col(AuditLog.id))
                )
            )
            .scalars()
            .all()
        )
    assert [(a.details["field"], a.details["channel"]) for a in audit] == [
        ("sms_script", "sms"),
        ("language", "sms"),
        ("community", "sms"),
        ("village", "sms"),
        ("name", "sms"),
    ]
    assert all(a.target == f"member:{member_id}" for a in audit)
    assert all("Нино" not in str(a.details) for a in audit)  # the field, never the value


async def test_wrong_answers_are_asked_again_with_the_reason(bot: RunningBot) -> None:
    phone = "+995599717172"
    member_id = await _villager(bot, phone, language="en")
    await bot.sms(phone, "PROFILE")
    wrong = (await bot.sms(phone, "9"))[0]
    assert "Send a number from 1 to 4" in wrong and "4 Village" in wrong  # no letters in English
    await bot.sms(phone, "1")
    digits = (await bot.sms(phone, "12345"))[0]
    assert "Your first and last name?" in digits and digits.index("name") > 0
    assert (await _member(bot, member_id)).name == "ნინო ბერიძე"
    await bot.sms(phone, "Nino Beridze")
    await bot.sms(phone, "3")
    far = (await bot.sms(phone, "99"))[0]
    assert "Send a number from 1 to 15" in far
    assert "Saved: Community" in (await bot.sms(phone, "Kabali"))[0]  # by name, like JOIN
    await bot.sms(phone, "2")
    assert "1 to 4" in (await bot.sms(phone, "Klingon"))[0]
    member = await _member(bot, member_id)
    assert (member.name, member.language) == ("Nino Beridze", "en")


async def test_georgian_keyword_help_and_another_keyword_leave_the_profile(
    bot: RunningBot,
) -> None:
    phone = "+995599717173"
    await _villager(bot, phone)
    assert "1 სახელი" in (await bot.sms(phone, "ჩემი"))[0]
    assert await _dialog_flow(bot, phone) == "profile_sms"
    explained = (await bot.sms(phone, "HELP"))[0]
    assert "0 - დასრულება" in explained and "STOP" in explained
    summary = (await bot.sms(phone, "MYDATA"))[0]  # not a menu answer: handled as itself
    assert "ნინო ბერიძე" in summary and "1 სახელი" not in summary
    assert await _dialog_flow(bot, phone) is None
    assert "1 სახელი" in (await bot.sms(phone, "chemi"))[0]  # Latin letters work too


async def test_an_unknown_number_is_told_how_to_register(bot: RunningBot) -> None:
    reply = (await bot.sms("+995599717174", "PROFILE"))[0]
    assert "JOIN" in reply or "წევრი" in reply


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("script", [SmsScript.NATIVE, SmsScript.LATIN])
async def test_every_profile_sms_fits_in_two_parts(
    bot: RunningBot, language: str, script: str
) -> None:
    phone = "+995599717175"
    await _villager(
        bot,
        phone,
        language=language,
        sms_script=script,
        name="ალექსანდრე ჯავახიშვილი-მაჩაბელი",
        community="areshperani",
        village="ზემო ბოლქვი",
    )
    replies = await bot.sms(phone, "PROFILE")
    fields = ["name", "language", "sms_script", "community", "village"]
    if language not in ("ka", "az"):
        fields.remove("sms_script")
    for number, field in enumerate(fields, 1):
        replies += await bot.sms(phone, str(number))  # the question
        replies += await bot.sms(phone, "!!")  # a wrong answer: the reason and the question
        if field == "community":
            replies += await bot.sms(phone, "0")  # the list's next page
        replies += await bot.sms(phone, "PROFILE")
    assert len(replies) >= 3 * len(fields)
    for reply in replies:
        assert sms_info(reply).parts <= 2, (language, script, reply)
