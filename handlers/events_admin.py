"""The secretariat around the event: /attendees (with the assembly quorum), /quorum, the RSVP
CSV and the attendance sheet (`/export attendance E12`: a CSV and a printable HTML page), and
the attendance numbers for /stats."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.exports import export_args, register_export
from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from bot.settings import Settings
from handlers.events_common import admin_member, chat_send, load_event
from handlers.events_render import event_when
from models.communities import Community
from models.event_attendance import Attendee, attendees, count
from models.event_queries import attendance_overview
from models.event_reports import (
    Quorum,
    answer_label,
    assembly_quorum,
    attendance_sheet,
    sector_label,
    sheet_csv,
    sheet_html,
)
from models.events import (
    Event,
    EventKind,
    event_id_from_code,
)
from models.members import Member

ORDER = 60  # after handlers/members_admin.py, which owns the /export command

MAX_TEXT = 3800  # Telegram's limit is 4096 characters


def _name(person: Attendee, communities: dict[int | None, Community], language: str) -> str:
    community = communities.get(person.member.community_id)
    where = f" ({community.name(language)})" if community else ""
    return f"{person.member.name or '—'}{where}"


def quorum_lines(q: Quorum, language: str, settings: Settings) -> list[str]:
    rule = "events.quorum_rule_strict" if settings.assembly_quorum_strict else "events.quorum_rule"
    lines = [
        t("events.quorum_head", language, total=q.formal_total, needed=q.needed),
        t(rule, language, percent=round(100 * settings.assembly_quorum)),
        t(
            "events.quorum_expected_ok" if q.expected_ok else "events.quorum_expected_short",
            language,
            count=q.expected,
            missing=max(0, q.needed - q.expected),
        ),
        t(
            "events.quorum_present_ok" if q.present_ok else "events.quorum_present_short",
            language,
            count=q.present,
            missing=max(0, q.needed - q.present),
        ),
    ]
    for present, split in ((True, q.sectors_present), (False, q.sectors_expected)):
        total = sum(split.values())
        if not total:
            continue
        parts = " · ".join(
            f"{sector_label(s, language)} {n} ({round(100 * n / total)}%)"
            for s, n in sorted(split.items())
        )
        key = "events.quorum_sectors_present" if present else "events.quorum_sectors_expected"
        lines.append(t(key, language, split=parts))
        for sector in q.over_limit(present):
            lines.append(
                t(
                    "events.quorum_sector_warning",
                    language,
                    sector=sector_label(sector, language),
                    percent=round(100 * split[sector] / total),
                )
            )
    return lines


async def attendees_text(
    rt: Runtime, session: AsyncSession, event: Event, language: str
) -> tuple[str, list[list[Button]]]:
    people = await attendees(session=session, event=event)
    counts = count(people)
    communities = {c.id: c for c in (await session.execute(select(Community))).scalars()}
    capacity = event.capacity if event.capacity is not None else "∞"
    lines = [
        f"{event.code} · {event.title_in(language)}",
        event_when(event, language, rt.settings),
        t(
            "events.counts_line",
            language,
            going=counts.going,
            capacity=capacity,
            waitlist=counts.waitlist,
            maybe=counts.maybe,
            no=counts.no,
            no_answer=counts.no_answer,
        ),
        t("events.admin_checked_in", language, count=counts.checked_in),
    ]
    groups = (
        ("going", "events.group_going"),
        ("waitlist", "events.group_waitlist"),
        ("maybe", "events.group_maybe"),
        ("no", "events.group_no"),
    )
    for status, key in groups:
        members = [a for a in people if a.status == status]
        if not members:
            continue
        lines += ["", t(key, language, count=len(members))]
        for number, person in enumerate(members, start=1):
            mark = " ✓" if person.rsvp.checked_in_at else ""
            lines.append(f"{number}. {_name(person, communities, language)}{mark}")
    walk_ins = [a for a in people if a.rsvp.checked_in_at and a.status in ("invited", "no")]
    if walk_ins:
        lines += ["", t("events.group_walk_in", language, count=len(walk_ins))]
        lines += [f"• {_name(a, communities, language)}" for a in walk_ins]
    if event.kind == EventKind.ASSEMBLY:
        quorum = await assembly_quorum(session=session, event=event, settings=rt.settings)
        lines += ["", *quorum_lines(quorum, language, rt.settings)]
    text = "\n".join(lines)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT].rsplit("\n", 1)[0] + "\n…\n" + t("events.list_cut", language)
    rows = [
        [
            Button(t("events.btn_csv", language), f"ev:a:csv:{event.id}"),
            Button(t("events.btn_sheet", language), f"ev:a:sheet:{event.id}"),
        ],
        [Button(t("events.btn_checkin_list", language), f"ev:cp:{event.id}:0")],
    ]
    return text, rows


def attendees_csv(
    people: list[Attendee], communities: dict[int | None, Community], language: str, rt: Runtime
) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            t("events.col_name", language),
            t("events.col_community", language),
            t("events.col_sector", language),
            t("events.col_answer", language),
            t("events.col_waitlist_place", language),
            t("events.col_answered_at", language),
            t("events.col_channel", language),
            t("events.col_checked_in", language),
        ]
    )
    for a in people:
        community = communities.get(a.member.community_id)
        writer.writerow(
            [
                a.member.name or "",
                community.name(language) if community else "",
                sector_label(a.member.sector, language),
                answer_label(a.status, language),
                a.place or "",
                _local(a.rsvp.answered_at, rt, language),
                a.rsvp.channel or "",
                _local(a.rsvp.checked_in_at, rt, language),
            ]
        )
    return out.getvalue()


def _local(moment: datetime | None, rt: Runtime, language: str) -> str:
    if moment is None:
        return ""
    return format_datetime(moment.astimezone(rt.settings.tz), "yyyy-MM-dd HH:mm", locale=language)


async def show_attendees(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    event = await load_event(rt, update, member, event_id)
    if event is None:
        return
    async with rt.db.session() as session:
        text, rows = await attendees_text(rt, session, event, member.language)
    await chat_send(update, text, rows)


async def attendees_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    if member is None:
        return
    args = context.args or []
    event_id = event_id_from_code(args[0]) if args else None
    if event_id is None:
        await chat_send(update, t("events.attendees_usage", member.language), [])
        return
    await show_attendees(rt, update, member, event_id)


async def quorum_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    if member is None:
        return
    args = context.args or []
    event_id = event_id_from_code(args[0]) if args else None
    if event_id is None:
        await chat_send(update, t("events.quorum_usage", member.language), [])
        return
    await show_quorum(rt, update, member, event_id)


async def show_quorum(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    event = await load_event(rt, update, member, event_id)
    if event is None:
        return
    language = member.language
    if event.kind != EventKind.ASSEMBLY:
        await chat_send(update, t("events.quorum_not_assembly", language), [])
        return
    async with rt.db.session() as session:
        quorum = await assembly_quorum(session=session, event=event, settings=rt.settings)
    head = f"{event.code} · {event.title_in(language)}"
    await chat_send(update, "\n".join([head, *quorum_lines(quorum, language, rt.settings)]), [])


async def send_sheet(rt: Runtime, update: Update, member: Member, event_id: int | None) -> None:
    """The attendance sheet: a CSV and a printable HTML page, in the secretariat's language."""
    event = await load_event(rt, update, member, event_id)
    if event is None:
        return
    language = member.language
    async with rt.db.session() as session:
        sheet = await attendance_sheet(
            session=session, event=event, settings=rt.settings, language=language
        )
    when = event_when(event, language, rt.settings)
    message = update.effective_message
    assert message is not None
    caption = t(
        "events.sheet_caption" if sheet.checked_in_only else "events.sheet_caption_signin",
        language,
        code=event.code,
        count=len(sheet.rows),
    )
    await message.reply_document(
        sheet_csv(sheet).encode("utf-8"), filename=f"attendance-{event.code}.csv", caption=caption
    )
    await message.reply_document(
        sheet_html(sheet, when=when, settings=rt.settings).encode("utf-8"),
        filename=f"attendance-{event.code}.html",
    )


