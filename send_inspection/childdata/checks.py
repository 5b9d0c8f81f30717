"""Check the rows of one list (already in canonical columns) and add what the return needs: age, need, setting.

Every message names the row, the column and the child's case id. A value is quoted only when it is a
code or a word from our systems, and never when it looks like a date: it may be a date of birth in
the wrong column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd

from send_inspection.childdata.codes import AGE_MAX, AGE_MIN, NEED_CODES, NO_SETTING, UNASSESSED_CODES, broad_area
from send_inspection.childdata.columns import ChildDataConfig, normalise
from send_inspection.childdata.dates import FORMATS, age_on, parse_date, uk
from send_inspection.childdata.problems import Problem
from send_inspection.childdata.reading import ROW

_URN = re.compile(r"^\d{6,8}$")


def shown(value: str) -> str:
    """Return `value` quoted for a message, unless it is a date (it may be a date of birth in the wrong column)."""
    return "a date (not shown)" if parse_date(value) else repr(value)


class RowChecker:
    """Check values of one list's rows, collecting problems placed at their row and column."""

    def __init__(self, file: str, headers: dict[str, str], *, config: ChildDataConfig, notified_on: date) -> None:
        self.file, self.headers, self.config, self.notified_on = file, headers, config, notified_on
        self.problems: list[Problem] = []

    def error(self, row: int, fld: str, child_id: str | None, message: str) -> None:
        """Note an error at `row`, in the column of canonical field `fld`."""
        column = self.headers.get(fld)
        self.problems.append(Problem("error", self.file, message, row=row, column=column, child_id=child_id or None))

    def warn(self, row: int, fld: str, child_id: str | None, message: str) -> None:
        """Note a warning at `row`, in the column of canonical field `fld`."""
        column = self.headers.get(fld)
        self.problems.append(Problem("warning", self.file, message, row=row, column=column, child_id=child_id or None))

    def filled(self, row: int, fld: str, child_id: str | None, value: str) -> None:
        """Note an error if `value` is empty."""
        if not value:
            self.error(row, fld, child_id, f"the {fld.replace('_', ' ')} is empty")

    def urn(self, row: int, child_id: str | None, value: str) -> str:
        """Return the URN written in `value` ('' if none), noting an error if it is not one."""
        value = value[:-2] if value.endswith(".0") else value  # a number cell read as text
        if value and not _URN.match(value):
            self.error(row, "setting_urn", child_id, f"{shown(value)} is not a URN (6 to 8 digits)")
        return value

    def setting(self, row: int, child_id: str | None, value: str) -> tuple[str, bool] | None:
        """Return (setting type, out of area) meant by `value`, noting an error if it is unknown."""
        if not value:
            self.error(row, "setting_type", child_id, "the setting type is empty")
            return None
        spec = self.config.setting(value)
        if spec is None:
            message = f"{shown(value)} is not a setting type: add it under setting_type in child_data.yaml"
            self.error(row, "setting_type", child_id, message)
            return None
        return spec.type, spec.out_of_area

    def need(self, row: int, child_id: str, value: str) -> str | None:
        """Return the DfE code meant by `value`, noting an error if unknown and a warning for OTH and NSA."""
        if not value:
            self.error(row, "primary_need", child_id, "the primary need is empty: write NSA if it is not yet assessed")
            return None
        code = self.config.need_code(value)
        if code is None:
            message = f"{shown(value)} is not a primary need code: add it under primary_need in child_data.yaml"
            self.error(row, "primary_need", child_id, message)
        elif code in UNASSESSED_CODES:
            message = f"primary need {code} ({NEED_CODES[code][0]}) is reported as {broad_area(code)!r}"
            self.warn(row, "primary_need", child_id, message)
        return code

    def birth(self, row: int, child_id: str, value: str) -> tuple[date, int] | None:
        """Return (date of birth, age on the notification date), noting an error if either is wrong."""
        if not value:
            self.error(row, "date_of_birth", child_id, "the date of birth is empty")
            return None
        born = parse_date(value)
        if born is None:
            message = f"not a valid date (write {FORMATS}); the value is not shown because it is a date of birth"
            self.error(row, "date_of_birth", child_id, message)
            return None
        age, on = age_on(born, self.notified_on), uk(self.notified_on)
        if age < AGE_MIN:
            self.error(row, "date_of_birth", child_id, f"the date of birth is after the notification date ({on})")
            return None
        if age > AGE_MAX:
            message = f"aged {age} on the notification date ({on}): the lists cover ages {AGE_MIN} to {AGE_MAX}"
            self.error(row, "date_of_birth", child_id, message)
            return None
        return born, age

    def start_date(self, row: int, child_id: str, value: str) -> date | None:
        """Return the EHC plan's start date (None if blank), noting an error if it is not a past date."""
        if not value:
            return None
        started = parse_date(value)
        on = uk(self.notified_on)
        if started is None:
            self.error(row, "ehcp_start_date", child_id, f"{value!r} is not a valid date (write {FORMATS})")
        elif started > self.notified_on:
            self.error(row, "ehcp_start_date", child_id, f"{uk(started)} is after the notification date ({on})")
        return started

    def once(self, rows: pd.Series, keys: list[str], fld: str, *, what: str, child_ids: bool) -> None:
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


