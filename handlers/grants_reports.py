"""Counts for the Board and donors: /grantstats [G3] (board and secretariat), with the counts
as CSV (no personal data); `/export grants G3` (secretariat) sends the counts and the full
applicants list.

interested · ideas · shortlisted · funded (· withdrawn), overall and by community, sector,
applicant type, gender and youth (models.grants_reports).
"""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.exports import export_args, register_export
from bot.i18n import t
from bot.outbound import Button
from bot.roles import (
    Access,
    add_command,
    member_with_access,
    telegram_member,
)
from bot.runtime import Runtime, runtime_of
from handlers.grants_applicants import send_applicants_csv
from handlers.grants_forms import admin_member, chat_send
from models.audit import record_audit
from models.communities import Community, list_communities
from models.grants import GrantCall, GrantStatus, call_by_code, get_call, list_calls
from models.grants_labels import dimension_label, group_label
from models.grants_reports import (
    DIMENSIONS,
    Awards,
    Funnel,
    GrantCounts,
    counts_csv,
    gel,
    grant_counts,
)
from models.members import Member

ORDER = 60
P = "grs"


def funnel_text(funnel: Funnel, language: str) -> str:
    return t(
        "grants.funnel",
        language,
        interested=funnel.interested,
        ideas=funnel.ideas,
        shortlisted=funnel.shortlisted,
        funded=funnel.funded,
        withdrawn=funnel.withdrawn,
    )


def awards_text(awards: Awards, language: str) -> str:
    """`Awarded: 30 000 GEL (2 of 2 funded recorded) · co-financing: 4 000 GEL`."""
    return t("grants.stats_awarded", language, awarded=gel(awards.awarded),
             cofinancing=gel(awards.cofinancing), recorded=awards.recorded,
             funded=awards.funded)  # fmt: skip


def counts_text(
    call: GrantCall,
    counts: GrantCounts,
    language: str,
    communities: dict[int, Community],
    rt: Runtime,
) -> str:
    ages = (rt.settings.youth_min_age, rt.settings.youth_max_age)
    lines = [
        t("grants.stats_head", language, code=call.code, title=call.title_in(language)),
        t("grants.stats_columns", language),
        funnel_text(counts.total, language),
        awards_text(counts.awards, language),
    ]
    for dimension in DIMENSIONS:
        rows = counts.breakdown(dimension)
        if not rows:
            continue
        lines += ["", dimension_label(dimension, language) + ":"]
        for group, funnel in rows:
            label = group_label(dimension, group, language, communities, ages)
            f = funnel
            lines.append(f"• {label}: {f.interested} · {f.ideas} · {f.shortlisted} · {f.funded}")
    return "\n".join(lines)


async def _board_member(rt: Runtime, update: Update) -> Member | None:
    """Board or secretariat; a refusal (audited) otherwise."""
    return await member_with_access(rt, update, Access.BOARD, target="grants.stats")


async def grantstats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/grantstats: every call in one line each; /grantstats G3: the counts by group."""
    rt = runtime_of(context)
    member = await telegram_member(rt, update)
    message = update.effective_message
    assert member is not None and message is not None
    language, args = member.language, list(context.args or [])
    rows: list[list[Button]] = []
    async with rt.db.session() as session:
        if not args:
            statuses = (GrantStatus.PUBLISHED, GrantStatus.CLOSED)
            calls = await list_calls(session=session, statuses=statuses, limit=20)
            lines = [t("grants.stats_all_head", language), t("grants.stats_columns", language)]
            for call in calls:
                counts = await grant_counts(session=session, call=call)
                lines.append(f"{call.code} · {call.title_in(language)}: "
                             f"{funnel_text(counts.total, language)}")  # fmt: skip
                if counts.awards.funded:
                    lines.append("  " + awards_text(counts.awards, language))
            if not calls:
                lines.append(t("grants.stats_none", language))
            else:
                lines.append(t("grants.stats_hint", language, code=calls[0].code))
            text = "\n".join(lines)
        else:
            one = await call_by_code(session=session, code=args[0])
            if one is None or one.status == GrantStatus.DRAFT:
                text = t("grants.unknown_code", language, code=args[0].upper())
            else:
                counts = await grant_counts(session=session, call=one)
                communities = {c.id: c for c in await list_communities(session=session) if c.id}
                text = counts_text(one, counts, language, communities, rt)
                rows = [[Button(t("grants.btn_csv_counts", language), f"{P}:csv:{one.id}")]]
    await chat_send(update, text, rows)


async def send_counts_csv(rt: Runtime, update: Update, member: Member, grant_id: int) -> None:
    language = member.language
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        if call is None:
            return
        counts = await grant_counts(session=session, call=call)
        communities = {c.id: c for c in await list_communities(session=session) if c.id is not None}
        await record_audit(
            session=session, action="grant.export_counts", actor_member_id=member.id,
            actor_label=f"member:{member.id}", target=f"grant:{call.id}",
        )  # fmt: skip
    content = counts_csv(
        call, counts, language=language, communities=communities,
        ages=(rt.settings.youth_min_age, rt.settings.youth_max_age),
    )  # fmt: skip
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(content.encode("utf-8"), filename=f"{call.code}-counts.csv"),
        caption=t("grants.csv_counts_caption", language, code=call.code),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    member = await _board_member(rt, update)
    if member is None:
        return
    await query.answer()
    parts = query.data.split(":")
    if len(parts) == 3 and parts[1] == "csv" and parts[2].isdigit():
        await send_counts_csv(rt, update, member, int(parts[2]))


async def export_grants(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export grants G3: the counts (for donors) and the applicants list (secretariat)."""
    rt = runtime_of(context)
    member = await admin_member(rt, update)
    message = update.effective_message
    if member is None or message is None:
        return
    args = export_args(context)
    async with rt.db.session() as session:
        call = await call_by_code(session=session, code=args[0]) if args else None
    if call is None or call.id is None:
        key = "grants.export_usage" if not args else "grants.unknown_code"
        await message.reply_text(t(key, member.language, code=args[0].upper() if args else ""))
        return
    await send_counts_csv(rt, update, member, call.id)
    await send_applicants_csv(rt, update, member, call.id)


def setup(rt: Runtime) -> None:
    add_command(
        rt, "grantstats", grantstats_command, description_key="grants.cmd_grantstats",
        access=Access.BOARD,
    )  # fmt: skip
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=rf"^{P}:"))
    register_export(rt, "grants", export_grants, usage_key="grants.export_usage")
