"""The grant competition on Telegram: the secretariat creates a call with /newgrant (every
refusal on the way), publishes it to an audience, villagers say "I'm interested", change their
mind, and hear about changes and the cancellation; who may do what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.i18n import t
from models.audit import AuditLog
from models.base import utcnow
from models.dialogs import Dialog
from models.event_rsvps import answer_rsvp
from models.events import Event, EventDraft, create_event
from models.grants import GrantCall
from models.grants_applicants import GrantApplicant
from models.members import Role
from tests.fakes.telegram_user import VirtualUser
from tests.grants_support import (
    DAYTIME,
    QUEUED,
    TBILISI,
    applicant_row,
    eventually,
    interested,
    published,
    secretariat,
    tg_member,
)
from tests.harness import RunningBot, running_bot


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


def typed(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def next_may_26(after: date) -> date:
    """A public holiday (Independence Day) after `after`."""
    year = after.year if after < date(after.year, 5, 26) else after.year + 1
    return date(year, 5, 26)


def flat(user: VirtualUser) -> list[str]:
    return [label for row in user.buttons() for label in row]


async def announced(bot: RunningBot, code: str, *users: VirtualUser) -> None:
    """Wait until each user has the call's announcement, and mark everything so far read."""
    for user in users:
        await bot.tg.wait_until(lambda u=user: any(code in m.text for m in u.inbox), QUEUED)  # type: ignore[misc]
        user.skip_unread()


