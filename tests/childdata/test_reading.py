"""Reading a list as text from CSV, XLSX or ODS, keeping the row numbers the user sees."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from send_inspection.childdata.reading import ROW, Unreadable, read_table


def test_csv_keeps_ids_as_written_and_numbers_rows_as_a_spreadsheet(tmp_path: Path) -> None:
    """Leading zeros and 'NA' survive, blank lines are skipped but still counted, and the header is row 1."""
    path = tmp_path / "list.csv"
    path.write_text("ID,Need\n007, NA \n\n,\n0100,ASD\n", encoding="utf-8")
    frame = read_table(path)
    assert frame.to_dict("records") == [{ROW: 2, "ID": "007", "Need": "NA"}, {ROW: 5, "ID": "0100", "Need": "ASD"}]


def test_csv_saved_by_excel_in_windows_encoding_is_read(tmp_path: Path) -> None:
    """A CSV in Windows-1252 (Excel's plain 'CSV') is read, not refused."""
    path = tmp_path / "list.csv"
    path.write_bytes("ID,Setting\n1,Café Nursery\n".encode("cp1252"))
    assert read_table(path)["Setting"].tolist() == ["Café Nursery"]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_workbook_cells_come_back_as_text(tmp_path: Path, suffix: str) -> None:
    """Number and date cells of a workbook are read as text, with blank rows counted like CSV."""
    path = tmp_path / f"list{suffix}"
    frame = pd.DataFrame({"ID": [12345, None, 7], "DOB": [date(2015, 3, 4), None, "04/05/2016"]})
    frame.to_excel(path, index=False, engine="openpyxl" if suffix == ".xlsx" else "odf")
    read = read_table(path)
    assert read.to_dict("records") == [
        {ROW: 2, "ID": "12345", "DOB": "2015-03-04 00:00:00"},
        {ROW: 4, "ID": "7", "DOB": "04/05/2016"},
    ]


def test_named_sheet_is_read_and_a_missing_one_is_named(tmp_path: Path) -> None:
    """A workbook's named sheet is read; a sheet that is not there is reported with the sheets found."""
    path = tmp_path / "lists.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"A": ["first"]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.DataFrame({"A": ["second"]}).to_excel(writer, sheet_name="EHCP", index=False)
    assert read_table(path, sheet="EHCP")["A"].tolist() == ["second"]
    with pytest.raises(Unreadable, match=r"^no sheet named 'SEN' \(sheets found: 'Cover', 'EHCP'\)$"):
        read_table(path, sheet="SEN")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.txt", b"ID\n1\n", "cannot read .txt: save the list as .csv, .xlsx or .ods"),
        ("list.csv", b"", "the file is empty"),
        ("list.xlsx", b"not a zip", "not a readable .xlsx workbook (BadZipFile)"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    """A wrong suffix, an empty CSV or a damaged workbook is refused with a reason."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(Unreadable) as info:
        read_table(path)
    assert str(info.value) == message
