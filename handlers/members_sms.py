"""SMS side of /profile: `PROFILE` (`ჩემი`, `профиль`, …) lets an SMS-only member change their
language, SMS letters, community, village and name — one question per SMS, answered by number
or word, validated and audited by the same `models.profile.change_field` as Telegram.

Flow `profile_sms` (a Dialog row, so a restart loses nothing)::

    PROFILE → menu --1..n--> <field> --valid answer--> menu (saved, in the new language/letters)
                 \\--0 / a keyword / a day later--> ended (a keyword is then handled as itself)

Every message fits in two SMS parts in the member's script; a list that does not (the 15
communities in Georgian letters) is sent in pages like registration's (`0` = more).
"""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import t
from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from bot.sms.grammar import clean, parse_code
from bot.sms.translit import LATIN_SMS_LANGUAGES
from handlers._members_common import notify_secretariat
from handlers.registration_sms import MAX_PARTS, parts, sms_pages
from models.base import utcnow
from models.communities import Community, list_communities
from models.dialogs import advance_dialog, end_dialog, start_dialog
from models.member_fields import Choice, FieldError, community_choices
from models.members import Member, MemberStatus
from models.profile import change_field, language_choices, refusal_notices, script_choices
from models.profile_text import sms_profile_line
from models.registration_prompts import Prompt, field_label, village_name

ORDER = 13
FLOW = "profile_sms"
STALE_AFTER = timedelta(hours=24)
PROFILE_WORDS = [
    "პროფილი", "profili", "ჩემი", "chemi", "профиль", "profil", "анкета", "anketa",
]  # fmt: skip
# What SMS can change; Latin letters only where they make SMS cheaper (ka, az).
FIELDS = ("name", "language", "sms_script", "community", "village")
ASK = {
    "name": "registration.sms_ask_name",
    "language": "registration.sms_language",
    "sms_script": "registration.sms_script",
    "community": "registration.sms_ask_community",
    "village": "members.sms_ask_village",
}


def menu_fields(member: Member) -> list[str]:
    return [f for f in FIELDS if f != "sms_script" or member.language in LATIN_SMS_LANGUAGES]


def label(name: str, language: str) -> str:
    """A field's name, short enough for the SMS menu."""
    if name == "sms_script":
        return t("members.sms_field_script", language)
    return field_label(name, language)


async def menu_text(request: SmsRequest, member: Member, head: str | None = None) -> str:
    """What is stored now and the numbered list of what can be changed."""
    language = member.language
    options = [f"{n} {label(f, language)}" for n, f in enumerate(menu_fields(member), 1)]
    current = await sms_profile_line(session=request.session, member=member)
    menu = [t("members.sms_profile_menu", language), *options]
    menu.append(t("members.sms_profile_done_hint", language))
    heads = [head] if head else []
    # What is stored now goes first, unless it would make a third SMS part (long names).
    for lines in ([*heads, current, *menu], [*heads, *menu]):
        text = "\n".join(lines)
        if parts(text, member.sms_script) <= MAX_PARTS:
            break
    return text


async def _choices(request: SmsRequest, member: Member, name: str) -> list[Choice]:
    language = member.language
    if name == "language":
        return language_choices()
    if name == "sms_script":
        return script_choices(language)
    if name == "community":
        return community_choices(await list_communities(session=request.session), language)
    if name == "village":
        community = (
            await request.session.get(Community, member.community_id)
            if member.community_id
            else None
        )
        villages = community.village_list if community else []
        return [Choice(f"v{i}", village_name(v, language)) for i, v in enumerate(villages)]
    return []


async def _ask(
    request: SmsRequest,
    member: Member,
    name: str,
    *,
    error: FieldError | None = None,
    page: int = 0,
) -> None:
    choices = await _choices(request, member, name)
    prompt = Prompt(name, ASK[name], choices=choices, error=error)
    pages = sms_pages(prompt, member.language, member.sms_script)
    page = page % len(pages)
    if request.dialog is not None:
        await advance_dialog(session=request.session, dialog=request.dialog, step=name, page=page)
    await request.reply(pages[page])


