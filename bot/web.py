"""The ASGI app: health, the Telegram webhook, Twilio's SMS webhooks, and plug-in routes."""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update

from bot.delivery import record_delivery_report
from bot.sms.inbound import process_inbound
from bot.sms.providers import InboundSms
from bot.text_input import scrub_json
from models.members import InvalidPhone, normalize_phone

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def public_url(rt: Runtime, request: Request) -> str:
    """The URL the provider signed: behind a proxy it is PUBLIC_BASE_URL + path, not ours."""
    base = rt.settings.public_base_url
    if not base:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return base.rstrip("/") + request.url.path + query


async def healthz(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    return JSONResponse(
        {
            "status": "ok",
            "telegram": rt.telegram_app is not None,
            "sms": sorted(p for p in rt.sms_providers if p != "simulator"),
        }
    )


async def telegram_webhook(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    secret = rt.settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if secret is None or not hmac.compare_digest(given, secret.get_secret_value()):
        return PlainTextResponse("forbidden", status_code=403)
    if rt.telegram_app is None:
        return PlainTextResponse("telegram disabled", status_code=503)
    try:
        data = json.loads(await request.body())
    except ValueError:
        return PlainTextResponse("bad json", status_code=400)
    update = Update.de_json(scrub_json(data), rt.telegram_app.bot)
    await rt.telegram_app.update_queue.put(update)
    return PlainTextResponse("ok")


async def _twilio_form(rt: Runtime, request: Request) -> dict[str, str] | None:
    provider = rt.sms_providers.get("twilio")
    if provider is None:
        return None
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    if not provider.valid_signature(public_url(rt, request), params, signature):  # type: ignore[attr-defined]
        return None
    return params


async def sms_inbound(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    params = await _twilio_form(rt, request)
    if params is None:
        return PlainTextResponse("forbidden", status_code=403)
    try:
        phone = normalize_phone(params.get("From", ""), region="GE")
    except InvalidPhone:
        log.warning("inbound SMS from an unusable sender ignored")
        return Response(EMPTY_TWIML, media_type="application/xml")
    sms = InboundSms(
        provider="twilio",
        provider_message_id=params.get("MessageSid") or params.get("SmsSid", ""),
        phone=phone,
        text=params.get("Body", ""),
        to=params.get("To"),
    )
    await process_inbound(rt, sms)
    return Response(EMPTY_TWIML, media_type="application/xml")


async def sms_status(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    params = await _twilio_form(rt, request)
    if params is None:
        return PlainTextResponse("forbidden", status_code=403)
    await record_delivery_report(
        rt,
        provider="twilio",
        provider_message_id=params.get("MessageSid", ""),
        status=params.get("MessageStatus", ""),
        error_code=params.get("ErrorCode") or None,
    )
    return PlainTextResponse("ok")


def core_routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
        Route("/sms/inbound", sms_inbound, methods=["POST"]),
        Route("/sms/status", sms_status, methods=["POST"]),
    ]


def build_asgi(rt: Runtime) -> Starlette:
    app = Starlette(routes=[*core_routes(), *rt.web_routes])
    app.state.rt = rt
    return app
