"""Reading a list as text from CSV, XLSX or ODS, keeping the row numbers the user sees."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pytest

from send_inspection.childdata.reading import ROW, NotText, Unreadable, read_table
from tests.childdata.workbooks import Error, Formula, Inline, write_ods_cells, write_xlsx_cells


def test_csv_keeps_ids_as_written_and_numbers_rows_as_a_spreadsheet(tmp_path: Path) -> None:
    """Leading zeros and 'NA' survive, blank lines are skipped but still counted, and the header is row 1."""
    path = tmp_path / "list.csv"
    path.write_text("ID,Need\n007, NA \n\n,\n0100,ASD\n", encoding="utf-8")
    frame = read_table(path)
    assert frame.to_dict("records") == [{ROW: 2, "ID": "007", "Need": "NA"}, {ROW: 5, "ID": "0100", "Need": "ASD"}]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig"])
def test_csv_saved_by_excel_is_read_in_its_encoding(tmp_path: Path, encoding: str) -> None:
    """A CSV in Windows-1252 (Excel's plain 'CSV') or UTF-8 (with Excel's byte order mark or without) is read."""
    path = tmp_path / "list.csv"
    path.write_bytes("ID,Setting\n1,Café Nursery\n2,Siân's Nursery\n".encode(encoding))
    assert read_table(path)["Setting"].tolist() == ["Café Nursery", "Siân's Nursery"]


def test_a_utf8_csv_with_stray_bytes_is_refused_naming_their_cells(tmp_path: Path) -> None:
    """A UTF-8 file holding one Windows-1252 byte is not decoded as Windows-1252 ('Siân' would become 'SiÃ¢n'):
    it is refused, naming the row and column of that byte, never the text."""
    path = tmp_path / "list.csv"
    path.write_bytes("ID,Name\n1,Siân\n2,Zo".encode() + b"\xeb" + b"\n3,Ann\n")
    with pytest.raises(NotText) as info:
        read_table(path)
    assert info.value.cells == [(3, 1)]
    assert str(info.value) == (
        "row(s) 3 hold bytes that are not UTF-8 text, though the rest of the file is UTF-8 (the values are not shown): "
        "type the text again, save the file as 'CSV UTF-8' and upload it again"
    )
    assert "Zo" not in str(info.value)


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


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons (;)"), ("\t", "tabs")])
def test_a_csv_separated_by_semicolons_or_tabs_says_so(tmp_path: Path, separator: str, name: str) -> None:
    """A CSV saved with semicolons (Excel where a comma is the decimal separator) or tabs is refused saying so."""
    path = tmp_path / "list.csv"
    lines = [["Case ID", "Forename", "Surname"], ["C001", "Nell", "Smith, Jr"]]
    path.write_text("".join(separator.join(line) + "\n" for line in lines))
    with pytest.raises(Unreadable) as info:
        read_table(path)
    assert str(info.value) == (
        f"the columns are separated by {name}, not commas: save the list as 'CSV UTF-8 (Comma delimited)' (or as "
        ".xlsx) and upload it again"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.txt", b"ID\n1\n", "cannot read .txt: save the list as .csv, .xlsx or .ods"),
        ("list.csv", b"", "the file is empty"),
        ("list.xlsx", b"not a zip", "not a readable .xlsx workbook (it is not a zip package: the file is damaged or "
         "not really .xlsx)"),
        ("list.ods", b"PK\x05\x06" + bytes(18), "not a readable .ods workbook (a part of it is missing or damaged)"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    """A wrong suffix, an empty CSV or a damaged workbook is refused with a reason."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(Unreadable) as info:
        read_table(path)
    assert str(info.value) == message


# Every kind of cell a spreadsheet program saves, and the text each has always been read as (pinned on the
# pandas openpyxl and odf readers before the lists were read through python-calamine).
CELLS = [
    ("text", "Siân", "Siân"),
    ("text like a number", "007", "007"),
    ("inline text", Inline("0123"), "0123"),
    ("whole number", 900001, "900001"),
    ("whole number saved as a decimal", 900001.0, "900001"),
    ("decimal", 1.5, "1.5"),
    ("negative", -3, "-3"),
    ("large number", 1e20, "100000000000000000000"),
    ("true or false", True, "True"),
    ("date", date(2015, 3, 4), "2015-03-04 00:00:00"),
    ("date and time", datetime(2015, 3, 4, 10, 30), "2015-03-04 10:30:00"),
    ("time", time(9, 0), "09:00:00"),
    ("date as text", "04/03/2015", "04/03/2015"),
    ("NA as text", "NA", "NA"),
    ("padded text", "  x  ", "x"),
    ("empty", None, ""),
    ("formula, number", Formula("1+1", 2), "2"),
    ("formula, text", Formula('"A"&"SD"', "ASD"), "ASD"),
    ("formula, date", Formula("DATE(2015,3,4)", date(2015, 3, 4)), "2015-03-04 00:00:00"),
    ("formula, true or false", Formula("1>2", False), "False"),
    ("formula, empty text", Formula('""', ""), ""),
    ("formula, nothing cached", Formula("A2"), ""),
]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_every_kind_of_cell_reads_as_the_same_text(tmp_path: Path, suffix: str) -> None:
    """Dates, whole numbers, text that looks like a number, empty cells and formulas read as they always have."""
    write = write_xlsx_cells if suffix == ".xlsx" else write_ods_cells
    headings = [name for name, _, _ in CELLS]
    cells = [cell for _, cell, _ in CELLS]
    path = write(tmp_path / f"cells{suffix}", {"List": [headings, cells, [None] * len(cells), cells]})
    expected = {name: text for name, _, text in CELLS}
    assert read_table(path).to_dict("records") == [{ROW: 2, **expected}, {ROW: 4, **expected}]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_an_error_cell_reads_as_empty(tmp_path: Path, suffix: str) -> None:
    """A cell showing an error (#DIV/0!, #N/A), typed or a formula's result, reads as empty text.

    (pandas' odf reader read an ODS error as the text it shows, '#DIV/0!'; python-calamine does not tell an error
    from an empty cell, so an ODS list now reads it as XLSX lists always have.)
    """
    write = write_xlsx_cells if suffix == ".xlsx" else write_ods_cells
    row = ["C001", Error("#N/A"), Formula("1/0", Error("#DIV/0!"))]
    path = write(tmp_path / f"errors{suffix}", {"List": [["ID", "typed", "formula"], row]})
    assert read_table(path).to_dict("records") == [{ROW: 2, "ID": "C001", "typed": "", "formula": ""}]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_headings_are_text_and_repeated_ones_numbered(tmp_path: Path, suffix: str) -> None:
    """A number or date heading reads as text, an empty one as 'Unnamed: N', a repeat (spaces aside) gains '.1'."""
    write = write_xlsx_cells if suffix == ".xlsx" else write_ods_cells
    headings = ["ID", None, "ID", 2023, date(2015, 1, 2), " ID "]
    path = write(tmp_path / f"headings{suffix}", {"List": [headings, ["a", "b", "c", "d", "e", "f"]]})
    table = read_table(path)
    assert list(table.columns) == [ROW, "ID", "Unnamed: 1", "ID.1", "2023", "2015-01-02 00:00:00", "ID.2"]
    assert table.loc[0, "ID"] == "a" and table.loc[0, "ID.2"] == "f"
