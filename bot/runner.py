"""`lagbot run`: one process, one event loop — web server, Telegram, delivery and scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn
from telegram import Update

from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import build_asgi

log = logging.getLogger("lagbot")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM is ours, so shutdown stays orderly."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings) -> None:
    rt = Runtime(settings)
    server = _Server(
        uvicorn.Config(
            build_asgi(rt),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    await rt.start()
    _log_disabled_channels(rt)
    try:
        await _start_telegram(rt)
        log.info("lagbot listening on http://%s:%s", settings.http_host, settings.http_port)
        await server.serve()
    finally:
        log.info("lagbot shutting down")
        await rt.delivery.stop()  # sends on the wire finish before Telegram's client closes
        await _stop_telegram(rt)
        await rt.stop()
        log.info("lagbot stopped")


def _log_disabled_channels(rt: Runtime) -> None:
    if rt.telegram_app is None:
        log.warning("Telegram disabled: TELEGRAM_BOT_TOKEN is not set")
    if "twilio" not in rt.sms_providers:
        log.warning(
            "Twilio SMS disabled: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / TWILIO_FROM not set"
        )
    if "gateway" not in rt.sms_providers:
        log.warning("SMS gateway disabled: SMS_GATEWAY_URL / _USERNAME / _PASSWORD not set")


async def _start_telegram(rt: Runtime) -> None:
    app = rt.telegram_app
    if app is None:
        return
    await app.initialize()
    for hook in rt.on_telegram_start:
        await hook()
    webhook = rt.settings.telegram_webhook_url
    if webhook:
        secret = rt.settings.telegram_webhook_secret
        await app.bot.set_webhook(
            url=webhook,
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        assert app.updater is not None
        await app.bot.delete_webhook()
        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, timeout=rt.settings.telegram_poll_timeout
        )
    await app.start()


async def _stop_telegram(rt: Runtime) -> None:
    app = rt.telegram_app
    if app is None or not app.running:
        return
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    await app.stop()
    await app.shutdown()
