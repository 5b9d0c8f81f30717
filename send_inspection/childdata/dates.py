"""Dates as the lists write them (yyyy-mm-dd or dd/mm/yyyy, or a workbook's date cell) and ages on a day."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
FORMATS = "dd/mm/yyyy or yyyy-mm-dd"


@lru_cache(maxsize=65536)
def parse_date(text: str) -> date | None:
    """Return the date `text` holds (yyyy-mm-dd, dd/mm/yyyy or a date cell read as text), or None."""
    text = text.strip()
    if m := _ISO.match(text):
        year, month, day = (int(g) for g in m.groups())
    elif m := _UK.match(text):
        day, month, year = (int(g) for g in m.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    """Return the age in whole years on `day` of someone born on `born` (negative if not yet born)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def uk(day: date) -> str:
    """Write `day` as dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")
