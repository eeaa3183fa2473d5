"""Registration: one channel-neutral flow whose draft lives in the Dialog table.

Telegram::

    /start → language (handlers/core) → consent_data ──no──> ended, nothing kept
      → consent_ann → name → phone ──own contact of an SMS-registered member──> link ──yes──> linked
      → community → village → sector → birth_year ──under 14──> refused, draft deleted
      → gender_consent ──yes──> gender → interests → summary ──edit──> <field> → summary
      → confirm → member `active` (or `pending_guardian` under the consent age)

SMS::

    JOIN → language → script (Georgian only) → consent_data → consent_ann → name
      → community → sector → birth_year → member `active` | `pending_guardian`

Every answer goes through `answer()`, which validates it, stores it in the draft and says
what to ask next (a `Prompt`: an i18n key and choices) or how the flow ended (`Outcome`).
No Member row exists before the last step: the member, the consent records and the end of
the dialog are written in one transaction, so nothing is half-saved or saved twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.settings import Settings
from models.dialogs import Dialog, advance_dialog, end_dialog
from models.member_fields import (
    FieldError,
    gender_label,
    interest_choices,
    interest_labels,
    sector_label,
)
from models.members import Member
from models.registration_finish import Notice, finish_registration, link_existing
from models.registration_parse import Closed, Redirect, parse_answer
from models.registration_prompts import (
    EDITABLE,
    SMS,
    SMS_STEPS,
    Contact,
    Prompt,
    as_list,
    as_str,
    community_of,
    field_label,
    is_valid_step,
    language_of,
    next_step,
    prompt_for,
    steps_for,
    village_name,
)


@dataclass
class Outcome:
    kind: str  # ask | done | refused | linked
    prompt: Prompt | None = None
    member: Member | None = None
    key: str | None = None  # the closing message (done, refused, linked)
    pending: bool = False  # done, awaiting guardian consent
    notices: list[Notice] = field(default_factory=list)
    answered: str | None = None  # "Name: Nino ✓", to mark the previous question answered


# -- where the flow is ------------------------------------------------------------------------


async def locked_dialog(*, session: AsyncSession, channel: str, address: str) -> Dialog | None:
    """The dialog row, locked until commit on PostgreSQL (two quick taps never lose one).

    SQLite needs no lock: every write transaction there starts with BEGIN IMMEDIATE.
    """
    result = await session.execute(
        select(Dialog)
        .where(col(Dialog.channel) == channel, col(Dialog.address) == address)
        .with_for_update()
    )
    return result.scalars().first()


async def current_prompt(
    *, session: AsyncSession, settings: Settings, channel: str, dialog: Dialog
) -> Prompt:
    """The question this dialog waits for; a stray step (e.g. `language_chosen`) is resumed."""
    step = dialog.step
    if step != "link" and (
        not is_valid_step(channel, step) or step not in steps_for(channel, dialog.data)
    ):
        await advance_dialog(session=session, dialog=dialog, step=next_step(channel, dialog.data))
    return await prompt_for(session=session, settings=settings, channel=channel, dialog=dialog)


async def answer(
    *,
    session: AsyncSession,
    settings: Settings,
    channel: str,
    dialog: Dialog,
    text: str | None = None,
    choice: str | None = None,
    contact: Contact | None = None,
    now: datetime,
) -> Outcome:
    """Apply one answer (typed `text`, a button's `choice` code, or a shared `contact`)."""
    step = dialog.step
    if not is_valid_step(channel, step):
        return Outcome(
            "ask",
            await current_prompt(
                session=session, settings=settings, channel=channel, dialog=dialog
            ),
        )
    language = language_of(dialog, settings)
    if step == "summary":
        return await _summary_answer(session, settings, channel, dialog, choice, text, now)
    if step == "interests":
        return await _interests_answer(session, settings, channel, dialog, choice, text)
    try:
        updates, notices = await parse_answer(
            session, settings, channel, dialog, text, choice, contact, now
        )
    except FieldError as error:
        return Outcome(
            "ask",
            await prompt_for(
                session=session, settings=settings, channel=channel, dialog=dialog, error=error
            ),
        )
    except Closed as closed:
        await end_dialog(session=session, channel=dialog.channel, address=dialog.address)
        return Outcome("refused", key=closed.key, notices=closed.notices)
    except Redirect as redirect:
        await advance_dialog(session=session, dialog=dialog, step=redirect.step, **redirect.data)
        prompt = await prompt_for(
            session=session, settings=settings, channel=channel, dialog=dialog, error=redirect.error
        )
        return Outcome("ask", prompt, notices=redirect.notices)
    if step == "link" and updates.pop("link_confirmed", False):
        member = await link_existing(session=session, settings=settings, dialog=dialog, now=now)
        return Outcome("linked", member=member, key="registration.linked")
    answered = await _answered_text(session, step, {**dialog.data, **updates}, language)
    done = sorted({*as_list(dialog.data.get("done")), step})
    editing = bool(dialog.data.get("editing"))
    data = {**dialog.data, **updates, "done": done}
    if step == "gender_consent" and updates.get("gender_consent") is False:
        data["done"] = sorted({*done, "gender"})
    if editing and step == "community":
        following = "village"
    elif editing and step == "gender_consent" and updates.get("gender_consent") is True:
        following = "gender"
    elif editing:
        following = "summary"
    else:
        following = next_step(channel, data)
    if channel == SMS and set(SMS_STEPS) - {"script"} <= set(data["done"]):
        dialog.data = data
        return await _finish(session, settings, channel, dialog, now)
    if following == "summary":
        data["editing"] = False
    await advance_dialog(session=session, dialog=dialog, step=following, **data)
    prompt = await prompt_for(session=session, settings=settings, channel=channel, dialog=dialog)
    return Outcome("ask", prompt, notices=notices, answered=answered)


async def _answered_text(
    session: AsyncSession, step: str, data: dict[str, object], language: str
) -> str | None:
    """The answer as the member will see it confirmed, for the question just answered."""
    if step in ("consent_data", "consent_ann", "gender_consent", "summary", "language", "script"):
        return None
    if step == "community":
        community = await community_of(session, data)
        value = community.name(language) if community else "—"
    elif step == "sector":
        value = sector_label(as_str(data.get("sector")), language)
    elif step == "gender":
        value = gender_label(as_str(data.get("gender")), language)
    elif step == "village":
        village = data.get("village")
        value = village_name(str(village), language) if village else "—"
    else:
        value = str(data.get(step) or "—")
    return f"{field_label(step, language)}: {value} ✓"


async def _interests_answer(
    session: AsyncSession,
    settings: Settings,
    channel: str,
    dialog: Dialog,
    choice: str | None,
    text: str | None,
) -> Outcome:
    selected = as_list(dialog.data.get("interests"))
    codes = {c.code for c in interest_choices(settings.interests_file, "en", [])}
    if choice in codes:
        selected = (
            [c for c in selected if c != choice] if choice in selected else [*selected, choice]
        )
        await advance_dialog(session=session, dialog=dialog, step="interests", interests=selected)
        return Outcome(
            "ask",
            await prompt_for(session=session, settings=settings, channel=channel, dialog=dialog),
        )
    if choice != "done":
        return Outcome(
            "ask",
            await prompt_for(
                session=session,
                settings=settings,
                channel=channel,
                dialog=dialog,
                error=FieldError("registration.err_buttons"),
            ),
        )
    done = sorted({*as_list(dialog.data.get("done")), "interests"})
    await advance_dialog(session=session, dialog=dialog, step="summary", done=done, editing=False)
    language = language_of(dialog, settings)
    labels = interest_labels(settings.interests_file, selected, language)
    answered = f"{field_label('interests', language)}: {', '.join(labels) or '—'} ✓"
    prompt = await prompt_for(session=session, settings=settings, channel=channel, dialog=dialog)
    return Outcome("ask", prompt, answered=answered)


async def _summary_answer(
    session: AsyncSession,
    settings: Settings,
    channel: str,
    dialog: Dialog,
    choice: str | None,
    text: str | None,
    now: datetime,
) -> Outcome:
    if choice == "confirm":
        return await _finish(session, settings, channel, dialog, now)
    if choice and choice.startswith("edit:") and choice[5:] in EDITABLE:
        target = choice[5:]
        step = "gender_consent" if target == "gender" else target
        await advance_dialog(session=session, dialog=dialog, step=step, editing=True)
        return Outcome(
            "ask",
            await prompt_for(session=session, settings=settings, channel=channel, dialog=dialog),
        )
    return Outcome(
        "ask",
        await prompt_for(
            session=session,
            settings=settings,
            channel=channel,
            dialog=dialog,
            error=FieldError("registration.err_buttons"),
        ),
    )


async def _finish(
    session: AsyncSession, settings: Settings, channel: str, dialog: Dialog, now: datetime
) -> Outcome:
    missing = [
        s
        for s in steps_for(channel, dialog.data)
        if s not in as_list(dialog.data.get("done")) and s != "summary"
    ]
    if missing:
        await advance_dialog(session=session, dialog=dialog, step=missing[0])
        return Outcome(
            "ask",
            await prompt_for(session=session, settings=settings, channel=channel, dialog=dialog),
        )
    result = await finish_registration(session=session, settings=settings, dialog=dialog, now=now)
    if isinstance(result, FieldError):  # the phone was taken meanwhile
        await advance_dialog(session=session, dialog=dialog, step="phone", phone=None)
        return Outcome(
            "ask",
            await prompt_for(
                session=session, settings=settings, channel=channel, dialog=dialog, error=result
            ),
        )
    member, notices = result
    pending = member.status == "pending_guardian"
    key = "registration.done_pending" if pending else "registration.done"
    if channel == SMS:
        key = "registration.sms_done_pending" if pending else "registration.sms_done"
    return Outcome("done", member=member, key=key, pending=pending, notices=notices)
