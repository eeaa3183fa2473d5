"""/applicants G3: the secretariat records each applicant's stage, and each change can notify
that applicant on their own channel — results reach every applicant, not only winners.

The list (a page of applicants with their stage) → one applicant's card (contact, idea,
history, the stages they may move to) → a confirmation: "Record and notify" / "Record only".
"Everyone else" actions close a round in one go: all still at "idea received" → not
shortlisted, all still in the running → not funded, each with their own notice. A change made
meanwhile by someone else is refused, not overwritten (models.grants_applicants.set_stage).
"➕ Paper application" and the awarded amount asked on "funded" are in handlers.grants_office;
an applicant no channel reaches is marked "tell in person".
"""

from __future__ import annotations

from datetime import datetime

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Button
from bot.roles import Access, add_command
from bot.runtime import Runtime, runtime_of
from handlers.grants_forms import admin_member, chat_send
from handlers.grants_notify import notify_stage
from handlers.grants_render import error_text, short
from models.audit import record_audit
from models.base import utcnow
from models.communities import list_communities
from models.grants import GrantCall, GrantStateError, call_by_code, get_call
from models.grants_applicants import (
    BULK,
    GrantApplicant,
    Stage,
    allowed_next,
    applicants_of,
    bulk_candidates,
    get_applicant,
    set_stage,
    stage_counts,
)
from models.grants_labels import stage_label, type_label
from models.grants_office import reachable
from models.grants_reports import applicants_csv, gel
from models.members import Member

ORDER = 60
P = "gra"
PAGE = 8
CODES = {
    Stage.INTERESTED: "in", Stage.IDEA_RECEIVED: "id", Stage.SHORTLISTED: "sl",
    Stage.NOT_SHORTLISTED: "ns", Stage.FULL_APPLICATION: "fa", Stage.INTERVIEW: "iv",
    Stage.FUNDED: "fu", Stage.NOT_FUNDED: "nf", Stage.WITHDRAWN: "wd",
}  # fmt: skip
STAGE_OF = {code: stage for stage, code in CODES.items()}


def _who(applicant: GrantApplicant, member: Member) -> str:
    return f"#{applicant.id} {member.name or '—'}"


