"""The Runtime: everything one lagbot process holds, built once and handed to every adapter."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute
from telegram import Bot, Update
from telegram.ext import Application, BaseHandler, ContextTypes

from bot.db import Database
from bot.delivery import DeliveryEngine
from bot.pacing import TelegramLimiter
from bot.senders import ChannelSender, SmsSender, TelegramSender
from bot.settings import Settings
from bot.sms.providers import CaptureProvider, SmsProvider
from bot.sms.router import SmsRouter
from models.communities import sync_communities

if TYPE_CHECKING:
    from bot.roles import CommandInfo
    from models.dialogs import Dialog
    from scheduler.engine import Scheduler

log = logging.getLogger(__name__)

TelegramStep = Callable[[Update, ContextTypes.DEFAULT_TYPE, "Dialog"], Awaitable[None]]


class Runtime:
    """Settings, database, channels, router, delivery engine and scheduler of one process."""

    def __init__(self, settings: Settings, *, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.sms_router = SmsRouter()
        self.capture = CaptureProvider("simulator")
        self.sms_providers: dict[str, SmsProvider] = {"simulator": self.capture}
        self.telegram_app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.telegram_steps: dict[str, TelegramStep] = {}
        self.delivery = DeliveryEngine(self)
        self.channel_senders: dict[str, ChannelSender] = {
            "telegram": TelegramSender(self),
            "sms": SmsSender(self),
        }
        self.scheduler: Scheduler | None = None
        self.web_routes: list[BaseRoute] = []  # plug-ins add theirs (dashboard, gateway)
        self.on_telegram_start: list[Callable[[], Awaitable[None]]] = []  # e.g. setMyCommands
        # After the engine and scheduler start / before they stop (e.g. the SMS gateway's).
        self.on_start: list[Callable[[], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self.commands: list[CommandInfo] = []  # filled by bot.roles.add_command
        self.sms_help_keys: list[str] = []  # one catalog line per SMS capability, for HELP
        # HELP <keyword>: a topic (SmsRouter.help_topic: "grant", "code:p", "stop") → the
        # catalog key of its full explanation (at most two SMS parts).
        self.sms_help_details: dict[str, str] = {}
        # Named seams between capabilities, e.g. "registration.begin" (set by handlers).
        self.hooks: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._build_channels()
        self._load_plugins()

    @property
    def telegram_bot(self) -> Bot | None:
        return self.telegram_app.bot if self.telegram_app is not None else None

    # -- construction -----------------------------------------------------------------------
    def _build_channels(self) -> None:
        settings = self.settings
        if settings.telegram_enabled:
            assert settings.telegram_bot_token is not None
            builder = (
                Application.builder()
                .token(settings.telegram_bot_token.get_secret_value())
                .base_url(settings.telegram_api_base_url)
                .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
                # One budget under Telegram's flood limit, shared with the delivery engine;
                # replies go first (bot.pacing), so they never queue behind a broadcast.
                .rate_limiter(TelegramLimiter(settings.telegram_rate_per_second))
                .concurrent_updates(8)
            )
            if settings.telegram_webhook_url:
                builder = builder.updater(None)  # updates arrive on POST /telegram/webhook
            else:
                from bot.text_input import ScrubbingRequest

                # PTB's own defaults for polling (one connection), answers scrubbed of NUL & co.
                builder = builder.get_updates_request(ScrubbingRequest(connection_pool_size=1))
            self.telegram_app = builder.build()
            self.telegram_app.bot_data["rt"] = self
        if settings.twilio_enabled:
            from bot.sms.twilio_provider import TwilioProvider

            assert settings.twilio_account_sid and settings.twilio_auth_token
            self.sms_providers["twilio"] = TwilioProvider(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                from_=settings.twilio_from,
                messaging_service_sid=settings.twilio_messaging_service_sid,
                base_url=settings.twilio_api_base_url,
            )
        if settings.gateway_enabled:
            try:
                gateway = importlib.import_module("bot.sms.gateway_provider")
            except ModuleNotFoundError:
                log.warning("SMS gateway settings are present but the gateway provider is missing")
            else:
                self.sms_providers["gateway"] = gateway.GatewayProvider.from_settings(settings)
        from scheduler.engine import Scheduler

        self.scheduler = Scheduler(self)

    def _load_plugins(self) -> None:
        """Every module in `handlers/` with a `setup(rt)` function, ordered by its ORDER."""
        import handlers

        modules = [
            importlib.import_module(f"handlers.{info.name}")
            for info in pkgutil.iter_modules(handlers.__path__)
            if not info.name.startswith("_")
        ]
        for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
            setup = getattr(module, "setup", None)
            if setup is not None:
                setup(self)

    def add_telegram_handler(self, handler: BaseHandler[Any, Any, Any], group: int = 0) -> None:
        """Register a PTB handler; a no-op when Telegram is not configured."""
        if self.telegram_app is not None:
            self.telegram_app.add_handler(handler, group)

    def telegram_step(self, flow: str, step: TelegramStep) -> None:
        """The Telegram side of a multi-step flow: text/contact while a Dialog of `flow` is open."""
        self.telegram_steps[flow] = step

    # -- life cycle -------------------------------------------------------------------------
    async def prepare_data(self) -> None:
        async with self.db.session() as session:
            await sync_communities(session=session, path=self.settings.communities_file)

    async def start(self) -> None:
        await self.prepare_data()
        await self.delivery.start()
        if self.scheduler is not None:
            await self.scheduler.start()
        for hook in self.on_start:
            await hook()

    async def stop(self) -> None:
        for hook in self.on_stop:
            await hook()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.delivery.stop()
        for provider in self.sms_providers.values():
            await provider.close()
        await self.db.dispose()


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    rt = context.bot_data["rt"]
    assert isinstance(rt, Runtime)
    return rt
