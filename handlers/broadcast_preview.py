"""The /broadcast preview and the decision: every language version as members will see it,
SMS parts per version and script (naming the character that forces UCS-2), the total parts
and cost against the monthly SMS budget, then Send (a second confirmation when over the
budget) — or Schedule for a later or recurring broadcast.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import Message

from bot.i18n import LANGUAGE_NAMES, t
from bot.outbound import Button, quiet_until, sms_provider_for, with_stop_line
from bot.settings import Settings
from handlers import audience_picker as picker
from handlers.broadcast_progress import progress_markup, progress_text
from models.audiences import Audience
from models.audit import record_audit
from models.base import utcnow
from models.broadcast_costs import CostEstimate, VersionCost, estimate_cost, month_spent
from models.broadcast_schedules import ScheduleError, create_schedule
from models.broadcasts import Estimate, Progress, publish_broadcast
from models.dialogs import Dialog, advance_dialog, end_dialog
from models.members import Member

if TYPE_CHECKING:
    from bot.runtime import Runtime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def when_text(when: dict[str, Any], settings: Settings, language: str) -> str:
    from handlers.broadcasts import WEEKDAY_KEYS

    kind = when.get("kind", "now")
    if kind == "once":
        at = datetime.fromisoformat(when["at"]).astimezone(settings.tz)
        return t("broadcasts.when_is_at", language, at=at.strftime("%d.%m.%Y %H:%M"))
    if kind == "weekly":
        days = ", ".join(t(WEEKDAY_KEYS[d], language) for d in when.get("weekdays", []))
        return t("broadcasts.when_is_weekly", language, days=days, time=when.get("time", ""))
    if kind == "monthly":
        return t(
            "broadcasts.when_is_monthly",
            language,
            day=when.get("month_day", 1),
            time=when.get("time", ""),
        )
    return t("broadcasts.when_is_now", language)


def _char(ch: str | None) -> str:
    if ch is None:
        return ""
    return f"«{ch}» ({unicodedata.name(ch, f'U+{ord(ch):04X}')})"


def version_text(version: VersionCost, language: str) -> str:
    lines = [
        t(
            "broadcasts.preview_version",
            language,
            language=LANGUAGE_NAMES[version.language],
            telegram=version.telegram_recipients,
            sms=version.sms_native + version.sms_latin,
        ),
        "",
        with_stop_line(version.text, version.language, "telegram"),
        "",
        t(
            "broadcasts.preview_sms_native",
            language,
            parts=version.native.parts,
            encoding=version.native.encoding,
            count=version.sms_native,
        ),
    ]
    if version.native.forcing_char:
        lines.append(
            t("broadcasts.preview_ucs2_because", language, char=_char(version.native.forcing_char))
        )
    lines.append(
        t(
            "broadcasts.preview_sms_latin",
            language,
            parts=version.latin.parts,
            encoding=version.latin.encoding,
            count=version.sms_latin,
        )
    )
    if version.latin.forcing_char:
        lines.append(
            t("broadcasts.preview_ucs2_because", language, char=_char(version.latin.forcing_char))
        )
    return "\n".join(lines)


def cost_lines(estimate: CostEstimate, language: str) -> list[str]:
    lines = [
        t(
            "broadcasts.preview_cost",
            language,
            messages=estimate.sms_messages,
            parts=estimate.sms_parts,
            cost=f"{estimate.cost:.2f}",
            currency=estimate.currency,
        ),
        t(
            "broadcasts.preview_budget",
            language,
            spent=f"{estimate.month_spent:.2f}",
            budget=f"{estimate.budget:.2f}",
            currency=estimate.currency,
        ),
    ]
    if estimate.over_budget:
        lines.append(t("broadcasts.preview_over_budget", language))
    return lines


async def show_preview(
    rt: Runtime, screen: Message, dialog: Dialog, member: Member, *, edit: bool
) -> None:
    settings, language, data = rt.settings, member.language, dialog.data
    urgent, when = bool(data.get("urgent")), data.get("when", {"kind": "now"})
    now = utcnow()
    async with rt.db.session() as session:
        reach = await picker.reach_for(session, settings, data["audience"], urgent=urgent)
        spent = await month_spent(session=session, settings=settings, now=now)
        audience = await picker.describe(session, settings, data["audience"], language)
        estimate = estimate_cost(
            texts=data["texts"], reach=reach, urgent=urgent, settings=settings, month_spent=spent
        )
        dialog = await advance_dialog(
            session=session,
            dialog=dialog,
            step="preview",
            member_ids=[m.id for m in reach.recipients],
            reach={
                "telegram": reach.telegram,
                "sms": reach.sms,
                "unreachable": reach.unreachable,
                "opted_out": reach.opted_out,
            },
            estimate={
                "parts": estimate.sms_parts,
                "cost": estimate.cost,
                "over": estimate.over_budget,
                "spent": estimate.month_spent,
            },
        )
    if edit:
        await screen.edit_text(t("broadcasts.preview_below", language))
    for code in ("ka", "az", "ru", "en"):
        if code in estimate.versions:
            await screen.reply_text(version_text(estimate.versions[code], language))
    lines = [
        t("broadcasts.preview_title", language),
        t("broadcasts.audience_is", language, audience=audience),
        picker.reach_line(reach, language),
        t("broadcasts.urgent_yes" if urgent else "broadcasts.urgent_no", language),
        when_text(when, settings, language),
        *cost_lines(estimate, language),
    ]
    if when.get("kind", "now") != "now":
        lines.append(t("broadcasts.preview_counted_later", language))
    provider = sms_provider_for(settings)
    if not urgent and reach.sms and when.get("kind", "now") == "now":
        until = quiet_until(settings, now)
        if until is not None:
            local = until.astimezone(settings.tz).strftime("%d.%m %H:%M")
            lines.append(t("broadcasts.preview_quiet", language, until=local))
    if reach.sms and provider == "gateway":
        from bot.sms.gateway_gate import expected_duration

        minutes = int(expected_duration(settings, provider, reach.sms).total_seconds() // 60)
        lines.append(t("broadcasts.preview_gateway", language, minutes=minutes))
    send_key = "broadcasts.send" if when.get("kind", "now") == "now" else "broadcasts.schedule"
    from handlers.broadcasts import cancel_row, inline

    markup = inline([[Button(t(send_key, language), "bc:send")], cancel_row(language)])
    await screen.reply_text("\n".join(lines), reply_markup=markup)


async def confirm(
    rt: Runtime, screen: Message, dialog: Dialog, member: Member, *, force: bool
) -> bool | str:
    """Send (or schedule) the draft; over the budget, only after a second confirmation."""
    from handlers.broadcasts import cancel_row, inline

    language, data = member.language, dialog.data
    estimate = data.get("estimate", {})
    over = bool(estimate.get("over"))
    if over and not force:
        async with rt.db.session() as session:
            await advance_dialog(session=session, dialog=dialog, step="confirm_budget")
        markup = inline(
            [[Button(t("broadcasts.send_anyway", language), "bc:force")], cancel_row(language)]
        )
        await screen.edit_text(
            (screen.text or "")
            + "\n\n"
            + t(
                "broadcasts.confirm_budget",
                language,
                spent=f"{estimate.get('spent', 0):.2f}",
                cost=f"{estimate.get('cost', 0):.2f}",
                budget=f"{rt.settings.sms_monthly_budget:.2f}",
                currency=rt.settings.sms_currency,
            ),
            reply_markup=markup,
        )
        return True
    if dialog.step == "confirm_budget" and not force:
        return t("broadcasts.stale_button", language)
    when = data.get("when", {"kind": "now"})
    if when.get("kind", "now") != "now":
        return await _schedule(rt, screen, dialog, member, over_budget_ok=over)
    async with rt.db.session() as session:
        broadcast = await publish_broadcast(
            session=session,
            settings=rt.settings,
            texts=data["texts"],
            audience=Audience.from_json(data["audience"]),
            urgent=bool(data.get("urgent")),
            created_by=member.id,
            member_ids=[int(i) for i in data.get("member_ids", [])],
            estimate=Estimate(int(estimate.get("parts", 0)), float(estimate.get("cost", 0)), over),
            notify_chat_id=screen.chat_id,
            shown_reach=data.get("reach"),
        )
        broadcast.notify_message_id = screen.message_id
        session.add(broadcast)
        await record_audit(
            session=session,
            action="broadcast.publish",
            actor_member_id=member.id,
            actor_label=f"telegram:{member.telegram_id}",
            target=f"broadcast:{broadcast.id}",
            details={
                "recipients": broadcast.recipients,
                "urgent": broadcast.urgent,
                "sms_parts": broadcast.sms_parts,
                "over_budget": broadcast.over_budget,
                "languages": sorted(broadcast.texts),
            },
        )
        await end_dialog(session=session, channel="telegram", address=str(member.telegram_id))
    rt.delivery.wake()
    empty = Progress(broadcast.recipients, 0, 0, 0, 0, broadcast.recipients, 0, 0, {})
    await screen.edit_text(
        progress_text(broadcast, empty, language), reply_markup=progress_markup(broadcast, language)
    )
    return True


async def _schedule(
    rt: Runtime, screen: Message, dialog: Dialog, member: Member, *, over_budget_ok: bool
) -> bool | str:
    language, data, when = member.language, dialog.data, dialog.data["when"]
    async with rt.db.session() as session:
        try:
            schedule = await create_schedule(
                session=session,
                settings=rt.settings,
                kind=str(when["kind"]),
                texts=data["texts"],
                audience=data["audience"],
                urgent=bool(data.get("urgent")),
                created_by=member.id,
                send_at=datetime.fromisoformat(when["at"]) if when.get("at") else None,
                weekdays=list(when.get("weekdays", [])),
                month_day=when.get("month_day"),
                local_time=when.get("time"),
                over_budget_ok=over_budget_ok,
            )
        except ScheduleError:
            return t("broadcasts.bad_when", language)
        await record_audit(
            session=session,
            action="broadcast.schedule",
            actor_member_id=member.id,
            actor_label=f"telegram:{member.telegram_id}",
            target=f"schedule:{schedule.id}",
            details={
                "kind": schedule.kind,
                "urgent": schedule.urgent,
                "over_budget_ok": over_budget_ok,
            },
        )
        await end_dialog(session=session, channel="telegram", address=str(member.telegram_id))
    assert schedule.next_run_at is not None
    next_local = schedule.next_run_at.astimezone(rt.settings.tz).strftime("%d.%m.%Y %H:%M")
    await screen.edit_text(
        t(
            "broadcasts.scheduled_ok",
            language,
            id=schedule.id,
            when=when_text(when, rt.settings, language),
            next=next_local,
        )
    )
    return True
