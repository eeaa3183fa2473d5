"""Grant calls by SMS: `GRANTS` lists the open calls with codes and deadlines, `G3` gives one
call's details, `GRANT G3` registers interest, `G3 NO` / `GRANT G3 NO` withdraws.

Registering is a Dialog (flow `grant_interest`, shared with Telegram): the applicant type by
number, the idea title (0 = not decided yet), the village (0 = the one in the profile). HELP
repeats the question; 0 at the first question cancels. A step left unanswered for a day is
dropped, and a message that is plainly another command (`YES E12`, `P7 2`, `GRANTS`) ends the
step and is handled as that command — nothing the villager types is lost.
"""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from bot.sms.grammar import clean, token_variants
from handlers.grants_render import amount, days_left, error_text, short
from models.base import utcnow
from models.dialogs import advance_dialog, end_dialog, start_dialog
from models.grants import (
    GrantCall,
    GrantInputError,
    GrantStateError,
    GrantStatus,
    get_call,
    grant_id_from_code,
    open_calls,
)
from models.grants_applicants import Stage, applicant_of, register_interest, withdraw
from models.grants_labels import phase_label, stage_label, type_label

ORDER = 60
FLOW = "grant_interest"
STALE_AFTER = timedelta(hours=24)
GRANTS_WORDS = ["გრანტები", "grantebi", "гранты", "granty", "qrantlar"]
GRANT_WORDS = ["გრანტი", "granti", "грант", "qrant"]
WITHDRAW_WORDS = frozenset(
    {"withdraw", "no", "cancel", "stop", "უარი", "uari", "არა", "ara", "нет", "net", "отказ",
     "otkaz", "yox", "imtina", "ləğv", "legv"}
)  # fmt: skip
MAX_LISTED = 5


def is_withdraw(word: str) -> bool:
    return bool(token_variants(word) & WITHDRAW_WORDS)


def call_line(call: GrantCall, request: SmsRequest) -> str:
    language, tz, now = request.language, request.rt.settings.tz, utcnow()
    found = call.next_deadline(now)
    if found is None:
        return f"{call.code} {call.title_in(language)}"
    name, moment = found
    return request.t(
        "grants.sms_list_line",
        code=call.code,
        title=call.title_in(language),
        phase=phase_label(name, language),
        when=short(moment, language, tz),
        left=days_left(moment, now, language, tz),
    )


async def list_open(request: SmsRequest) -> None:
    """GRANTS: the open calls, their codes and next deadlines."""
    calls = await open_calls(session=request.session, now=utcnow())
    if not calls:
        await request.reply(request.t("grants.sms_none_open"))
        return
    lines = [request.t("grants.sms_list_head")]
    lines += [call_line(call, request) for call in calls[:MAX_LISTED]]
    if len(calls) > MAX_LISTED:
        lines.append(request.t("grants.sms_list_more", count=len(calls) - MAX_LISTED))
    lines.append(request.t("grants.sms_list_hint", code=calls[0].code))
    await request.reply("\n".join(lines))


async def _call_for(request: SmsRequest, raw: str) -> GrantCall | None:
    grant_id = grant_id_from_code(raw)
    call = await get_call(session=request.session, grant_id=grant_id) if grant_id else None
    if call is None or call.status == GrantStatus.DRAFT:
        await request.reply(request.t("grants.unknown_code", code=raw.upper()))
        return None
    return call


async def details(request: SmsRequest, call: GrantCall) -> None:
    """G3: what the call funds, the deadlines, my stage, and what to type."""
    language, tz, now = request.language, request.rt.settings.tz, utcnow()
    lines = [
        request.t(
            "grants.sms_details",
            code=call.code,
            title=call.title_in(language),
            low=amount(call.min_amount),
            high=amount(call.max_amount),
            pct=call.cofinancing_pct,
            idea=short(call.idea_deadline, language, tz),
            full=short(call.full_deadline, language, tz),
        )
    ]
    if call.status == GrantStatus.CANCELLED:
        lines.append(request.t("grants.err_is_cancelled", code=call.code))
    elif call.status == GrantStatus.CLOSED:
        lines.append(request.t("grants.err_is_closed", code=call.code))
    mine = None
    if request.member is not None and request.member.id is not None and call.id is not None:
        mine = await applicant_of(
            session=request.session, grant_id=call.id, member_id=request.member.id
        )
    if mine is not None and mine.stage != Stage.WITHDRAWN:
        lines.append(request.t("grants.sms_your_stage", stage=stage_label(mine.stage, language),
                               code=call.code))  # fmt: skip
    elif call.accepts_interest(now):
        lines.append(request.t("grants.sms_how_register", code=call.code,
                               left=days_left(call.idea_deadline, now, language, tz)))  # fmt: skip
    await request.reply("\n".join(lines))


