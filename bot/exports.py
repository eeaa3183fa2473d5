"""`/export <what> [args]`: ONE Telegram command, to which capabilities add what they export.

Telegram dispatches a command to one handler only, so two capabilities each registering
`/export` would silently shadow each other. Register an export kind instead::

    from bot.exports import register_export

    async def export_attendance(update, context, args: list[str]) -> None:
        ...  # args: what followed the kind, e.g. ["E12"]; reply with the files

    register_export(rt, "attendance", export_attendance, usage_key="events.export_usage")

`/export attendance E12` then reaches `export_attendance(update, context, ["E12"])`, and a bare
or unknown `/export` lists the kinds with their usage lines. The command is for the
secretariat (bot.roles checks it and audits refusals).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member

if TYPE_CHECKING:
    from bot.runtime import Runtime

ExportHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class ExportKind:
    name: str
    handler: ExportHandler
    usage_key: str  # one catalog line, e.g. "/export attendance E12 — attendance sheet"


_registries: weakref.WeakKeyDictionary[Runtime, dict[str, ExportKind]] = weakref.WeakKeyDictionary()


def exports_of(rt: Runtime) -> dict[str, ExportKind]:
    """The export kinds registered on this runtime, by name."""
    return _registries.setdefault(rt, {})


def register_export(rt: Runtime, name: str, handler: ExportHandler, *, usage_key: str) -> None:
    """Add an export kind; the `/export` command itself is registered on the first call."""
    registry = exports_of(rt)
    if name in registry:
        raise ValueError(f"export kind {name!r} registered twice")
    first = not registry
    registry[name] = ExportKind(name, handler, usage_key)
    if not first:
        return

    async def dispatch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args = list(context.args or [])
        kind = registry.get(args[0].casefold()) if args else None
        if kind is not None:
            await kind.handler(update, context, args[1:])
            return
        member = await telegram_member(rt, update)
        language = member.language if member else rt.settings.default_language
        lines = [t("exports.usage", language)]
        lines.extend(t(k.usage_key, language) for k in registry.values())
        if update.effective_message is not None:
            await update.effective_message.reply_text("\n".join(lines))

    add_command(
        rt, "export", dispatch, description_key="exports.cmd_export", access=Access.SECRETARIAT
    )
