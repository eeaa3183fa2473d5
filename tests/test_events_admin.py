"""The secretariat's side: /newevent step by step (with every refusal), drafts and publishing,
editing time and capacity with notices, cancelling, /attendees — and members kept out of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlmodel import col, select

from models.audit import AuditLog
from models.base import utcnow
from models.event_rsvps import EventRsvp
from models.events import Event
from models.members import Role
from tests.events_support import (
    DAYTIME,
    PLACE,
    last_answer,
    patient,  # noqa: F401  (a fixture, used by pytestmark)
    published,
    sms,
    sms_member,
    tg_member,
)
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot, running_bot

NOT_ALLOWED = "ეს ბრძანება მხოლოდ სამდივნოსთვისაა."

pytestmark = pytest.mark.usefixtures("patient")


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(db_url, **DAYTIME) as running:
        yield running


async def admin_of(bot: RunningBot) -> VirtualUser:
    """A secretariat member who does not receive announcements (keeps the transcript clean)."""
    user, _ = await tg_member(bot, role=Role.SECRETARIAT, name="თამარ", consent_announcements=False)
    return user


async def say(user: VirtualUser, text: str) -> str:
    await user.send(text)
    return (await user.reply()).text


async def test_newevent_refuses_bad_input_and_publishes_after_the_preview(bot: RunningBot) -> None:
    tamar = await admin_of(bot)
    nino, _ = await tg_member(bot, name="ნინო")
    future = (utcnow() + timedelta(days=10)).astimezone(bot.settings.tz)
    day = future.strftime("%d.%m.%Y")

    assert "რა ტიპისაა?" in await say(tamar, "/newevent")
    await tamar.press("ტრენინგი")
    assert (await tamar.reply()).text == "სათაური ქართულად:"
    assert "აღწერა ქართულად" in await say(tamar, "მეფუტკრეობის ტრენინგი")
    assert "დაამატებთ თარგმანს?" in await say(tamar, "პრაქტიკული ტრენინგი.")
    await tamar.press("+ English")
    assert (await tamar.reply()).text == "სათაური (English):"
    assert (await say(tamar, "Beekeeping training")) == "აღწერა (English):"
    await tamar.press("გამოტოვება")
    assert tamar.buttons(await tamar.reply())[0] == ["+ Azərbaycanca", "+ Русский", "✓ English"]
    await tamar.press("გაგრძელება →")
    assert "დაწყების თარიღი და დრო" in (await tamar.reply()).text

    assert (await say(tamar, "01.03.2020 10:00")).startswith("ეს დრო უკვე გავიდა.")
    assert (await say(tamar, "31.02.2031 10:00")).startswith("ასეთი თარიღი არ არსებობს.")
    assert (await say(tamar, "tomorrow")).startswith("თარიღი ან დრო ვერ გავიგე.")
    assert "დასრულების დრო" in await say(tamar, f"{day} 10:00")
    assert (await say(tamar, "09:00")).startswith("დასრულება დაწყების შემდეგ უნდა იყოს.")
    assert "სად ჩატარდება?" in await say(tamar, "13:00")
    assert "რუკაზე" in await say(tamar, PLACE)
    await tamar.send_location(41.8266, 46.279)
    assert "რამდენი ადგილია?" in (await tamar.reply()).text
    assert (await say(tamar, "0")).startswith("ადგილების რაოდენობა დადებითი მთელი რიცხვი")
    assert (await say(tamar, "-5")).startswith("ადგილების რაოდენობა დადებითი მთელი რიცხვი")
    assert "პასუხის ბოლო ვადა" in await say(tamar, "25")
    assert (await say(tamar, f"{day} 11:00")).startswith("პასუხის ვადა ღონისძიების დაწყებამდე")
    await tamar.press("გამოტოვება")
    picker = await tamar.reply()
    assert "ვის ეგზავნება?" in picker.text
    assert tamar.buttons(picker)[0] == ["✓ ყველა"]
    assert tamar.buttons(picker)[-1] == ["✅ მზადაა (1 ადრესატი)"]
    await tamar.press("✅ მზადაა (1 ადრესატი)")
    preview = await tamar.reply()
    assert preview.text.startswith("👀 გადახედეთ ღონისძიებას:")
    assert "მეფუტკრეობის ტრენინგი" in preview.text and "10:00–13:00" in preview.text
    assert "👥 თავისუფალი ადგილები: 25 / 25" in preview.text
    assert "ადრესატები: ყველა (1 წევრი)" in preview.text
    assert "შეხსენებები: 1d, 2h დაწყებამდე" in preview.text
    assert tamar.buttons(preview)[0] == ["📣 გამოქვეყნება", "💾 მონახაზად შენახვა"]
    await tamar.press("📣 გამოქვეყნება")
    done = await tamar.reply()
    async with bot.rt.db.session() as session:
        event = (await session.execute(select(Event))).scalars().one()
    assert done.text.startswith(f"✅ E{event.id} გამოქვეყნდა. მოწვევა: 1 წევრი")
    assert event.title == {"ka": "მეფუტკრეობის ტრენინგი", "en": "Beekeeping training"}
    assert event.capacity == 25 and event.latitude == pytest.approx(41.8266)
    assert event.starts_at.astimezone(bot.settings.tz).strftime("%d.%m.%Y %H:%M") == f"{day} 10:00"
    card = await nino.reply()
    assert "მეფუტკრეობის ტრენინგი" in card.text and nino.buttons(card)[0][0] == "მოვალ"
    async with bot.rt.db.session() as session:
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert "event.create" in actions and "event.publish" in actions


async def test_a_draft_is_not_announced_until_published_from_its_card(bot: RunningBot) -> None:
    tamar = await admin_of(bot)
    nino, _ = await tg_member(bot)
    future = (utcnow() + timedelta(days=6)).astimezone(bot.settings.tz).strftime("%d.%m.%Y")
    await say(tamar, "/newevent")
    await tamar.press("საინფორმაციო შეხვედრა")
    await tamar.reply()
    for text in ("საგრანტო კონკურსის საინფორმაციო შეხვედრა", "ვინ და როგორ განაცხადოს."):
        await say(tamar, text)
    await tamar.press("გაგრძელება →")
    await tamar.reply()
    for text in (f"{future} 15:00", "17:00", "კაბალის თემის ადმინისტრაცია"):
        await say(tamar, text)
    for _ in range(3):  # no map pin, no limit, no deadline
        await tamar.press("გამოტოვება" if _ != 1 else "შეზღუდვის გარეშე")
        await tamar.reply()
    await tamar.press("✅ მზადაა (1 ადრესატი)")
    await tamar.reply()
    await tamar.press("💾 მონახაზად შენახვა")
    saved = (await tamar.reply()).text
    assert "შენახულია მონახაზად" in saved
    code = saved.split()[1]
    await nino.send("/events")
    assert (await nino.reply()).text == "მომავალი ღონისძიებები ჯერ არ არის."
    listing = await say(tamar, "/events")
    assert f"{code} · " in listing and "[მონახაზი]" in listing

    await tamar.send(f"/event {code}")
    admin_card = await tamar.reply()
    assert "სტატუსი: მონახაზი" in admin_card.text
    await tamar.press("📣 გამოქვეყნება")
    assert (await tamar.reply()).text.startswith(f"✅ {code} გამოქვეყნდა.")
    assert "საგრანტო კონკურსის საინფორმაციო შეხვედრა" in (await nino.reply()).text


async def test_moving_an_event_tells_going_maybe_and_waitlist_with_a_new_calendar_entry(
    bot: RunningBot,
) -> None:
    tamar = await admin_of(bot)
    nino, _ = await tg_member(bot, name="ნინო")
    levan, _ = await tg_member(bot, name="ლევან")
    maia, _ = await tg_member(bot, name="მაია")
    villager = await sms_member(bot, name="ალი")
    event = await published(bot.rt, capacity=1)
    nino_card = (await nino.replies(2))[0]
    levan_card = (await levan.replies(2))[0]
    maia_card = (await maia.replies(2))[0]
    await maia.press("შეიძლება")
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: შეიძლება" in maia_card.text)
    await bot.sms_replies(villager.phone or "", 1)
    await nino.press("მოვალ")
    await bot.tg.wait_until(lambda: "მოვალ ✓" in nino_card.text)
    await levan.press("ვერ მოვალ")
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: ვერ მოვალ" in levan_card.text)
    await sms(bot, villager.phone or "", f"YES E{event.id}")  # waitlisted

    await tamar.send(f"/editevent E{event.id}")
    await tamar.reply()
    await tamar.press("დრო")
    await tamar.reply()
    new_day = (utcnow() + timedelta(days=12)).astimezone(bot.settings.tz).strftime("%d.%m.%Y")
    await say(tamar, f"{new_day} 11:00")
    assert (await say(tamar, "14:00")) == f"✅ E{event.id} შეიცვალა. შეტყობინება მიიღო 3 ადამიანმა."

    notice, ics = await nino.replies(2)
    assert notice.text.startswith("⚠️ ღონისძიება შეიცვალა: მეფუტკრეობის ტრენინგი")
    assert "11:00–14:00" in notice.text
    vevent = Calendar.from_ical(ics.document.content if ics.document else b"").walk("VEVENT")[0]
    assert int(vevent["sequence"]) == 1 and str(vevent["uid"]) == f"event-{event.id}@lagbot"
    assert vevent.decoded("dtstart").strftime("%d.%m.%Y %H:%M") == f"{new_day} 11:00"
    maybe_notice, _ = await maia.replies(2)  # "Maybe" is told too, with the buttons again
    assert maybe_notice.text.startswith("⚠️ ღონისძიება შეიცვალა: მეფუტკრეობის ტრენინგი")
    assert maia.buttons(maybe_notice)[0] == ["მოვალ", "✓ შეიძლება", "ვერ მოვალ"]
    change = (await bot.sms_replies(villager.phone or "", 3))[2]
    assert change.startswith("შეცვლა: მეფუტკრეობის ტრენინგი — ახლა")
    await bot.tg.wait_until(lambda: len(levan.inbox) >= 2)
    assert len(levan.inbox) == 2  # "not going": no notice
    async with bot.rt.db.session() as session:
        edit = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "event.edit")))
            .scalars()
            .one()
        )
    assert set(edit.details["after"]) == {"starts_at", "ends_at"}
    assert edit.details["before"]["starts_at"] == event.starts_at.isoformat()


async def test_more_seats_promote_the_waitlist(bot: RunningBot) -> None:
    tamar = await admin_of(bot)
    first = await sms_member(bot)
    second = await sms_member(bot)
    event = await published(bot.rt, capacity=1)
    for villager in (first, second):
        await bot.sms_replies(villager.phone or "", 1)
        await sms(bot, villager.phone or "", f"YES E{event.id}")
    await tamar.send(f"/editevent E{event.id}")
    await tamar.reply()
    await tamar.press("ადგილები")
    await tamar.reply()
    assert (await say(tamar, "2")) == f"✅ E{event.id} შეიცვალა. შეტყობინება მიიღო 1 ადამიანმა."
    promoted = (await bot.sms_replies(second.phone or "", 3))[2]
    assert promoted.startswith("ადგილი გათავისუფლდა და ახლა თქვენია")


async def test_cancelling_notifies_and_closes_answers(bot: RunningBot) -> None:
    tamar = await admin_of(bot)
    nino, _ = await tg_member(bot)
    villager = await sms_member(bot)
    event = await published(bot.rt)
    card = (await nino.replies(2))[0]
    await bot.sms_replies(villager.phone or "", 1)
    await nino.press("შეიძლება")
    await bot.tg.wait_until(lambda: "თქვენი პასუხი: შეიძლება" in card.text)

    confirm = await say(tamar, f"/cancelevent E{event.id}")
    assert "შეტყობინებას მიიღებს 1 ადამიანი" in confirm
    await tamar.press("დიახ, გააუქმე და შეატყობინე")
    assert (
        await tamar.reply()
    ).text == f"❌ E{event.id} გაუქმდა. შეტყობინება გაეგზავნა 1 ადამიანს."
    notice, ics = await nino.replies(2)
    assert notice.text.startswith("❌ ღონისძიება გაუქმდა: მეფუტკრეობის ტრენინგი")
    vevent = Calendar.from_ical(ics.document.content if ics.document else b"").walk("VEVENT")[0]
    assert str(vevent["status"]) == "CANCELLED"
    [reply] = await sms(bot, villager.phone or "", f"YES E{event.id}")
    assert reply == f"ღონისძიება E{event.id} გაუქმებულია."
    async with bot.rt.db.session() as session:
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert "event.cancel" in actions


async def test_attendees_shows_counts_names_and_exports_csv(bot: RunningBot) -> None:
    tamar = await admin_of(bot)
    nino, _ = await tg_member(bot, name="ნინო ბერიძე")
    villager = await sms_member(bot, name="ალი ჰასანოვი", community="kabali")
    event = await published(bot.rt, capacity=1)
    card = (await nino.replies(2))[0]
    await bot.sms_replies(villager.phone or "", 1)
    await nino.press("მოვალ")
    await bot.tg.wait_until(lambda: "მოვალ ✓" in card.text)
    await sms(bot, villager.phone or "", f"YES E{event.id}")

    text = await say(tamar, f"/attendees E{event.id}")
    assert "მოვა: 1/1 · მოლოდინში: 1 · შეიძლება: 0 · ვერ მოვა: 0" in text
    assert "✅ მოვა (1):\n1. ნინო ბერიძე (ქ. ლაგოდეხი)" in text
    assert "⏳ მოლოდინის სია (1):\n1. ალი ჰასანოვი (კაბალი)" in text
    await tamar.press("⬇️ CSV")
    csv_file = await tamar.reply()
    assert csv_file.document is not None and csv_file.document.filename == f"rsvp-E{event.id}.csv"
    content = (csv_file.document.content or b"").decode("utf-8-sig")
    assert (
        content.splitlines()[0].startswith("სახელი, გვარი") or "სახელი" in content.splitlines()[0]
    )
    assert "ნინო ბერიძე" in content and "ალი ჰასანოვი" in content and "მოლოდინის სია" in content


@pytest.mark.parametrize(
    "command",
    ["/newevent", "/editevent E{id}", "/cancelevent E{id}", "/attendees E{id}",
     "/checkin E{id} 1234", "/quorum E{id}", "/export attendance E{id}"],
)  # fmt: skip
async def test_members_cannot_create_change_or_see_attendee_lists(
    bot: RunningBot, command: str
) -> None:
    nino, member = await tg_member(bot)
    event = await published(bot.rt)
    await nino.replies(2)
    assert await say(nino, command.format(id=event.id)) == NOT_ALLOWED
    assert await refusals(bot) == [member.id]  # audited (after the reply: wait for it)
    async with bot.rt.db.session() as session:
        checked = select(EventRsvp).where(col(EventRsvp.checked_in_at).is_not(None))
        assert (await session.execute(checked)).first() is None


async def refusals(bot: RunningBot) -> list[int | None]:
    for _ in range(100):
        async with bot.rt.db.session() as session:
            rows = (
                (await session.execute(select(AuditLog).where(AuditLog.action == "access.refused")))
                .scalars()
                .all()
            )
        if rows:
            return [r.actor_member_id for r in rows]
        await asyncio.sleep(0.05)
    return []


@pytest.mark.parametrize(
    "data", ["ev:a:att:{id}", "ev:a:cxy:{id}", "ev:a:sheet:{id}", "ev:ci:{id}:1"]
)
async def test_members_pressing_secretariat_buttons_are_refused(bot: RunningBot, data: str) -> None:
    nino, _ = await tg_member(bot)
    event = await published(bot.rt)
    await nino.replies(2)
    await nino.press_data(data.format(id=event.id))
    assert (await last_answer(bot, nino))["text"] == NOT_ALLOWED
    async with bot.rt.db.session() as session:
        fresh = await session.get(Event, event.id)
    assert fresh is not None and fresh.status == "published"
    assert len(await refusals(bot)) == 1
