"""Say how to fix a list when the fix is obvious: a title above the headings, a second header row, another sheet.

Each hint names rows, columns and sheets, never a value of the list.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig, normalise, required_fields
from send_inspection.childdata.dates import parse_date
from send_inspection.childdata.problems import Problem
from send_inspection.childdata.reading import ROW, WORKBOOKS, Unreadable, sheet_headings

# The columns whose values a heading can never pass for: if a row fails all of these, it is not a record.
_CHECKED: dict[ListKind, tuple[str, ...]] = {
    "ehc_plans": ("date_of_birth", "primary_need", "setting_type"),
    "sen_support": ("date_of_birth", "primary_need", "setting_type"),
    "providers": ("setting_type", "setting_urn"),
}


def _required(kind: ListKind, config: ChildDataConfig) -> set[str]:
    wanted = config.columns(kind)
    return {normalise(wanted[f]) for f in required_fields(kind)}


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def missing_columns_help(raw: pd.DataFrame, path: Path, kind: ListKind, *, config: ChildDataConfig) -> str | None:
    """Return how to fix a list whose row 1 lacks the required headings, when the headings are plainly elsewhere."""
    required = _required(kind, config)
    if not raw.empty:
        first = raw.iloc[0]
        if required <= {normalise(str(v)) for k, v in first.items() if k != ROW}:
            return (
                f"row {first[ROW]} holds the expected headings, so row 1 looks like a title or a first header row "
                "above them: delete row 1, so that the headings are row 1"
            )
    if path.suffix.lower() not in WORKBOOKS:
        return None
    try:
        sheets = sheet_headings(path)
    except Unreadable:
        return None
    read = config.sheet(kind) or next(iter(sheets), None)
    others = [name for name, headings in sheets.items()
              if name != read and required <= {normalise(h) for h in headings}]
    names = _quoted(list(sheets))
    setting = f"sheet: under lists.{kind} in child_data.yaml"
    if others:
        return (
            f"the list looks to be on sheet {others[0]!r}, not on sheet {read!r}, which was read (this workbook's "
            f"sheets: {names}): move the list to the first sheet, or name its sheet with {setting}"
        )
    if len(sheets) > 1:
        return f"sheet {read!r} was read (this workbook's sheets: {names}); to read another, name it with {setting}"
    return None


def second_header_row(rows: pd.DataFrame, problems: list[Problem], kind: ListKind, *, file: str,
                      config: ChildDataConfig) -> list[Problem]:
    """Return `problems` with those of the first record replaced by one, if that record looks like a header row.

    It does when two or more of its cells are headings of the list, or when it fails the check of every column
    a heading can never pass (date of birth, need and setting type; a provider's type and URN) and holds no date.
    """
    if rows.empty:
        return problems
    first = rows.iloc[0]
    row = int(first[ROW])
    wanted = config.columns(kind)
    headings = {normalise(h) for h in wanted.values()} | {normalise(f.replace("_", " ")) for f in wanted}
    values = [str(first[f]) for f in wanted if f in first.index and str(first[f])]
    failed = {p.column for p in problems if p.row == row and p.severity == "error"}
    looks_like_headings = sum(normalise(v) in headings for v in values) >= 2
    fails_every_check = {wanted.get(f) for f in _CHECKED[kind]} <= failed and not any(map(parse_date, values))
    if not (looks_like_headings or fails_every_check):
        return problems
    message = (
        "this row looks like a second header row, not a record (it holds headings or words about them): delete it, "
        "so that the records start straight below the headings on row 1"
    )
    return [Problem("error", file, message, row=row), *(p for p in problems if p.row != row)]

