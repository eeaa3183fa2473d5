"""Reading one registration answer: validate it for the current step and say what changes.

`parse_answer` returns the draft updates (and notices for the secretariat), raises
FieldError for an answer to ask again, `Closed` when the flow ends here (no consent, under
14), or `Redirect` to go to another step (link an SMS registration, or back to the phone).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGE_NAMES, LANGUAGES
from bot.settings import Settings
from models.communities import Community, list_communities
from models.dialogs import Dialog
from models.member_fields import (
    Choice,
    FieldError,
    age_rule,
    gender_choices,
    match_choice,
    match_community,
    match_sector,
    parse_birth_year,
    parse_phone,
    parse_yes_no,
    validate_name,
    validate_village,
)
from models.members import InvalidPhone, mask_phone, member_by_phone, normalize_phone
from models.registration_finish import Notice
from models.registration_prompts import (
    TELEGRAM,
    YES_NO_STEPS,
    Contact,
    community_of,
    language_of,
    prompt_for,
)


class Closed(Exception):
    def __init__(self, key: str, notices: list[Notice] | None = None) -> None:
        super().__init__(key)
        self.key, self.notices = key, notices or []


class Redirect(Exception):
    """Go to another step instead (e.g. link an existing member, or back to the phone)."""

    def __init__(
        self,
        step: str,
        *,
        error: FieldError | None = None,
        notices: list[Notice] | None = None,
        **data: object,
    ) -> None:
        super().__init__(step)
        self.step, self.error, self.notices, self.data = step, error, notices or [], data


async def parse_answer(
    session: AsyncSession,
    settings: Settings,
    channel: str,
    dialog: Dialog,
    text: str | None,
    choice: str | None,
    contact: Contact | None,
    now: datetime,
) -> tuple[dict[str, object], list[Notice]]:
    """Validate the answer for the current step: the draft updates, or FieldError."""
    step, language = dialog.step, language_of(dialog, settings)
    raw = choice if choice is not None else (text or "")
    if step in YES_NO_STEPS:
        yes = {"yes": True, "no": False}.get(choice or "") if choice else parse_yes_no(raw)
        if yes is None:
            raise FieldError("registration.err_yes_no")
        return await _yes_no(session, settings, dialog, step, yes, now)
    if step == "language":
        found = match_choice(raw, [Choice(c, LANGUAGE_NAMES[c]) for c in LANGUAGES])
        if found is None:
            raise FieldError("registration.err_choice", count=len(LANGUAGES))
        return {"language": found.code}, []
    if step == "script":
        prompt = await prompt_for(
            session=session, settings=settings, channel=channel, dialog=dialog
        )
        found = match_choice(raw, prompt.choices)
        if found is None:
            raise FieldError("registration.err_choice", count=2)
        return {"sms_script": found.code}, []
    if step == "name":
        return {"name": validate_name(raw)}, []
    if step == "phone":
        return await _phone(session, dialog, text, contact, language)
    if step == "community":
        communities = await list_communities(session=session)
        community = (
            next((c for c in communities if str(c.id) == choice), None)
            if choice
            else (match_community(raw, communities))
        )
        if community is None:
            raise FieldError("registration.err_choice", count=len(communities))
        return {"community_id": community.id}, []
    if step == "village":
        return _village(await community_of(session, dialog.data), raw, choice)
    if step == "sector":
        sector = choice if choice in ("public", "private", "civil") else match_sector(raw)
        if sector is None:
            raise FieldError("registration.err_choice", count=3)
        return {"sector": sector}, []
    if step == "birth_year":
        this_year = now.astimezone(settings.tz).year
        year = parse_birth_year(raw, this_year=this_year)
        rule = age_rule(year, this_year=this_year, consent_age=settings.consent_age)
        if rule == "refused":
            raise Closed("registration.refused_young")
        return {"birth_year": year, "pending": rule == "guardian"}, []
    if step == "gender":
        found = match_choice(raw, gender_choices(language))
        if found is None:
            raise FieldError("registration.err_choice", count=3)
        return {"gender": found.code}, []
    raise FieldError("registration.err_buttons")


async def _yes_no(
    session: AsyncSession, settings: Settings, dialog: Dialog, step: str, yes: bool, now: datetime
) -> tuple[dict[str, object], list[Notice]]:
    if step == "consent_data":
        if not yes:
            raise Closed("registration.declined")
        return {
            "consent_data_at": now.isoformat(),
            "consent_version": settings.consent_text_version,
        }, []
    if step == "consent_ann":
        return {"consent_ann": yes}, []
    if step == "gender_consent":
        return ({"gender_consent": True} if yes else {"gender_consent": False, "gender": None}), []
    # link: the member confirmed (or denied) that the SMS registration is theirs
    if yes:
        return {"link_confirmed": True}, []
    notice = Notice("registration.notice_link_declined", _member_ref(dialog))
    raise Redirect(
        "phone",
        error=FieldError("registration.err_link_declined"),
        notices=[notice],
        phone=None,
        link_member_id=None,
        link_name=None,
    )


def _member_ref(dialog: Dialog) -> dict[str, object]:

    phone = dialog.data.get("link_phone") or dialog.data.get("phone")
    return {
        "phone": mask_phone(str(phone) if phone else None),
        "who": f"telegram:{dialog.address}" if dialog.channel == TELEGRAM else "sms",
    }


async def _phone(
    session: AsyncSession, dialog: Dialog, text: str | None, contact: Contact | None, language: str
) -> tuple[dict[str, object], list[Notice]]:

    if contact is not None:
        if not contact.own:
            raise FieldError("registration.err_contact_not_own")
        try:
            phone = normalize_phone(
                contact.phone if contact.phone.startswith("+") else "+" + contact.phone.lstrip("+")
            )
        except InvalidPhone:
            raise FieldError("registration.err_phone") from None
    else:
        phone = parse_phone(text or "")
    existing = await member_by_phone(session=session, phone=phone)
    if existing is None:
        return {"phone": phone, "phone_verified": contact is not None}, []
    notice = Notice(
        "registration.notice_phone_claimed",
        {
            "phone": mask_phone(phone),
            "member": existing.id or 0,
            "who": f"telegram:{dialog.address}",
        },
    )
    if contact is not None and existing.telegram_id is None:
        raise Redirect(
            "link", link_member_id=existing.id, link_phone=phone, link_name=existing.name or ""
        )
    key = "registration.err_phone_taken" if contact else "registration.err_phone_taken_typed"
    raise Redirect("phone", error=FieldError(key), notices=[notice])


def _village(
    community: Community | None, raw: str, choice: str | None
) -> tuple[dict[str, object], list[Notice]]:
    villages = community.village_list if community else []
    if choice == "skip":
        return {"village": None}, []
    if choice and choice.startswith("v") and choice[1:].isdigit():
        index = int(choice[1:])
        if index < len(villages):
            return {"village": villages[index]}, []
        raise FieldError("registration.err_buttons")
    return {"village": validate_village(raw)}, []
