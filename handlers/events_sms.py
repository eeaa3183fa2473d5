"""Events by SMS: `YES E12`, `NO E12`, `MAYBE E12` (in Georgian, Latin, Cyrillic and Azerbaijani
spellings), `E12` for the details, `E12 YES`, and a bare `YES` when exactly one open event was
announced to the member.

A lone `YES` is a bare answer in the SMS router's precedence (resolve_bare_answer), not the
keyword: a step this phone is in the middle of (registration's consent, a grant interest) gets
it first, and if another capability also claims it (a bare resolver), neither guesses. Several
open events: the member is asked to add the code; none of ours: the other claimant gets it.
"""

from __future__ import annotations

from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from bot.sms.grammar import clean, token_variants
from bot.sms.router import Handler
from handlers.events_notify import answer_and_notify
from handlers.events_render import short_when, sms_how_to_answer
from models.base import utcnow
from models.event_queries import open_invites
from models.event_rsvps import Answer, RsvpOutcome, RsvpRefused
from models.events import Event, EventStatus, event_id_from_code, get_event

ORDER = 60

YES_WORDS = ["going", "კი", "ki", "დიახ", "diakh", "diax", "ჰო", "ho", "да", "da", "hə", "he",
             "bəli", "beli"]  # fmt: skip
NO_WORDS = ["არა", "ara", "нет", "net", "yox", "yok"]
MAYBE_WORDS = ["შეიძლება", "sheidzleba", "ალბათ", "albat", "может", "mozhet", "возможно",
               "vozmozhno", "bəlkə", "belke", "balke"]  # fmt: skip
KEYWORDS = {"yes": (Answer.GOING, YES_WORDS), "no": (Answer.NO, NO_WORDS),
            "maybe": (Answer.MAYBE, MAYBE_WORDS)}  # fmt: skip


def answer_word(token: str) -> str | None:
    """going | no | maybe when the token is one of our answer words, else None."""
    variants = token_variants(token)
    for name, (answer, words) in KEYWORDS.items():
        if variants & {name, *(w.casefold() for w in words)}:
            return answer
    return None


async def _reply_outcome(request: SmsRequest, event: Event, outcome: RsvpOutcome) -> None:
    language = request.language
    values = {
        "title": event.title_in(language),
        "when": short_when(event.starts_at, language, request.rt.settings),
        "code": event.code,
    }
    if outcome.answer == Answer.GOING and outcome.waitlisted:
        await request.reply(request.t("events.sms_waitlist", position=outcome.place or 0, **values))
    elif outcome.answer == Answer.GOING:
        checkin = outcome.checkin_code or "—"
        await request.reply(request.t("events.sms_going", checkin=checkin, **values))
    elif outcome.answer == Answer.MAYBE:
        await request.reply(request.t("events.sms_maybe", **values))
    else:
        await request.reply(request.t("events.sms_no", **values))


async def _answer(request: SmsRequest, event: Event, answer: str) -> None:
    member = request.member
    assert member is not None
    try:
        outcome = await answer_and_notify(
            request.rt, request.session, event, member, answer, channel="sms", now=utcnow()
        )
    except RsvpRefused as exc:
        await request.reply(request.t(exc.key, code=event.code))
        return
    await _reply_outcome(request, event, outcome)
    if outcome.promoted:
        request.rt.delivery.wake()


async def _event_for(request: SmsRequest, raw: str) -> Event | None:
    """The event a typed code names, or None after telling the member it is unknown."""
    event_id = event_id_from_code(raw)
    event = await get_event(session=request.session, event_id=event_id) if event_id else None
    if event is None or event.status == EventStatus.DRAFT:
        await request.reply(request.t("events.refused_unknown", code=raw.upper()))
        return None
    return event


async def _other_claims(request: SmsRequest) -> list[Handler]:
    claims: list[Handler] = []
    for name, resolver in request.rt.sms_router.resolvers:
        if name == "events":
            continue
        handler = await resolver(request)
        if handler is not None:
            claims.append(handler)
    return claims


