"""When the shop's agents answer (``ATELIER_STAFFED_HOURS``): ``Mon-Fri 09:00-18:00 Europe/Paris``.

Several spans may be joined with ``;`` (``Mon-Fri 09:00-18:00 Europe/Paris; Sat 10:00-13:00
Europe/Paris``); days are a range (``Mon-Fri``) or a list (``Mon,Wed,Sat``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
SPAN_RE = re.compile(r"^(?P<days>[A-Za-z,-]+)\s+(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})"
                     r"\s+(?P<zone>[A-Za-z_/+-]+)$")


def _day(name: str) -> int:
    try:
        return DAYS.index(name.capitalize())
    except ValueError:
        raise ValueError(f"unknown day {name!r}; use {', '.join(DAYS)}") from None


def _days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        start = _day(first)
        end = _day(last) if last else start
        days.update(range(start, end + 1) if start <= end else [*range(start, 7),
                                                                 *range(0, end + 1)])
    return frozenset(days)


def _time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM)") from None


@dataclass(frozen=True)
class Span:
    text: str
    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    def covers(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True)
class StaffedHours:
    spans: tuple[Span, ...]

    @classmethod
    def parse(cls, value: str) -> StaffedHours:
        spans = []
        for text in (part.strip() for part in value.split(";")):
            match = SPAN_RE.match(text)
            if match is None:
                raise ValueError(f"staffed hours {text!r} must look like "
                                 "'Mon-Fri 09:00-18:00 Europe/Paris'")
            start, end = _time(match["start"]), _time(match["end"])
            if start >= end:
                raise ValueError(f"staffed hours {text!r}: the start must be before the end")
            try:
                zone = ZoneInfo(match["zone"])
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"staffed hours {text!r}: unknown time zone "
                                 f"{match['zone']!r}") from None
            spans.append(Span(text=text, days=_days(match["days"]), start=start, end=end,
                              zone=zone))
        return cls(tuple(spans))

    def is_staffed(self, moment: datetime) -> bool:
        return any(span.covers(moment) for span in self.spans)

    def describe(self) -> str:
        """For the shopper: ``Mon-Fri 09:00-18:00 (Europe/Paris time)``."""
        return " and ".join(f"{s.text.rsplit(' ', 1)[0]} ({s.zone.key} time)"
                            for s in self.spans)
