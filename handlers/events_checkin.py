"""Check-in at the door: /checkin E12 4821 (the personal code), /checkin E12 Nino (by name: also
people without a phone and walk-ins), /checkin E12 (a list of those coming), and undo."""

from __future__ import annotations

from babel.dates import format_datetime
from sqlmodel import col, select
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from handlers.events_common import admin_member, chat_send, load_event
from models.base import utcnow
from models.event_attendance import CheckInError, attendees, check_in, count, undo_check_in
from models.events import (
    event_id_from_code,
    get_event,
)
from models.members import Member, MemberStatus

ORDER = 60  # after handlers/members_admin.py, which owns the /export command

PAGE = 10


# -- check-in -------------------------------------------------------------------------------
async def checkin_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/checkin E12 4821 (code), /checkin E12 Nino (name), /checkin E12 (list of those going)."""
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    if member is None:
        return
    args = context.args or []
    event_id = event_id_from_code(args[0]) if args else None
    if event_id is None:
        await chat_send(update, t("events.checkin_usage", member.language), [])
        return
    rest = " ".join(args[1:]).strip()
    if rest.isdigit():
        await _check_in(rt, update, member, event_id, code=rest)
    elif rest:
        await _search(rt, update, member, event_id, rest)
    else:
        await _going_page(rt, update, member, event_id, 0)


async def _check_in(
    rt: Runtime,
    update: Update,
    member: Member,
    event_id: int,
    *,
    code: str | None = None,
    member_id: int | None = None,
) -> None:
    language = member.language
    event = await load_event(rt, update, member, event_id)
    if event is None:
        return
    async with rt.db.session() as session:
        try:
            done = await check_in(
                session=session,
                event=event,
                actor=member,
                now=utcnow(),
                code=code,
                member_id=member_id,
            )
        except CheckInError as exc:
            await chat_send(update, t(exc.key, language, code=code or ""), [])
            return
        counts = count(await attendees(session=session, event=event))
    name = done.member.name or "—"
    if done.already:
        when = format_datetime(done.at.astimezone(rt.settings.tz), "HH:mm", locale=language)
        await chat_send(update, t("events.checkin_already", language, name=name, when=when), [])
        return
    key = "events.checkin_walk_in" if done.walk_in else "events.checkin_done"
    text = t(key, language, name=name, present=counts.checked_in, going=counts.going)
    undo = [[Button(t("events.btn_undo", language), f"ev:cu:{event_id}:{done.member.id}")]]
    await chat_send(update, text, undo)


async def _going_page(
    rt: Runtime, update: Update, member: Member, event_id: int, page: int
) -> None:
    """Those going and not yet checked in, as buttons (ten a page)."""
    language = member.language
    event = await load_event(rt, update, member, event_id)
    if event is None:
        return
    async with rt.db.session() as session:
        people = [
            a for a in await attendees(session=session, event=event)
            if a.status in ("going", "maybe", "waitlist") and a.rsvp.checked_in_at is None
        ]  # fmt: skip
    people.sort(key=lambda a: (a.status != "going", a.member.name or ""))
    chunk = people[page * PAGE : (page + 1) * PAGE]
    rows = [[Button(a.member.name or "—", f"ev:ci:{event_id}:{a.member.id}")] for a in chunk]
    nav = []
    if page > 0:
        nav.append(Button("◀", f"ev:cp:{event_id}:{page - 1}"))
    if (page + 1) * PAGE < len(people):
        nav.append(Button("▶", f"ev:cp:{event_id}:{page + 1}"))
    if nav:
        rows.append(nav)
    key = "events.checkin_pick" if people else "events.checkin_nobody_left"
    await chat_send(update, t(key, language, code=event.code), rows)


async def _search(rt: Runtime, update: Update, member: Member, event_id: int, text: str) -> None:
    """Any active member whose name contains the text (walk-ins, people without phones)."""
    language = member.language
    async with rt.db.session() as session:
        found = (
            (
                await session.execute(
                    select(Member)
                    .where(
                        col(Member.status) == MemberStatus.ACTIVE,
                        col(Member.is_simulated).is_(False),
                        col(Member.name).ilike(f"%{text}%"),
                    )
                    .order_by(col(Member.name))
                    .limit(PAGE)
                )
            )
            .scalars()
            .all()
        )
    if not found:
        await chat_send(update, t("events.checkin_no_match", language, text=text), [])
        return
    rows = [[Button(m.name or "—", f"ev:ci:{event_id}:{m.id}")] for m in found]
    await chat_send(update, t("events.checkin_choose", language), rows)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ev:ci:<event>:<member> (check in), ev:cu:<event>:<member> (undo), ev:cp:<event>:<page>."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    await query.answer()
    _, action, raw_event, raw_value = query.data.split(":")
    event_id, value = int(raw_event), int(raw_value)
    if action == "ci":
        await _check_in(rt, update, member, event_id, member_id=value)
    elif action == "cu":
        async with rt.db.session() as session:
            event = await get_event(session=session, event_id=event_id)
            undone = event is not None and await undo_check_in(
                session=session, event=event, member_id=value, actor=member
            )
        key = "events.checkin_undone" if undone else "events.step_over"
        await chat_send(update, t(key, member.language), [])
    else:
        await _going_page(rt, update, member, event_id, value)


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "checkin",
        checkin_command,
        description_key="events.cmd_checkin",
        access=Access.SECRETARIAT,
    )
    rt.add_telegram_handler(
        CallbackQueryHandler(on_button, pattern=r"^ev:(c[iu]:\d+:\d+|cp:\d+:\d+)$")
    )
