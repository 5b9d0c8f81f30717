"""Typed factual-accuracy rows: checked, refused by row and field, blank rows skipped; merged in report order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from send_inspection.report.comments import (
    COMMENT_MAX,
    EVIDENCE_MAX,
    PARAGRAPH_MAX,
    AccuracyComment,
    CommentRefused,
    merge_comments,
    paragraph_order,
    parse_comment_rows,
)
from tests.report.conftest import COUNCIL, ICB, assert_response_rows, at


def parse(rows: list[dict[str, object]]) -> list[AccuracyComment]:
    """Parse rows as the council's first reviewer."""
    return parse_comment_rows(rows, partner=COUNCIL, reviewer="reviewer-c1", submitted_at=at(3, 10))


def refusal(rows: list[dict[str, object]]) -> str:
    """Return the message rows are refused with."""
    with pytest.raises(CommentRefused) as refused:
        parse(rows)
    return str(refused.value)


def test_rows_become_comments_and_blank_rows_are_skipped() -> None:
    """Filled rows become comments with the partner, reviewer and time; blank and whitespace-only rows are skipped."""
    comments = parse(
        [
            {"paragraph": " ", "comment": "", "evidence": None},
            {"paragraph": " 7 ", "comment": " Eleven special schools. ", "evidence": "School list"},
            {},
            {"paragraph": "p.4\n para 3", "comment": "Two, not three."},
        ]
    )
    assert [(c.paragraph, c.comment, c.evidence) for c in comments] == [
        ("7", "Eleven special schools.", "School list"),
        ("p.4 para 3", "Two, not three.", ""),
    ]
    assert {(c.partner, c.reviewer, c.submitted_at) for c in comments} == {(COUNCIL, "reviewer-c1", at(3, 10))}


def test_comment_without_paragraph_is_refused_naming_row_and_field() -> None:
    """A comment with no paragraph is refused as "row N: paragraph is missing", counting blank rows."""
    rows = [{"paragraph": "1", "comment": "Fine."}, {}, {"paragraph": "", "comment": "Which paragraph?"}]
    assert refusal(rows) == "row 3: paragraph is missing"


def test_paragraph_without_comment_is_refused_naming_row_and_field() -> None:
    """A paragraph with no comment (or evidence alone) is refused naming the row and the missing field."""
    assert refusal([{"paragraph": "4", "comment": "  "}]) == "row 1: comment is missing"
    assert refusal([{"evidence": "A document"}]) == "row 1: paragraph is missing; row 1: comment is missing"


def test_every_bad_row_is_named_at_once() -> None:
    """All problems are reported together, each with its row and field, and nothing is accepted."""
    with pytest.raises(CommentRefused) as refused:
        parse([{"paragraph": "1", "comment": "Good."}, {"comment": "x"}, {"paragraph": "2"}, {"paragraph": 3}, ["x"]])
    assert [(p.row, p.field) for p in refused.value.problems] == [
        (2, "paragraph"), (3, "comment"), (4, "paragraph"), (5, "row"),
    ]  # fmt: skip
    assert str(refused.value).endswith(
        "row 4: paragraph is not text; row 5: not a form row (paragraph, comment, evidence)"
    )


def test_limits_are_named() -> None:
    """Comment or evidence over 4000 characters, or a paragraph over 40, is refused naming field, length, limit."""
    assert refusal([{"paragraph": "1", "comment": "x" * COMMENT_MAX}, {"paragraph": "2", "comment": "y" * 4001}]) == (
        "row 2: comment is too long (4,001 characters; at most 4,000)"
    )
    assert refusal([{"paragraph": "p" * (PARAGRAPH_MAX + 1), "comment": "z"}]) == (
        "row 1: paragraph is too long (41 characters; at most 40)"
    )
    assert refusal([{"paragraph": "1", "comment": "z", "evidence": "e" * (EVIDENCE_MAX + 1)}]) == (
        "row 1: evidence is too long (4,001 characters; at most 4,000)"
    )


