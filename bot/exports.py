"""`/export <what> [args]`: ONE Telegram command; capabilities add what they export.

Telegram gives a command to one handler only, so two capabilities each registering `/export`
would silently shadow each other. The convention: a capability exports `<what>` through the
hook `rt.hooks["export.<what>"] = handler(update, context)` (the `/export members` command of
handlers/members_admin.py dispatches other kinds to these hooks). `register_export` sets that
hook and, when no `/export` command exists yet (registered by a module with a lower ORDER),
registers a small dispatcher so the export works on its own::

    register_export(rt, "attendance", export_attendance, usage_key="events.export_usage")

`/export attendance E12` then calls `export_attendance(update, context)`; the kind's own
arguments are `context.args[1:]`.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.roles import Access, add_command, telegram_member

if TYPE_CHECKING:
    from bot.runtime import Runtime

ExportHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
PREFIX = "export."
# The usage line of each kind registered here, per runtime (for a bare `/export`).
_usage: weakref.WeakKeyDictionary[Runtime, dict[str, str]] = weakref.WeakKeyDictionary()


def export_args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    """What followed the kind: `/export attendance E12` → ["E12"]."""
    return list(context.args or [])[1:]


def register_export(rt: Runtime, name: str, handler: ExportHandler, *, usage_key: str) -> None:
    """Make `/export <name> …` call `handler`; adds the `/export` command if nobody has."""
    key = PREFIX + name
    if key in rt.hooks:
        raise ValueError(f"export kind {name!r} registered twice")
    rt.hooks[key] = handler
    usage = _usage.setdefault(rt, {})
    usage[name] = usage_key
    if any(info.name == "export" for info in rt.commands):
        return

    async def dispatch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args = list(context.args or [])
        hook = rt.hooks.get(PREFIX + args[0].casefold()) if args else None
        if hook is not None:
            await hook(update, context)
            return
        member = await telegram_member(rt, update)
        language = member.language if member else rt.settings.default_language
        lines = [t("exports.usage", language)]
        lines.extend(t(usage_key, language) for usage_key in usage.values())
        if update.effective_message is not None:
            await update.effective_message.reply_text("\n".join(lines))

    add_command(
        rt, "export", dispatch, description_key="exports.cmd_export", access=Access.SECRETARIAT
    )
