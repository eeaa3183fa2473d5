"""Villagers on basic phones: GRANTS, G3, GRANT G3 with the applicant type by number (in
Georgian, Latin and Cyrillic spellings), withdrawing, and a clear answer when it goes wrong —
all through signed webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from models.base import utcnow
from models.dialogs import Dialog, get_dialog
from models.grants import GrantCall
from tests.grants_support import DAYTIME, QUEUED, applicant_row, interested, published, sms_member
from tests.harness import RunningBot, running_bot


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def call_announced_to(bot: RunningBot, phone: str, **kwargs: object) -> GrantCall:
    before = len(await bot.sms_inbox(phone))
    call = await published(bot.rt, **kwargs)  # type: ignore[arg-type]
    await bot.sms_replies(phone, before + 1, timeout=QUEUED)
    return call


async def test_the_sms_announcement_says_how_to_register(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    call = await published(bot.rt)
    [announcement] = await bot.sms_replies(villager.phone or "", 1, timeout=QUEUED)
    assert announcement.startswith(f"ახალი საგრანტო კონკურსი {call.code}")
    assert "1 000-20 000 ლარი, თანადაფინანსება 10%" in announcement
    assert f"GRANT {call.code}" in announcement and "STOP" in announcement


async def test_grants_lists_open_calls_with_codes_and_deadlines(bot: RunningBot) -> None:
    villager = await sms_member(bot, language="en")
    call = await call_announced_to(bot, villager.phone or "")
    [reply] = await bot.sms(villager.phone or "", "GRANTS", timeout=QUEUED)
    lines = reply.split("\n")
    assert lines[0] == "Open grant calls:"
    assert lines[1].startswith(f"{call.code} Small grants for farming: Idea (expression")
    assert lines[1].endswith("(in 20 days)") or lines[1].endswith("(in 19 days)")
    assert lines[2] == f"Details: {call.code}. Register interest: GRANT {call.code}"


async def test_grants_with_nothing_open(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    assert await bot.sms(villager.phone or "", "გრანტები", timeout=QUEUED) == [
        "ახლა ღია საგრანტო კონკურსი არ არის."
    ]


async def test_registering_interest_by_sms_step_by_step(bot: RunningBot) -> None:
    villager = await sms_member(bot, village="ყარაჯალა")
    phone = villager.phone or ""
    call = await call_announced_to(bot, phone)
    [question] = await bot.sms(phone, f"GRANT {call.code}", timeout=QUEUED)
    assert question.split("\n") == [
        f"{call.code}: ვინ შეიტანს განაცხადს? უპასუხეთ ნომრით:",
        "1 ფიზიკური პირი",
        "2 კოოპერატივი",
        "3 არასამთავრობო ორგანიზაცია",
        "0 - გაუქმება",
    ]
    [again] = await bot.sms(phone, "7", timeout=QUEUED)
    assert again.startswith("უპასუხეთ ნომრით 1-დან 3-მდე.\n")
    [idea] = await bot.sms(phone, "2", timeout=QUEUED)
    assert idea == "თქვენი პროექტის იდეის სახელწოდება? (0 - ჯერ არ ვიცი)"
    [village] = await bot.sms(phone, "თხილის საშრობი", timeout=QUEUED)
    assert village == "რომელ სოფელში იქნება პროექტი? (0 - ყარაჯალა)"
    [saved] = await bot.sms(phone, "0", timeout=QUEUED)
    assert saved.startswith(f"ჩაწერილია: {call.code}. იდეა წარადგინეთ")
    assert saved.endswith(f"გასვლა: {call.code} NO")
    row = await applicant_row(bot.rt, villager)
    assert row is not None
    assert (row.applicant_type, row.idea_title, row.village, row.channel, row.stage) == (
        "cooperative", "თხილის საშრობი", "ყარაჯალა", "sms", "interested"
    )  # fmt: skip
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="sms", address=phone) is None


@pytest.mark.parametrize(
    "text",
    [
        "გრანტი {code}",
        "granti {code}",
        "грант {code}",
        "Grant {lower}",
        "GRANT გ{id}",
        "{code} grant",
    ],
)
async def test_grant_in_every_script_asks_the_applicant_type(bot: RunningBot, text: str) -> None:
    villager = await sms_member(bot)
    call = await call_announced_to(bot, villager.phone or "")
    message = text.format(code=call.code, lower=call.code.lower(), id=call.id)
    [reply] = await bot.sms(villager.phone or "", message, timeout=QUEUED)
    assert reply.startswith(f"{call.code}: ვინ შეიტანს განაცხადს?")


async def test_grant_alone_with_one_open_call_starts_on_it(bot: RunningBot) -> None:
    villager = await sms_member(bot, language="ru")
    call = await call_announced_to(bot, villager.phone or "")
    [reply] = await bot.sms(villager.phone or "", "грант", timeout=QUEUED)
    assert reply.startswith(f"{call.code}: кто подаёт заявку? Ответьте номером:")


async def test_zero_cancels_and_nothing_is_recorded(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    call = await call_announced_to(bot, villager.phone or "")
    await bot.sms(villager.phone or "", f"GRANT {call.code}", timeout=QUEUED)
    assert await bot.sms(villager.phone or "", "0", timeout=QUEUED) == ["კარგი, არაფერი ჩაწერილა."]
    assert await applicant_row(bot.rt, villager) is None


async def test_details_stage_and_withdrawing_by_code(bot: RunningBot) -> None:
    villager = await sms_member(bot, language="en")
    phone = villager.phone or ""
    call = await call_announced_to(bot, phone)
    [details] = await bot.sms(phone, call.code, timeout=QUEUED)
    assert details.startswith(f"{call.code} Small grants for farming. 1 000-20 000 GEL")
    assert f"GRANT {call.code}" in details
    await interested(bot.rt, call, villager)
    [mine] = await bot.sms(phone, call.code.lower())
    assert f"{call.code}: your stage - Interested. To withdraw: {call.code} NO" in mine
    [gone] = await bot.sms(phone, f"{call.code} NO", timeout=QUEUED)
    assert gone.startswith(f"You have withdrawn from {call.code}")
    row = await applicant_row(bot.rt, villager)
    assert row is not None and row.stage == "withdrawn"
    [twice] = await bot.sms(phone, f"GRANT {call.code} უარი", timeout=QUEUED)
    assert twice == f"{call.code}: you have already withdrawn."


async def test_wrong_codes_strangers_and_late_comers_get_clear_answers(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    phone = villager.phone or ""
    assert await bot.sms(phone, "G99", timeout=QUEUED) == [
        "კონკურსი G99 ვერ მოიძებნა. შეამოწმეთ კოდი."
    ]
    call = await call_announced_to(bot, phone)
    assert await bot.sms("+995599777001", f"GRANT {call.code}", timeout=QUEUED) == [
        "ჯერ დარეგისტრირდით: გამოგზავნეთ JOIN"
    ]
    async with bot.rt.db.session() as session:
        await session.execute(
            update(GrantCall).where(col(GrantCall.id) == call.id)
            .values(idea_deadline=utcnow() - timedelta(hours=1))
        )  # fmt: skip
    [late] = await bot.sms(phone, f"GRANT {call.code}", timeout=QUEUED)
    assert late.startswith(f"{call.code}: იდეების ვადა ამოიწურა")


async def test_help_in_the_middle_repeats_the_question(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    call = await call_announced_to(bot, villager.phone or "")
    await bot.sms(villager.phone or "", f"GRANT {call.code}", timeout=QUEUED)
    [help_] = await bot.sms(villager.phone or "", "HELP", timeout=QUEUED)
    assert help_.startswith("უპასუხეთ კითხვას (STOP")
    assert "1 ფიზიკური პირი" in help_


async def test_another_command_in_the_middle_is_not_taken_for_an_answer(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    phone = villager.phone or ""
    call = await call_announced_to(bot, phone)
    await bot.sms(phone, f"GRANT {call.code}", timeout=QUEUED)
    await bot.sms(phone, "1", timeout=QUEUED)  # now the idea title is asked
    [reply] = await bot.sms(phone, "YES E77", timeout=QUEUED)  # meant for the events capability
    assert reply == "ღონისძიება E77 არ მოიძებნა. შეამოწმეთ კოდი."
    async with bot.rt.db.session() as session:
        assert await get_dialog(session=session, channel="sms", address=phone) is None
    assert await applicant_row(bot.rt, villager) is None


async def test_a_step_left_for_a_day_is_dropped(bot: RunningBot) -> None:
    villager = await sms_member(bot)
    phone = villager.phone or ""
    call = await call_announced_to(bot, phone)
    await bot.sms(phone, f"GRANT {call.code}", timeout=QUEUED)
    async with bot.rt.db.session() as session:
        await session.execute(
            update(Dialog).where(col(Dialog.address) == phone)
            .values(updated_at=utcnow() - timedelta(days=2))
        )  # fmt: skip
    [reply] = await bot.sms(phone, "2", timeout=QUEUED)  # no longer an answer to the type question
    assert "ვინ შეიტანს" not in reply and "ჩაწერილია" not in reply
    assert await applicant_row(bot.rt, villager) is None


async def test_sms_help_mentions_grants(bot: RunningBot) -> None:
    [reply] = await bot.sms("+995599777002", "HELP", timeout=QUEUED)
    assert "GRANTS grantebi" in reply  # one short line, in Latin letters for a stranger
