"""What is wrong with an imported list, said so the coordinator can find it and nobody learns who the child is.

A problem names the file, the spreadsheet row as the user sees it (the header is row 1), the column
heading and the child's case id. It never holds a child's name or date of birth: problems are shown
in Prefect, in logs and in emails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from send_inspection.locations import where

Severity = Literal["error", "warning"]
SHOWN_AT_MOST = 200


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or worth a look (warning) in an imported list."""

    severity: Severity
    file: str
    message: str
    row: int | None = None
    column: str | None = None
    child_id: str | None = None

    def __str__(self) -> str:
        """Return `file, row R, column 'C', child id X: message`, leaving out what is not known."""
        place = where(self.file, row=self.row, column=self.column, label="child id", ident=self.child_id)
        return f"{place}: {self.message}"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """Return the problems that reject a file."""
    return [p for p in problems if p.severity == "error"]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    """Return the problems that do not reject a file."""
    return [p for p in problems if p.severity == "warning"]


class ImportRejected(Exception):
    """The lists cannot be used: nothing was stored. `problems` holds at most SHOWN_AT_MOST, errors first."""

    def __init__(self, problems: list[Problem], *, limit: int = SHOWN_AT_MOST) -> None:
        ordered = errors(problems) + warnings(problems)
        self.error_count = len(errors(problems))
        self.warning_count = len(ordered) - self.error_count
        self.total = len(ordered)
        self.problems = ordered[:limit]
        super().__init__(str(self))

    def __str__(self) -> str:
        """Return a count line, then one problem per line."""
        head = f"rejected: {self.error_count} error(s), {self.warning_count} warning(s); nothing was stored"
        if self.total > len(self.problems):
            head += f" (showing the first {len(self.problems)} of {self.total})"
        return "\n".join([head, *(f"{p.severity}: {p}" for p in self.problems)])
