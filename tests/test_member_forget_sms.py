"""FORGET by SMS asks first, and the next message answers it: a lone კი erases, არა keeps
everything, and anything else is handled as what it is — never as an answer to an invitation
(a lone YES used to RSVP to whatever event was open)."""

from __future__ import annotations

from sqlmodel import select

from models.dialogs import Dialog
from models.members import Member, MemberStatus
from tests.factories import make_member
from tests.harness import RunningBot

PHONE = "+995599737373"


async def _villager(bot: RunningBot) -> None:
    async with bot.rt.db.session() as session:
        await make_member(session, name="გიორგი კაპანაძე", phone=PHONE, telegram=False)


async def _status(bot: RunningBot) -> str:
    async with bot.rt.db.session() as session:
        member = (await session.execute(select(Member))).scalars().one()
        return str(member.status)


async def _asked(bot: RunningBot) -> str:
    [asked] = await bot.sms(PHONE, "FORGET")
    return asked


async def test_forget_then_a_lone_yes_erases(bot: RunningBot) -> None:
    await _villager(bot)
    asked = await _asked(bot)
    assert "კი" in asked and "FORGET YES" in asked and "შეუქცევადია" in asked
    assert await _status(bot) == MemberStatus.ACTIVE
    [done] = await bot.sms(PHONE, "კი")
    assert "წაიშალა" in done
    assert await _status(bot) == MemberStatus.ERASED


async def test_forget_then_no_keeps_everything_and_a_later_yes_is_not_consent(
    bot: RunningBot,
) -> None:
    await _villager(bot)
    await _asked(bot)
    [kept] = await bot.sms(PHONE, "არა")
    assert "არაფერი წაგვიშლია" in kept
    await bot.sms(PHONE, "კი")
    assert await _status(bot) == MemberStatus.ACTIVE


async def test_a_number_or_a_question_after_forget_erases_nothing(bot: RunningBot) -> None:
    await _villager(bot)
    await _asked(bot)
    await bot.sms(PHONE, "1")  # a digit may be meant for a menu or a poll: never consent
    assert await _status(bot) == MemberStatus.ACTIVE
    await _asked(bot)
    await bot.sms(PHONE, "როდის არის კრება?")
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(Dialog))).scalars().all() == []  # question lapsed
    await bot.sms(PHONE, "კი")
    assert await _status(bot) == MemberStatus.ACTIVE


async def test_forget_yes_in_one_message_still_erases_at_once(bot: RunningBot) -> None:
    await _villager(bot)
    [done] = await bot.sms(PHONE, "FORGET YES")
    assert "წაიშალა" in done
    assert await _status(bot) == MemberStatus.ERASED
