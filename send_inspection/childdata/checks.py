"""Check the rows of one list (already in canonical columns) and add what the return needs: age, need, setting.

Every message names the row, the column and the child's case id. A value is quoted only when it is a
code or a word from our systems, and never when it looks like a date: it may be a date of birth in
the wrong column.

Each check judges a value, not a row: a column is checked by judging each distinct value once and
noting its problem at every row that holds it (a list of 100,000 children has a few thousand distinct
dates of birth and a few dozen needs and setting types).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import pandas as pd

from send_inspection.childdata.codes import AGE_MAX, AGE_MIN, NEED_CODES, NO_SETTING, UNASSESSED_CODES, broad_area
from send_inspection.childdata.columns import ChildDataConfig, normalise
from send_inspection.childdata.dates import FORMATS, age_on, parse_date, uk
from send_inspection.childdata.problems import Problem, Severity
from send_inspection.childdata.reading import ROW

_URN = re.compile(r"^\d{6,8}$")
T = TypeVar("T")
Finding = tuple[Severity, str] | None  # what is wrong with a value (severity, message), if anything
Judged = tuple[T, Finding]


NOT_SHOWN = "the value is not shown"
_NEEDS = ", ".join(NEED_CODES)


def texts(column: pd.Series) -> list[Any]:
    """Return a column's values as a plain list (much faster than iterating a pandas text column)."""
    return column.to_numpy(dtype=object).tolist()


class RowChecker:
    """Check values of one list's rows, collecting problems placed at their row and column."""

    def __init__(self, file: str, headers: dict[str, str], *, config: ChildDataConfig, notified_on: date) -> None:
        self.file, self.headers, self.config, self.notified_on = file, headers, config, notified_on
        self.problems: list[Problem] = []
        self._on = uk(notified_on)

    def error(self, row: int, fld: str, child_id: str | None, message: str) -> None:
        """Note an error at `row`, in the column of canonical field `fld`."""
        column = self.headers.get(fld)
        self.problems.append(Problem("error", self.file, message, row=row, column=column, child_id=child_id or None))

    def warn(self, row: int, fld: str, child_id: str | None, message: str) -> None:
        """Note a warning at `row`, in the column of canonical field `fld`."""
        column = self.headers.get(fld)
        self.problems.append(Problem("warning", self.file, message, row=row, column=column, child_id=child_id or None))

    def column(
        self,
        fld: str,
        rows: Sequence[int],
        child_ids: Sequence[str | None],
        values: Sequence[str],
        judge: Callable[[str], Judged[T]],
    ) -> list[T]:
        """Judge each distinct value of a column once, note its finding at every row holding it; return the results."""
        judged = {value: judge(value) for value in dict.fromkeys(values)}
        wrong = {value for value, (_, finding) in judged.items() if finding}
        if wrong:
            column = self.headers.get(fld)
            for row, child_id, value in zip(rows, child_ids, values, strict=True):
                if value in wrong:
                    severity, message = judged[value][1]  # type: ignore[misc]
                    problem = Problem(severity, self.file, message, row=row, column=column, child_id=child_id or None)
                    self.problems.append(problem)
        return [judged[value][0] for value in values]

    def filled(self, fld: str, rows: Sequence[int], child_ids: Sequence[str | None], values: Sequence[str]) -> None:
        """Note an error at every row whose value of field `fld` is empty."""
        if "" not in values:
            return
        message = f"the {fld.replace('_', ' ')} is empty"
        for row, child_id, value in zip(rows, child_ids, values, strict=True):
            if not value:
                self.error(row, fld, child_id, message)

    def urn(self, value: str) -> Judged[str]:
        """Return the URN written in `value` ('' if none), finding an error if it is not one."""
        value = value[:-2] if value.endswith(".0") else value  # a number cell read as text
        if value and not _URN.match(value):
            return value, ("error", f"not a URN (write the setting's 6 to 8 digits, or leave it empty); {NOT_SHOWN}")
        return value, None

    def setting(self, value: str) -> Judged[tuple[str, bool] | None]:
        """Return (setting type, out of area) meant by `value`, finding an error if it is unknown."""
        if not value:
            return None, ("error", "the setting type is empty")
        spec = self.config.setting(value)
        if spec is None:
            message = (
                "not a setting type (write one of the words under setting_type in child_data.yaml, or add this "
                f"one there); {NOT_SHOWN}"
            )
            return None, ("error", message)
        return (spec.type, spec.out_of_area), None

    def need(self, value: str) -> Judged[str | None]:
        """Return the DfE code meant by `value`, finding an error if unknown and a warning for OTH and NSA."""
        if not value:
            return None, ("error", "the primary need is empty: write NSA if it is not yet assessed")
        code = self.config.need_code(value)
        if code is None:
            message = (
                f"not a primary need code (write a DfE code, {_NEEDS}, or one of the words under primary_need in "
                f"child_data.yaml, or add this one there); {NOT_SHOWN}"
            )
            return None, ("error", message)
        if code in UNASSESSED_CODES:
            message = f"primary need {code} ({NEED_CODES[code][0]}) is reported as {broad_area(code)!r}"
            return code, ("warning", message)
        return code, None

    def birth(self, value: str) -> Judged[tuple[date, int] | None]:
        """Return (date of birth, age on the notification date), finding an error if either is wrong."""
        if not value:
            return None, ("error", "the date of birth is empty")
        born = parse_date(value)
        if born is None:
            message = f"not a valid date (write {FORMATS}); {NOT_SHOWN} because it is a date of birth"
            return None, ("error", message)
        age = age_on(born, self.notified_on)
        if age < AGE_MIN:
            return None, ("error", f"the date of birth is after the notification date ({self._on})")
        if age > AGE_MAX:
            message = f"aged {age} on the notification date ({self._on}): the lists cover ages {AGE_MIN} to {AGE_MAX}"
            return None, ("error", message)
        return (born, age), None

    def start_date(self, value: str) -> Judged[date | None]:
        """Return the EHC plan's start date (None if blank), finding an error if it is not a past date."""
        if not value:
            return None, None
        started = parse_date(value)
        if started is None:
            return None, ("error", f"not a valid date (write {FORMATS}); {NOT_SHOWN}")
        if started > self.notified_on:
            return started, ("error", f"the EHC plan start date is after the notification date ({self._on})")
        return started, None

    def once(self, rows: Sequence[int], keys: Sequence[str], fld: str, *, what: str, child_ids: bool) -> None:
        """Report each repeat of a key at its row, naming the row it first appeared on (blank keys are skipped)."""
        first: dict[str, int] = {}
        for row, key in zip(rows, keys, strict=True):
            if not key:
                continue
            if key in first:
                message = f"{what} is also on row {first[key]}: each must be on the list once"
                self.error(row, fld, key if child_ids else None, message)
            else:
                first[key] = row


