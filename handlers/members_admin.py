"""Secretariat commands about members: /member, /approve, /promote, /demote, /members,
/export, /stats. Every one is registered with Access.SECRETARIAT (bot.roles checks and
audits refusals in one place); the changes themselves are audited in models.membership.
"""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.outbound import Outgoing, queue_for_member
from bot.roles import Access, add_command, guarded, telegram_member
from bot.runtime import Runtime, runtime_of
from handlers._members_common import inline_rows, markup
from handlers.core import set_member_commands
from models.audit import record_audit
from models.base import utcnow
from models.communities import list_communities
from models.member_fields import Choice, FieldError, parse_yes_no, sector_label
from models.member_reports import (
    PAGE_SIZE,
    MemberFilter,
    export_csv,
    filtered,
    member_stats,
    parse_filters,
)
from models.members import Member, Role
from models.membership import approve_guardian, find_members, set_lag_member, set_role
from models.outbox import Priority
from models.stats_text import stats_text

ORDER = 20


async def _admin(rt: Runtime, update: Update) -> tuple[Member, str]:
    member = await telegram_member(rt, update)
    assert member is not None  # add_command checked the role
    return member, member.language


async def _reply(update: Update, text: str, **kwargs: object) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(text, **kwargs)  # type: ignore[arg-type]


async def _one(rt: Runtime, update: Update, who: str, language: str) -> Member | None:
    """The single member `who` names; otherwise say why (none, or which ones)."""
    async with rt.db.session() as session:
        found = await find_members(session=session, who=who)
    if not found:
        await _reply(update, t("members.not_found", language, who=who))
        return None
    if len(found) > 1:
        names = "\n".join(f"#{m.id} {m.name or '—'}" for m in found[:10])
        await _reply(update, t("members.ambiguous", language, names=names))
        return None
    return found[0]


async def member_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/member <who> yes|no [organisation]: formal LAG membership."""
    rt = runtime_of(context)
    admin, language = await _admin(rt, update)
    args = list(context.args or [])
    split = next((i for i, a in enumerate(args) if i and parse_yes_no(a) is not None), None)
    if split is None:
        await _reply(update, t("members.usage_member", language))
        return
    target = await _one(rt, update, " ".join(args[:split]), language)
    if target is None:
        return
    formal = parse_yes_no(args[split]) is True
    organisation = " ".join(args[split + 1 :]) or None
    try:
        async with rt.db.session() as session:
            fresh = await session.get(Member, target.id)
            assert fresh is not None
            await set_lag_member(
                session=session,
                member=fresh,
                formal=formal,
                organisation=organisation,
                actor=admin,
                now=utcnow(),
            )
    except FieldError as error:
        await _reply(update, "⚠️ " + t(error.key, language, **error.values))
        return
    key = "members.marked_formal" if formal else "members.marked_not_formal"
    await _reply(
        update,
        t(
            key,
            language,
            id=fresh.id,
            name=fresh.name or "—",
            organisation=fresh.organisation or "—",
            sector=sector_label(fresh.sector, language),
        ),
    )


async def approve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/approve <who>: the guardian signed; the young member becomes active and is told."""
    rt = runtime_of(context)
    admin, language = await _admin(rt, update)
    if not context.args:
        await _reply(update, t("members.usage_approve", language))
        return
    target = await _one(rt, update, " ".join(context.args), language)
    if target is None:
        return
    try:
        async with rt.db.session() as session:
            fresh = await session.get(Member, target.id)
            assert fresh is not None
            await approve_guardian(
                session=session,
                member=fresh,
                actor=admin,
                version=rt.settings.consent_text_version,
                now=utcnow(),
            )
            await queue_for_member(
                session=session,
                settings=rt.settings,
                member=fresh,
                message=Outgoing(
                    text=t("members.approved_welcome", fresh.language, name=fresh.name or "")
                ),
                kind="notice",
                priority=Priority.NOTICE,
            )
    except FieldError as error:
        await _reply(update, "⚠️ " + t(error.key, language, **error.values))
        return
    rt.delivery.wake()
    await set_member_commands(rt, fresh)
    await _reply(update, t("members.approved", language, id=fresh.id, name=fresh.name or "—"))