def type_question(request: SmsRequest, types: list[str], code: str) -> str:
    lines = [request.t("grants.sms_ask_type", code=code)]
    lines += [f"{n} {type_label(kind, request.language)}" for n, kind in enumerate(types, 1)]
    lines.append(request.t("grants.sms_cancel_hint"))
    return "\n".join(lines)


def question(request: SmsRequest) -> str:
    dialog = request.dialog
    assert dialog is not None
    if dialog.step == "type":
        return type_question(request, list(dialog.data["types"]), str(dialog.data["code"]))
    if dialog.step == "title":
        return request.t("grants.sms_ask_idea")
    village = request.member.village if request.member else None
    if village:
        return request.t("grants.sms_ask_village_known", village=village)
    return request.t("grants.sms_ask_village")


async def start_interest(request: SmsRequest, call: GrantCall) -> None:
    member, now = request.member, utcnow()
    if member is None:
        await request.reply(request.t("grants.sms_not_registered"))
        return
    assert member.id is not None and call.id is not None
    if not call.accepts_interest(now):
        key = "grants.err_interest_closed" if call.status == GrantStatus.PUBLISHED else None
        exc = GrantStateError(key or "grants.err_not_open", code=call.code,
                              when=call.idea_deadline)  # fmt: skip
        await request.reply(error_text(exc, request.language, request.rt.settings.tz))
        return
    mine = await applicant_of(session=request.session, grant_id=call.id, member_id=member.id)
    if mine is not None and mine.stage not in (Stage.INTERESTED, Stage.WITHDRAWN):
        await request.reply(request.t("grants.sms_your_stage", code=call.code,
                                      stage=stage_label(mine.stage, request.language)))  # fmt: skip
        return
    request.dialog = await start_dialog(
        session=request.session, channel="sms", address=request.phone, flow=FLOW, step="type",
        member_id=member.id,
        data={"grant_id": call.id, "code": call.code, "types": call.applicant_types},
    )  # fmt: skip
    await request.reply(question(request))


async def _withdraw(request: SmsRequest, call: GrantCall) -> None:
    member = request.member
    if member is None or member.id is None or call.id is None:
        await request.reply(request.t("grants.sms_not_registered"))
        return
    mine = await applicant_of(session=request.session, grant_id=call.id, member_id=member.id)
    try:
        if mine is None:
            raise GrantStateError("grants.err_not_applied", code=call.code)
        await withdraw(session=request.session, call=call, applicant=mine, member=member,
                       now=utcnow())  # fmt: skip
    except GrantStateError as exc:
        await request.reply(error_text(exc, request.language, request.rt.settings.tz))
        return
    await request.reply(request.t("grants.withdrawn", code=call.code,
                                  title=call.title_in(request.language)))  # fmt: skip


async def on_grant(request: SmsRequest) -> None:
    """GRANT G3 (register), GRANT G3 NO (withdraw), GRANT alone (the one open call, or a list)."""
    if request.code is not None:
        call = await _call_for(request, request.code)
        if call is None:
            return
        if request.args and is_withdraw(request.args[0]):
            await _withdraw(request, call)
        else:
            await start_interest(request, call)
        return
    accepting = [c for c in await open_calls(session=request.session, now=utcnow())
                 if c.accepts_interest(utcnow())]  # fmt: skip
    if len(accepting) == 1 and request.member is not None:
        await start_interest(request, accepting[0])
        return
    await list_open(request)


