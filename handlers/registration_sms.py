"""SMS side of registration: `JOIN`, then one question per SMS, answered by number or word.

Every prompt is kept within two SMS parts in the member's script: a list that does not fit
(the 15 communities in Georgian letters) is sent in pages, numbered throughout, with
"0 = more"; `HELP` explains the current question; `STOP` ends it (handlers/sms_core).
"""

from __future__ import annotations

from bot.i18n import t
from bot.runtime import Runtime
from bot.sms.context import SmsRequest
from bot.sms.encoding import sms_info
from bot.sms.grammar import clean
from bot.sms.translit import to_latin_sms
from handlers._members_common import notify_secretariat
from models.base import utcnow
from models.dialogs import advance_dialog, end_dialog, start_dialog
from models.member_fields import Choice
from models.members import SmsScript
from models.registration import answer, current_prompt
from models.registration_prompts import FLOW, SMS, Prompt
from models.simulator import is_simulator_phone

ORDER = 10
MAX_PARTS = 2
JOIN_WORDS = [
    "წევრი", "tsevri", "wevri", "üzv", "uzv", "вступить", "регистрация", "registratsia",
    "რეგისტრაცია", "register",
]  # fmt: skip
HELP_KEYS: dict[str, str] = {
    "language": "registration.sms_help_language",
    "script": "registration.sms_help_script",
    "consent_data": "registration.sms_help_consent_data",
    "consent_ann": "registration.sms_help_consent_ann",
    "name": "registration.sms_help_name",
    "community": "registration.sms_help_community",
    "sector": "registration.sms_help_sector",
    "birth_year": "registration.sms_help_birth_year",
}


def parts(text: str, script: str | None) -> int:
    return sms_info(to_latin_sms(text) if script == SmsScript.LATIN else text).parts


def _label(choice: Choice, language: str, script: str | None) -> str:
    if script == SmsScript.LATIN and language == "ka" and choice.latin:
        return choice.latin
    return choice.label


def sms_pages(prompt: Prompt, language: str, script: str | None) -> list[str]:
    """The prompt as one or more SMS, each within MAX_PARTS parts; numbers run across pages.

    A wrong answer's reason goes first; when reason and question do not fit together the
    reason is sent alone (the member still has the question).
    """
    question = t(prompt.key, language, **prompt.values)
    error = t(prompt.error.key, language, **prompt.error.values) if prompt.error else ""
    heads = [f"{error}\n{question}", error] if error else [question]
    lines: list[str] = []
    if prompt.numbered and prompt.choices:
        lines = [f"{n} {_label(c, language, script)}" for n, c in enumerate(prompt.choices, 1)]
    for head in heads:
        whole = "\n".join([head, *lines])
        if parts(whole, script) <= MAX_PARTS:
            return [whole]
    if not lines:
        return [heads[-1]]
    head = heads[0] if parts(heads[0], script) < MAX_PARTS else heads[-1]
    more = t("registration.sms_more", language)
    pages: list[str] = []
    current: list[str] = []
    for line in lines:
        candidate = "\n".join([head, *current, line, more])
        if current and parts(candidate, script) > MAX_PARTS:
            pages.append("\n".join([head, *current, more]))
            current = []
        current.append(line)
    pages.append("\n".join([head, *current, more]))
    return pages


def _script(request: SmsRequest) -> str | None:
    dialog = request.dialog
    if dialog is not None and isinstance(dialog.data.get("sms_script"), str):
        return str(dialog.data["sms_script"])
    return request.script


async def _ask(request: SmsRequest, prompt: Prompt, *, page: int = 0) -> None:
    language = request.language
    pages = sms_pages(prompt, language, _script(request))
    page = page % len(pages)
    if request.dialog is not None:
        await advance_dialog(
            session=request.session, dialog=request.dialog, step=request.dialog.step, sms_page=page
        )
    await request.reply(pages[page])


def _keyword(rt: Runtime, text: str) -> str | None:
    """The keyword a one-word message is (`join`, `forget`, `mydata`), if any."""
    words = clean(text).split()
    keyword = rt.sms_router.match_keyword(words[0]) if words else None
    if keyword is None or (keyword.name == "join" and len(words) != 1):
        return None
    return keyword.name


async def join(request: SmsRequest) -> None:
    """JOIN: start registering this phone (or tell a member they already are)."""
    if request.member is not None:
        await request.reply(request.t("registration.sms_already"))
        return
    request.dialog = await start_dialog(
        session=request.session, channel=SMS, address=request.phone, flow=FLOW, step="language"
    )
    prompt = await current_prompt(
        session=request.session, settings=request.rt.settings, channel=SMS, dialog=request.dialog
    )
    await _ask(request, prompt)


async def on_step(request: SmsRequest) -> None:
    """An answer to the registration question this phone is at."""
    rt, dialog = request.rt, request.dialog
    assert dialog is not None
    text = clean(request.text)
    prompt = await current_prompt(
        session=request.session, settings=rt.settings, channel=SMS, dialog=dialog
    )
    keyword = _keyword(rt, text)
    if keyword == "join":  # JOIN again: the same question, nothing lost
        await _ask(request, prompt)
        return
    if keyword in ("forget", "mydata"):  # not a name: the draft is all there is
        if keyword == "forget":
            await end_dialog(session=request.session, channel=SMS, address=request.phone)
        key = "registration.sms_draft_deleted" if keyword == "forget" else "registration.sms_draft"
        await request.reply(request.t(key))
        return
    if text == "0" and prompt.numbered and prompt.choices:
        page = dialog.data.get("sms_page")
        await _ask(request, prompt, page=(page if isinstance(page, int) else 0) + 1)
        return
    outcome = await answer(
        session=request.session,
        settings=rt.settings,
        channel=SMS,
        dialog=dialog,
        text=text,
        now=utcnow(),
    )
    # A registration typed in the dashboard's simulator stays there: the real secretariat is
    # not told about a test person (the simulator shows the whole conversation instead).
    for notice in [] if is_simulator_phone(request.phone) else outcome.notices:
        await notify_secretariat(rt, request.session, notice.key, notice.values)
    if outcome.kind == "ask":
        assert outcome.prompt is not None
        await _ask(request, outcome.prompt)
        return
    if outcome.member is not None:
        request.member = outcome.member
    await request.reply(request.t(outcome.key or "registration.declined"))
    if outcome.notices:
        rt.delivery.wake()


async def explain(request: SmsRequest) -> str:
    """HELP in the middle of registering: what the current question means."""
    dialog = request.dialog
    step = dialog.step if dialog is not None else "language"
    key = HELP_KEYS.get(step, "registration.sms_help_language")
    return request.t(key, consent_age=request.rt.settings.consent_age)


def setup(rt: Runtime) -> None:
    rt.sms_router.keyword("join", JOIN_WORDS, join)
    rt.sms_router.step(FLOW, on_step)
    rt.hooks["sms_help.registration"] = explain
    rt.sms_help_keys.append("registration.sms_help_line")
    rt.sms_help_details["join"] = "registration.sms_help_join"