async def test_newgrant_transcript_with_every_refusal_then_publish(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot)
    villager, _ = await tg_member(bot, village="კაბალი")
    today = utcnow().astimezone(TBILISI).date()
    start = datetime.combine(today + timedelta(days=6), datetime.min.time(), TBILISI)
    async with bot.rt.db.session() as session:
        session_event = await create_event(
            session=session,
            draft=EventDraft(kind="info_session", title={"ka": "საინფორმაციო შეხვედრა კაბალში"},
                             description={}, starts_at=start + timedelta(hours=11),
                             ends_at=start + timedelta(hours=13), place="კაბლის სკოლა"),
            actor=None, now=utcnow(),
        )  # fmt: skip

    await tamar.send("/newgrant")
    assert "სახელწოდება ქართულად" in (await tamar.reply(QUEUED)).text
    await tamar.send("მცირე გრანტები ფერმერებისთვის")
    assert "მოკლე აღწერა" in (await tamar.reply(QUEUED)).text
    await tamar.send("ფინანსდება თხილისა და თაფლის მცირე საწარმოები.")
    assert "თარგმანები" in (await tamar.reply(QUEUED)).text
    await tamar.press("+ English")
    assert "(English)" in (await tamar.reply(QUEUED)).text
    await tamar.send("Small grants for farmers")
    await tamar.reply(QUEUED)
    await tamar.press("გამოტოვება")
    translations = await tamar.reply(QUEUED)
    assert translations.buttons[0] == ["+ Azərbaycanca", "+ Русский", "✓ English"]
    await tamar.press("გაგრძელება →")
    assert "პრიორიტეტებს" in (await tamar.reply(QUEUED)).text
    await tamar.press("✓ მზადაა")  # nothing ticked yet
    await bot.tg.wait_until(lambda: tamar.callback_answers[-1] is not None)
    assert "ერთი პრიორიტეტი" in str(tamar.callback_answers[-1])
    await tamar.press("სოფლის მეურნეობა და სურსათის გადამუშავება")
    await bot.tg.wait_until(lambda: "✓ სოფლის მეურნეობა და სურსათის გადამუშავება" in flat(tamar))
    await tamar.press("✓ მზადაა")
    types = await tamar.reply(QUEUED)
    assert "ვის შეუძლია" in types.text and ["✓ მუნიციპალური ორგანო"] in types.buttons
    await tamar.press("✓ მუნიციპალური ორგანო")
    await bot.tg.wait_until(lambda: ["მუნიციპალური ორგანო"] in tamar.buttons())
    await tamar.press("✓ მზადაა")
    assert "ლარში" in (await tamar.reply(QUEUED)).text
    await tamar.send("20000-1000")
    refusal = await tamar.reply(QUEUED)
    assert refusal.text.startswith("მინიმუმი მაქსიმუმზე მეტია") and "ლარში" in refusal.text
    await tamar.send("1 000 – 20 000")
    assert "თანადაფინანსება" in (await tamar.reply(QUEUED)).text
    await tamar.send("120")
    assert "0-დან 90-მდე" in (await tamar.reply(QUEUED)).text
    await tamar.send("10%")
    assert "სახელმძღვანელოს" in (await tamar.reply(QUEUED)).text
    await tamar.send("lag.ge/grants/manual.pdf")
    assert "საინფორმაციო შეხვედრები" in (await tamar.reply(QUEUED)).text
    await tamar.send("E999")
    assert "E999 ვერ მოიძებნა" in (await tamar.reply(QUEUED)).text
    await tamar.send(f"E{session_event.id}")
    assert "იდეების (ინტერესის გამოხატვის) ვადა" in (await tamar.reply(QUEUED)).text
    await tamar.send("01.01.2020")
    assert "მომავალში უნდა იყოს" in (await tamar.reply(QUEUED)).text
    await tamar.send(typed(start.date() - timedelta(days=2)))  # before the info session
    assert "ვადამდე" in (await tamar.reply(QUEUED)).text
    idea_day = today + timedelta(days=30)
    await tamar.send(typed(idea_day))
    assert "მოკლე სიის გამოცხადება" in (await tamar.reply(QUEUED)).text
    await tamar.send(typed(idea_day - timedelta(days=1)))
    order = await tamar.reply(QUEUED)
    assert "უნდა იყოს „იდეების (ინტერესის გამოხატვის) ვადა“-ის" in order.text
    await tamar.press("გამოტოვება")
    assert "პროექტის წერის ტრენინგი" in (await tamar.reply(QUEUED)).text
    await tamar.press("გამოტოვება")
    assert "სრული განაცხადის ვადა" in (await tamar.reply(QUEUED)).text
    holiday = next_may_26(idea_day + timedelta(days=2))
    await tamar.send(f"{typed(holiday)} 17:00")
    warned = await tamar.reply(QUEUED)
    assert "დამოუკიდებლობის" in warned.text or "დასვენების" in warned.text
    assert "გასაუბრებები" in warned.text
    for _ in range(3):  # interviews, results, contract: optional
        await tamar.press("გამოტოვება")
        picker = await tamar.reply(QUEUED)
    # Who hears of it: the one audience picker (handlers.audience_picker), Done with the count.
    done_label = t("audiences.done", "ka", count=2)
    assert done_label in [label for row in tamar.buttons(picker) for label in row]
    await tamar.press(done_label)
    preview = await tamar.reply(QUEUED)
    assert "მცირე გრანტები ფერმერებისთვის" in preview.text
    assert "1 000 - 20 000 ლარი" in preview.text and "მინიმუმ 10%" in preview.text
    assert f"E{session_event.id}" in preview.text and "2 წევრი" in preview.text
    await tamar.press("📣 გამოქვეყნება")
    done = await tamar.reply(QUEUED)
    assert done.text.startswith("✓ G") and "გამოქვეყნდა" in done.text

    async with bot.rt.db.session() as session:
        call = (await session.execute(select(GrantCall))).scalars().one()
        event = await session.get(Event, session_event.id)
    assert call.title == {"ka": "მცირე გრანტები ფერმერებისთვის", "en": "Small grants for farmers"}
    assert call.applicant_types == ["individual", "company", "cooperative", "ngo",
                                    "initiative_group"]  # fmt: skip
    assert (call.min_amount, call.max_amount, call.cofinancing_pct) == (1000, 20000, 10)
    assert call.full_deadline.astimezone(TBILISI).hour == 17
    assert event is not None and event.status == "published"  # announced as an event

    await bot.tg.wait_until(lambda: any(call.code in m.text for m in villager.inbox), QUEUED)
    announcement = next(m for m in villager.inbox if call.code in m.text)
    assert "📣" in announcement.text and "GRANT " + call.code in announcement.text
    assert announcement.buttons == [["🙋 დაინტერესებული ვარ"]]
    assert any("საინფორმაციო შეხვედრა კაბალში" in m.text for m in villager.inbox)