async def list_view(
    rt: Runtime, call: GrantCall, page: int, language: str
) -> tuple[str, list[list[Button]]]:
    assert call.id is not None
    async with rt.db.session() as session:
        people = await applicants_of(session=session, grant_id=call.id)
        counts = await stage_counts(session=session, grant_id=call.id)
        communities = {c.id: c for c in await list_communities(session=session)}
    pages = max(1, -(-len(people) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = people[page * PAGE : (page + 1) * PAGE]
    summary = " · ".join(f"{stage_label(s, language)} {n}" for s, n in counts.items() if n)
    lines = [
        t("grants.applicants_head", language, code=call.code, title=call.title_in(language),
          count=len(people)),
        summary or t("grants.applicants_none", language),
        "",
    ]  # fmt: skip
    rows: list[list[Button]] = []
    for applicant, member in shown:
        community = communities.get(applicant.community_id) if applicant.community_id else None
        place = ", ".join(p for p in (applicant.village, community.name(language) if community
                                      else "") if p)  # fmt: skip
        in_person = "" if reachable(member) else " · " + t("grants.tell_in_person", language)
        lines.append(
            f"{_who(applicant, member)} · {place or '—'} · "
            f"{type_label(applicant.applicant_type, language)} · «{applicant.idea_title or '—'}»"
            f" — {stage_label(applicant.stage, language)}{in_person}"
        )
        label = f"{_who(applicant, member)} — {stage_label(applicant.stage, language)}"
        rows.append([Button(label[:60], f"{P}:a:{applicant.id}")])
    if pages > 1:
        lines.append(t("grants.page", language, page=page + 1, pages=pages))
        nav = []
        if page > 0:
            nav.append(Button("◀", f"{P}:p:{call.id}:{page - 1}"))
        if page < pages - 1:
            nav.append(Button("▶", f"{P}:p:{call.id}:{page + 1}"))
        rows.append(nav)
    for target, sources in BULK.items():
        waiting = sum(counts.get(s, 0) for s in sources)
        if waiting:
            label = t(
                "grants.btn_bulk", language, stage=stage_label(target, language), count=waiting
            )
            rows.append([Button(label, f"{P}:b:{call.id}:{CODES[target]}")])
    if call.accepts_interest(utcnow()):
        rows.append([Button(t("grants.btn_office_add", language), f"gro:n:{call.id}")])
    if people:
        rows.append([Button(t("grants.btn_csv", language), f"{P}:csv:{call.id}")])
    return "\n".join(lines), rows


async def applicants_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    message = update.effective_message
    if member is None or message is None:
        return
    args, language = list(context.args or []), member.language
    if not args:
        await message.reply_text(t("grants.applicants_usage", language))
        return
    async with rt.db.session() as session:
        call = await call_by_code(session=session, code=args[0])
    if call is None:
        await message.reply_text(t("grants.unknown_code", language, code=args[0].upper()))
        return
    text, rows = await list_view(rt, call, 0, language)
    await chat_send(update, text, rows)


async def applicant_view(
    rt: Runtime, applicant_id: int, language: str
) -> tuple[str, list[list[Button]]]:
    async with rt.db.session() as session:
        applicant = await get_applicant(session=session, applicant_id=applicant_id)
        call = await get_call(session=session, grant_id=applicant.grant_id) if applicant else None
        member = await session.get(Member, applicant.member_id) if applicant else None
    if applicant is None or call is None or member is None:
        return t("grants.step_over", language), []
    tz = rt.settings.tz
    channels = [c for c, ok in (("Telegram", member.telegram_reachable()),
                                ("SMS", member.sms_reachable())) if ok]  # fmt: skip
    lines = [
        f"{_who(applicant, member)} · {call.code}",
        t("grants.applicant_card", language, phone=member.phone or "—",
          type=type_label(applicant.applicant_type, language), idea=applicant.idea_title or "—",
          village=applicant.village or "—",
          channels=", ".join(channels) or t("grants.tell_in_person", language),
          stage=stage_label(applicant.stage, language)),
        "",
        t("grants.history", language),
    ]  # fmt: skip
    for entry in applicant.history:
        at = datetime.fromisoformat(str(entry.get("at")))
        lines.append(
            f"• {short(at, language, tz)} — {stage_label(str(entry.get('stage')), language)}"
        )
    if applicant.channel == "office":
        lines.insert(2, t("grants.office_channel", language))
    if applicant.stage == Stage.FUNDED and applicant.awarded_amount is not None:
        lines.insert(2, t("grants.award_line", language, amount=gel(applicant.awarded_amount),
                          cofinancing=gel(applicant.cofinancing_amount or 0)))  # fmt: skip
    rows = [
        [Button("→ " + stage_label(stage, language), f"{P}:s:{applicant.id}:{CODES[Stage(stage)]}")]
        for stage in allowed_next(call, applicant)
    ]
    if applicant.stage == Stage.FUNDED:
        rows.append([Button(t("grants.btn_award", language), f"gro:aw:{applicant.id}")])
    rows.append([Button(t("grants.btn_back", language), f"{P}:p:{call.id}:0")])
    return "\n".join(lines), rows


async def _confirm_one(
    rt: Runtime, update: Update, member: Member, applicant_id: int, to: str
) -> None:
    language = member.language
    async with rt.db.session() as session:
        applicant = await get_applicant(session=session, applicant_id=applicant_id)
        person = await session.get(Member, applicant.member_id) if applicant else None
    if applicant is None or person is None or to not in STAGE_OF:
        await chat_send(update, t("grants.step_over", language), [])
        return
    stage = STAGE_OF[to]
    base = f"{P}:c:{applicant.id}:{CODES[Stage(applicant.stage)]}:{to}"
    text = t(
        "grants.confirm_stage",
        language,
        who=_who(applicant, person),
        before=stage_label(applicant.stage, language),
        after=stage_label(stage, language),
    )
    rows = [
        [Button(t("grants.btn_record_notify", language), f"{base}:1")],
        [Button(t("grants.btn_record_only", language), f"{base}:0")],
        [Button(t("grants.btn_back", language), f"{P}:a:{applicant.id}")],
    ]
    await chat_send(update, text, rows)


async def _record_one(rt: Runtime, update: Update, member: Member, parts: list[str]) -> None:
    """gra:c:<applicant>:<from>:<to>:<notify>."""
    language, now = member.language, utcnow()
    applicant_id, before, to, notify = int(parts[2]), parts[3], parts[4], parts[5] == "1"
    try:
        async with rt.db.session() as session:
            applicant = await get_applicant(session=session, applicant_id=applicant_id)
            call = (
                await get_call(session=session, grant_id=applicant.grant_id, lock=True)
                if applicant
                else None
            )
            person = await session.get(Member, applicant.member_id) if applicant else None
            if applicant is None or call is None or person is None or to not in STAGE_OF:
                raise GrantStateError("grants.err_stage_changed")
            await set_stage(session=session, call=call, applicant=applicant, stage=STAGE_OF[to],
                            actor=member, now=now, expected=STAGE_OF.get(before))  # fmt: skip
            reached = notify and await notify_stage(rt, session, call, applicant, person, now)
    except GrantStateError as exc:
        await chat_send(update, error_text(exc, language, rt.settings.tz), [])
        return
    rt.delivery.wake()
    if not notify:
        note = t("grants.recorded_quiet", language)
    else:
        note = t("grants.recorded_notified" if reached else "grants.recorded_unreachable", language)
    if STAGE_OF[to] == Stage.FUNDED:  # the awarded amount, asked at once (or later on the card)
        from handlers.grants_office import start_award  # here: it imports this module

        await chat_send(update, note, [])
        await start_award(rt, update, member, applicant_id)
        return
    text, rows = await applicant_view(rt, applicant_id, language)
    await chat_send(update, f"{note}\n\n{text}", rows)


async def _confirm_bulk(
    rt: Runtime, update: Update, member: Member, grant_id: int, to: str
) -> None:
    language = member.language
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        people = (
            await bulk_candidates(session=session, call=call, target=STAGE_OF[to]) if call else []
        )
    if call is None or not people:
        await chat_send(update, t("grants.step_over", language), [])
        return
    stage = STAGE_OF[to]
    sources = ", ".join(stage_label(s, language) for s in BULK[stage])
    text = t("grants.confirm_bulk", language, count=len(people), sources=sources,
             after=stage_label(stage, language), code=call.code)  # fmt: skip
    rows = [
        [Button(t("grants.btn_record_notify", language), f"{P}:bc:{grant_id}:{to}:1")],
        [Button(t("grants.btn_record_only", language), f"{P}:bc:{grant_id}:{to}:0")],
        [Button(t("grants.btn_back", language), f"{P}:p:{grant_id}:0")],
    ]
    await chat_send(update, text, rows)


async def _record_bulk(rt: Runtime, update: Update, member: Member, parts: list[str]) -> None:
    """gra:bc:<grant>:<to>:<notify>: everyone still waiting, each told on their channel."""
    language, now = member.language, utcnow()
    grant_id, stage, notify = int(parts[2]), STAGE_OF[parts[3]], parts[4] == "1"
    moved = reached = 0
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id, lock=True)
        if call is not None:
            for applicant, person in await bulk_candidates(
                session=session, call=call, target=stage
            ):
                try:
                    await set_stage(session=session, call=call, applicant=applicant, stage=stage,
                                    actor=member, now=now, expected=applicant.stage)  # fmt: skip
                except GrantStateError:
                    continue
                moved += 1
                if notify:
                    reached += await notify_stage(rt, session, call, applicant, person, now)
    rt.delivery.wake()
    note = t("grants.bulk_done", language, moved=moved, reached=reached)
    if call is None:
        return
    text, rows = await list_view(rt, call, 0, language)
    await chat_send(update, f"{note}\n\n{text}", rows)


async def send_applicants_csv(rt: Runtime, update: Update, member: Member, grant_id: int) -> None:
    language = member.language
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        if call is None:
            return
        communities = {c.id: c for c in await list_communities(session=session) if c.id is not None}
        content = await applicants_csv(
            session=session, call=call, language=language, communities=communities,
            ages=(rt.settings.youth_min_age, rt.settings.youth_max_age), tz=rt.settings.tz,
        )  # fmt: skip
        await record_audit(
            session=session, action="grant.export_applicants", actor_member_id=member.id,
            actor_label=f"member:{member.id}", target=f"grant:{call.id}",
        )  # fmt: skip
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(content.encode("utf-8"), filename=f"{call.code}-applicants.csv"),
        caption=t("grants.csv_applicants_caption", language, code=call.code),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await admin_member(rt, update)
    if member is None:
        return
    parts = [*query.data.split(":"), "", "", ""]
    action, language = parts[1], member.language
    await query.answer()
    if not parts[2].isdigit():
        return
    if action == "p":
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=int(parts[2]))
        if call is not None:
            page = int(parts[3]) if parts[3].isdigit() else 0
            text, rows = await list_view(rt, call, page, language)
            await chat_send(update, text, rows)
    elif action == "a":
        text, rows = await applicant_view(rt, int(parts[2]), language)
        await chat_send(update, text, rows)
    elif action == "s":
        await _confirm_one(rt, update, member, int(parts[2]), parts[3])
    elif action == "c" and parts[4] in STAGE_OF:
        await _record_one(rt, update, member, parts)
    elif action == "b" and parts[3] in (CODES[Stage.NOT_SHORTLISTED], CODES[Stage.NOT_FUNDED]):
        await _confirm_bulk(rt, update, member, int(parts[2]), parts[3])
    elif action == "bc" and parts[3] in (CODES[Stage.NOT_SHORTLISTED], CODES[Stage.NOT_FUNDED]):
        await _record_bulk(rt, update, member, parts)
    elif action == "csv":
        await send_applicants_csv(rt, update, member, int(parts[2]))


def setup(rt: Runtime) -> None:
    add_command(
        rt, "applicants", applicants_command, description_key="grants.cmd_applicants",
        access=Access.SECRETARIAT,
    )  # fmt: skip
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=rf"^{P}:"))
