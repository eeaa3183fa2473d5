"""One member, two channels: linking by a shared contact, refusing other people's numbers,
and the secretariat bootstrapped from settings only for verified ids and numbers."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from models.audit import AuditLog
from models.members import Member
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")

SMS_PHONE = "+995599300300"


async def _text(bot: RunningBot, user: VirtualUser, text: str) -> str:
    message = await bot.tg.wait_until(
        lambda: next((m for m in reversed(user.inbox) if text in m.body), None),
        PATIENCE,
        lambda: f"no message with {text!r}: {user.texts()[-2:]!r}",
    )
    return message.body


async def _to_phone(bot: RunningBot, user: VirtualUser, name: str = "Tamar Lomidze") -> None:
    await user.send("/start")
    await user.press("English")
    await user.press("✅ I agree")
    await user.press("Yes")
    await _text(bot, user, "first and last name")
    await user.send(name)
    await _text(bot, user, "Your mobile number")


async def _members(bot: RunningBot) -> list[Member]:
    async with bot.rt.db.session() as session:
        return list((await session.execute(select(Member).order_by(col(Member.id)))).scalars())


async def test_sharing_the_contact_of_an_sms_registration_links_after_confirming(
    bot: RunningBot,
) -> None:
    await bot.sms(SMS_PHONE, "JOIN")  # registered by SMS first, in English
    for answer in ("4", "YES", "NO", "Tamar Lomidze", "3", "2", "1979"):
        await bot.sms(SMS_PHONE, answer)
    [sms_member] = await _members(bot)
    assert sms_member.telegram_id is None and not sms_member.consent_announcements
    tamar = bot.tg.user(language_code="en")
    await _to_phone(bot, tamar)
    await tamar.share_contact(SMS_PHONE.lstrip("+"))  # Telegram clients drop the "+"
    question = await _text(bot, tamar, "Is that you?")
    assert "“Tamar Lomidze”" in question
    await tamar.press("Yes, that is me")
    linked = await _text(bot, tamar, "linked to Telegram")
    assert "/profile" in linked
    [member] = await _members(bot)  # still one person, now on both channels
    assert member.id == sms_member.id and member.telegram_id == tamar.id
    assert member.phone_verified and member.consent_announcements  # said yes on Telegram
    assert (member.sector, member.birth_year) == ("private", 1979)  # kept from SMS
    replies = await bot.sms(SMS_PHONE, "JOIN")
    assert "already registered" in replies[0]


async def test_a_typed_number_of_someone_else_is_refused_and_the_secretariat_told(
    bot: RunningBot,
) -> None:
    secretary = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        await make_member(
            session,
            name="Secretary",
            role="secretariat",
            language="en",
            telegram=secretary.id,
            phone=False,
        )
        await make_member(session, name="Owner", telegram=False, phone=SMS_PHONE)
    intruder = bot.tg.user(language_code="en")
    await _to_phone(bot, intruder, "Someone Else")
    await intruder.send("599 300 300")
    refused = await _text(bot, intruder, "already registered to another participant")
    assert "Share my number" in refused
    notice = await _text(bot, secretary, "tried to register")
    assert "+99559*****00" in notice and SMS_PHONE not in notice  # never the full number
    assert f"telegram:{intruder.id}" in notice
    await intruder.share_contact("+995555000999", user_id=999999)  # somebody else's contact
    assert "your own number" in await _text(bot, intruder, "your own number")
    owners = [m for m in await _members(bot) if m.phone == SMS_PHONE]
    assert len(owners) == 1 and owners[0].telegram_id is None


async def test_declining_the_link_keeps_both_apart_and_tells_the_secretariat(
    bot: RunningBot,
) -> None:
    secretary = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        await make_member(
            session,
            name="Secretary",
            role="secretariat",
            language="en",
            telegram=secretary.id,
            phone=False,
        )
        await make_member(session, name="Grandmother", telegram=False, phone=SMS_PHONE)
    grandson = bot.tg.user(language_code="en")
    await _to_phone(bot, grandson, "Grandson Name")
    await grandson.share_contact(SMS_PHONE)
    await _text(bot, grandson, "Is that you?")
    await grandson.press("No")
    again = await _text(bot, grandson, "not linked")
    assert "Your mobile number" in again
    assert "is not theirs" in await _text(bot, secretary, "is not theirs")
    await grandson.send("555 12 34 56")
    await _text(bot, grandson, "Which community")
    grandmother = next(m for m in await _members(bot) if m.phone == SMS_PHONE)
    assert grandmother.telegram_id is None


async def test_secretariat_ids_and_verified_phones_bootstrap_the_role(db_url: str) -> None:
    admin_phone = "+995599000777"
    sms_admin_phone = "+995599000778"
    async with running_bot(
        db_url, secretariat_telegram_ids=[7001], secretariat_phones=[admin_phone, sms_admin_phone]
    ) as bot:
        chair = bot.tg.user(7001, language_code="en")
        await _to_phone(bot, chair, "Chair Person")
        await chair.send("555 11 22 33")
        await _finish(bot, chair)
        typist = bot.tg.user(7002, language_code="en")
        await _to_phone(bot, typist, "Typist Person")
        await typist.send(admin_phone)  # typing a listed number proves nothing
        await _finish(bot, typist)
        for answer in ("JOIN", "4", "YES", "YES", "Sms Admin", "1", "3", "1970"):
            await bot.sms(sms_admin_phone, answer)  # an SMS from the number proves it
        roles = {m.name: m.role for m in await _members(bot)}
        assert roles == {
            "Chair Person": "secretariat",
            "Typist Person": "member",
            "Sms Admin": "secretariat",
        }
        chair_menu = [c["command"] for c in bot.tg.commands({"type": "chat", "chat_id": 7001})]
        typist_menu = [c["command"] for c in bot.tg.commands({"type": "chat", "chat_id": 7002})]
        assert "members" in chair_menu and "export" in chair_menu
        assert "members" not in typist_menu and "profile" in typist_menu
        await typist.send("/profile")  # sharing the contact later proves the number
        await typist.press("✏️ Phone")
        await _text(bot, typist, "(cancel: /cancel)")
        await typist.share_contact(admin_phone)
        await _text(bot, typist, "Saved")
        await bot.tg.wait_until(
            lambda: (
                "members"
                in [c["command"] for c in bot.tg.commands({"type": "chat", "chat_id": 7002})]
                or None
            )
        )
        async with bot.rt.db.session() as session:
            boot = (
                (
                    await session.execute(
                        select(AuditLog).where(col(AuditLog.action) == "role.bootstrap")
                    )
                )
                .scalars()
                .all()
            )
        assert len(boot) == 3


async def _finish(bot: RunningBot, user: VirtualUser) -> None:
    await user.press("Apeni")
    await user.press("Skip")
    await user.press("Public")
    await _text(bot, user, "Year of birth")
    await user.send("1980")
    await user.press("No, skip")
    await user.press("✅ Done")
    await user.press("✅ Confirm")
    await _text(bot, user, "Congratulations")
