"""The one path every inbound SMS takes, whichever provider (or the simulator) brought it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.sms.context import SmsRequest
from bot.sms.providers import InboundSms
from bot.text_input import scrub
from models.audit import record_audit
from models.dialogs import get_dialog
from models.inbound import record_inbound
from models.members import Role, mask_phone, member_by_phone

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
MAX_TEXT = 1600  # ten concatenated SMS; anything longer is cut, never an error


async def process_inbound(rt: Runtime, sms: InboundSms) -> SmsRequest | None:
    """Record, de-duplicate, route and handle one SMS; None when it was a provider retry."""
    text = scrub(sms.text)[:MAX_TEXT]
    sms = InboundSms(sms.provider, sms.provider_message_id, scrub(sms.phone), text, sms.to)
    async with rt.db.session() as session:
        member = await member_by_phone(session=session, phone=sms.phone)
        inbound = await record_inbound(
            session=session,
            provider=sms.provider,
            provider_message_id=sms.provider_message_id,
            channel="sms",
            address=sms.phone,
            text=sms.text,
            member_id=member.id if member else None,
        )
        if inbound is None:
            log.info(
                "duplicate SMS %s from %s ignored", sms.provider_message_id, mask_phone(sms.phone)
            )
            return None
        if member is not None and not member.phone_verified:
            # An SMS that came from the number proves the member holds it.
            member.phone_verified = True
            session.add(member)
        if (
            member is not None
            and member.is_active
            and sms.phone in rt.settings.secretariat_phones
            and member.role != Role.SECRETARIAT
        ):
            member.role = Role.SECRETARIAT
            session.add(member)
            await record_audit(
                session=session,
                action="role.bootstrap",
                actor_label="settings",
                target=f"member:{member.id}",
                details={"role": Role.SECRETARIAT},
            )
        dialog = await get_dialog(session=session, channel="sms", address=sms.phone)
        request = SmsRequest(rt, session, sms, member, dialog, inbound)
        route = await rt.sms_router.route(request)
        request.route = route
        await route.handler(request)
        if inbound.status == "received":
            inbound.status = "handled"
        inbound.handled_by = route.name
        session.add(inbound)
    rt.delivery.wake("sms")
    return request