def _records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Yield each row as a dict (from plain lists: much faster than pandas' own row iterators)."""
    columns = [frame[c].tolist() for c in frame.columns]
    for values in zip(*columns, strict=True):
        yield dict(zip(frame.columns, values, strict=True))


_CHILD_EXTRAS = ("date_of_birth", "age", "need_code", "broad_area", "setting_type", "out_of_area", "setting_urn")


def check_children(frame: pd.DataFrame, checker: RowChecker) -> pd.DataFrame:
    """Check every row of a list of children; return its rows with age, need code, broad area and setting added."""
    has_start = "ehcp_start_date" in frame.columns
    out: dict[str, list[object]] = {name: [] for name in (*_CHILD_EXTRAS, "ehcp_start_date")}
    for rec in _records(frame):
        row, child_id = rec[ROW], rec["child_id"]
        checker.filled(row, "child_id", None, child_id)
        checker.filled(row, "first_name", child_id, rec["first_name"])
        checker.filled(row, "last_name", child_id, rec["last_name"])
        birth = checker.birth(row, child_id, rec["date_of_birth"])
        code = checker.need(row, child_id, rec["primary_need"])
        setting = checker.setting(row, child_id, rec["setting_type"])
        if setting and not rec["setting_name"] and setting[0] not in NO_SETTING:
            message = f"the setting name is empty (only children {' or '.join(sorted(NO_SETTING))} have none)"
            checker.error(row, "setting_name", child_id, message)
        out["setting_urn"].append(checker.urn(row, child_id, rec["setting_urn"]))
        out["ehcp_start_date"].append(checker.start_date(row, child_id, rec["ehcp_start_date"]) if has_start else None)
        out["date_of_birth"].append(birth[0] if birth else None)
        out["age"].append(birth[1] if birth else None)
        out["need_code"].append(code)
        out["broad_area"].append(broad_area(code) if code else None)
        out["setting_type"].append(setting[0] if setting else None)
        out["out_of_area"].append(setting[1] if setting else None)
    checker.once(frame[ROW], list(frame["child_id"]), "child_id", what="this child id", child_ids=True)
    checked = frame.rename(columns={"setting_type": "setting_words"}).assign(**out)
    return checked if has_start else checked.drop(columns="ehcp_start_date")


def setting_key(urn: str, name: str) -> str:
    """Return how a setting is recognised: its URN, else its name."""
    return f"urn:{urn}" if urn else f"name:{normalise(name)}"


def check_providers(frame: pd.DataFrame, checker: RowChecker) -> pd.DataFrame:
    """Check every row of the providers and settings list; return its rows with the setting type added."""
    types: list[object] = []
    away: list[object] = []
    urns: list[str] = []
    for rec in _records(frame):
        row = rec[ROW]
        checker.filled(row, "setting_name", None, rec["setting_name"])
        setting = checker.setting(row, None, rec["setting_type"])
        urns.append(checker.urn(row, None, rec["setting_urn"]))
        types.append(setting[0] if setting else None)
        away.append(setting[1] if setting else None)
    names = [setting_key("", n) if not u else "" for u, n in zip(urns, frame["setting_name"], strict=True)]
    checker.once(frame[ROW], urns, "setting_urn", what="this URN", child_ids=False)
    checker.once(frame[ROW], names, "setting_name", what="this setting (without a URN)", child_ids=False)
    renamed = frame.rename(columns={"setting_type": "setting_words"})
    return renamed.assign(setting_type=types, out_of_area=away, setting_urn=urns)