async def _role(update: Update, context: ContextTypes.DEFAULT_TYPE, *, promote: bool) -> None:
    rt = runtime_of(context)
    admin, language = await _admin(rt, update)
    args = list(context.args or [])
    roles = {"board": Role.BOARD, "secretariat": Role.SECRETARIAT, "member": Role.MEMBER}
    wanted = roles.get(args[-1].casefold()) if len(args) > 1 else None
    if wanted is not None:
        args = args[:-1]
    if not args:
        key = "members.usage_promote" if promote else "members.usage_demote"
        await _reply(update, t(key, language))
        return
    role = wanted or (Role.SECRETARIAT if promote else Role.MEMBER)
    target = await _one(rt, update, " ".join(args), language)
    if target is None:
        return
    try:
        async with rt.db.session() as session:
            fresh = await session.get(Member, target.id)
            assert fresh is not None
            await set_role(session=session, member=fresh, role=role, actor=admin, now=utcnow())
            await queue_for_member(
                session=session,
                settings=rt.settings,
                member=fresh,
                message=Outgoing(
                    text=t(
                        "members.role_changed_notice",
                        fresh.language,
                        role=_role_name(role, fresh.language),
                    )
                ),
                kind="notice",
                priority=Priority.NOTICE,
            )
    except FieldError as error:
        await _reply(update, "⚠️ " + t(error.key, language, **error.values))
        return
    rt.delivery.wake()
    await set_member_commands(rt, fresh)
    await _reply(
        update,
        t(
            "members.role_changed",
            language,
            id=fresh.id,
            name=fresh.name or "—",
            role=_role_name(role, language),
        ),
    )


def _role_name(role: str, language: str) -> str:
    names: dict[str, str] = {
        Role.MEMBER: t("members.role_member", language),
        Role.BOARD: t("members.role_board", language),
        Role.SECRETARIAT: t("members.role_secretariat", language),
    }
    return names.get(role, role)


async def promote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/promote <who> [board|secretariat]"""
    await _role(update, context, promote=True)


async def demote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/demote <who> [board|member]"""
    await _role(update, context, promote=False)


# -- lists, export, statistics ----------------------------------------------------------------


