"""Factual-accuracy comments on the draft report: check the rows reviewers type, merge everyone's into one list.

A reviewer types rows in a web form (paragraph reference, comment, evidence). `parse_comment_rows`
turns them into `AccuracyComment`s or refuses them, naming every bad row and field at once.
`merge_comments` puts all partners' comments in report order and keeps each comment once, listing
every partner that raised it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PARAGRAPH_MAX = 40  # characters in a paragraph reference ("12", "p.4 para 3")
COMMENT_MAX = 4000  # characters in one comment
EVIDENCE_MAX = 4000  # characters in one comment's evidence (where it is, what it shows)
FIELDS = ("paragraph", "comment", "evidence")
_LIMITS = {"paragraph": PARAGRAPH_MAX, "comment": COMMENT_MAX, "evidence": EVIDENCE_MAX}

_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\u2028\u2029]")  # Word pastes line breaks as \v
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffe\uffff]")  # not allowed in .docx/.xlsx XML
_SPACES = re.compile(r"\s+")
_NUMBERS = re.compile(r"[0-9]+|[^0-9]+")
_DIGITS = "0123456789"


class CommentRefused(ValueError):
    """The typed rows cannot be accepted; `problems` says which row and field, and why."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one typed row: its number (1 = the first row of the form) and field."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


def clean_text(value: str) -> str:
    """Return typed text with line breaks as newlines, characters a document cannot hold dropped, ends trimmed."""
    return _CONTROL.sub("", _LINE_BREAKS.sub("\n", value)).strip()


def one_line(value: str) -> str:
    """Return `value` with every run of whitespace (newlines too) as one space and the ends trimmed."""
    return _SPACES.sub(" ", value).strip()


def _problems_with_text(paragraph: str, comment: str, evidence: str) -> list[tuple[str, str]]:
    """Return (field, message) for every rule the cleaned texts of one comment break."""
    found: list[tuple[str, str]] = []
    if not paragraph:
        found.append(("paragraph", "is missing"))
    if not comment:
        found.append(("comment", "is missing"))
    for name, value in zip(FIELDS, (paragraph, comment, evidence), strict=True):
        if len(value) > _LIMITS[name]:
            found.append((name, f"is too long ({len(value):,} characters; at most {_LIMITS[name]:,})"))
    return found


@dataclass(frozen=True, kw_only=True)
class AccuracyComment:
    """One factual-accuracy comment on one paragraph of the draft report, as one partner's reviewer submitted it.

    Its texts are kept cleaned (see `clean_text`; the paragraph reference on one line) and its time in UTC.
    """

    paragraph: str
    comment: str
    evidence: str
    partner: str
    reviewer: str
    submitted_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "paragraph", one_line(clean_text(self.paragraph)))
        object.__setattr__(self, "comment", clean_text(self.comment))
        object.__setattr__(self, "evidence", clean_text(self.evidence))
        broken = _problems_with_text(self.paragraph, self.comment, self.evidence)
        if broken:
            raise ValueError("; ".join(f"{name} {message}" for name, message in broken))
        if not self.partner.strip() or not self.reviewer.strip():
            raise ValueError("a comment needs the partner and the reviewer who submitted it")
        if self.submitted_at.tzinfo is None or self.submitted_at.utcoffset() is None:
            raise ValueError("submitted_at must be timezone-aware")
        object.__setattr__(self, "submitted_at", self.submitted_at.astimezone(UTC))


@dataclass(frozen=True, kw_only=True)
class MergedComment:
    """One comment of the response: its text as first submitted, and every partner and reviewer that raised it."""

    paragraph: str
    comment: str
    evidence: str
    partners: tuple[str, ...]
    reviewers: tuple[str, ...] = ()
    first_submitted_at: datetime | None = None

    @property
    def raised_by(self) -> str:
        """Return the partners that raised this comment, as the response shows them."""
        return "; ".join(self.partners)


def _cell(row: Mapping[str, Any], name: str, number: int, problems: list[RowProblem]) -> str:
    """Return one field of a typed row as cleaned text, noting a problem if it is not text."""
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(RowProblem(number, name, f"{name} is not text"))
        return ""
    return one_line(clean_text(value)) if name == "paragraph" else clean_text(value)


def parse_comment_rows(
    rows: Sequence[Mapping[str, Any]], *, partner: str, reviewer: str, submitted_at: datetime
) -> list[AccuracyComment]:
    """Return the comments typed in a form's rows, skipping blank rows; refuse them all if any row is wrong."""
    if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
        raise ValueError("submitted_at must be timezone-aware")
    problems: list[RowProblem] = []
    typed: list[tuple[str, str, str]] = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            problems.append(RowProblem(number, "row", "not a form row (paragraph, comment, evidence)"))
            continue
        before = len(problems)
        paragraph, comment, evidence = (_cell(row, name, number, problems) for name in FIELDS)
        if len(problems) > before or not (paragraph or comment or evidence):
            continue
        broken = _problems_with_text(paragraph, comment, evidence)
        problems.extend(RowProblem(number, name, f"{name} {message}") for name, message in broken)
        typed.append((paragraph, comment, evidence))
    if problems:
        raise CommentRefused(problems)
    return [
        AccuracyComment(
            paragraph=paragraph,
            comment=comment,
            evidence=evidence,
            partner=partner,
            reviewer=reviewer,
            submitted_at=submitted_at,
        )
        for paragraph, comment, evidence in typed
    ]


def paragraph_order(paragraph: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """Return a sort key that puts references starting with a number first, in natural order ("2" before "10")."""
    reference = one_line(paragraph).casefold()
    parts = tuple((0, int(part)) if part[0] in _DIGITS else (1, part) for part in _NUMBERS.findall(reference))
    return (0 if reference and reference[0] in _DIGITS else 1, parts)


def _same_comment(paragraph: str, comment: str, evidence: str) -> tuple[str, str, str]:
    """Return what two comments must share to be the same comment (whitespace does not count)."""
    return one_line(paragraph), one_line(comment), one_line(evidence)


def merge_comments(comments: Iterable[AccuracyComment | MergedComment]) -> list[MergedComment]:
    """Return every comment once, in report order, each listing all partners (and reviewers) that raised it."""
    merged: dict[tuple[str, str, str], MergedComment] = {}
    for item in comments:
        if isinstance(item, AccuracyComment):
            partners, reviewers, first = (item.partner,), (item.reviewer,), item.submitted_at
        else:
            partners, reviewers, first = item.partners, item.reviewers, item.first_submitted_at
        key = _same_comment(item.paragraph, item.comment, item.evidence)
        seen = merged.get(key)
        if seen is None:
            merged[key] = MergedComment(
                paragraph=item.paragraph,
                comment=item.comment,
                evidence=item.evidence,
                partners=tuple(dict.fromkeys(partners)),
                reviewers=tuple(dict.fromkeys(reviewers)),
                first_submitted_at=first,
            )
            continue
        earliest = [t for t in (seen.first_submitted_at, first) if t is not None]
        merged[key] = MergedComment(
            paragraph=seen.paragraph,
            comment=seen.comment,
            evidence=seen.evidence,
            partners=tuple(dict.fromkeys(seen.partners + partners)),
            reviewers=tuple(dict.fromkeys(seen.reviewers + reviewers)),
            first_submitted_at=min(earliest) if earliest else None,
        )
    # sorted() is stable: comments on the same paragraph keep the order given (callers give submission order)
    return sorted(merged.values(), key=lambda c: paragraph_order(c.paragraph))
