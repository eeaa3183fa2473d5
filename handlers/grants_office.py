"""The secretariat's side of paper applications and awarded amounts (models.grants_office).

"➕ Paper application" under /applicants G3 (a Dialog, flow `grant_office`): find the person
by name or phone (a button each) or "New person" (name → phone or "No phone" → community →
language), then the applicant type (the call's types) → the idea title → saved as channel
"office". The applicant card follows, with the stages as for everyone.

Recording "funded" asks the awarded amount (flow `grant_award`): the grant in GEL, then the
applicant's co-financing in GEL (or none); saved with a warning when outside the call's range
or below its co-financing share. "💰 Awarded amount" on a funded applicant's card changes it.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, t
from bot.outbound import Button
from bot.runtime import Runtime, runtime_of
from handlers.core import to_inbox
from handlers.grants_applicants import applicant_view
from handlers.grants_forms import admin_member, chat_send
from handlers.grants_render import error_text
from models.base import utcnow
from models.communities import Community, list_communities
from models.dialogs import Dialog, advance_dialog, end_dialog, get_dialog, start_dialog
from models.grants import GrantInputError, GrantStateError, get_call
from models.grants_applicants import Stage, get_applicant
from models.grants_input import check_idea_title
from models.grants_labels import type_label
from models.grants_office import (
    check_name,
    check_phone,
    home_village,
    office_person,
    parse_gel,
    record_award,
    register_office,
)
from models.grants_reports import gel
from models.members import Member, MemberStatus
from models.membership import find_members

ORDER = 61
P = "gro"
FLOW = "grant_office"
AWARD_FLOW = "grant_award"
STALE_AFTER = timedelta(hours=24)
MATCHES = 8


def _stop(language: str) -> list[Button]:
    return [Button(t("grants.btn_stop", language), f"{P}:x")]


async def _dialog(rt: Runtime, update: Update, flow: str) -> Dialog | None:
    chat = update.effective_chat
    assert chat is not None
    async with rt.db.session() as session:
        dialog = await get_dialog(session=session, channel="telegram", address=str(chat.id))
    return dialog if dialog is not None and dialog.flow == flow else None


async def _advance(rt: Runtime, dialog: Dialog, step: str, **values: object) -> Dialog:
    async with rt.db.session() as session:
        return await advance_dialog(session=session, dialog=dialog, step=step, **values)


async def _end(rt: Runtime, dialog: Dialog) -> None:
    async with rt.db.session() as session:
        await end_dialog(session=session, channel="telegram", address=dialog.address)


# -- a paper application ----------------------------------------------------------------------


async def ask(rt: Runtime, update: Update, dialog: Dialog, language: str, note: str = "") -> None:
    step, data = dialog.step, dialog.data
    head = f"{note}\n\n" if note else ""
    rows: list[list[Button]] = []
    if step == "who":
        text = t("grants.office_ask_who", language, code=data.get("code", ""))
        rows = [[Button(t("grants.btn_office_new", language), f"{P}:new")]]
    elif step == "name":
        text = t("grants.office_ask_name", language)
    elif step == "phone":
        text = t("grants.office_ask_phone", language)
        rows = [[Button(t("grants.btn_office_no_phone", language), f"{P}:np")]]
    elif step == "community":
        text = t("grants.office_ask_community", language)
        async with rt.db.session() as session:
            communities = await list_communities(session=session)
        rows = [[Button(c.name(language), f"{P}:c:{c.id}")] for c in communities]
    elif step == "language":
        text = t("grants.office_ask_language", language)
        rows = [[Button(LANGUAGE_NAMES[code], f"{P}:l:{code}") for code in LANGUAGES]]
    elif step == "type":
        text = t("grants.office_ask_type", language, who=data.get("who", ""))
        rows = [[Button(type_label(code, language), f"{P}:t:{code}")]
                for code in data.get("types", [])]  # fmt: skip
    else:
        text = t("grants.office_ask_idea", language)
    await chat_send(update, head + text, [*rows, _stop(language)])


async def start_office(rt: Runtime, update: Update, member: Member, grant_id: int) -> None:
    language, now = member.language, utcnow()
    chat = update.effective_chat
    assert chat is not None
    async with rt.db.session() as session:
        call = await get_call(session=session, grant_id=grant_id)
        if call is None or not call.accepts_interest(now):
            key = "grants.err_interest_closed" if call is not None else "grants.err_not_open"
            exc = GrantStateError(key, code=call.code if call else f"G{grant_id}",
                                  when=call.idea_deadline if call else now)  # fmt: skip
            problem = error_text(exc, language, rt.settings.tz)
        else:
            problem = ""
            dialog = await start_dialog(
                session=session, channel="telegram", address=str(chat.id), flow=FLOW,
                step="who", member_id=member.id,
                data={"grant_id": grant_id, "code": call.code, "types": call.applicant_types},
            )  # fmt: skip
    if problem:
        await chat_send(update, problem, [])
        return
    await ask(rt, update, dialog, language)


async def _search(rt: Runtime, update: Update, dialog: Dialog, language: str, text: str) -> None:
    async with rt.db.session() as session:
        found = [
            m for m in await find_members(session=session, who=text)
            if m.status == MemberStatus.ACTIVE and not m.is_simulated
        ]  # fmt: skip
    rows = [
        [Button(f"#{m.id} {m.name or '—'}" + (f" · {m.village}" if m.village else ""),
                f"{P}:m:{m.id}")]
        for m in found[:MATCHES]
    ]  # fmt: skip
    key = "grants.office_found" if found else "grants.office_none_found"
    rows.append([Button(t("grants.btn_office_new", language), f"{P}:new")])
    await chat_send(update, t(key, language, text=text), [*rows, _stop(language)])


async def _save(rt: Runtime, update: Update, actor: Member, dialog: Dialog, idea: str) -> None:
    """The last answer: create the person if new, then register the paper application."""
    language, now, data = actor.language, utcnow(), dialog.data
    try:
        async with rt.db.session() as session:
            call = await get_call(session=session, grant_id=int(data["grant_id"]), lock=True)
            community = (
                await session.get(Community, int(data["community_id"]))
                if data.get("community_id")
                else None
            )
            if call is None:
                raise GrantStateError("grants.err_not_open", code=str(data.get("code", "")))
            if data.get("member_id"):
                person = await session.get(Member, int(data["member_id"]))
                if person is None:
                    raise GrantStateError("grants.err_not_member")
            else:
                assert community is not None
                person = await office_person(
                    session=session, name=str(data["name"]), phone=data.get("phone") or None,
                    community=community, language=str(data.get("language", "ka")), actor=actor,
                    now=now,
                )  # fmt: skip
            village = await home_village(session=session, member=person, community=community)
            outcome = await register_office(
                session=session, call=call, member=person, applicant_type=str(data["type"]),
                idea_title=idea, village=village, actor=actor, now=now,
                youth_ages=(rt.settings.youth_min_age, rt.settings.youth_max_age),
                community_id=community.id if community else None,
            )  # fmt: skip
            await end_dialog(session=session, channel="telegram", address=dialog.address)
    except GrantInputError as exc:  # a name or phone problem: back to the person
        step = "community" if exc.key == "grants.err_village" else dialog.step
        dialog = await _advance(rt, dialog, step)
        await ask(rt, update, dialog, language, note=error_text(exc, language, rt.settings.tz))
        return
    except GrantStateError as exc:
        await _end(rt, dialog)
        await chat_send(update, error_text(exc, language, rt.settings.tz), [])
        return
    assert outcome.applicant.id is not None
    note = t("grants.office_saved", language, who=f"#{outcome.applicant.id} {person.name}",
             code=call.code)  # fmt: skip
    text, rows = await applicant_view(rt, outcome.applicant.id, language)
    await chat_send(update, f"{note}\n\n{text}", rows)


async def _office_text(rt: Runtime, update: Update, actor: Member, dialog: Dialog) -> None:
    message = update.effective_message
    assert message is not None
    text, language = message.text or "", actor.language
    try:
        if dialog.step == "who":
            await _search(rt, update, dialog, language, text)
            return
        if dialog.step == "name":
            name = check_name(text)
            dialog = await _advance(rt, dialog, "phone", name=name, who=name)
        elif dialog.step == "phone":
            async with rt.db.session() as session:
                phone = await check_phone(session=session, text=text)
            dialog = await _advance(rt, dialog, "community", phone=phone)
        elif dialog.step == "idea":
            idea = check_idea_title(text)
            if not idea:
                raise GrantInputError("grants.err_office_idea")
            await _save(rt, update, actor, dialog, idea)
            return
        else:
            raise GrantInputError("grants.use_buttons")
    except GrantInputError as exc:
        await ask(rt, update, dialog, language, note=error_text(exc, language, rt.settings.tz))
        return
    await ask(rt, update, dialog, language)


async def _office_button(
    rt: Runtime, update: Update, actor: Member, dialog: Dialog, action: str, arg: str
) -> None:
    language = actor.language
    if action == "new" and dialog.step == "who":
        dialog = await _advance(rt, dialog, "name")
    elif action == "m" and dialog.step == "who" and arg.isdigit():
        async with rt.db.session() as session:
            person = await session.get(Member, int(arg))
        if person is None or not person.is_active or person.is_simulated:
            await chat_send(update, t("grants.step_over", language), [])
            return
        step = "type" if person.village or person.community_id else "community"
        dialog = await _advance(rt, dialog, step, member_id=person.id,
                                who=f"#{person.id} {person.name or '—'}")  # fmt: skip
    elif action == "np" and dialog.step == "phone":
        dialog = await _advance(rt, dialog, "community", phone="")
    elif action == "c" and dialog.step == "community" and arg.isdigit():
        step = "type" if dialog.data.get("member_id") else "language"
        dialog = await _advance(rt, dialog, step, community_id=int(arg))
    elif action == "l" and dialog.step == "language" and arg in LANGUAGES:
        dialog = await _advance(rt, dialog, "type", language=arg)
    elif action == "t" and dialog.step == "type" and arg in dialog.data.get("types", []):
        dialog = await _advance(rt, dialog, "idea", type=arg)
    await ask(rt, update, dialog, language)


# -- the awarded amount ---------------------------------------------------------------------------


async def ask_award(
    rt: Runtime, update: Update, dialog: Dialog, language: str, note: str = ""
) -> None:
    data = dialog.data
    head = f"{note}\n\n" if note else ""
    if dialog.step == "amount":
        text = t("grants.award_ask_amount", language, who=data.get("who", ""),
                 low=gel(int(data["min"])), high=gel(int(data["max"])))  # fmt: skip
        rows: list[list[Button]] = []
    else:
        text = t("grants.award_ask_cofinancing", language, pct=data.get("pct", 0))
        rows = [[Button(t("grants.btn_award_no_cofinancing", language), f"{P}:nc")]]
    rows.append([Button(t("grants.btn_award_later", language), f"{P}:x")])
    await chat_send(update, head + text, rows)


async def start_award(rt: Runtime, update: Update, member: Member, applicant_id: int) -> None:
    """Ask a funded applicant's awarded amount (after "funded" is recorded, or from the card)."""
    language = member.language
    chat = update.effective_chat
    assert chat is not None
    async with rt.db.session() as session:
        applicant = await get_applicant(session=session, applicant_id=applicant_id)
        call = await get_call(session=session, grant_id=applicant.grant_id) if applicant else None
        person = await session.get(Member, applicant.member_id) if applicant else None
        if applicant is None or call is None or person is None or applicant.stage != Stage.FUNDED:
            dialog = None
        else:
            dialog = await start_dialog(
                session=session, channel="telegram", address=str(chat.id), flow=AWARD_FLOW,
                step="amount", member_id=member.id,
                data={"applicant_id": applicant_id, "who": f"#{applicant.id} {person.name or '—'}",
                      "min": call.min_amount, "max": call.max_amount,
                      "pct": call.cofinancing_pct},
            )  # fmt: skip
    if dialog is None:
        await chat_send(update, t("grants.err_award_not_funded", language), [])
        return
    await ask_award(rt, update, dialog, language)