async def _members_page(
    rt: Runtime, language: str, flt: MemberFilter, page: int
) -> tuple[str, object]:
    now = utcnow()
    async with rt.db.session() as session:
        members = await filtered(session=session, settings=rt.settings, flt=flt, now=now)
        communities = {c.id: c for c in await list_communities(session=session)}
    pages = max(1, -(-len(members) // PAGE_SIZE))
    page = min(page, pages)
    chunk = members[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    lines = [t("members.list_header", language, count=len(members), page=page, pages=pages)]
    for m in chunk:
        community = communities.get(m.community_id)
        channel = (
            "+".join(
                c for c, ok in (("TG", m.telegram_reachable()), ("SMS", m.sms_reachable())) if ok
            )
            or "—"
        )
        mark = " ★" if m.is_lag_member else ""
        lines.append(
            f"#{m.id} {m.name or '—'}{mark} — "
            f"{community.name(language) if community else '—'}, "
            f"{sector_label(m.sector, language)}, {channel}"
        )
    if not chunk:
        lines.append(t("members.list_empty", language))
    buttons: list[Choice] = []
    code = flt.encode()
    if page > 1:
        buttons.append(Choice(f"{page - 1}:{code}", "◀"))
    if page < pages:
        buttons.append(Choice(f"{page + 1}:{code}", "▶"))
    buttons = [b for b in buttons if len(f"mem:{b.code}".encode()) <= 64]
    return "\n".join(lines), markup(inline_rows(buttons, "mem", per_row=2))


async def members_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/members [community] [sector] [youth] [female|male] [telegram|sms|both|none]
    [stopped] [formal] [pending] [page]"""
    rt = runtime_of(context)
    _, language = await _admin(rt, update)
    async with rt.db.session() as session:
        communities = await list_communities(session=session)
    try:
        flt, page = parse_filters(list(context.args or []), communities)
    except FieldError as error:
        await _reply(
            update,
            t(error.key, language, **error.values) + "\n" + t("members.usage_members", language),
        )
        return
    text, keyboard = await _members_page(rt, language, flt, page)
    await _audit_view(rt, update, "members.view", flt.encode())
    await _reply(update, text, reply_markup=keyboard)


async def _audit_view(rt: Runtime, update: Update, action: str, target: str) -> None:
    """Looking at members' data is an admin action too (who looked, with which filter)."""
    admin = await telegram_member(rt, update)
    async with rt.db.session() as session:
        await record_audit(
            session=session,
            action=action,
            actor_member_id=admin.id if admin else None,
            actor_label="telegram",
            target=target[:120],
        )


async def on_members_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    _, language = await _admin(rt, update)
    _, page, code = query.data.split(":", 2)
    text, keyboard = await _members_page(rt, language, MemberFilter.decode(code), int(page))
    await _audit_view(rt, update, "members.view", f"{code} p{page}")
    await query.edit_message_text(text, reply_markup=keyboard)  # type: ignore[arg-type]


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export members: a CSV for Excel. Other capabilities add `rt.hooks["export.<what>"]`."""
    rt = runtime_of(context)
    admin, language = await _admin(rt, update)
    what = (context.args or ["members"])[0].casefold()
    other = rt.hooks.get(f"export.{what}")
    if what != "members" and other is not None:
        await other(update, context)
        return
    if what != "members":
        await _reply(update, t("members.usage_export", language))
        return
    now = utcnow()
    async with rt.db.session() as session:
        content = await export_csv(session=session, settings=rt.settings, now=now)
        await record_audit(
            session=session,
            action="export.members",
            actor_member_id=admin.id,
            actor_label="telegram",
            target="members",
            details={"rows": content.count(b"\n") - 1},
        )
    assert update.effective_message is not None
    await update.effective_message.reply_document(
        InputFile(content, filename=f"lag-members-{now.date().isoformat()}.csv"),
        caption=t("members.export_caption", language),
    )


# Other capabilities add a section: rt.hooks["stats.section.<name>"] = async (session, language)
# -> lines; sections follow the members' numbers in the order of their names.
STATS_SECTION = "stats.section."


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: community × sector, youth and gender shares, channel reach, the 49% rule."""
    rt = runtime_of(context)
    _, language = await _admin(rt, update)
    async with rt.db.session() as session:
        stats = await member_stats(session=session, settings=rt.settings, now=utcnow())
        communities = await list_communities(session=session)
        text = stats_text(stats, communities, language, rt.settings)
        for key in sorted(k for k in rt.hooks if k.startswith(STATS_SECTION)):
            lines = await rt.hooks[key](session, language)
            if lines:
                text += "\n\n" + "\n".join(lines)
    await _audit_view(rt, update, "stats.view", "members")
    await _reply(update, text)


def setup(rt: Runtime) -> None:
    admin = Access.SECRETARIAT
    add_command(rt, "member", member_command, description_key="members.cmd_member", access=admin)
    add_command(rt, "approve", approve, description_key="members.cmd_approve", access=admin)
    add_command(rt, "promote", promote, description_key="members.cmd_promote", access=admin)
    add_command(rt, "demote", demote, description_key="members.cmd_demote", access=admin)
    add_command(rt, "members", members_command, description_key="members.cmd_members", access=admin)
    add_command(rt, "export", export_command, description_key="members.cmd_export", access=admin)
    add_command(rt, "stats", stats_command, description_key="members.cmd_stats", access=admin)
    rt.add_telegram_handler(
        CallbackQueryHandler(guarded(rt, admin, "members", on_members_page), pattern=r"^mem:\d+:")
    )
