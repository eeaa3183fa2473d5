"""The `.ics` calendar file of an event (RFC 5545), made with the `icalendar` library.

Times carry the LAG's time zone (TZID=Asia/Tbilisi with its VTIMEZONE), so phones show the
right hour wherever they are set. The UID is stable per event and SEQUENCE grows with every
change of time or place, so calendar apps update the entry instead of adding a second one;
a cancelled event is published again with STATUS:CANCELLED (METHOD:CANCEL would need an
ORGANIZER mailbox, which a LAG bot does not have).
"""

from __future__ import annotations

from datetime import date, datetime

from icalendar import Calendar, Timezone, vGeo
from icalendar import Event as VEvent

from bot.settings import Settings
from models.events import Event, EventStatus

PRODID = "-//Lagodekhi LAG//lagbot//EN"


def event_ics(
    event: Event, *, language: str, settings: Settings, now: datetime, domain: str = "lagbot"
) -> str:
    tz = settings.tz
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    cancelled = event.status == EventStatus.CANCELLED
    calendar.add("method", "PUBLISH")
    item = VEvent()
    item.add("uid", f"event-{event.id}@{domain}")
    item.add("sequence", event.sequence)
    item.add("dtstamp", now)
    item.add("dtstart", event.starts_at.astimezone(tz))
    item.add("dtend", event.ends_at.astimezone(tz))
    item.add("summary", event.title_in(language))
    description = event.description_in(language)
    code_line = f"{event.code}"
    item.add("description", f"{description}\n\n{code_line}" if description else code_line)
    if event.place:
        item.add("location", event.place)
    if event.latitude is not None and event.longitude is not None:
        item.add("geo", vGeo((event.latitude, event.longitude)))
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    start_year = event.starts_at.astimezone(tz).year
    calendar.add_component(
        Timezone.from_tzid(
            settings.timezone,
            first_date=date(start_year - 1, 1, 1),
            last_date=date(start_year + 2, 1, 1),
        )
    )
    calendar.add_component(item)
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")


def ics_filename(event: Event) -> str:
    return f"{event.code}.ics"