async def _save_award(
    rt: Runtime, update: Update, actor: Member, dialog: Dialog, cofinancing: int
) -> None:
    language, now = actor.language, utcnow()
    applicant_id, amount = int(dialog.data["applicant_id"]), int(dialog.data["amount"])
    try:
        async with rt.db.session() as session:
            applicant = await get_applicant(session=session, applicant_id=applicant_id)
            call = (
                await get_call(session=session, grant_id=applicant.grant_id, lock=True)
                if applicant
                else None
            )
            if applicant is None or call is None:
                raise GrantStateError("grants.err_award_not_funded")
            warnings = await record_award(
                session=session, call=call, applicant=applicant, amount=amount,
                cofinancing=cofinancing, actor=actor, now=now,
            )  # fmt: skip
            await end_dialog(session=session, channel="telegram", address=dialog.address)
    except (GrantStateError, GrantInputError) as exc:
        await _end(rt, dialog)
        await chat_send(update, error_text(exc, language, rt.settings.tz), [])
        return
    lines = [t("grants.award_saved", language, amount=gel(amount), cofinancing=gel(cofinancing),
               share=warnings.share)]  # fmt: skip
    lines += [
        "⚠️ " + t(key, language, low=gel(call.min_amount), high=gel(call.max_amount),
                  pct=call.cofinancing_pct, share=warnings.share)
        for key in warnings.keys
    ]  # fmt: skip
    text, rows = await applicant_view(rt, applicant_id, language)
    await chat_send(update, "\n".join(lines) + "\n\n" + text, rows)


