"""Shared fixtures: Demo County partners' typed comments on a draft report (fictional, no personal data)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from send_inspection.report.comments import AccuracyComment, parse_comment_rows

COUNCIL = "Demo County Council"
ICB = "Demo Integrated Care Board"
DRAFT_RECEIVED = date(2026, 12, 1)
DUE = date(2026, 12, 15)
SIGNED_OFF = [("Sam Demo", "Director of Children's Services"), ("Jo Sample", "ICB Executive Lead for SEND")]
SHARED = {
    "paragraph": "10",
    "comment": "The report says the local offer was last updated in 2024; it was updated in March 2026.",
    "evidence": "Local offer page history, Annex A item 14",
}


def at(day: int, hour: int) -> datetime:
    """Return a December 2026 moment in UTC."""
    return datetime(2026, 12, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def submitted() -> list[AccuracyComment]:
    """Return what three reviewers of two partners submitted, with repeats, in the order they submitted it."""
    council_first = parse_comment_rows(
        [
            {
                "paragraph": "12",
                "comment": "Thirty-one family hubs, not thirty.",
                "evidence": "Hub list, Annex A item 9",
            },
            SHARED,
            {"paragraph": "", "comment": "", "evidence": ""},
            {"paragraph": "2", "comment": "The partnership board meets monthly, not quarterly.", "evidence": ""},
        ],
        partner=COUNCIL,
        reviewer="reviewer-c1",
        submitted_at=at(3, 10),
    )
    council_again = parse_comment_rows(  # the same reviewer pressed submit twice
        [{"paragraph": "2", "comment": "The partnership board meets monthly,  not quarterly.\n", "evidence": ""}],
        partner=COUNCIL,
        reviewer="reviewer-c1",
        submitted_at=at(3, 11),
    )
    icb = parse_comment_rows(
        [
            {**SHARED, "comment": "  " + SHARED["comment"].replace(" was ", "  was ") + " "},
            {
                "paragraph": "p.4 para 3",
                "comment": "The designated clinical officer post is full-time.",
                "evidence": "",
            },
            {"paragraph": "Summary", "comment": "The ICB's name is Demo Integrated Care Board.", "evidence": ""},
        ],
        partner=ICB,
        reviewer="reviewer-h1",
        submitted_at=at(4, 9),
    )
    return council_first + council_again + icb


EXPECTED = [  # (paragraph, comment start, evidence, raised by), in report order, each once
    ("2", "The partnership board meets monthly", "", COUNCIL),
    ("10", "The report says the local offer", SHARED["evidence"], f"{COUNCIL}; {ICB}"),
    ("12", "Thirty-one family hubs", "Hub list, Annex A item 9", COUNCIL),
    ("p.4 para 3", "The designated clinical officer", "", ICB),
    ("Summary", "The ICB's name", "", ICB),
]


def assert_response_rows(rows: list[tuple[str, str, str, str]], submitted: list[AccuracyComment]) -> None:
    """Assert rows (paragraph, comment, evidence, raised by) hold every submitted comment once, in report order."""
    assert [
        (p, c[: len(start)], e, by) for (p, c, e, by), (_, start, _, _) in zip(rows, EXPECTED, strict=True)
    ] == EXPECTED
    assert sorted(c for _, c, _, _ in rows) == sorted({" ".join(s.comment.split()) for s in submitted})