async def on_code(request: SmsRequest) -> None:
    """G3 (details), G3 NO (withdraw), G3 GRANT (register)."""
    assert request.code is not None
    call = await _call_for(request, request.code)
    if call is None:
        return
    word = request.args[0] if request.args else None
    if word is not None and is_withdraw(word):
        await _withdraw(request, call)
    elif word is not None and (keyword := request.rt.sms_router.match_keyword(word)) is not None:
        if keyword.name == "grant":
            await start_interest(request, call)
        else:
            await details(request, call)
    else:
        await details(request, call)


def _is_other_command(request: SmsRequest, text: str) -> bool:
    # A lone YES / NO is an answer (the step's), not another command: see SmsRouter.is_command.
    return request.rt.sms_router.is_command(text)


async def on_step(request: SmsRequest) -> None:
    """An answer to the intent question this phone is at."""
    dialog = request.dialog
    assert dialog is not None
    text = clean(request.text)
    stale = utcnow() - dialog.updated_at > STALE_AFTER
    numeric = text.isdigit()
    if stale or (not numeric and _is_other_command(request, text)):
        await request.leave_step()
        return
    member = request.member
    if member is None:
        await end_dialog(session=request.session, channel="sms", address=request.phone)
        await request.reply(request.t("grants.sms_not_registered"))
        return
    if dialog.step == "type":
        types = list(dialog.data["types"])
        if text == "0":
            await end_dialog(session=request.session, channel="sms", address=request.phone)
            await request.reply(request.t("grants.interest_stopped"))
            return
        if not numeric or not 1 <= int(text) <= len(types):
            await request.reply(request.t("grants.sms_bad_number", high=len(types)) + "\n"
                                + question(request))  # fmt: skip
            return
        request.dialog = await advance_dialog(
            session=request.session, dialog=dialog, step="title", type=types[int(text) - 1]
        )
        await request.reply(question(request))
        return
    if dialog.step == "title":
        idea = "" if text == "0" else text
        if len(idea) > 200:
            await request.reply(request.t("grants.err_too_long", limit=200))
            return
        request.dialog = await advance_dialog(
            session=request.session, dialog=dialog, step="village", idea=idea
        )
        await request.reply(question(request))
        return
    village = member.village if text == "0" and member.village else text
    await _register(request, village)


async def _register(request: SmsRequest, village: str) -> None:
    dialog, member, now = request.dialog, request.member, utcnow()
    assert dialog is not None and member is not None
    settings = request.rt.settings
    call = await get_call(session=request.session, grant_id=int(dialog.data["grant_id"]))
    try:
        if call is None:
            raise GrantStateError("grants.err_not_open", code="", when=now)
        async with request.session.begin_nested():
            outcome = await register_interest(
                session=request.session, call=call, member=member,
                applicant_type=str(dialog.data["type"]),
                idea_title=str(dialog.data.get("idea", "")), village=village, channel="sms",
                now=now, youth_ages=(settings.youth_min_age, settings.youth_max_age),
            )  # fmt: skip
    except GrantInputError as exc:
        error = error_text(exc, request.language, settings.tz)
        await request.reply(error + "\n" + question(request))
        return
    except GrantStateError as exc:
        await end_dialog(session=request.session, channel="sms", address=request.phone)
        await request.reply(error_text(exc, request.language, settings.tz))
        return
    await end_dialog(session=request.session, channel="sms", address=request.phone)
    key = (
        "grants.sms_interest_saved"
        if outcome.created or outcome.restored
        else ("grants.sms_interest_updated")
    )
    deadline = short(call.idea_deadline, request.language, settings.tz)
    await request.reply(request.t(key, code=call.code, when=deadline))


async def explain(request: SmsRequest) -> str:
    """HELP in the middle of registering interest: the question again, and how to leave."""
    return request.t("grants.sms_help_step") + "\n" + question(request)


def setup(rt: Runtime) -> None:
    rt.sms_router.keyword("grants", GRANTS_WORDS, list_open)
    rt.sms_router.keyword("grant", GRANT_WORDS, on_grant)
    rt.sms_router.code_prefix("g", on_code)
    rt.sms_router.step(FLOW, on_step)
    rt.hooks[f"sms_help.{FLOW}"] = explain
    rt.sms_help_keys.append("grants.sms_help")
    rt.sms_help_details["grants"] = "grants.sms_help_grants"
    rt.sms_help_details["code:g"] = "grants.sms_help_grants"
    rt.sms_help_details["grant"] = "grants.sms_help_grant"
