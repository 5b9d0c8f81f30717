"""Read a list from CSV, XLSX or ODS as text, keeping the row number the user sees in a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROW = "source_row"  # the column holding each record's spreadsheet row number (the header is row 1)
ENGINES = {".xlsx": "openpyxl", ".ods": "odf"}
SUFFIXES = (".csv", *ENGINES)
_CSV_ENCODINGS = ("utf-8-sig", "cp1252")  # what Excel's "Save as CSV" writes, with and without UTF-8


class Unreadable(Exception):
    """The file cannot be read as a table; the message says why, and holds no cell values."""


def _read_csv(path: Path) -> pd.DataFrame:
    for encoding in _CSV_ENCODINGS:
        try:
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                encoding=encoding,
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise Unreadable("the file is empty") from exc
        except pd.errors.ParserError as exc:  # pandas names the line and field counts, never the values
            raise Unreadable(f"not a readable CSV file ({exc})") from exc
    raise Unreadable("cannot read the text: save the CSV as UTF-8")


def _read_workbook(path: Path, *, sheet: str | None) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path, engine=ENGINES[path.suffix.lower()])
    except Exception as exc:  # a damaged or mis-named file: openpyxl and odfpy raise many kinds
        raise Unreadable(f"not a readable {path.suffix.lower()} workbook ({type(exc).__name__})") from exc
    with book:
        if sheet is not None and sheet not in book.sheet_names:
            names = ", ".join(repr(str(s)) for s in book.sheet_names)
            raise Unreadable(f"no sheet named {sheet!r} (sheets found: {names})")
        try:
            return book.parse(sheet if sheet is not None else 0, dtype=str, keep_default_na=False, na_filter=False)
        except Exception as exc:
            raise Unreadable(f"cannot read the sheet ({type(exc).__name__})") from exc


def read_table(path: Path, *, sheet: str | None = None) -> pd.DataFrame:
    """Return every non-blank record of `path` as stripped text, with its spreadsheet row number in ROW."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise Unreadable(f"cannot read {suffix or 'a file without a suffix'}: save the list as .csv, .xlsx or .ods")
    if not path.is_file():
        raise Unreadable("file not found")
    frame = _read_csv(path) if suffix == ".csv" else _read_workbook(path, sheet=sheet)
    stripped = pd.DataFrame({i: _stripped(frame.iloc[:, i]) for i in range(frame.shape[1])}, index=frame.index)
    stripped.columns = [str(c).strip() for c in frame.columns]
    stripped.insert(0, ROW, range(2, len(frame) + 2))
    blank = stripped.drop(columns=ROW).eq("").all(axis=1)
    return stripped if not blank.any() else stripped.loc[~blank].reset_index(drop=True)


def _stripped(column: pd.Series) -> pd.Series:
    """Return a column as stripped text, blanks as '' (a plain loop: much faster than pandas' .str.strip())."""
    values = column.fillna("").to_numpy(dtype=object).tolist()
    try:
        stripped = [v.strip() for v in values]
    except AttributeError:  # a cell that is not text yet
        stripped = [str(v).strip() for v in values]
    return pd.Series(stripped, index=column.index, dtype=str)
