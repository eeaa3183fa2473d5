"""Data rights and opt-out: /mydata, /forget (no personal data left anywhere), SMS MYDATA and
FORGET YES, /stop and /resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text
from sqlmodel import SQLModel, col, select

import models
from bot.outbound import Outgoing, queue_for_member
from models.audit import AuditLog
from models.members import Consent, Member
from tests.factories import make_member
from tests.fakes.telegram_user import VirtualUser
from tests.harness import RunningBot
from tests.registration_helpers import PATIENCE, patient_fakes  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("patient_fakes")

NAME = "ქეთევან წიკლაური"
PHONE = "+995599818181"


async def _text(bot: RunningBot, user: VirtualUser, text: str) -> str:
    message = await bot.tg.wait_until(
        lambda: next((m for m in reversed(user.inbox) if text in m.body), None),
        PATIENCE,
        lambda: f"no message with {text!r}: {user.texts()[-2:]!r}",
    )
    return message.body


async def pii_left(bot: RunningBot, needles: list[str]) -> list[str]:
    """Every text or JSON cell in every table that still holds one of `needles`."""
    models.load_all()
    found: list[str] = []
    async with bot.rt.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    for needle in needles:
                        if text and needle in text:
                            found.append(f"{table.name}.{column.name}: {text[:80]!r}")
    return found


async def test_forget_on_telegram_leaves_no_personal_data_anywhere(bot: RunningBot) -> None:
    keti = bot.tg.user(language_code="ka", username="keti_t")
    secretary = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        member = await make_member(
            session,
            name=NAME,
            telegram=keti.id,
            phone=PHONE,
            telegram_username="keti_t",
            village="ზემო ბოლქვი",
            organisation="კოოპერატივი ქეთი",
        )
        await make_member(
            session,
            name="Secretary",
            role="secretariat",
            language="en",
            telegram=secretary.id,
            phone=False,
        )
        await queue_for_member(
            session=session,
            settings=bot.settings,
            member=member,
            message=Outgoing(text=f"{NAME}, შეხვედრა ხვალ"),
            kind="notice",
        )
        await queue_for_member(
            session=session,
            settings=bot.settings,
            member=member,
            message=Outgoing(text="SMS copy"),
            kind="notice",
            channel="sms",
        )
        member_id = member.id
    bot.rt.delivery.wake()
    await _text(bot, keti, "შეხვედრა ხვალ")
    await keti.send(f"გამარჯობა, მე ვარ {NAME}, ჩემი ნომერია {PHONE}")  # kept for the inbox
    await _text(bot, keti, "გადავეცით")
    await keti.send("/members")  # refused, and the refusal is audited with her Telegram id
    await _text(bot, keti, "სამდივნო")
    await keti.send("/profile")
    await keti.press("✏️ სოფელი")  # leaves an open profile dialog
    await _text(bot, keti, "/cancel")
    needles = [NAME, PHONE, str(keti.id), "keti_t", "კოოპერატივი ქეთი", "ზემო ბოლქვი"]
    assert await pii_left(bot, needles)  # there is something to erase
    await keti.send("/forget")
    confirm = await _text(bot, keti, "წავშალოთ")
    assert "შეუძლებელია" in confirm
    await keti.press("🗑 დიახ, წაშალეთ")
    await _text(bot, keti, "წაიშალა")
    assert await pii_left(bot, needles) == []
    async with bot.rt.db.session() as session:
        erased = await session.get(Member, member_id)
        assert erased is not None and erased.status == "erased" and erased.erased_at
        assert erased.community_id is not None and erased.sector == "civil"  # counts stay
        audit = (
            (await session.execute(select(AuditLog).where(col(AuditLog.action) == "member.erased")))
            .scalars()
            .one()
        )
        withdrawn = (
            (
                await session.execute(
                    select(Consent).where(
                        col(Consent.member_id) == member_id, col(Consent.given).is_(False)
                    )
                )
            )
            .scalars()
            .all()
        )
    assert audit.target == f"member:{member_id}" and audit.details["counts"]["inbound"] >= 1
    assert [c.kind for c in withdrawn] == ["data"]
    await keti.send("/start")  # she may come back as a newcomer
    assert "აირჩიეთ ენა" in await _text(bot, keti, "აირჩიეთ ენა")


async def test_sms_mydata_and_forget_yes(bot: RunningBot) -> None:
    for answer in ("JOIN", "1", "1", "კი", "კი", NAME, "2", "1", "1961"):
        await bot.sms(PHONE, answer)
    summary = (await bot.sms(PHONE, "MYDATA"))[0]
    assert NAME in summary and "არეშფერანი" in summary and "1961" in summary
    asked = (await bot.sms(PHONE, "FORGET"))[0]
    assert "FORGET YES" in asked
    async with bot.rt.db.session() as session:
        assert (await session.execute(select(Member))).scalars().one().status == "active"
    done = (await bot.sms(PHONE, "FORGET YES"))[0]
    assert "წაიშალა" in done
    # the receipt needed the number to leave; it is emptied once it has gone
    for _ in range(100):
        if not await pii_left(bot, [PHONE, PHONE[1:], NAME]):
            break
        await asyncio.sleep(0.1)
    assert await pii_left(bot, [PHONE, PHONE[1:], NAME]) == []
    again = (await bot.sms(PHONE, "MYDATA"))[0]
    assert "JOIN" in again  # not registered any more


async def test_mydata_sends_a_message_and_a_json_file(bot: RunningBot) -> None:
    user = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        await make_member(
            session,
            name="Levan Gelashvili",
            telegram=user.id,
            language="en",
            phone=PHONE,
            birth_year=1990,
            interests=["tourism", "culture"],
        )
    await user.send("/mydata")
    text = await _text(bot, user, "Everything stored about you")
    assert "Levan Gelashvili" in text and PHONE in text and "Tourism, Culture" in text
    document = await bot.tg.wait_until(
        lambda: next((m for m in user.inbox if m.document is not None), None)
    )
    assert document.document is not None and document.document.content is not None
    data: dict[str, Any] = json.loads(document.document.content)
    assert data["profile"]["name"] == "Levan Gelashvili"
    assert data["profile"]["phone"] == PHONE and data["profile"]["birth_year"] == 1990
    assert "consents" in data and "messages_from_you" in data
    stranger = bot.tg.user(language_code="en")
    await stranger.send("/mydata")
    assert "not registered" in await _text(bot, stranger, "Nothing is stored")


async def test_stop_everywhere_and_resume_on_telegram(bot: RunningBot) -> None:
    user = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        member = await make_member(
            session, name="Nika", telegram=user.id, language="en", phone=PHONE
        )
        member_id = member.id
    await user.send("/stop")
    await _text(bot, user, "Where should messages stop?")
    await user.press("Everywhere (Telegram and SMS)")
    await _text(bot, user, "No more announcements on Telegram or by SMS")
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member_id)
        assert fresh is not None and fresh.telegram_opt_out_at and fresh.sms_opt_out_at
        rows = await queue_for_member(
            session=session,
            settings=bot.settings,
            member=fresh,
            message=Outgoing(text="Meeting"),
            kind="announcement",
        )
        assert rows == []  # no announcement goes to an opted-out channel
        kinds = (
            (
                await session.execute(
                    select(Consent.kind).where(
                        col(Consent.member_id) == member_id, col(Consent.given).is_(False)
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(kinds) == ["announcements_sms", "announcements_telegram"]
    await user.send("/resume")
    assert "still stopped" in await _text(bot, user, "resumed")
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member_id)
        assert fresh is not None and fresh.telegram_opt_out_at is None
        assert fresh.sms_opt_out_at is not None  # SMS come back only with START by SMS
    await bot.sms(PHONE, "START")
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member_id)
        assert fresh is not None and fresh.sms_opt_out_at is None


async def test_blocking_the_bot_makes_telegram_unreachable_until_unblocked(
    bot: RunningBot,
) -> None:
    user = bot.tg.user(language_code="en")
    async with bot.rt.db.session() as session:
        member = await make_member(session, name="Blocker", telegram=user.id, phone=PHONE)
        member_id = member.id
    await user.block_bot()

    async def reachable() -> bool:
        async with bot.rt.db.session() as session:
            fresh = await session.get(Member, member_id)
            assert fresh is not None
            return fresh.telegram_reachable()

    for _ in range(50):
        if not await reachable():
            break
        await asyncio.sleep(0.1)
    assert not await reachable()
    async with bot.rt.db.session() as session:
        fresh = await session.get(Member, member_id)
        assert fresh is not None
        rows = await queue_for_member(
            session=session,
            settings=bot.settings,
            member=fresh,
            message=Outgoing(text="Meeting"),
            kind="announcement",
        )
    assert [r.channel for r in rows] == ["sms"]  # announcements go by SMS meanwhile
    await user.unblock_bot()
    for _ in range(50):
        if await reachable():
            break
        await asyncio.sleep(0.1)
    assert await reachable()


async def test_mydata_holds_every_capability_s_data_about_the_member(bot: RunningBot) -> None:
    from datetime import timedelta

    from models.base import utcnow
    from models.event_rsvps import EventRsvp
    from models.events import Event
    from models.grants import GrantCall
    from models.grants_applicants import GrantApplicant
    from models.polls import Poll, PollBallot
    from models.youth import Initiative
    from models.youth_signups import YouthSignup

    user = bot.tg.user(language_code="en")
    now = utcnow()
    async with bot.rt.db.session() as session:
        member = await make_member(session, name="Tamar Kapanadze", telegram=user.id, language="en")
        other = await make_member(session, name="Someone Else", telegram=False)
        call = GrantCall(title={"en": "Small farms 2026"}, min_amount=1000, max_amount=5000,
                         idea_deadline=now, full_deadline=now)  # fmt: skip
        event = Event(kind="meeting", title={"en": "Assembly"}, starts_at=now, ends_at=now)
        named = Poll(question="Where to meet?", options=["Office", "School"], closes_at=now,
                     reminder_at=now)  # fmt: skip
        secret = Poll(question="Board vote", options=["A", "B"], anonymous=True, closes_at=now,
                      reminder_at=now)  # fmt: skip
        proposal = Initiative(title={"en": "Clean the river"}, target_size=5,
                              signup_deadline=now, starts_at=now + timedelta(days=9),
                              proposer_member_id=member.id, lead_member_id=member.id)  # fmt: skip
        joined = Initiative(title={"en": "Plant trees"}, target_size=5, signup_deadline=now,
                            starts_at=now, lead_member_id=other.id)  # fmt: skip
        session.add_all([call, event, named, secret, proposal, joined])
        await session.flush()
        assert member.id and call.id and event.id and named.id and secret.id and joined.id
        session.add_all(
            [
                GrantApplicant(
                    grant_id=call.id,
                    member_id=member.id,
                    applicant_type="person",
                    idea_title="Goat cheese dairy",
                    village="Kabali",
                ),
                EventRsvp(event_id=event.id, member_id=member.id, answer="going", channel="sms"),
                PollBallot(
                    poll_id=named.id,
                    voter_key=f"m{member.id}",
                    member_id=member.id,
                    choices=[1],
                    channel="telegram",
                    voted_at=now,
                ),
                PollBallot(poll_id=secret.id, voter_key="hmac-of-someone", choices=[0]),
                YouthSignup(initiative_id=joined.id, member_id=member.id, why="I like trees"),
            ]
        )
    await user.send("/mydata")
    text = await _text(bot, user, "The file also holds")
    assert "grant applications: 1" in text and "event answers: 1" in text
    assert "votes in named polls: 1" in text and "youth initiative sign-ups: 1" in text
    assert "your initiatives: 1" in text
    document = await bot.tg.wait_until(
        lambda: next((m for m in user.inbox if m.document is not None), None)
    )
    assert document.document is not None and document.document.content is not None
    data: dict[str, Any] = json.loads(document.document.content)
    [application] = data["grant_applications"]
    assert application["call"] == f"G{call.id}" and application["idea_title"] == "Goat cheese dairy"
    [rsvp] = data["event_answers"]
    assert (rsvp["event"], rsvp["answer"], rsvp["channel"]) == (f"E{event.id}", "going", "sms")
    [vote] = data["poll_votes"]  # the anonymous ballot is nobody's: not in anyone's copy
    assert (vote["question"], vote["choices"]) == ("Where to meet?", ["School"])
    [signup] = data["youth_signups"]
    assert signup["why"] == "I like trees" and signup["title"] == {"en": "Plant trees"}
    [mine] = data["youth_proposals"]
    assert mine["title"] == {"en": "Clean the river"} and mine["proposed_by_you"] is True
