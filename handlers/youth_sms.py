"""Youth initiatives by SMS: `YOUTH` lists open ones with codes, `SIGNUP Y4 [why me]` signs up,
`LEAVE Y4` withdraws, `Y4` gives the details (aliases in Georgian, Latin, Cyrillic and
Azerbaijani spellings; the codes take Latin or Cyrillic Y)."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from handlers.youth_notify import (
    band_of,
    local_date,
    refusal,
    signup_and_notify,
    withdraw_and_notify,
)
from models import seats
from models.base import utcnow
from models.youth import (
    SEAT_KIND,
    Initiative,
    YouthRefused,
    get_initiative,
    initiative_id_from_code,
)
from models.youth_signups import MAX_WHY, clip_why, open_for

ORDER = 62
YOUTH_WORDS = [
    "ახალგაზრდები",
    "akhalgazrdebi",
    "axalgazrdebi",
    "молодежь",
    "молодёжь",
    "molodezh",
    "gənclər",
    "gencler",
    "initiatives",
]
SIGNUP_WORDS = ["ჩაწერა", "chatsera", "записаться", "zapisatsya", "запись", "yazıl", "yazil"]
LEAVE_WORDS = ["გასვლა", "gasvla", "выйти", "vyiti", "vyjti", "çıx", "cix", "chix"]
MAX_SMS_LISTED = 5


async def _member_or_hint(request: SmsRequest) -> bool:
    if request.member is None:
        await request.reply(request.t("youth.sms_not_registered"))
        return False
    return True


async def _initiative(request: SmsRequest, usage_key: str) -> Initiative | None:
    raw = request.code or (request.args[0] if request.args else None)
    if raw is None:
        await request.reply(request.t(usage_key))
        return None
    initiative_id = initiative_id_from_code(raw)
    found = (
        await get_initiative(session=request.session, initiative_id=initiative_id)
        if initiative_id
        else None
    )
    if found is None or found.status in ("proposed", "declined"):
        await request.reply(request.t("youth.refused_unknown", code=raw.upper()))
        return None
    return found


async def list_open(request: SmsRequest) -> None:
    if not await _member_or_hint(request):
        return
    now = utcnow()
    found = await open_for(
        session=request.session, member=request.member, band=band_of(request.rt.settings), now=now
    )
    if not found:
        await request.reply(request.t("youth.list_empty"))
        return
    lines = []
    for initiative in found[:MAX_SMS_LISTED]:
        assert initiative.id is not None
        counts = await seats.seat_counts(
            session=request.session, kind=SEAT_KIND, item_id=initiative.id
        )
        lines.append(
            request.t(
                "youth.sms_line",
                code=initiative.code,
                title=initiative.title_in(request.language),
                left=counts.free(initiative.target_size) or 0,
                deadline=local_date(initiative.signup_deadline, request.rt.settings),
            )
        )
    lines.append(request.t("youth.sms_how", code=found[0].code))
    await request.reply("\n".join(lines))


async def signup(request: SmsRequest) -> None:
    if not await _member_or_hint(request):
        return
    initiative = await _initiative(request, "youth.sms_signup_usage")
    if initiative is None:
        return
    assert request.member is not None
    why = " ".join(request.args[1:] if request.code is None else request.args)
    try:
        outcome = await signup_and_notify(
            request.rt,
            request.session,
            initiative,
            request.member,
            channel="sms",
            now=utcnow(),
            why=why,
        )
    except YouthRefused as exc:
        await request.reply(refusal(exc, request.language, initiative.code))
        return
    title = initiative.title_in(request.language)
    if outcome.status == "seated":
        text = request.t("youth.sms_signed_up", title=title, code=initiative.code)
    else:
        text = request.t(
            "youth.sms_reserve", title=title, code=initiative.code, place=outcome.place or 0
        )
    if clip_why(why)[1]:
        text += "\n" + request.t("youth.sms_why_shortened", max=MAX_WHY)
    await request.reply(text)
    request.rt.delivery.wake()


async def leave(request: SmsRequest) -> None:
    if not await _member_or_hint(request):
        return
    initiative = await _initiative(request, "youth.sms_leave_usage")
    if initiative is None:
        return
    assert request.member is not None
    try:
        await withdraw_and_notify(
            request.rt, request.session, initiative, request.member, channel="sms", now=utcnow()
        )
    except YouthRefused as exc:
        await request.reply(refusal(exc, request.language, initiative.code))
        return
    await request.reply(request.t("youth.withdrawn", title=initiative.title_in(request.language)))
    request.rt.delivery.wake()


async def details(request: SmsRequest) -> None:
    if not await _member_or_hint(request):
        return
    initiative = await _initiative(request, "youth.sms_signup_usage")
    if initiative is None:
        return
    assert initiative.id is not None
    counts = await seats.seat_counts(session=request.session, kind=SEAT_KIND, item_id=initiative.id)
    language = request.language
    text = request.t(
        "youth.sms_details",
        code=initiative.code,
        title=initiative.title_in(language),
        description=initiative.description_in(language)[:300],
        left=counts.free(initiative.target_size) or 0,
        target=initiative.target_size,
        deadline=local_date(initiative.signup_deadline, request.rt.settings),
    )
    await request.reply(text)


def setup(rt: Runtime) -> None:
    rt.sms_router.keyword("youth", YOUTH_WORDS, list_open)
    rt.sms_router.keyword("signup", SIGNUP_WORDS, signup)
    rt.sms_router.keyword("leave", LEAVE_WORDS, leave)
    rt.sms_router.code_prefix("y", details)
    rt.sms_help_keys.append("youth.sms_help")
    for topic in ("youth", "signup", "leave", "code:y"):
        rt.sms_help_details[topic] = "youth.sms_help_youth"
