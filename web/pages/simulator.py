"""The simulator: the secretariat texts the bot as a phone from the reserved test range.

The message takes the same path as an SMS from Twilio or the gateway phone —
`process_inbound` with provider "simulator" — so the same router, handlers and domain rules
answer. Answers go back on the provider the SMS came in on: the simulator's CaptureProvider
keeps them instead of sending. A LAG can try the whole bot with no Telegram or Twilio account.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.roles import Access
from bot.sms.encoding import sms_info
from bot.sms.inbound import MAX_TEXT, process_inbound
from bot.sms.providers import InboundSms
from models.audit import record_audit
from models.members import member_by_phone
from models.simulator import (
    PROVIDER,
    SIMULATOR_PREFIX,
    SIMULATOR_RANGE,
    simulated_numbers,
    simulator_phone,
    transcript,
    wipe_simulated,
)
from web.guard import Staff, page, runtime
from web.render import render

DEFAULT_PHONE = SIMULATOR_PREFIX + "001"


def _phone_from(text: str | None) -> str:
    return simulator_phone(text or "") or DEFAULT_PHONE


async def _context(request: Request, phone: str) -> dict[str, Any]:
    async with runtime(request).db.session() as session:
        lines = await transcript(session=session, phone=phone)
        numbers = await simulated_numbers(session=session)
        member = await member_by_phone(session=session, phone=phone)
    used = {p for p, _ in numbers}
    next_free = next(
        (
            f"{SIMULATOR_PREFIX}{i:03d}"
            for i in range(1, 1000)
            if f"{SIMULATOR_PREFIX}{i:03d}" not in used
        ),
        DEFAULT_PHONE,
    )
    return {
        "phone": phone,
        "lines": lines,
        "numbers": numbers,
        "member": member,
        "next_free": next_free,
        "sim_range": SIMULATOR_RANGE,
        "sms_info": sms_info,
        "done": request.query_params.get("done"),
        "error": None,
        "text": "",
    }


@page(Access.SECRETARIAT)
async def simulator_page(request: Request, staff: Staff) -> Response:
    phone = _phone_from(request.query_params.get("phone"))
    return await render(request, staff, "simulator.html", **await _context(request, phone))


@page(Access.SECRETARIAT)
async def simulator_transcript(request: Request, staff: Staff) -> Response:
    """Only the chat (the page refreshes it while answers are being delivered)."""
    phone = _phone_from(request.query_params.get("phone"))
    return await render(request, staff, "simulator_chat.html", **await _context(request, phone))


@page(Access.SECRETARIAT)
async def simulator_send(request: Request, staff: Staff) -> Response:
    typed_phone, text = staff.field("phone", 40), staff.field("text", MAX_TEXT)
    phone = simulator_phone(typed_phone)
    error = None
    if phone is None:
        error = "simulator.not_test_number"
    elif not text:
        error = "simulator.empty"
    else:
        async with runtime(request).db.session() as session:
            owner = await member_by_phone(session=session, phone=phone)
        if owner is not None and not owner.is_simulated:
            error = "simulator.real_member"
    if error is not None or phone is None:
        context = await _context(request, phone or DEFAULT_PHONE)
        context.update(error=error, text=text, typed_phone=typed_phone)
        return await render(request, staff, "simulator.html", status=400, **context)
    rt = runtime(request)
    await process_inbound(
        rt,
        InboundSms(
            provider=PROVIDER,
            provider_message_id=f"sim-{uuid.uuid4().hex}",
            phone=phone,
            text=text,
            to=None,
        ),
    )
    return RedirectResponse(f"/admin/simulator?phone={quote(phone)}#end", status_code=303)


@page(Access.SECRETARIAT)
async def simulator_wipe(request: Request, staff: Staff) -> Response:
    """Remove every simulated member and all their data, in one go."""
    async with runtime(request).db.session() as session:
        removed = await wipe_simulated(session=session)
        await record_audit(
            session=session,
            action="simulator.wipe",
            actor_member_id=staff.member_id,
            actor_label=staff.actor_label,
            target="simulator",
            details=dict(removed),
        )
    return RedirectResponse("/admin/simulator?done=wiped", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/simulator", simulator_page, methods=["GET"]),
        Route("/admin/simulator/chat", simulator_transcript, methods=["GET"]),
        Route("/admin/simulator/send", simulator_send, methods=["POST"]),
        Route("/admin/simulator/wipe", simulator_wipe, methods=["POST"]),
    ]