async def _award_text(rt: Runtime, update: Update, actor: Member, dialog: Dialog) -> None:
    message = update.effective_message
    assert message is not None
    language = actor.language
    try:
        value = parse_gel(message.text or "", allow_zero=dialog.step == "cofinancing")
    except GrantInputError as exc:
        await ask_award(
            rt, update, dialog, language, note=error_text(exc, language, rt.settings.tz)
        )
        return
    if dialog.step == "amount":
        dialog = await _advance(rt, dialog, "cofinancing", amount=value)
        await ask_award(rt, update, dialog, language)
        return
    await _save_award(rt, update, actor, dialog, value)


# -- Telegram wiring ------------------------------------------------------------------------------


async def on_step(update: Update, context: ContextTypes.DEFAULT_TYPE, dialog: Dialog) -> None:
    rt = runtime_of(context)
    actor = await admin_member(rt, update)
    if actor is None:
        return
    if utcnow() - dialog.updated_at > STALE_AFTER:
        await _end(rt, dialog)
        await to_inbox(rt, update)
        return
    if dialog.flow == AWARD_FLOW:
        await _award_text(rt, update, actor, dialog)
    else:
        await _office_text(rt, update, actor, dialog)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """gro:n:<grant> (start), gro:aw:<applicant> (the amount), and the steps' buttons."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = await admin_member(rt, update)
    if actor is None:
        return
    await query.answer()
    parts = [*query.data.split(":"), ""]
    action, arg, language = parts[1], parts[2], actor.language
    if action == "n" and arg.isdigit():
        await start_office(rt, update, actor, int(arg))
        return
    if action == "aw" and arg.isdigit():
        await start_award(rt, update, actor, int(arg))
        return
    office = await _dialog(rt, update, FLOW)
    award = None if office else await _dialog(rt, update, AWARD_FLOW)
    if action == "x" and (office or award):
        await _end(rt, office or award)  # type: ignore[arg-type]
        key = "grants.award_later" if award else "grants.office_stopped"
        await chat_send(update, t(key, language), [])
    elif award is not None and action == "nc" and award.step == "cofinancing":
        await _save_award(rt, update, actor, award, 0)
    elif office is not None:
        await _office_button(rt, update, actor, office, action, arg)
    else:
        await chat_send(update, t("grants.step_over", language), [])


def setup(rt: Runtime) -> None:
    rt.telegram_step(FLOW, on_step)
    rt.telegram_step(AWARD_FLOW, on_step)
    rt.add_telegram_handler(CallbackQueryHandler(on_button, pattern=rf"^{P}:"))