async def test_the_secretariat_can_stop_newgrant_and_nothing_is_saved(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot)
    await tamar.send("/newgrant")
    await tamar.reply(QUEUED)
    await tamar.send("სათაური")
    await tamar.reply(QUEUED)
    await tamar.press("✖ შეწყვეტა")
    assert "არაფერი შენახულა" in (await tamar.reply(QUEUED)).text
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(GrantCall))).first() is None


async def test_villager_says_i_am_interested_then_withdraws(bot: RunningBot) -> None:
    villager, member = await tg_member(bot, village="ზემო ბოლქვი")
    call = await published(bot.rt)
    await bot.tg.wait_until(lambda: any(call.code in m.text for m in villager.inbox), QUEUED)
    villager.skip_unread()
    await villager.press("🙋 დაინტერესებული ვარ")
    ask_type = await villager.reply(QUEUED)
    assert "ვინ შეიტანს" in ask_type.text
    assert ask_type.buttons[:3] == [
        ["ფიზიკური პირი"],
        ["კოოპერატივი"],
        ["არასამთავრობო ორგანიზაცია"],
    ]
    await villager.send("კოოპერატივი")  # typed, not pressed
    assert "ღილაკები" in (await villager.reply(QUEUED)).text
    await villager.press("კოოპერატივი")
    assert "იდეის სახელწოდება" in (await villager.reply(QUEUED)).text
    await villager.send("თხილის საშრობი")
    village = await villager.reply(QUEUED)
    assert village.buttons[0] == ["ზემო ბოლქვი"]
    await villager.press("ზემო ბოლქვი")
    saved = await villager.reply(QUEUED)
    assert saved.text.startswith(f"✓ ჩაწერილია: თქვენ დაინტერესებული ხართ კონკურსით {call.code}")
    assert "14, 3 და 1 დღით ადრე" in saved.text
    row = await applicant_row(bot.rt, member)
    assert row is not None and (row.applicant_type, row.idea_title, row.village, row.stage) == (
        "cooperative", "თხილის საშრობი", "ზემო ბოლქვი", "interested"
    )  # fmt: skip

    await villager.send("/grants")
    card = await villager.reply(QUEUED)
    assert "თქვენი ეტაპი: დაინტერესებული · კოოპერატივი · იდეა: თხილის საშრობი" in card.text
    assert "შემდეგი ვადა: იდეების (ინტერესის გამოხატვის) ვადა" in card.text
    assert "(20 დღეში)" in card.text or "(19 დღეში)" in card.text
    assert card.buttons == [["✏️ ჩემი მონაცემების შეცვლა"], ["კონკურსიდან გასვლა"]]
    await villager.press("კონკურსიდან გასვლა")
    assert "ნამდვილად გადიხართ" in (await villager.reply(QUEUED)).text
    await villager.press("დიახ, გავდივარ")
    assert "გახვედით კონკურსიდან" in (await villager.reply(QUEUED)).text
    row = await applicant_row(bot.rt, member)
    assert row is not None and row.stage == "withdrawn"


async def test_changing_details_and_a_village_typed_in_full(bot: RunningBot) -> None:
    villager, member = await tg_member(bot, language="en")
    call = await published(bot.rt)
    await announced(bot, call.code, villager)
    await interested(bot.rt, call, member, kind="ngo", idea="Old idea", village="Apeni")
    await villager.send(f"/grant {call.code}")
    view = await villager.reply(QUEUED)
    assert "Your stage: Interested · NGO · idea: Old idea" in view.text
    await villager.press("✏️ Change my details")
    await villager.reply(QUEUED)
    await villager.press("Individual")
    await villager.reply(QUEUED)
    await villager.press("Not decided yet")
    assert (await villager.reply(QUEUED)).buttons == [["✖ Stop"]]  # no village in the profile
    await villager.send("7")
    assert "Type the village name" in (await villager.reply(QUEUED)).text
    await villager.send("Kvemo Bolkvi")
    assert (await villager.reply(QUEUED)).text.startswith("✓ Your details are updated")
    row = await applicant_row(bot.rt, member)
    assert row is not None and (row.applicant_type, row.idea_title, row.village) == (
        "individual", "", "Kvemo Bolkvi"
    )  # fmt: skip