def word_sent(request: SmsRequest) -> str:
    """The lone answer word as the member typed it (`არა`, `no`), for the example with a code."""
    return clean(request.text).strip(" .,!?;:\"'()") or "YES"


async def _without_code(request: SmsRequest, answer: str) -> None:
    """An answer without a code: the one open event announced to this member, else which."""
    member = request.member
    if member is None:
        await request.reply(request.t("events.sms_not_registered"))
        return
    mine = await open_invites(session=request.session, member=member, now=utcnow())
    if len(mine) == 1:
        await _answer(request, mine[0], answer)
    elif mine:
        codes = ", ".join(e.code for e in mine)
        text = request.t(
            "events.sms_which", codes=codes, word=word_sent(request), example=mine[0].code
        )
        await request.reply(text)
    else:
        await request.reply(request.t("events.sms_no_open"))


async def resolve_bare_answer(request: SmsRequest) -> Handler | None:
    """A lone `YES` / `კი` / `NO` / `MAYBE` (the router's precedence 5, so never in the middle
    of another flow's step): ours when an open event was announced to this member; with none,
    ours only when no other capability claims the word (then we say nothing is open)."""
    words = clean(request.text).split()
    answer = answer_word(words[0]) if len(words) == 1 else None
    if answer is None:
        return None
    member = request.member
    mine = member is not None and bool(
        await open_invites(session=request.session, member=member, now=utcnow())
    )
    if not mine and await _other_claims(request):
        return None

    async def handle(req: SmsRequest) -> None:
        await _without_code(req, answer)

    return handle


async def which_event(request: SmsRequest) -> str | None:
    """When another capability claims the lone answer too (a poll with a `კი` option): which
    event, with its code — the router asks the member which they meant."""
    if request.member is None:
        return None
    mine = await open_invites(session=request.session, member=request.member, now=utcnow())
    if not mine:
        return None
    codes = ", ".join(e.code for e in mine)
    return request.t("events.sms_which", codes=codes, word=word_sent(request), example=mine[0].code)


async def on_answer(request: SmsRequest, answer: str) -> None:
    """YES / NO / MAYBE with a code (`YES E12`, `YES 12`); the router sends a lone `YES` to
    resolve_bare_answer instead (the keyword is registered with alone=False)."""
    if request.member is None:
        await request.reply(request.t("events.sms_not_registered"))
        return
    raw = request.code or (request.args[0] if request.args and request.args[0].isdigit() else None)
    if raw is None:
        await _without_code(request, answer)
        return
    event = await _event_for(request, raw)
    if event is not None:
        await _answer(request, event, answer)


async def on_code(request: SmsRequest) -> None:
    """`E12`: what, when, where and how to answer; `E12 YES`: the answer."""
    assert request.code is not None
    if request.member is None:
        await request.reply(request.t("events.sms_not_registered"))
        return
    event = await _event_for(request, request.code)
    if event is None:
        return
    answer = answer_word(request.args[0]) if request.args else None
    if answer is not None:
        await _answer(request, event, answer)
        return
    language = request.language
    details = request.t(
        "events.sms_details",
        title=event.title_in(language),
        when=short_when(event.starts_at, language, request.rt.settings),
        place=event.place,
    )
    if event.status == EventStatus.CANCELLED:
        details += "\n" + request.t("events.refused_cancelled", code=event.code)
    elif event.rsvp_open(utcnow()):
        details += "\n" + sms_how_to_answer(event, language)
    await request.reply(details)


def setup(rt: Runtime) -> None:
    for name, (answer, words) in KEYWORDS.items():

        async def handler(request: SmsRequest, answer: str = answer) -> None:
            await on_answer(request, answer)

        rt.sms_router.keyword(name, words, handler, alone=False)
    rt.sms_router.code_prefix("e", on_code)
    rt.sms_router.bare("events", resolve_bare_answer, which=which_event)
    rt.sms_help_keys.append("events.sms_help")
    for topic in ("yes", "no", "maybe", "code:e"):
        rt.sms_help_details[topic] = "events.sms_help_answer"
