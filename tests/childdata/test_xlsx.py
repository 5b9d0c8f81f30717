"""The fast XLSX writer of the return: cells, dates, escaping, frozen headings, filter and widths, read back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import import_lists
from send_inspection.childdata.returns import write_return
from send_inspection.childdata.xlsx import column_letter, write_xlsx
from tests.childdata.conftest import ON


def test_column_letters() -> None:
    """Columns are lettered as a spreadsheet letters them."""
    assert [column_letter(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


def test_cells_read_back_as_written(tmp_path: Path) -> None:
    """Text (escaped, control characters dropped), numbers and dates read back; empty text is an empty cell."""
    frame = pd.DataFrame(
        {
            "Name": ["Ann & <Bo>", "", "x\x01y"],
            "Age": [3, 12, 25],
            "Born": [date(2020, 1, 2), None, date(2001, 12, 31)],
        }
    )
    path = write_xlsx(
        tmp_path / "out.xlsx",
        {"A & B's": frame, "Empty": frame.iloc[:0]},
        {"A & B's": [10, 5, 12], "Empty": [10, 5, 12]},
    )
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["A & B's", "Empty"]
    sheet = book["A & B's"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Name", "Age", "Born"],
        ["Ann & <Bo>", 3, pd.Timestamp(2020, 1, 2).to_pydatetime()],
        [None, 12, None],
        ["xy", 25, pd.Timestamp(2001, 12, 31).to_pydatetime()],
    ]
    assert sheet["C2"].number_format == "DD/MM/YYYY"
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:C4")
    assert [sheet.column_dimensions[c].width for c in "ABC"] == [10, 5, 12]
    assert [[c.value for c in row] for row in book["Empty"].iter_rows()] == [["Name", "Age", "Born"]]


def test_many_rows_cross_blocks(tmp_path: Path) -> None:
    """Rows written in several blocks come back in order, each once."""
    frame = pd.DataFrame({"ID": [f"C{i:06d}" for i in range(45_001)], "N": range(45_001)})
    path = write_xlsx(tmp_path / "big.xlsx", {"S": frame}, {"S": [10, 8]})
    back = pd.read_excel(path, dtype=str)
    assert back["ID"].tolist() == frame["ID"].tolist() and back["N"].astype(int).tolist() == list(range(45_001))


def test_a_time_of_day_is_refused(tmp_path: Path) -> None:
    """A datetime with a time of day is refused rather than written as a date."""
    frame = pd.DataFrame({"When": [pd.Timestamp(2020, 1, 2, 10, 30).to_pydatetime()]}, dtype=object)
    with pytest.raises(ValueError, match="time of day"):
        write_xlsx(tmp_path / "t.xlsx", {"S": frame}, {"S": [10]})


def test_return_sheets_have_uk_dates_frozen_headings_and_filters(
    tmp_path: Path, config: ChildDataConfig, synthetic: dict[ListKind, Path]
) -> None:
    """Each sheet of an XLSX return freezes and filters its headings, and shows dates as dd/mm/yyyy."""
    data = import_lists(synthetic, config=config, notified_on=ON)
    book = openpyxl.load_workbook(write_return(data, tmp_path / "return.xlsx"))
    for sheet in book:
        assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", sheet.dimensions)
    assert book["EHC plans"]["D2"].is_date and book["EHC plans"]["D2"].number_format == "DD/MM/YYYY"