async def test_moving_a_deadline_tells_applicants_and_cancelling_tells_them_too(
    bot: RunningBot,
) -> None:
    tamar, _ = await secretariat(bot)
    villager, member = await tg_member(bot)
    call = await published(bot.rt)
    await announced(bot, call.code, tamar, villager)
    await interested(bot.rt, call, member)
    await tamar.send(f"/editgrant {call.code}")
    card = await tamar.reply(QUEUED)
    assert "სტატუსი: გამოქვეყნებულია" in card.text and "დაინტერესებული 1" in card.text
    await tamar.press("სრული განაცხადის ვადა")
    assert "ახლა:" in (await tamar.reply(QUEUED)).text
    new_day = (call.full_deadline + timedelta(days=7)).astimezone(TBILISI).date()
    await tamar.send(f"{typed(new_day)} 16:00")
    saved = await tamar.reply(QUEUED)
    assert "შენახულია. შეტყობინება: 1 განმცხადებელს" in saved.text
    await bot.tg.wait_until(lambda: any("შეიცვალა" in m.text for m in villager.inbox), QUEUED)
    change = next(m for m in villager.inbox if "შეიცვალა" in m.text)
    assert f"სრული განაცხადის ვადა: {new_day.day}" in change.text and "16:00" in change.text

    await tamar.press("❌ კონკურსის გაუქმება")
    assert "1 აქტიურ განმცხადებელს" in (await tamar.reply(QUEUED)).text
    await tamar.press("❌ კონკურსის გაუქმება")
    assert "გაუქმებულია. შეტყობინება რიგშია 1" in (await tamar.reply(QUEUED)).text
    await bot.tg.wait_until(lambda: any("გაუქმდა" in m.text for m in villager.inbox), QUEUED)
    async with bot.rt.db.session() as session:
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert {"grant.create", "grant.publish", "grant.edit", "grant.cancel"} <= set(actions)


async def test_a_draft_is_published_from_its_card(bot: RunningBot) -> None:
    tamar, _ = await secretariat(bot)
    villager, _ = await tg_member(bot)
    from models.grants import create_call
    from tests.grants_support import draft

    async with bot.rt.db.session() as session:
        call = await create_call(session=session, draft=draft(), actor=None, now=utcnow())
    await tamar.send(f"/editgrant {call.code}")
    assert "მონახაზი" in (await tamar.reply(QUEUED)).text
    tamar.skip_unread()
    await tamar.press("📣 გამოქვეყნება")
    await bot.tg.wait_until(lambda: any("გამოქვეყნდა" in m.text for m in tamar.inbox), QUEUED)
    await bot.tg.wait_until(lambda: any(call.code in m.text for m in villager.inbox), QUEUED)


@pytest.mark.parametrize("command", ["/newgrant", "/editgrant G1", "/applicants G1"])
async def test_members_cannot_run_the_secretariat_commands(bot: RunningBot, command: str) -> None:
    villager, member = await tg_member(bot)
    call = await published(bot.rt)
    await announced(bot, call.code, villager)
    await villager.send(command)
    assert (await villager.reply(QUEUED)).text == t("core.not_allowed", "ka")

    async def audited() -> bool:
        async with bot.rt.db.session() as session:
            query = select(AuditLog).where(AuditLog.action == "access.refused")
            refused = (await session.execute(query)).scalars().all()
        return [r.actor_member_id for r in refused] == [member.id]

    await eventually(audited)


