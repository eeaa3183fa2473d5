"""Youth initiatives: the lead's and the secretariat's side on Telegram.

/team Y4 (the lead and the secretariat only: names, villages, contacts), /proposals with
approve / ask for changes / decline (a reason is asked for), /announce_initiative Y4 (a youth
broadcast through the engine), /youthstats (participation numbers); the lead and the
secretariat: /start_initiative Y4 (open | full → running), /finish_initiative Y4 (running →
finished) — the team is told, the change audited. /initiative_text Y4 az (an initiative in
another language) is handlers.youth_texts, registered right after this module.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers._secretariat import secretariat_or_refuse
from handlers._youth_common import initiative_from_args, refuse_unless_lead
from handlers.youth import keyboard
from handlers.youth_notify import (
    announce_initiative,
    finish_and_notify,
    proposal_card,
    refusal,
    review_buttons,
    start_and_notify,
    tell_proposer,
)
from models.audit import record_audit
from models.base import utcnow
from models.communities import list_communities
from models.dialogs import Dialog, end_dialog, start_dialog
from models.members import Member
from models.youth import (
    JOINABLE,
    Initiative,
    InitiativeStatus,
    YouthRefused,
    approve_proposal,
    decline_proposal,
    get_initiative,
    may_see_team,
    pending_proposals,
    request_changes,
    skill_label,
)
from models.youth_signups import participation, team_of

ORDER = 63
REVIEW_FLOW = "youth_review"
GENDERS = ("female", "male", "unsaid")


async def send_team(
    rt: Runtime, update: Update, session: AsyncSession, initiative: Initiative, member: Member
) -> None:
    """The team list with contacts: only for the lead and the secretariat (audited)."""
    message = update.effective_message
    assert message is not None
    language = member.language
    allowed = await refuse_unless_lead(
        update,
        session,
        member,
        initiative,
        what="team",
        rule=may_see_team,
        refusal_key="youth.team_not_allowed",
    )
    if not allowed:
        return
    people = await team_of(session=session, initiative=initiative)
    await record_audit(
        session=session,
        action="youth.team_viewed",
        actor_member_id=member.id,
        actor_label=f"member:{member.id}",
        target=f"youth:{initiative.id}",
    )
    lines = [
        t(
            "youth.team_title",
            language,
            code=initiative.code,
            title=initiative.title_in(language),
            team=sum(p.status == "seated" for p in people),
            target=initiative.target_size,
        )
    ]
    if not people:
        lines.append(t("youth.team_empty", language))
    reserve_started = False
    for number, person in enumerate(people, start=1):
        if person.status == "waiting" and not reserve_started:
            reserve_started = True
            lines.append(t("youth.team_reserve", language))
        contact = person.member.phone or (
            f"@{person.member.telegram_username}" if person.member.telegram_username else "Telegram"
        )
        skills = ", ".join(skill_label(s, language) for s in person.signup.skills)
        line = f"{number}. {person.member.name or '—'} · {person.member.village or '—'} · {contact}"
        if skills:
            line += f"\n   {skills}"
        if person.signup.why:
            line += f"\n   «{person.signup.why}»"
        lines.append(line)
    await message.reply_text("\n".join(lines)[:4000])


async def team_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    assert member is not None
    async with rt.db.session() as session:
        initiative = await initiative_from_args(
            update, context, session, member.language, "youth.team_usage"
        )
        if initiative is not None:
            await send_team(rt, update, session, initiative, member)


async def announce_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    async with rt.db.session() as session:
        initiative = await initiative_from_args(
            update, context, session, language, "youth.announce_usage"
        )
        if initiative is None:
            return
        if initiative.status not in JOINABLE or not initiative.signup_open(utcnow()):
            await message.reply_text(t("youth.refused_not_open", language, code=initiative.code))
            return
        broadcast = await announce_initiative(rt, session, initiative, member, utcnow())
    rt.delivery.wake()
    await message.reply_text(
        t("youth.announced", language, code=initiative.code, count=broadcast.recipients)
    )


async def proposals_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    async with rt.db.session() as session:
        waiting = await pending_proposals(session=session)
        if not waiting:
            await message.reply_text(t("youth.no_proposals", language))
            return
        for initiative in waiting[:10]:
            card = await proposal_card(rt, session, initiative, language)
            rows = [
                [(b.label, b.data) for b in row] for row in review_buttons(initiative, language)
            ]
            await message.reply_text(card, reply_markup=keyboard(rows))


async def on_review_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    admin = await secretariat_or_refuse(rt, update, query.data)
    if admin is None:
        return
    _, action, raw_id = query.data.split(":")
    language = admin.language
    async with rt.db.session() as session:
        initiative = await get_initiative(session=session, initiative_id=int(raw_id))
        if initiative is None:
            await query.answer(t("youth.refused_unknown", language, code=f"Y{raw_id}"))
            return
        if action == "a":
            try:
                await approve_proposal(
                    session=session, initiative=initiative, actor=admin, now=utcnow()
                )
            except YouthRefused as exc:
                await query.answer(refusal(exc, language, initiative.code)[:190])
                return
            await tell_proposer(rt, session, initiative)
            done = t("youth.review_approved", language, code=initiative.code)
        else:
            if initiative.status != InitiativeStatus.PROPOSED or initiative.review != "pending":
                await query.answer(t("youth.refused_already_reviewed", language))
                return
            await start_dialog(
                session=session,
                channel="telegram",
                address=str(admin.telegram_id),
                flow=REVIEW_FLOW,
                step=action,
                data={"initiative": initiative.id},
                member_id=admin.id,
            )
            done = t(
                "youth.ask_changes" if action == "c" else "youth.ask_reason",
                language,
                code=initiative.code,
            )
    rt.delivery.wake()
    await query.answer()
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id, done)


async def on_review_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog
) -> None:
    """The note for "ask for changes" or the reason for "decline"."""
    rt = runtime_of(context)
    message = update.effective_message
    assert message is not None
    admin = await telegram_member(rt, update)
    if admin is None or not admin.is_admin:
        return
    language, text = admin.language, (message.text or "").strip()
    if not text:
        await message.reply_text(t("youth.refused_no_reason", language))
        return
    async with rt.db.session() as session:
        await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
        initiative = await get_initiative(
            session=session, initiative_id=int(dialog.data.get("initiative", 0))
        )
        if initiative is None:
            return
        try:
            if dialog.step == "c":
                await request_changes(
                    session=session, initiative=initiative, actor=admin, note=text, now=utcnow()
                )
                done = t("youth.review_changes", language, code=initiative.code)
            else:
                await decline_proposal(
                    session=session, initiative=initiative, actor=admin, reason=text, now=utcnow()
                )
                done = t("youth.review_declined", language, code=initiative.code)
        except YouthRefused as exc:
            await message.reply_text(refusal(exc, language, initiative.code))
            return
        await tell_proposer(rt, session, initiative)
    rt.delivery.wake()
    await message.reply_text(done)


async def _status_change(update: Update, context: ContextTypes.DEFAULT_TYPE, finish: bool) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    usage = "youth.finish_usage" if finish else "youth.start_usage"
    async with rt.db.session() as session:
        initiative = await initiative_from_args(update, context, session, language, usage)
        if initiative is None:
            return
        what = "finish" if finish else "start"
        if not await refuse_unless_lead(update, session, member, initiative, what=what):
            return
        change = finish_and_notify if finish else start_and_notify
        try:
            told = await change(rt, session, initiative, member, utcnow())
        except YouthRefused as exc:
            await message.reply_text(refusal(exc, language, initiative.code))
            return
    rt.delivery.wake()
    key = "youth.finished" if finish else "youth.started"
    await message.reply_text(
        t(key, language, code=initiative.code) + "\n" + t("youth.team_told", language, count=told)
    )


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _status_change(update, context, finish=False)


async def finish_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _status_change(update, context, finish=True)


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language = member.language
    async with rt.db.session() as session:
        numbers = await participation(session=session, now=utcnow())
        communities = {c.id: c.name(language) for c in await list_communities(session=session)}
    lines = [t("youth.stats_title", language, signups=numbers.signups, people=numbers.people)]
    lines.append(t("youth.stats_status", language))
    for status in InitiativeStatus:
        lines.append(
            f"  {t(f'youth.status_{status}', language)}: {numbers.by_status.get(status, 0)}"
        )
    lines.append(t("youth.stats_community", language))
    for cid, n in sorted(numbers.by_community.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {communities.get(cid, '—') if cid else '—'}: {n}")
    lines.append(t("youth.stats_gender", language))
    for gender, n in sorted(numbers.by_gender.items(), key=lambda kv: -kv[1]):
        label = t(f"youth.gender_{gender}", language) if gender in GENDERS else "—"
        lines.append(f"  {label}: {n}")
    lines.append(t("youth.stats_age", language))
    for group, n in sorted(numbers.by_age.items()):
        lines.append(f"  {group}: {n}")
    async with rt.db.session() as session:
        await record_audit(
            session=session,
            action="youth.stats_viewed",
            actor_member_id=member.id,
            actor_label=f"member:{member.id}",
        )
    await message.reply_text("\n".join(lines))


def setup(rt: Runtime) -> None:
    add_command(rt, "team", team_command, description_key="youth.cmd_team", access=Access.MEMBER)
    add_command(
        rt,
        "proposals",
        proposals_command,
        description_key="youth.cmd_proposals",
        access=Access.SECRETARIAT,
    )
    add_command(
        rt,
        "announce_initiative",
        announce_command,
        description_key="youth.cmd_announce",
        access=Access.SECRETARIAT,
    )
    add_command(
        rt,
        "youthstats",
        stats_command,
        description_key="youth.cmd_stats",
        access=Access.SECRETARIAT,
    )
    add_command(
        rt,
        "start_initiative",
        start_command,
        description_key="youth.cmd_start",
        access=Access.MEMBER,
    )
    add_command(
        rt,
        "finish_initiative",
        finish_command,
        description_key="youth.cmd_finish",
        access=Access.MEMBER,
    )
    rt.add_telegram_handler(CallbackQueryHandler(on_review_button, pattern=r"^yr:[acd]:\d+$"))
    rt.telegram_step(REVIEW_FLOW, on_review_text)
