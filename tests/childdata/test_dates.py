"""Dates as the lists write them and ages on the notification date."""

from __future__ import annotations

from datetime import date

import pytest

from send_inspection.childdata.dates import age_on, parse_date, uk


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-03-04", date(2015, 3, 4)),
        ("04/03/2015", date(2015, 3, 4)),
        ("4/3/2015", date(2015, 3, 4)),
        ("2015-03-04 00:00:00", date(2015, 3, 4)),  # a workbook's date cell read as text
        (" 2015-03-04T00:00:00 ", date(2015, 3, 4)),
        ("29/02/2016", date(2016, 2, 29)),
    ],
)
def test_parse_date_accepts_iso_and_uk_forms(text: str, expected: date) -> None:
    """ISO dates, dd/mm/yyyy and a date cell's text all parse, day first for the UK form."""
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "31/02/2015", "04/03/15", "2015/03/04", "03-04-2015", "yesterday", "2015-03-04 10:30:00"]
)
def test_parse_date_refuses_anything_else(text: str) -> None:
    """Impossible dates, two-digit years, other separators and times of day are not dates."""
    assert parse_date(text) is None


def test_age_turns_on_the_birthday() -> None:
    """A child is a year older on their birthday, not the day before."""
    assert age_on(date(2015, 6, 26), date(2023, 6, 25)) == 7
    assert age_on(date(2015, 6, 26), date(2023, 6, 26)) == 8
    assert age_on(date(2023, 6, 27), date(2023, 6, 26)) == -1


def test_uk_writes_day_first() -> None:
    """Dates in messages read dd/mm/yyyy."""
    assert uk(date(2023, 6, 5)) == "05/06/2023"
