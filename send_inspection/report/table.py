"""What the factual-accuracy response says, whatever it is written as: marking, title, particulars, table rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from send_inspection.report.comments import AccuracyComment, MergedComment, merge_comments

MARKING = "OFFICIAL-SENSITIVE: restricted, not for publication"
TITLE = "Factual accuracy response to the draft report"
COLUMNS = ("No.", "Paragraph", "Factual accuracy comment", "Evidence", "Raised by")
NOT_SIGNED_OFF = "not yet signed off"


def long_date(day: date) -> str:
    """Return a date as the response writes it ("1 December 2026")."""
    return f"{day.day} {day:%B %Y}"


def particulars(
    area_name: str,
    inspection_ref: str,
    *,
    draft_received: date,
    due: date,
    signed_off_by: Sequence[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Return the response's header block as (label, value) lines, one line per person who signed it off."""
    lines = [
        ("Local area", area_name),
        ("Inspection reference", inspection_ref),
        ("Draft report received", long_date(draft_received)),
        ("Response due", long_date(due)),
    ]
    people = [f"{name}, {role}" if role else name for name, role in signed_off_by]
    lines.extend(("Signed off by", person) for person in people or [NOT_SIGNED_OFF])
    return lines


def table_rows(comments: Iterable[AccuracyComment | MergedComment]) -> list[tuple[int, str, str, str, str]]:
    """Return the table's rows (number, paragraph, comment, evidence, partners): each comment once, in report order."""
    return [
        (number, c.paragraph, c.comment, c.evidence, c.raised_by)
        for number, c in enumerate(merge_comments(comments), start=1)
    ]