async def test_board_sees_counts_but_not_applicants(bot: RunningBot) -> None:
    board, _ = await tg_member(bot, role=Role.BOARD, language="en")
    call = await published(bot.rt)
    await announced(bot, call.code, board)
    await board.send(f"/grantstats {call.code}")
    assert "counts" in (await board.reply(QUEUED)).text
    await board.send(f"/applicants {call.code}")
    assert (await board.reply(QUEUED)).text == t("core.not_allowed", "en")
    # A member pressing a secretariat button (forged callback) is refused too.
    villager, _ = await tg_member(bot)
    await villager.send("/grants")
    await bot.tg.wait_until(lambda: bool(villager.inbox))
    await villager.press_data("gra:c:1:in:fu:1")
    await bot.tg.wait_until(lambda: villager.callback_answers[-1] is not None)
    assert t("core.not_allowed", "ka") in str(villager.callback_answers[-1])
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(GrantApplicant))).first() is None


async def test_unregistered_people_are_sent_to_start(bot: RunningBot) -> None:
    stranger = bot.tg.user(language_code="ka")
    await stranger.send("/grants")
    assert (await stranger.reply(QUEUED)).text == t("core.not_registered", "ka")


async def test_an_intent_left_for_a_day_does_not_swallow_later_messages(bot: RunningBot) -> None:
    villager, member = await tg_member(bot)
    call = await published(bot.rt)
    await announced(bot, call.code, villager)
    await villager.press("🙋 დაინტერესებული ვარ")
    await villager.reply(QUEUED)
    await villager.press("კოოპერატივი")
    await villager.reply(QUEUED)
    async with bot.rt.db.session() as session:
        await session.execute(
            update(Dialog).where(col(Dialog.address) == str(villager.id))
            .values(updated_at=utcnow() - timedelta(days=2))
        )  # fmt: skip
    await villager.send("ხიდი ჩამოინგრა კაბალში")
    assert (await villager.reply(QUEUED)).text == t("core.unknown_text", "ka")
    assert await applicant_row(bot.rt, member) is None


async def test_cancelling_a_call_cancels_its_coming_info_sessions_but_not_shared_ones(
    bot: RunningBot,
) -> None:
    # Tamar hears no announcements, so her chat holds only the card and its answers.
    tamar, _ = await tg_member(bot, role=Role.SECRETARIAT, consent_announcements=False)
    villager, member = await tg_member(bot)
    now = utcnow()

    async def info_session(days: int, title: str) -> Event:
        starts = now + timedelta(days=days)
        async with bot.rt.db.session() as session:
            return await create_event(
                session=session,
                draft=EventDraft(kind="info_session", title={"ka": title}, description={},
                                 starts_at=starts, ends_at=starts + timedelta(hours=2),
                                 place="კაბალი"),
                actor=None, now=now,
            )  # fmt: skip

    own = await info_session(5, "საინფორმაციო შეხვედრა კაბალში")
    shared = await info_session(6, "საინფორმაციო შეხვედრა ლაგოდეხში")
    call = await published(bot.rt, info_sessions=[own.id or 0, shared.id or 0])
    await published(bot.rt, info_sessions=[shared.id or 0])  # another call keeps it
    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, own.id)
        assert fresh is not None and fresh.status == "published"
        await answer_rsvp(
            session=session, event=fresh, member=member, answer="going", channel="telegram",
            settings=bot.settings, now=utcnow(),
        )  # fmt: skip

    await tamar.send(f"/editgrant {call.code}")
    await tamar.reply(QUEUED)
    await tamar.press("❌ კონკურსის გაუქმება")
    await tamar.reply(QUEUED)
    await tamar.press("❌ კონკურსის გაუქმება")
    done = (await tamar.reply(QUEUED)).text
    assert "გაუქმდა ამ კონკურსის მომავალი საინფორმაციო შეხვედრებიც: 1" in done
    async with bot.rt.db.session() as session:
        statuses = {e.id: e.status for e in (await session.execute(select(Event))).scalars()}
    assert statuses == {own.id: "cancelled", shared.id: "published"}
    await bot.tg.wait_until(
        lambda: any("გაუქმ" in m.text and "კაბალში" in m.text for m in villager.inbox),
        QUEUED,
    )