_CHILD_EXTRAS = ("date_of_birth", "age", "need_code", "broad_area", "setting_type", "out_of_area", "setting_urn")


def check_children(frame: pd.DataFrame, checker: RowChecker) -> pd.DataFrame:
    """Check every row of a list of children; return its rows with age, need code, broad area and setting added."""
    has_start = "ehcp_start_date" in frame.columns
    rows, ids = texts(frame[ROW]), texts(frame["child_id"])
    nobody = [None] * len(rows)

    def check(fld: str, judge: Callable[[str], Judged[T]]) -> list[T]:
        return checker.column(fld, rows, ids, texts(frame[fld]), judge)

    # The checks run in the order a row was once checked in, so that each row's problems keep their order.
    checker.filled("child_id", rows, nobody, ids)
    checker.filled("first_name", rows, ids, texts(frame["first_name"]))
    checker.filled("last_name", rows, ids, texts(frame["last_name"]))
    births = check("date_of_birth", checker.birth)
    codes = check("primary_need", checker.need)
    settings = check("setting_type", checker.setting)
    message = f"the setting name is empty (only children {' or '.join(sorted(NO_SETTING))} have none)"
    for row, child_id, setting, name in zip(rows, ids, settings, texts(frame["setting_name"]), strict=True):
        if setting and not name and setting[0] not in NO_SETTING:
            checker.error(row, "setting_name", child_id, message)
    urns = check("setting_urn", checker.urn)
    starts = check("ehcp_start_date", checker.start_date) if has_start else nobody
    checker.once(rows, ids, "child_id", what="this child id", child_ids=True)
    areas = {code: broad_area(code) for code in set(codes) if code}
    out: dict[str, list[object]] = {
        "date_of_birth": [birth[0] if birth else None for birth in births],
        "age": [birth[1] if birth else None for birth in births],
        "need_code": list(codes),
        "broad_area": [areas[code] if code else None for code in codes],
        "setting_type": [setting[0] if setting else None for setting in settings],
        "out_of_area": [setting[1] if setting else None for setting in settings],
        "setting_urn": list(urns),
    }
    if has_start:
        out["ehcp_start_date"] = list(starts)
    checked = frame.rename(columns={"setting_type": "setting_words"}).assign(**out)
    return checked


def setting_key(urn: str, name: str) -> str:
    """Return how a setting is recognised: its URN, else its name."""
    return f"urn:{urn}" if urn else f"name:{normalise(name)}"


def check_providers(frame: pd.DataFrame, checker: RowChecker) -> pd.DataFrame:
    """Check every row of the providers and settings list; return its rows with the setting type added."""
    rows = texts(frame[ROW])
    nobody = [None] * len(rows)
    names = texts(frame["setting_name"])
    checker.filled("setting_name", rows, nobody, names)
    settings = checker.column("setting_type", rows, nobody, texts(frame["setting_type"]), checker.setting)
    urns = checker.column("setting_urn", rows, nobody, texts(frame["setting_urn"]), checker.urn)
    keys = [setting_key("", n) if not u else "" for u, n in zip(urns, names, strict=True)]
    checker.once(rows, urns, "setting_urn", what="this URN", child_ids=False)
    checker.once(rows, keys, "setting_name", what="this setting (without a URN)", child_ids=False)
    renamed = frame.rename(columns={"setting_type": "setting_words"})
    types = [setting[0] if setting else None for setting in settings]
    away = [setting[1] if setting else None for setting in settings]
    return renamed.assign(setting_type=types, out_of_area=away, setting_urn=urns)