def test_text_is_cleaned_for_the_documents() -> None:
    """Line breaks pasted from Word become newlines and characters a document cannot hold are dropped."""
    [comment] = parse([{"paragraph": "5", "comment": "First line\vsecond\r\nthird\x00\x07", "evidence": "\tEv "}])
    assert (comment.comment, comment.evidence) == ("First line\nsecond\nthird", "Ev")


def test_time_must_be_aware_and_is_kept_in_utc() -> None:
    """A naive submission time is refused; an aware one is kept in UTC."""
    naive = datetime(2026, 12, 3, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_comment_rows([], partner=COUNCIL, reviewer="r", submitted_at=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        AccuracyComment(paragraph="1", comment="c", evidence="", partner=COUNCIL, reviewer="r", submitted_at=naive)
    london_winter = timezone(timedelta(hours=1))
    comment = AccuracyComment(
        paragraph="1", comment="c", evidence="", partner=COUNCIL, reviewer="r",
        submitted_at=datetime(2026, 12, 3, 11, tzinfo=london_winter),
    )  # fmt: skip
    assert comment.submitted_at == at(3, 10) and comment.submitted_at.utcoffset() == timedelta(0)


def test_paragraphs_sort_naturally_with_words_after_numbers() -> None:
    """Paragraph 2 comes before 10, numbered references before worded ones, which also sort naturally."""
    references = ["Summary", "10", "p.10 para 1", "2", "12a", "p.4 para 3", "12", "1.10", "1.9"]
    assert sorted(references, key=paragraph_order) == [
        "1.9", "1.10", "2", "10", "12", "12a", "p.4 para 3", "p.10 para 1", "Summary",
    ]  # fmt: skip


def test_merge_keeps_each_comment_once_in_report_order(submitted: list[AccuracyComment]) -> None:
    """Every submitted comment appears once, in paragraph order, with every partner that raised it."""
    merged = merge_comments(submitted)
    assert_response_rows([(c.paragraph, c.comment, c.evidence, c.raised_by) for c in merged], submitted)


def test_duplicates_across_partners_list_both_partners(submitted: list[AccuracyComment]) -> None:
    """The same comment typed by two partners' reviewers is kept once, as first submitted, naming both."""
    [shared] = [c for c in merge_comments(submitted) if c.paragraph == "10"]
    assert shared.partners == (COUNCIL, ICB)
    assert shared.reviewers == ("reviewer-c1", "reviewer-h1")
    assert shared.first_submitted_at == at(3, 10)
    assert "  " not in shared.comment


def test_same_reviewer_twice_is_kept_once(submitted: list[AccuracyComment]) -> None:
    """A reviewer submitting the same comment twice (spacing aside) gives one comment raised by one partner."""
    [board] = [c for c in merge_comments(submitted) if c.paragraph == "2"]
    assert (board.partners, board.reviewers, board.first_submitted_at) == ((COUNCIL,), ("reviewer-c1",), at(3, 10))


def test_different_evidence_or_paragraph_is_not_a_duplicate() -> None:
    """Comments differing in paragraph or evidence stay separate, in the order given within a paragraph."""
    base = {"comment": "Same words.", "partner": COUNCIL, "reviewer": "r", "submitted_at": at(3, 10)}
    comments = [
        AccuracyComment(paragraph="3", evidence="B", **base),
        AccuracyComment(paragraph="3", evidence="A", **base),
        AccuracyComment(paragraph="4", evidence="A", **base),
    ]
    assert [(c.paragraph, c.evidence) for c in merge_comments(comments)] == [("3", "B"), ("3", "A"), ("4", "A")]


def test_merging_again_changes_nothing(submitted: list[AccuracyComment]) -> None:
    """Merging an already merged list (or merging it with its own comments) gives the same list."""
    merged = merge_comments(submitted)
    assert merge_comments(merged) == merged
    assert merge_comments(merged + submitted) == merged
