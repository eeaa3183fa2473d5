"""SMS MYDATA and FORGET: the data rights by text message (handlers.privacy has /mydata,
/forget, /stop and /resume on Telegram)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.i18n import t
from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from bot.sms.grammar import clean
from handlers.privacy import named_counts
from models.base import utcnow
from models.dialogs import end_dialog, start_dialog
from models.member_fields import parse_yes_no
from models.members import Member, MemberStatus
from models.outbox import Priority, enqueue
from models.privacy import (
    RECEIPT_KIND,
    erase_member,
    member_data,
    redact_sent_receipts,
    section_counts,
)
from models.profile_text import sms_summary

ORDER = 12
FLOW = "forget"
CONFIRM_WITHIN = timedelta(minutes=30)  # a lone YES later than this is not taken as consent
log = logging.getLogger(__name__)
MYDATA_WORDS = ["მონაცემები", "monatsemebi", "данные", "dannye", "məlumat", "melumat"]
FORGET_WORDS = ["წაშლა", "tsashla", "удалить", "udalit", "sil", "erase"]


async def sms_mydata(request: SmsRequest) -> None:
    """MYDATA: a short summary by SMS, naming the other parts /mydata sends (grant
    applications, event answers, …) — the full copy is on Telegram or from the secretariat."""
    member = request.member
    if member is None or member.status == MemberStatus.ERASED:
        await request.reply(request.t("members.sms_not_member"))
        return
    summary = await sms_summary(session=request.session, member=member)
    text = request.t("members.sms_mydata", summary=summary)
    data = await member_data(session=request.session, member=member)
    counts = section_counts(data)
    if not counts:
        await request.reply(request.fitted(text))
        return
    # What /mydata names too (grant applications, event answers, …), as long as two parts
    # hold it: the /mydata labels, else a word each, else how many more records there are.
    language = request.language
    also = [
        t("members.sms_mydata_also", language, sections=named_counts(data, language)),
        t("members.sms_mydata_also", language, sections=named_counts(data, language, short=True)),
        t("members.sms_mydata_more", language, count=sum(count for _, count in counts)),
    ]
    await request.reply(request.fitted(*(f"{text}\n{line}" for line in also), text))


async def sms_forget(request: SmsRequest) -> None:
    """FORGET asks (and waits a while for YES or NO); FORGET YES erases and confirms."""
    member = request.member
    if member is None or member.status == MemberStatus.ERASED:
        await request.reply(request.t("members.sms_not_member"))
        return
    if len(request.args) == 1 and parse_yes_no(request.args[0]) is True:
        await _erase(request, member)
        return
    await start_dialog(
        session=request.session,
        channel="sms",
        address=request.phone,
        flow=FLOW,
        step="confirm",
        member_id=member.id,
    )
    await request.reply(request.t("members.sms_forget_confirm"))


async def on_step(request: SmsRequest) -> None:
    """The answer to FORGET's question: a lone YES erases, NO keeps everything; anything
    else is handled as what it is (the question lapses)."""
    dialog, member = request.dialog, request.member
    assert dialog is not None
    words = clean(request.text).split()
    keyword = request.rt.sms_router.match_keyword(words[0]) if words else None
    if keyword is not None and keyword.name == "forget":  # FORGET YES, or FORGET again
        words = words[1:]
    # Only a word: a lone "1" may be meant for something else, and this cannot be undone.
    answer = parse_yes_no(words[0]) if len(words) == 1 and not words[0].isdigit() else None
    stale = utcnow() - dialog.updated_at > CONFIRM_WITHIN
    if member is None or stale or answer is None:
        await request.leave_step()
        return
    await end_dialog(session=request.session, channel="sms", address=request.phone)
    if answer:
        await _erase(request, member)
    else:
        await request.reply(request.t("members.sms_forget_kept"))


async def _erase(request: SmsRequest, member: Member) -> None:
    """Erase, and send the receipt (emptied once it has gone: it needs the number)."""
    text = request.t("members.sms_forget_done")
    if request.inbound is not None:  # this very message carries the phone number too
        request.inbound.text, request.inbound.address = None, None
    await erase_member(session=request.session, member=member, channel="sms")
    await enqueue(
        session=request.session,
        channel="sms",
        provider=request.sms.provider,
        address=request.phone,
        text=text,
        kind=RECEIPT_KIND,
        priority=Priority.REPLY,
    )
    request.member = None
    _redact_later(request.rt)


def _redact_later(rt: Runtime) -> None:
    task = asyncio.get_running_loop().create_task(_redact_when_sent(rt))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


_tasks: set[asyncio.Task[None]] = set()


async def _redact_when_sent(rt: Runtime, *, seconds: float = 600.0) -> None:
    """Empty the receipt as soon as it left (checked twice a second for a while)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        try:
            async with rt.db.session() as session:
                if await redact_sent_receipts(session=session):
                    return
        except Exception:
            log.exception("could not empty an erasure receipt")


async def _sweep_receipts(rt: Runtime) -> None:
    async with rt.db.session() as session:
        await redact_sent_receipts(session=session)


def setup(rt: Runtime) -> None:
    rt.sms_router.keyword("mydata", MYDATA_WORDS, sms_mydata)
    rt.sms_router.keyword("forget", FORGET_WORDS, sms_forget)
    rt.sms_router.step(FLOW, on_step)
    rt.sms_help_keys.append("members.sms_help_line")
    rt.sms_help_details["mydata"] = "members.sms_help_mydata"
    rt.sms_help_details["forget"] = "members.sms_help_forget"

    async def sweep() -> None:
        await _sweep_receipts(rt)

    async def cancel_waits() -> None:
        for task in list(_tasks):
            task.cancel()

    rt.on_start.append(sweep)
    rt.on_stop.append(cancel_waits)
