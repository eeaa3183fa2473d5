"""What an SMS keyword handler gets: the message, the member, a session, and `reply`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.outbound import sms_body
from bot.sms.encoding import sms_info
from bot.sms.providers import InboundSms
from bot.sms.translit import to_latin_sms
from models.dialogs import Dialog, end_dialog
from models.inbound import InboundMessage
from models.members import Member
from models.outbox import OutboxMessage, Priority, enqueue

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.sms.router import Route


@dataclass
class SmsRequest:
    rt: Runtime
    session: AsyncSession
    sms: InboundSms
    member: Member | None
    dialog: Dialog | None
    inbound: InboundMessage | None = None
    route: Route | None = None
    replies: list[OutboxMessage] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.sms.text

    @property
    def phone(self) -> str:
        return self.sms.phone

    @property
    def args(self) -> list[str]:
        return self.route.args if self.route else []

    @property
    def code(self) -> str | None:
        return self.route.code if self.route else None

    @property
    def language(self) -> str:
        if self.member is not None:
            return self.member.language
        if self.dialog is not None and self.dialog.data.get("language"):
            return str(self.dialog.data["language"])
        return self.rt.settings.default_language

    @property
    def script(self) -> str | None:
        if self.member is not None:
            return self.member.sms_script
        if self.dialog is not None and self.dialog.data.get("sms_script"):
            return str(self.dialog.data["sms_script"])
        return None

    def t(self, key: str, /, **values: object) -> str:
        return t(key, self.language, **values)

    async def leave_step(self) -> None:
        """Leave the step this phone is in and handle the message as whatever else it is."""
        await end_dialog(session=self.session, channel="sms", address=self.phone)
        self.dialog = None
        route = await self.rt.sms_router.route(self)
        self.route = route
        await route.handler(self)

    def parts(self, text: str) -> int:
        """How many SMS parts `text` costs as this person gets it (their letters)."""
        return sms_info(sms_body(self.member, text, script=self.script)).parts

    def fitted(self, *texts: str, parts: int = 2) -> str:
        """The first of `texts` (longest first) that fits `parts` SMS parts as this person gets
        it — in their letters, else in Latin letters (Georgian, Azerbaijani: the cheaper form);
        when none fits, the last one in its cheaper form."""
        for text in texts:
            for form in (text, to_latin_sms(text)):
                if self.parts(form) <= parts:
                    return form
        last = texts[-1]
        return min((last, to_latin_sms(last)), key=self.parts)

    async def reply(self, text: str) -> OutboxMessage:
        """Answer on the provider the SMS came in on, in the member's language and script."""
        row = await enqueue(
            session=self.session,
            channel="sms",
            provider=self.sms.provider,
            address=self.sms.phone,
            text=sms_body(self.member, text, script=self.script),
            member_id=self.member.id if self.member else None,
            kind="reply",
            priority=Priority.REPLY,
        )
        self.replies.append(row)
        return row
