"""The simulator: the secretariat texts the bot from a test number and sees what it answers —
the same handlers as a real SMS, nothing sent, and simulated people kept out of the books."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlmodel import col, select

from bot.outbound import Outgoing, queue_for_member
from bot.runtime import Runtime
from models.audit import AuditLog
from models.dialogs import Dialog, start_dialog
from models.inbound import InboundMessage
from models.members import Consent, Member, record_consent
from models.outbox import OutboxMessage, OutStatus, enqueue
from models.simulator import simulator_phone
from tests.dashboard_support import (
    Browser,
    admin_account,
    browser,
    eventually,
    secretariat,
    text_of,
)
from tests.factories import make_member
from tests.harness import RunningBot

__all__ = ["browser", "secretariat"]  # fixtures used here

SIM = "+995500000001"


def test_the_reserved_range_and_the_short_forms() -> None:
    assert simulator_phone("+995 500 00 0001") == SIM
    assert simulator_phone("500000001") == SIM
    assert simulator_phone("1") == SIM
    assert simulator_phone("0999") == "+995500000999"
    assert simulator_phone("+995 599 12 34 56") is None  # a real number: refused
    assert simulator_phone("+995 500 00 1000") is None  # just outside the range
    assert simulator_phone("hello") is None


async def test_help_from_the_simulator_is_answered_and_shown(
    rt: Runtime, secretariat: Browser
) -> None:
    await secretariat.get("/admin/simulator")
    sent = await secretariat.post("/admin/simulator/send", {"phone": "1", "text": "HELP"})
    assert sent.status_code == 303
    page = await secretariat.get(sent.headers["location"].split("#")[0])
    chat = text_of(page)
    assert "HELP" in chat and "STOP" in chat.split("HELP", 1)[1]  # the answer follows
    assert "1 SMS, GSM-7" in chat  # each answer shows its SMS parts and encoding
    async with rt.db.session() as session:
        replies = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.address == SIM)))
            .scalars()
            .all()
        )
    assert [r.provider for r in replies] == ["simulator"]


async def test_the_simulator_refuses_numbers_outside_the_test_range(
    rt: Runtime, secretariat: Browser
) -> None:
    await secretariat.get("/admin/simulator")
    refused = await secretariat.post(
        "/admin/simulator/send", {"phone": "+995 599 12 34 56", "text": "STOP"}
    )
    assert refused.status_code == 400
    assert "მხოლოდ სატესტო ნომრებს" in text_of(refused)
    assert "STOP" in refused.text  # the typed text is kept in the box
    empty = await secretariat.post("/admin/simulator/send", {"phone": "1", "text": "  "})
    assert empty.status_code == 400 and "დაწერეთ შეტყობინება" in text_of(empty)
    async with rt.db.session() as session:
        real = await make_member(session, phone="+995500000002")
    async with rt.db.session() as session:  # as if a real member held it before the range
        await session.execute(
            update(Member).where(col(Member.id) == real.id).values(is_simulated=False)
        )
    theirs = await secretariat.post("/admin/simulator/send", {"phone": "2", "text": "STOP"})
    assert theirs.status_code == 400 and "ნამდვილ წევრს" in text_of(theirs)
    async with rt.db.session() as session:
        assert (await session.execute(select(InboundMessage))).first() is None


async def test_test_numbers_make_simulated_members_whose_sms_are_never_sent(rt: Runtime) -> None:
    async with rt.db.session() as session:
        member = await make_member(session, phone="+995500000005", telegram=False)
        assert member.is_simulated  # whoever saved it
        rows = await queue_for_member(
            session=session, settings=rt.settings, member=member,
            message=Outgoing(text="Assembly on Friday"), kind="broadcast", sms_provider="twilio",
        )  # fmt: skip
        direct = await enqueue(session=session, channel="sms", provider="gateway",
                               address="+995500000006", text="hi")  # fmt: skip
    assert [r.provider for r in rows] == ["simulator"]
    assert direct.provider == "simulator"


async def test_wiping_removes_simulated_people_and_keeps_real_ones(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        real = await make_member(session, name="Real")
        fake = await make_member(session, name="Fake", phone="+995500000004", telegram=False)
        await record_consent(session=session, member=fake, kind="data", given=True,
                             channel="sms", text_version="v1")  # fmt: skip
        await start_dialog(session=session, channel="sms", address="+995500000008",
                           flow="registration", step="name")  # fmt: skip
        await enqueue(session=session, channel="sms", provider="simulator",
                      address="+995500000004", text="hi", member_id=fake.id)  # fmt: skip
    await secretariat.get("/admin/simulator")
    await secretariat.post("/admin/simulator/send", {"phone": "4", "text": "HELP"})
    wiped = await secretariat.post("/admin/simulator/wipe")
    assert wiped.status_code == 303
    assert "წაიშალა" in text_of(await secretariat.get(wiped.headers["location"]))
    async with rt.db.session() as session:
        members = (await session.execute(select(Member.name))).scalars().all()
        assert members == ["Real"]
        assert (await session.execute(select(Consent))).first() is None
        assert (await session.execute(select(Dialog))).first() is None
        assert (await session.execute(select(InboundMessage))).first() is None
        assert (await session.execute(select(OutboxMessage))).first() is None
        entry = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "simulator.wipe")))
            .scalars()
            .one()
        )
    assert entry.details["members"] == 1
    assert real.id is not None


async def _outbox_to(rt: Runtime, phone: str) -> list[OutboxMessage]:
    async with rt.db.session() as session:
        rows = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.address == phone)
            .order_by(col(OutboxMessage.id))
        )
        return list(rows.scalars())


async def test_the_simulator_and_a_real_twilio_sms_get_the_same_answers(bot: RunningBot) -> None:
    """The same conversation, once typed in the simulator and once as signed Twilio webhooks."""
    real_phone = "+995599765432"
    conversation = ["HELP", "the bridge in Kabali is broken", "STOP", "START"]
    if "join" in bot.rt.sms_router.keywords:
        conversation = ["JOIN", "1", "HELP", "STOP", "START"]
    async with httpx.AsyncClient(base_url=bot.base_url) as client:
        web = Browser(client)
        await web.sign_in(bot.rt, await admin_account(bot.rt))
        await web.get("/admin/simulator")
        for text in conversation:
            before = len(await _outbox_to(bot.rt, SIM))
            sent = await web.post("/admin/simulator/send", {"phone": SIM, "text": text})
            assert sent.status_code == 303, text_of(sent)
            rows = (await _outbox_to(bot.rt, SIM))[before:]

            async def delivered(count: int = len(rows), before: int = before) -> bool:
                done = [r for r in await _outbox_to(bot.rt, SIM) if r.status == OutStatus.DELIVERED]
                return len(done) >= before + count

            assert await eventually(delivered), text
            simulated = [r.text for r in rows]
            twilio = await bot.sms(real_phone, text, expect=len(rows))
            assert simulated == twilio, text
    captured = [body for to, body in bot.rt.capture.sent if to == SIM]
    assert captured == [m.body for m in bot.tw.messages_to(real_phone)]
    assert bot.tw.messages_to(SIM) == []  # nothing ever left for a test number


async def test_a_villager_registered_in_the_simulator_stays_out_of_the_books(
    rt: Runtime, secretariat: Browser
) -> None:
    """JOIN by SMS in the simulator: a real registration, but a simulated member."""
    async with rt.db.session() as session:
        await make_member(session, name="Real")
    await secretariat.get("/admin/simulator")
    answers = ["JOIN", "1", "1", "1", "1", "ნინო სიმულაცია", "1", "3", "1990"]
    for text in answers:
        sent = await secretariat.post("/admin/simulator/send", {"phone": "5", "text": text})
        assert sent.status_code == 303
    async with rt.db.session() as session:
        registered = (
            (await session.execute(select(Member).where(Member.name == "ნინო სიმულაცია")))
            .scalars()
            .one()
        )
    assert registered.is_simulated and registered.phone == "+995500000005"
    chat = text_of(await secretariat.get("/admin/simulator?phone=5"))
    assert "ნინო სიმულაცია" in chat and "სიმულაცია" in chat
    assert "1 აქტიური წევრი" in text_of(await secretariat.get("/admin"))  # only "Real"
    listing = text_of(await secretariat.get("/admin/members?q=ნინო"))
    assert "ამ ფილტრით წევრი ვერ მოიძებნა" in listing
    csv = await secretariat.get("/admin/members.csv")
    assert "ნინო სიმულაცია" not in csv.text and "Real" in csv.text
    await secretariat.post("/admin/simulator/wipe")
    async with rt.db.session() as session:
        names = (await session.execute(select(Member.name))).scalars().all()
    assert names == ["Real"]


async def test_a_simulated_going_never_takes_a_real_seat(rt: Runtime, secretariat: Browser) -> None:
    """YES from the simulator is answered as at any event, but the seat stays for real people."""
    from datetime import timedelta

    from handlers.events_notify import answer_and_notify
    from models.base import utcnow
    from models.events import EventDraft, create_event, get_event

    now = utcnow()
    async with rt.db.session() as session:
        real = await make_member(session, name="Real")
        await make_member(session, name="Sim", phone=SIM, telegram=False)
        draft = EventDraft(
            kind="seminar", title={"ka": "სემინარი"}, description={}, place="ლაგოდეხი",
            starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=5, hours=2),
            capacity=1,
        )  # fmt: skip
        event = await create_event(session=session, draft=draft, actor=None, now=now)
    await secretariat.post(f"/admin/events/{event.id}/publish")
    await secretariat.get("/admin/simulator")
    await secretariat.post("/admin/simulator/send", {"phone": "1", "text": f"YES E{event.id}"})
    from models.event_rsvps import EventRsvp

    async with rt.db.session() as session:
        answered = (
            (
                await session.execute(
                    select(EventRsvp.answer).where(
                        EventRsvp.event_id == event.id, col(EventRsvp.answer).is_not(None)
                    )
                )
            )
            .scalars()
            .all()
        )
    assert answered == ["going"]  # the simulated person did answer, as anyone may
    assert len(await _outbox_to(rt, SIM)) == 1  # and was answered (captured, not sent)
    async with rt.db.session() as session:
        fresh = await get_event(session=session, event_id=event.id or 0)
        member = await session.get(Member, real.id)
        assert fresh is not None and member is not None
        outcome = await answer_and_notify(rt, session, fresh, member, "going", channel="sms",
                                          now=utcnow())  # fmt: skip
    assert outcome.seat == "seated"  # the one seat was still free for a real person
    page = text_of(await secretariat.get(f"/admin/events/{event.id}"))
    assert "Real" in page and "Sim" not in page.replace("სიმ", "")
    answers = await secretariat.get(f"/admin/events/{event.id}/answers.csv")
    assert "Real" in answers.text and "Sim" not in answers.text


async def test_a_simulated_registration_does_not_reach_the_real_secretariat(
    rt: Runtime, secretariat: Browser
) -> None:
    """A minor registering in the simulator waits for a guardian, as a real one would; the
    secretariat's "waiting for a guardian" notice stays out of their Telegram."""
    async with rt.db.session() as session:
        tamar = await make_member(session, name="Tamar", role="secretariat")
    await secretariat.get("/admin/simulator")
    from models.base import utcnow

    fifteen = str(utcnow().year - 15)
    for text in ["JOIN", "1", "1", "1", "1", "ნიკა სიმულაცია", "1", "3", fifteen]:
        await secretariat.post("/admin/simulator/send", {"phone": "6", "text": text})
    async with rt.db.session() as session:
        registered = (
            (await session.execute(select(Member).where(Member.name == "ნიკა სიმულაცია")))
            .scalars()
            .one()
        )
        to_tamar = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.member_id == tamar.id))
        ).all()
    assert registered.is_simulated and registered.status == "pending_guardian"
    assert to_tamar == []
