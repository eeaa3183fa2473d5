"""Events from the dashboard: the secretariat drafts, publishes, edits and cancels with the same
rules and notices as in Telegram, follows the answers, and checks people in at the door."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlmodel import col, select

from bot.runtime import Runtime
from handlers.events_notify import answer_and_notify
from models.audit import AuditLog
from models.base import utcnow
from models.event_rsvps import EventRsvp
from models.events import Event, EventStatus
from models.members import Member, Role
from models.outbox import OutboxMessage
from tests.dashboard_support import (
    Browser,
    board,
    browser,
    member_account,
    second_browser,
    secretariat,
    text_of,
)
from tests.factories import make_member

__all__ = ["board", "browser", "second_browser", "secretariat"]  # fixtures used here


def local(rt: Runtime, days: int, hour: int) -> str:
    moment = (utcnow() + timedelta(days=days)).astimezone(rt.settings.tz)
    return moment.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def event_form(rt: Runtime, **overrides: str) -> dict[str, str]:
    values = {
        "kind": "assembly", "title_ka": "საერთო კრება", "title_en": "General Assembly",
        "description_ka": "დღის წესრიგი: ბიუჯეტი", "starts": local(rt, 10, 11),
        "ends": local(rt, 10, 13), "place": "ლაგოდეხის კულტურის სახლი", "capacity": "",
        "deadline": "", "reminders": "1d",
    }  # fmt: skip
    values.update(overrides)
    return values


async def new_event(rt: Runtime, web: Browser, **overrides: str) -> int:
    await web.get("/admin/events/new")
    created = await web.post("/admin/events/new", event_form(rt, **overrides))
    assert created.status_code == 303, text_of(created)
    return int(created.headers["location"].split("/")[3].split("?")[0])


async def test_secretariat_drafts_an_event_and_nobody_is_told_yet(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        await make_member(session, name="Giorgi")
    event_id = await new_event(rt, secretariat)
    page = text_of(await secretariat.get(f"/admin/events/{event_id}"))
    assert "საერთო კრება" in page and "მონახაზი" in page and f"E{event_id}" in page
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        assert event is not None and event.status == EventStatus.DRAFT
        assert event.title == {"ka": "საერთო კრება", "en": "General Assembly"}
        assert (await session.execute(select(OutboxMessage))).first() is None
        actions = (await session.execute(select(AuditLog.action))).scalars().all()
    assert "event.create" in actions and "web.acted" in actions  # who, for a stand-alone account


async def test_a_bad_event_form_is_explained_and_kept(rt: Runtime, secretariat: Browser) -> None:
    await secretariat.get("/admin/events/new")
    bad = await secretariat.post(
        "/admin/events/new", event_form(rt, ends=local(rt, 10, 9), title_en="Kept title")
    )
    assert bad.status_code == 400
    assert 'value="Kept title"' in bad.text
    past = await secretariat.post("/admin/events/new", event_form(rt, starts=local(rt, -2, 10)))
    assert past.status_code == 400
    no_title = await secretariat.post("/admin/events/new", event_form(rt, title_ka=""))
    assert no_title.status_code == 400
    async with rt.db.session() as session:
        assert (await session.execute(select(Event))).first() is None


async def test_publishing_invites_the_audience_and_answers_are_counted(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session, name="Nino", community="kabali")
        await make_member(session, name="Pona person", community="pona")
        sim = await make_member(session, name="Sim", phone="+995500000011", telegram=False,
                                community="kabali")  # fmt: skip
        from tests.factories import community_id

        kabali = await community_id(session, "kabali")
    event_id = await new_event(rt, secretariat)
    edit = await secretariat.get(f"/admin/events/{event_id}/edit")
    assert edit.status_code == 200
    form = event_form(rt)
    await secretariat.post(f"/admin/events/{event_id}/edit", {**form, "aud_community": str(kabali)})
    published = await secretariat.post(f"/admin/events/{event_id}/publish")
    assert published.status_code == 303
    page = text_of(await secretariat.get(published.headers["location"]))
    assert "მოწვეულია 1" in page  # Nino; not Pona, and never the simulated member
    async with rt.db.session() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
        assert [r.member_id for r in rows] == [nino.id]
        event = await session.get(Event, event_id)
        assert event is not None and event.status == EventStatus.PUBLISHED
        for member in (nino, sim):
            fresh = await session.get(Member, member.id)
            assert fresh is not None
            await answer_and_notify(rt, session, event, fresh, "going", channel="sms", now=utcnow())
    page = text_of(await secretariat.get(f"/admin/events/{event_id}"))
    assert "1 მოდის · +1 სიმულაცია" in page  # the simulated answer is shown apart
    assert (await secretariat.post(f"/admin/events/{event_id}/publish")).status_code == 303
    again = text_of(
        await secretariat.get(f"/admin/events/{event_id}?error=events.err_is_published")
    )
    assert "გამოქვეყნებული" in again


async def test_moving_a_published_event_tells_those_who_answered(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session, name="Nino")
    event_id = await new_event(rt, secretariat)
    await secretariat.post(f"/admin/events/{event_id}/publish")
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        member = await session.get(Member, nino.id)
        assert event is not None and member is not None
        await answer_and_notify(rt, session, event, member, "going", channel="telegram",
                                now=utcnow())  # fmt: skip
    await secretariat.get(f"/admin/events/{event_id}/edit")
    moved = await secretariat.post(
        f"/admin/events/{event_id}/edit",
        event_form(rt, starts=local(rt, 11, 11), ends=local(rt, 11, 13)),
    )
    assert moved.status_code == 303 and "told=1" in moved.headers["location"]
    async with rt.db.session() as session:
        kinds = (
            (
                await session.execute(
                    select(OutboxMessage.kind).where(OutboxMessage.member_id == nino.id)
                )
            )
            .scalars()
            .all()
        )
    assert "event.changed" in kinds


async def test_cancelling_needs_a_confirmation_and_tells_the_answerers(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session, name="Nino")
    event_id = await new_event(rt, secretariat)
    await secretariat.post(f"/admin/events/{event_id}/publish")
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        member = await session.get(Member, nino.id)
        assert event is not None and member is not None
        await answer_and_notify(rt, session, event, member, "maybe", channel="sms", now=utcnow())
    page = await secretariat.get(f"/admin/events/{event_id}")
    assert "ეცნობოს 1" in text_of(page)
    unconfirmed = await secretariat.post(f"/admin/events/{event_id}/cancel")
    assert "error=confirm" in unconfirmed.headers["location"]
    cancelled = await secretariat.post(f"/admin/events/{event_id}/cancel", {"confirm": "yes"})
    assert "done=cancelled&told=1" in cancelled.headers["location"]
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        assert event is not None and event.status == EventStatus.CANCELLED


async def test_check_in_at_the_door_by_name(rt: Runtime, browser: Browser) -> None:
    async with rt.db.session() as session:
        me = await make_member(session, name="Secretary", role=Role.SECRETARIAT)
        nino = await make_member(session, name="ნინო ბერიძე", village="Kabali")
        walk_in = await make_member(session, name="ნინო სხვა", consent_announcements=False)
    await browser.sign_in(rt, await member_account(rt, me))
    event_id = await new_event(rt, browser)
    await browser.post(f"/admin/events/{event_id}/publish")
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        member = await session.get(Member, nino.id)
        assert event is not None and member is not None
        await answer_and_notify(rt, session, event, member, "going", channel="sms", now=utcnow())
    door = await browser.get(f"/admin/events/{event_id}/checkin?q=ნინო")
    assert "ნინო ბერიძე" in text_of(door) and "ნინო სხვა" in text_of(door)  # the walk-in too
    ticked = await browser.post(
        f"/admin/events/{event_id}/checkin", {"member_id": str(nino.id), "q": "ნინო"}
    )
    assert ticked.status_code == 303
    assert "აღინიშნა" in text_of(await browser.get(ticked.headers["location"]))
    await browser.post(f"/admin/events/{event_id}/checkin", {"member_id": str(walk_in.id)})
    async with rt.db.session() as session:
        rows = (
            (
                await session.execute(
                    select(EventRsvp).where(col(EventRsvp.checked_in_at).is_not(None))
                )
            )
            .scalars()
            .all()
        )
    assert {r.member_id for r in rows} == {nino.id, walk_in.id} and len(rows) == 2
    assert all(r.checked_in_by == me.id for r in rows)
    sheet = await browser.get(f"/admin/events/{event_id}/attendance.csv")
    rows = list(csv.reader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    names = [row[1] for row in rows[1:3]]
    assert sorted(names) == sorted(["ნინო ბერიძე", "ნინო სხვა"])
    answers = await browser.get(f"/admin/events/{event_id}/answers.csv")
    assert "ნინო ბერიძე" in answers.text


async def test_a_standalone_account_is_asked_to_use_a_member_login_at_the_door(
    rt: Runtime, secretariat: Browser
) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session, name="Nino")
    event_id = await new_event(rt, secretariat)
    await secretariat.post(f"/admin/events/{event_id}/publish")
    await secretariat.get(f"/admin/events/{event_id}/checkin")
    refused = await secretariat.post(
        f"/admin/events/{event_id}/checkin", {"member_id": str(nino.id)}
    )
    assert "/weblogin" in text_of(await secretariat.get(refused.headers["location"]))


async def test_the_assembly_quorum_is_shown(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        for _ in range(4):
            await make_member(session, is_lag_member=True)
    event_id = await new_event(rt, secretariat)
    page = text_of(await secretariat.get(f"/admin/events/{event_id}"))
    assert "საჭიროა 3 LAG-ის 4 ფორმალური წევრიდან" in page
    assert "კვორუმი ჯერ არ არის" in page


async def test_board_sees_events_but_cannot_change_them(
    rt: Runtime, secretariat: Browser, board: Browser
) -> None:
    event_id = await new_event(rt, secretariat)
    assert (await board.get("/admin/events")).status_code == 200
    assert (await board.get(f"/admin/events/{event_id}")).status_code == 200
    base = f"/admin/events/{event_id}"
    for path in ("/admin/events/new", f"{base}/edit", f"{base}/checkin", f"{base}/answers.csv"):
        assert (await board.get(path)).status_code == 403, path
    await board.get("/admin/account")
    assert (await board.post(f"/admin/events/{event_id}/publish")).status_code == 403
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        assert event is not None and event.status == EventStatus.DRAFT


async def test_overview_and_member_page_show_events(rt: Runtime, secretariat: Browser) -> None:
    async with rt.db.session() as session:
        nino = await make_member(session, name="Nino")
    event_id = await new_event(rt, secretariat, deadline=local(rt, 8, 18))
    await secretariat.post(f"/admin/events/{event_id}/publish")
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        member = await session.get(Member, nino.id)
        assert event is not None and member is not None
        await answer_and_notify(rt, session, event, member, "going", channel="sms", now=utcnow())
    overview = text_of(await secretariat.get("/admin"))
    assert "მალე" in overview and "საერთო კრება" in overview and "მოდის 1" in overview
    assert "პასუხი" in overview  # the answer deadline
    profile = text_of(await secretariat.get(f"/admin/members/{nino.id}"))
    assert "ღონისძიებები და დასწრება" in profile and "საერთო კრება · მოდის" in profile


async def test_more_seats_on_the_web_promote_the_waitlist_as_in_telegram(
    rt: Runtime, secretariat: Browser
) -> None:
    """The web edit and /editevent share handlers.events_notify.apply_and_notify."""
    async with rt.db.session() as session:
        first = await make_member(session, name="Nino")
        second = await make_member(session, name="Levan")
    event_id = await new_event(rt, secretariat, capacity="1")
    await secretariat.post(f"/admin/events/{event_id}/publish")
    async with rt.db.session() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        for person in (first, second):
            member = await session.get(Member, person.id)
            assert member is not None
            await answer_and_notify(rt, session, event, member, "going", channel="telegram",
                                    now=utcnow())  # fmt: skip
    await secretariat.get(f"/admin/events/{event_id}/edit")
    more = await secretariat.post(f"/admin/events/{event_id}/edit", event_form(rt, capacity="2"))
    assert more.status_code == 303 and "told=1" in more.headers["location"]
    async with rt.db.session() as session:
        kinds = (
            (
                await session.execute(
                    select(OutboxMessage.kind).where(OutboxMessage.member_id == second.id)
                )
            )
            .scalars()
            .all()
        )
    assert "event.promoted" in kinds
