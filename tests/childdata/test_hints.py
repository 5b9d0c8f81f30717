"""Help where the fix is obvious: a title above the headings, a second header row, the list on another sheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import check_list
from tests.childdata.conftest import ON, child
from tests.childdata.workbooks import write_ods_cells, write_xlsx_cells

MISSING = (
    "missing column(s) 'Case ID' (child_id), 'Forename' (first_name), 'Surname' (last_name), 'DOB' (date_of_birth), "
    "'Primary Need' (primary_need), 'Setting' (setting_name), 'Setting Type' (setting_type); columns found: not "
    "shown: row 1 holds none of the expected headings, so it may be a child's record"
)
SECOND_HEADER = (
    "this row looks like a second header row, not a record (it holds headings or words about them): delete it, so "
    "that the records start straight below the headings on row 1"
)


def cells(config: ChildDataConfig, *records: dict[str, str]) -> list[list[object]]:
    """Return the EHC plan list's heading row and `records` as rows of cells."""
    heads = config.columns("ehc_plans")
    return [list(heads.values()), *([record.get(f, "") for f in heads] for record in records)]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_a_list_on_another_sheet_names_the_sheets(tmp_path: Path, config: ChildDataConfig, suffix: str) -> None:
    """A workbook whose first sheet is a cover note says the list looks to be on the other sheet, naming both."""
    write = write_xlsx_cells if suffix == ".xlsx" else write_ods_cells
    sheets = {"Cover": [["Demo County lists, November"]], "EHCP": cells(config, child("C001"))}
    path = write(tmp_path / f"ehc-plans{suffix}", sheets)
    (problem,) = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert str(problem) == (
        f"ehc-plans{suffix}, row 1: {MISSING}; the list looks to be on sheet 'EHCP', not on sheet 'Cover', which was "
        "read (this workbook's sheets: 'Cover', 'EHCP'): move the list to the first sheet, or name its sheet with "
        "sheet: under lists.ehc_plans in child_data.yaml"
    )


def test_a_workbook_without_the_list_names_the_sheet_read(tmp_path: Path, config: ChildDataConfig) -> None:
    """When no sheet holds the headings, the message still names the sheet read and the others."""
    path = write_xlsx_cells(tmp_path / "ehc-plans.xlsx", {"Cover": [["Notes"]], "Old": [["Something else"]]})
    (problem,) = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert str(problem).endswith(
        "sheet 'Cover' was read (this workbook's sheets: 'Cover', 'Old'); to read another, name it with sheet: under "
        "lists.ehc_plans in child_data.yaml"
    )


def test_a_title_above_the_headings_says_row_2_holds_them(tmp_path: Path, config: ChildDataConfig) -> None:
    """A title row above the headings is named, with row 2 holding the headings; no cell of it is quoted."""
    rows = [["Demo County EHC plans, Nell's copy"], *cells(config, child("C001"))]
    path = write_xlsx_cells(tmp_path / "ehc-plans.xlsx", {"EHCP": rows})
    (problem,) = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert str(problem) == (
        f"ehc-plans.xlsx, row 1: {MISSING}; row 2 holds the expected headings, so row 1 looks like a title or a first "
        "header row above them: delete row 1, so that the headings are row 1"
    )


@pytest.mark.parametrize(
    "second",
    [
        {"child_id": "Case ID", "first_name": "Forename", "date_of_birth": "DOB", "primary_need": "Primary Need"},
        {"child_id": "Council case reference", "first_name": "Legal first name", "last_name": "Family name",
         "date_of_birth": "Date of birth (dd/mm/yyyy)", "primary_need": "DfE code or our word",
         "setting_name": "School or setting", "setting_urn": "6 digit URN", "setting_type": "Type of setting"},
    ],
    ids=["headings again", "words about the headings"],
)
def test_a_second_header_row_is_named_once(tmp_path: Path, config: ChildDataConfig, second: dict[str, str]) -> None:
    """A second header row (the headings again, or words about them) is one problem, saying so, not one per cell."""
    path = tmp_path / "ehc-plans.xlsx"
    write_xlsx_cells(path, {"EHCP": cells(config, second, child("C001"), child("C002", primary_need="Nell"))})
    problems = [str(p) for p in check_list(path, "ehc_plans", config=config, notified_on=ON).problems]
    assert problems[0] == f"ehc-plans.xlsx, row 2: {SECOND_HEADER}"
    assert [p.split(":")[0] for p in problems[1:]] == ["ehc-plans.xlsx, row 4, column 'Primary Need', child id C002"]


def test_a_child_with_two_bad_values_is_not_taken_for_a_header(tmp_path: Path, config: ChildDataConfig) -> None:
    """A first child whose need and setting type are wrong but whose date of birth is good keeps its own problems."""
    path = tmp_path / "ehc-plans.xlsx"
    write_xlsx_cells(path, {"EHCP": cells(config, child("C001", primary_need="Nell", setting_type="Nell"))})
    problems = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert [(p.row, p.column) for p in problems] == [(2, "Primary Need"), (2, "Setting Type")]