async def export_attendance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/export attendance E12`."""
    rt = runtime_of(context)
    args = export_args(context)
    member = await admin_member(rt, update)
    if member is None:
        return
    event_id = event_id_from_code(args[0]) if args else None
    if event_id is None:
        await chat_send(update, t("events.export_usage", member.language), [])
        return
    await send_sheet(rt, update, member, event_id)


async def send_attendees_csv(rt: Runtime, update: Update, member: Member, event_id: int) -> None:
    event = await load_event(rt, update, member, event_id)
    if event is None:
        return
    language = member.language
    async with rt.db.session() as session:
        people = await attendees(session=session, event=event)
        communities = {c.id: c for c in (await session.execute(select(Community))).scalars()}
    message = update.effective_message
    assert message is not None
    await message.reply_document(
        attendees_csv(people, communities, language, rt).encode("utf-8"),
        filename=f"rsvp-{event.code}.csv",
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ev:a:att|sheet|q|csv:<event> from the event card and the attendee list."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    await query.answer()
    _, _, action, raw_id = query.data.split(":")
    event_id = int(raw_id)
    if action == "att":
        await show_attendees(rt, update, member, event_id)
    elif action == "sheet":
        await send_sheet(rt, update, member, event_id)
    elif action == "q":
        await show_quorum(rt, update, member, event_id)
    else:
        await send_attendees_csv(rt, update, member, event_id)


async def stats_lines(session: AsyncSession, language: str) -> list[str]:
    """For /stats (hook "stats.section.events"): events held and attendance so far."""
    o = await attendance_overview(session=session)
    return [
        t(
            "events.stats_line",
            language,
            events=o["events"],
            checkins=o["checkins"],
            attendees=o["attendees"],
            going=o["going"],
        )
    ]


def setup(rt: Runtime) -> None:
    add_command(
        rt,
        "attendees",
        attendees_command,
        description_key="events.cmd_attendees",
        access=Access.SECRETARIAT,
    )
    add_command(
        rt, "quorum", quorum_command, description_key="events.cmd_quorum", access=Access.SECRETARIAT
    )
    register_export(rt, "attendance", export_attendance, usage_key="events.export_usage")
    rt.hooks["stats.section.events"] = stats_lines
    rt.add_telegram_handler(
        CallbackQueryHandler(on_button, pattern=r"^ev:a:(att|sheet|q|csv):\d+$")
    )
