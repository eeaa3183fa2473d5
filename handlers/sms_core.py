"""The SMS basics every capability relies on: STOP / START, HELP, and the fallback hint."""

from __future__ import annotations

from bot.i18n import t
from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from bot.sms.encoding import sms_info
from bot.sms.translit import to_latin_sms
from models.audit import record_audit
from models.base import utcnow
from models.dialogs import end_dialog
from models.members import SmsScript, record_consent

ORDER = 0
HELP_PARTS = 2  # SMS cost money: HELP never takes more than two parts

# Whole-message words only, as carriers and Twilio treat them (`CANCEL E12` is not one).
OPTOUT_WORDS = [
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit",
    "სტოპ", "stopi", "შეწყვეტა", "стоп", "отписаться", "dayan", "dayandır",
]  # fmt: skip
OPTIN_WORDS = ["start", "unstop", "სტარტ", "starti", "старт", "başla"]
HELP_WORDS = [
    "help", "info", "დახმარება", "daxmareba", "dakhmareba",
    "помощь", "pomosh", "kömək", "komek", "?",
]  # fmt: skip


async def opt_out(request: SmsRequest) -> None:
    """STOP: no more SMS announcements, at once, and a record of the withdrawal."""
    member = request.member
    if member is not None:
        member.sms_opt_out_at = utcnow()
        request.session.add(member)
        await record_consent(
            session=request.session,
            member=member,
            kind="announcements_sms",
            given=False,
            channel="sms",
            text_version=request.rt.settings.consent_text_version,
        )
        await record_audit(
            session=request.session,
            action="optout.sms",
            actor_member_id=member.id,
            actor_label="sms",
            target=f"member:{member.id}",
        )
    await end_dialog(session=request.session, channel="sms", address=request.phone)
    await request.reply(request.t("sms.stopped"))


async def opt_in(request: SmsRequest) -> None:
    """START: SMS announcements again."""
    member = request.member
    if member is None:
        await request.reply(request.t("sms.start_unknown"))
        return
    member.sms_opt_out_at = None
    request.session.add(member)
    await record_consent(
        session=request.session,
        member=member,
        kind="announcements_sms",
        given=True,
        channel="sms",
        text_version=request.rt.settings.consent_text_version,
    )
    await request.reply(request.t("sms.started"))


async def help_(request: SmsRequest) -> None:
    """HELP: one keyword's explanation (`HELP GRANT`), the step being answered, or the list."""
    if request.args:
        topic = request.rt.sms_router.help_topic(request.args[0])
        key = request.rt.sms_help_details.get(topic) if topic else None
        if key is not None:
            await request.reply(detail_text(request, key))
            return
    dialog = request.dialog
    if dialog is not None:
        explain = request.rt.hooks.get(f"sms_help.{dialog.flow}")
        if explain is not None:
            await request.reply(await explain(request))
            return
    await request.reply(help_text(request))


def help_text(request: SmsRequest) -> str:
    """One short line per capability (keyword and a word or two), at most HELP_PARTS parts.

    Latin letters (the national romanization) for members who chose them and for unknown
    numbers — the cheap form; in the member's own letters when those still fit (else Latin).
    """
    lines = [request.t("sms.help")]
    lines.extend(t(key, request.language) for key in request.rt.sms_help_keys)
    lines.append(request.t("sms.help_stop"))
    return _in_help_letters(request, "\n".join(lines))


def detail_text(request: SmsRequest, key: str) -> str:
    """`HELP <keyword>`: that keyword's full explanation, in the letters HELP uses."""
    return _in_help_letters(request, request.t(key))


def _in_help_letters(request: SmsRequest, text: str) -> str:
    if (
        request.member is None
        or request.script == SmsScript.LATIN
        or sms_info(text).parts > HELP_PARTS
    ):
        return to_latin_sms(text)
    return text


async def fallback(request: SmsRequest) -> None:
    """Nothing understood it: a short hint, and the text waits in the secretariat's inbox."""
    if request.inbound is not None:
        request.inbound.status = "inbox"
        arrived = request.rt.hooks.get("inbox.arrived")  # tells the secretariat (handlers/inbox.py)
        if arrived is not None:
            await arrived(request.session, request.inbound)
    key = "sms.unknown" if request.member else "sms.unknown_newcomer"
    await request.reply(request.t(key))


def setup(rt: Runtime) -> None:
    rt.sms_router.set_optout(OPTOUT_WORDS, opt_out)
    rt.sms_router.set_optin(OPTIN_WORDS, opt_in)
    rt.sms_router.set_help(HELP_WORDS, help_)
    rt.sms_help_details["help"] = "sms.help_detail_help"
    rt.sms_help_details["stop"] = "sms.help_detail_stop"
    rt.sms_help_details["start"] = "sms.help_detail_start"
    rt.sms_router.set_fallback(fallback)