def _profile_member(request: SmsRequest) -> Member | None:
    member = request.member
    if member is None or member.status == MemberStatus.ERASED:
        return None
    return member


async def profile(request: SmsRequest) -> None:
    """PROFILE: what is stored and what can be changed by SMS."""
    member = _profile_member(request)
    if member is None:
        await request.reply(request.t("members.sms_not_member"))
        return
    request.dialog = await start_dialog(
        session=request.session,
        channel="sms",
        address=request.phone,
        flow=FLOW,
        step="menu",
        member_id=member.id,
    )
    await request.reply(await menu_text(request, member))


def _is_other_command(request: SmsRequest, text: str) -> bool:
    words = text.split()
    if not words:
        return False
    code = parse_code(words[0])
    if code is not None and code[0] in request.rt.sms_router.code_handlers:
        return True
    keyword = request.rt.sms_router.match_keyword(words[0])
    return keyword is not None and keyword.name != "profile"


async def on_step(request: SmsRequest) -> None:
    """An answer to the menu or to the field being changed."""
    dialog = request.dialog
    assert dialog is not None
    text = clean(request.text)
    member = _profile_member(request)
    stale = utcnow() - dialog.updated_at > STALE_AFTER
    if member is None or stale or _is_other_command(request, text):
        await request.leave_step()
        return
    keyword = request.rt.sms_router.match_keyword(text.split()[0]) if text else None
    if keyword is not None and keyword.name == "profile":  # PROFILE again: the menu again
        await profile(request)
        return
    if dialog.step == "menu":
        await _on_menu(request, member, text)
        return
    name = dialog.step
    choices = await _choices(request, member, name)
    if text == "0" and choices:  # the next page of a long list
        page = dialog.data.get("page")
        await _ask(request, member, name, page=(page if isinstance(page, int) else 0) + 1)
        return
    await _change(request, member, name, text)


async def _on_menu(request: SmsRequest, member: Member, text: str) -> None:
    options = menu_fields(member)
    if text == "0":
        await end_dialog(session=request.session, channel="sms", address=request.phone)
        await request.reply(request.t("members.sms_profile_closed"))
        return
    if not (text.isdigit() and text.isascii() and 1 <= int(text) <= len(options)):
        error = request.t("registration.err_choice", count=len(options))
        await request.reply(await menu_text(request, member, head=error))
        return
    await _ask(request, member, options[int(text) - 1])


async def _change(request: SmsRequest, member: Member, name: str, text: str) -> None:
    rt, session = request.rt, request.session
    try:
        result = await change_field(
            session=session,
            settings=rt.settings,
            member=member,
            name=name,
            now=utcnow(),
            text=text,
            channel="sms",
        )
    except FieldError as error:
        for notice in refusal_notices(error):
            await notify_secretariat(rt, session, notice.key, notice.values)
        await _ask(request, member, name, error=error)
        return
    if result.note == "members.village_cleared":  # a new community: its village next
        await _ask(request, member, "village", error=FieldError("members.sms_village_cleared"))
        return
    dialog = request.dialog
    assert dialog is not None
    await advance_dialog(session=session, dialog=dialog, step="menu", page=0)
    # Answered in the language and letters just chosen (request.member is this row).
    head = t("members.sms_profile_saved", member.language, field=label(name, member.language))
    await request.reply(await menu_text(request, member, head=head))


async def explain(request: SmsRequest) -> str:
    """HELP while changing the profile."""
    return request.t("members.sms_help_profile")


def setup(rt: Runtime) -> None:
    rt.sms_router.keyword("profile", PROFILE_WORDS, profile)
    rt.sms_router.step(FLOW, on_step)
    rt.hooks[f"sms_help.{FLOW}"] = explain
    rt.sms_help_details["profile"] = "members.sms_help_profile_detail"
