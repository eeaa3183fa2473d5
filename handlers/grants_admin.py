"""The secretariat's card of a grant call (/editgrant G3): status, stage counts, audience, a
button per field, and the life-cycle actions — publish, close the competition, cancel (each
confirmed; cancelling tells every active applicant). The field edits are in grants_edit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.i18n import t
from bot.outbound import Button
from bot.runtime import Runtime
from handlers import audience_picker as picker
from handlers.grants_forms import chat_send
from handlers.grants_notify import cancel_and_notify, publish_and_announce
from handlers.grants_render import card, error_text
from models.base import utcnow
from models.grants import (
    PHASES,
    GrantCall,
    GrantInputError,
    GrantStateError,
    GrantStatus,
    get_call,
    info_sessions,
    mark_closed,
)
from models.grants_applicants import ACTIVE, stage_counts
from models.grants_labels import phase_label, stage_label
from models.members import Member

P = "gre"  # callback prefix of the card and of /editgrant
FIELD_KEYS = {
    "title": "grants.field_title",
    "description": "grants.field_description",
    "translations": "grants.field_translations",
    "priorities": "grants.field_priorities",
    "types": "grants.field_types",
    "amount": "grants.field_amount",
    "cofinancing": "grants.field_cofinancing",
    "manual": "grants.field_manual",
    "sessions": "grants.field_sessions",
    "audience": "grants.field_audience",
}


def field_label(name: str, language: str) -> str:
    if name in PHASES:
        return phase_label(name, language)
    return {
        "title": t("grants.field_title", language),
        "description": t("grants.field_description", language),
        "translations": t("grants.field_translations", language),
        "priorities": t("grants.field_priorities", language),
        "types": t("grants.field_types", language),
        "amount": t("grants.field_amount", language),
        "cofinancing": t("grants.field_cofinancing", language),
        "manual": t("grants.field_manual", language),
        "sessions": t("grants.field_sessions", language),
        "audience": t("grants.field_audience", language),
    }[name]


def status_label(call: GrantCall, language: str) -> str:
    return {
        GrantStatus.DRAFT: t("grants.status_draft", language),
        GrantStatus.PUBLISHED: t("grants.status_published", language),
        GrantStatus.CLOSED: t("grants.status_closed", language),
        GrantStatus.CANCELLED: t("grants.status_cancelled", language),
    }[GrantStatus(call.status)]


async def admin_view(
    rt: Runtime, session: AsyncSession, call: GrantCall, language: str, now: datetime
) -> tuple[str, list[list[Button]]]:
    """The card with status, stage counts and audience, and the secretariat's buttons."""
    assert call.id is not None
    sessions = await info_sessions(session=session, call=call)
    counts = await stage_counts(session=session, grant_id=call.id)
    stages = " · ".join(f"{stage_label(s, language)} {n}" for s, n in counts.items() if n)
    lines = [
        card(call, sessions, language, rt.settings, now),
        "",
        status_label(call, language),
        t("grants.admin_applicants", language, counts=stages or "0", code=call.code),
        t("grants.admin_audience", language,
          audience=await picker.describe(session, rt.settings, call.audience, language)),
    ]  # fmt: skip
    rows: list[list[Button]] = []
    if call.status in (GrantStatus.DRAFT, GrantStatus.PUBLISHED):
        names = [*FIELD_KEYS, *PHASES]
        buttons = [Button(field_label(n, language), f"{P}:f:{call.id}:{n}") for n in names]
        rows += [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
        actions = [Button(t("grants.btn_cancel_call", language), f"{P}:cancel:{call.id}")]
        if call.status == GrantStatus.DRAFT:
            actions.insert(0, Button(t("grants.btn_publish", language), f"{P}:pub:{call.id}"))
        else:
            actions.insert(0, Button(t("grants.btn_close_call", language), f"{P}:close:{call.id}"))
        rows.append(actions)
    return "\n".join(lines), rows


async def show_admin(
    rt: Runtime, update: Update, grant_id: int, language: str, note: str = ""
) -> None:
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        rows: list[list[Button]] = []
        if call is None:
            text = t("grants.unknown_code", language, code=f"G{grant_id}")
        else:
            text, rows = await admin_view(rt, session, call, language, utcnow())
    await chat_send(update, f"{note}\n\n{text}" if note else text, rows)


async def _confirm(update: Update, text: str, yes: Button, language: str) -> None:
    await chat_send(update, text, [[yes, Button(t("grants.btn_back", language), f"{P}:back")]])


async def life_cycle(
    rt: Runtime, update: Update, member: Member, action: str, grant_id: int
) -> None:
    """Publish, close or cancel (after its confirmation)."""
    language, now = member.language, utcnow()
    try:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=grant_id, lock=True)
            if call is None:
                return
            if action == "pub":
                audience, reached = await publish_and_announce(rt, session, call, member, now)
                note = t("grants.published", language, code=call.code, audience=audience,
                         reached=reached)  # fmt: skip
            elif action == "closey":
                await mark_closed(session=session, call=call, actor=member, now=now)
                note = t("grants.closed", language, code=call.code)
            else:
                told, sessions = await cancel_and_notify(rt, session, call, member, now)
                note = t("grants.cancelled", language, code=call.code, told=told)
                if sessions:
                    note += "\n" + t("grants.cancelled_sessions", language, count=sessions)
    except (GrantInputError, GrantStateError) as exc:
        note = error_text(exc, language, rt.settings.tz)
    rt.delivery.wake()
    await show_admin(rt, update, grant_id, language, note=note)


async def ask_confirm(
    rt: Runtime, update: Update, member: Member, action: str, grant_id: int
) -> None:
    language = member.language
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        if call is None:
            return
        counts = await stage_counts(session=session, grant_id=grant_id)
    active = sum(n for stage, n in counts.items() if stage in ACTIVE)
    if action == "close":
        text = t("grants.confirm_close", language, code=call.code, active=active)
        yes = Button(t("grants.btn_close_call", language), f"{P}:closey:{grant_id}")
    else:
        text = t("grants.confirm_cancel", language, code=call.code, active=active)
        yes = Button(t("grants.btn_cancel_call", language), f"{P}:cancely:{grant_id}")
    await _confirm(update, text, yes, language)
