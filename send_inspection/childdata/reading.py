"""Read a list from CSV, XLSX or ODS as text, keeping the row number the user sees in a spreadsheet.

A CSV is read as UTF-8 (with or without Excel's byte order mark), or as Windows-1252 when it holds no
UTF-8 at all (Excel's plain "CSV"). Text is never changed by decoding: a UTF-8 file with some bytes
that are not UTF-8 is refused (NotText) naming the cells that hold them, not decoded as Windows-1252
throughout, which would turn every 'Siân' into 'SiÃ¢n'.

Workbooks, XLSX and ODS alike, are read with python-calamine (a Rust reader: a list of 100,000 children
in about a second, where openpyxl took 15 to 20). Each cell becomes the text pandas' openpyxl and odf
readers gave it, so a list gives the same problems, word for word, whichever reader read it: a whole
number without '.0' ('900001'), a date cell as '2015-03-04 00:00:00', a date with a time of day as
'2015-03-04 10:30:00', a time as '09:00:00', a true/false cell as 'True'/'False', a formula as the value
it showed when the workbook was saved, an empty cell as ''. An error cell (#DIV/0!, #N/A) reads as ''.

Headings are text too: an empty one is 'Unnamed: N' (N counts columns from 0) and a repeated one gains
'.1', '.2', as pandas names them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, ZipError

ROW = "source_row"  # the column holding each record's spreadsheet row number (the header is row 1)
WORKBOOKS = (".xlsx", ".ods")
SUFFIXES = (".csv", *WORKBOOKS)


class Unreadable(Exception):
    """The file cannot be read as a table; the message says why, and holds no cell values."""


class NotText(Unreadable):
    """Some cells of a UTF-8 CSV hold bytes that are not UTF-8 text; nothing of theirs is shown.

    `cells` holds the spreadsheet row (the headings are row 1) and the 0-based column of each; `columns` the
    file as read, column by column from its heading, those cells' bytes kept as lone surrogates, so that a
    caller can name their headings and ids.
    """

    def __init__(self, cells: list[tuple[int, int]], columns: list[list[str]]) -> None:
        self.cells, self.columns = cells, columns
        shown = sorted({row for row, _ in cells})
        listed = ", ".join(map(str, shown[:20])) + (f" and {len(shown) - 20} more" if len(shown) > 20 else "")
        super().__init__(
            f"row(s) {listed} hold bytes that are not UTF-8 text, though the rest of the file is UTF-8 (the values "
            f"are not shown): {RETYPE}"
        )


RETYPE = "type the text again, save the file as 'CSV UTF-8' and upload it again"
# A multi-byte UTF-8 character: a file holding one is UTF-8, whatever else it holds.
_UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|"
    rb"\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
NOT_DECODED = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8, kept by surrogateescape
_BOM = b"\xef\xbb\xbf"


def _csv_encoding(data: bytes) -> str:
    """Return how the whole file decodes without changing any text: UTF-8, or (holding no UTF-8 at all) cp1252.

    Excel's "CSV UTF-8" writes UTF-8 with a byte order mark, its plain "CSV" Windows-1252. A file that is
    UTF-8 but for some bytes is neither: decoding it all as cp1252 would turn every 'â' into 'Ã¢'. It is
    read as UTF-8 with those bytes kept apart, and refused naming their cells (NotText).
    """
    try:
        data.decode("utf-8")
        return "utf-8-sig" if data.startswith(_BOM) else "utf-8"
    except UnicodeDecodeError:
        pass
    if data.startswith(_BOM) or _UTF8_CHARACTER.search(data):
        return "mixed"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise Unreadable("cannot read the text: save the CSV as UTF-8 ('CSV UTF-8' in Excel)") from exc
    return "cp1252"


def _read_csv(path: Path) -> list[list[str]]:
    """Return the CSV's columns, each a list of its fields' text from the heading; raise NotText for bytes that are
    not text."""
    data = path.read_bytes()
    encoding = _csv_encoding(data)
    _refuse_other_separators(data.split(b"\n", 1)[0].decode("utf-8" if encoding == "mixed" else encoding, "replace"))
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig" if encoding == "mixed" else encoding,
            encoding_errors="surrogateescape" if encoding == "mixed" else "strict",
        )
    except pd.errors.EmptyDataError as exc:
        raise Unreadable("the file is empty") from exc
    except pd.errors.ParserError as exc:  # pandas names the line and field counts, never the values
        raise Unreadable(f"not a readable CSV file ({exc})") from exc
    columns = [frame.iloc[:, i].to_numpy(dtype=object).tolist() for i in range(frame.shape[1])]
    if encoding == "mixed":
        raise NotText(_not_decoded(columns), columns)
    return columns


def _refuse_other_separators(headings: str) -> None:
    """Refuse a file whose heading row is separated by semicolons or tabs rather than commas, saying so."""
    for separator, name in ((";", "semicolons (;)"), ("\t", "tabs")):
        if headings.count(separator) > headings.count(","):
            raise Unreadable(
                f"the columns are separated by {name}, not commas: save the list as 'CSV UTF-8 (Comma delimited)' "
                "(or as .xlsx) and upload it again"
            )


def _not_decoded(columns: list[list[str]]) -> list[tuple[int, int]]:
    """Return (spreadsheet row, column) of each cell holding bytes that were not decoded, row by row."""
    cells = []
    for index, column in enumerate(columns):
        if NOT_DECODED.search("\x00".join(column)):
            cells += [(number, index) for number, value in enumerate(column, start=1) if NOT_DECODED.search(value)]
    return sorted(cells)


def _open_workbook(path: Path) -> CalamineWorkbook:
    """Open a workbook, or say (without its contents) why it cannot be read."""
    suffix = path.suffix.lower()
    try:
        return CalamineWorkbook.from_path(path)
    except PasswordError as exc:
        raise Unreadable(f"the {suffix} workbook is protected by a password: save a copy without one") from exc
    except ZipError as exc:
        raise Unreadable(
            f"not a readable {suffix} workbook (it is not a zip package: the file is damaged or not really {suffix})"
        ) from exc
    except CalamineError as exc:  # its messages name the package's parts, never a cell
        raise Unreadable(f"not a readable {suffix} workbook (a part of it is missing or damaged)") from exc


def _read_workbook(path: Path, *, sheet: str | None) -> list[list[object]]:
    """Return the columns of a workbook's sheet (the first if `sheet` is None) from A1, as the cells' values."""
    book = _open_workbook(path)
    with book:
        if sheet is not None and sheet not in book.sheet_names:
            names = ", ".join(repr(str(s)) for s in book.sheet_names)
            raise Unreadable(f"no sheet named {sheet!r} (sheets found: {names})")
        try:
            found = book.get_sheet_by_index(0) if sheet is None else book.get_sheet_by_name(sheet)
            rows = found.to_python(skip_empty_area=False)
        except CalamineError as exc:
            raise Unreadable(f"cannot read the sheet ({type(exc).__name__})") from exc
    return [list(column) for column in zip(*rows, strict=True)]


def sheet_headings(path: Path) -> dict[str, list[str]]:
    """Return each sheet of a workbook by name, with the text of its first row."""
    book = _open_workbook(Path(path))
    with book:
        found = {}
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=1)
            found[name] = [cell_text(v).strip() for v in rows[0]] if rows else []
        return found


def cell_text(value: object) -> str:
    """Return a workbook cell's value as the text pandas' openpyxl and odf readers made of it."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):  # before date: a datetime is a date
        return str(value)
    if isinstance(value, date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, timedelta):
        return str(pd.Timedelta(value))
    if isinstance(value, (bool, int, time)):
        return str(value)
    return "" if value is None else str(value)


def _headings(cells: Sequence[object]) -> list[str]:
    """Return a table's column names: its first row as stripped text, an empty one 'Unnamed: N', repeats numbered."""
    names: list[str] = []
    counts: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell_text(cell).strip() or f"Unnamed: {index}"
        count = counts.get(name, 0)
        while count:  # 'ID', 'ID' -> 'ID', 'ID.1' (and on, past any 'ID.1' already there), as pandas does
            counts[name] = count + 1
            name = f"{name}.{count}"
            count = counts.get(name, 0)
        counts[name] = count + 1
        names.append(name)
    return names


def _table(columns: list[list[object]]) -> pd.DataFrame:
    """Return columns (each from its heading) as a frame of stripped text with each row's number in ROW."""
    if not columns:
        return pd.DataFrame({ROW: pd.Series([], dtype=int)})
    names = _headings([column[0] for column in columns])
    texts = [_stripped(column[1:]) for column in columns]
    numbers = list(range(2, len(texts[0]) + 2))
    blank = [not any(cells) for cells in zip(*texts, strict=True)]
    if any(blank):
        kept = [i for i, empty in enumerate(blank) if not empty]
        numbers = [numbers[i] for i in kept]
        texts = [[column[i] for i in kept] for column in texts]
    return pd.DataFrame({ROW: numbers, **{n: pd.Series(t, dtype=str) for n, t in zip(names, texts, strict=True)}})


def _stripped(values: Sequence[object]) -> list[str]:
    """Return cells as stripped text, each distinct value that is not text yet turned into text once."""
    try:
        return list(map(str.strip, values))  # type: ignore[arg-type]
    except TypeError:  # cells that are not text
        if bool in set(map(type, values)):  # True == 1 == 1.0, yet each reads differently: one at a time
            return [cell_text(v).strip() for v in values]
        texts = {v: cell_text(v).strip() for v in set(values)}
        return [texts[v] for v in values]


def read_table(path: Path, *, sheet: str | None = None) -> pd.DataFrame:
    """Return every non-blank record of `path` as stripped text, with its spreadsheet row number in ROW."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise Unreadable(f"cannot read {suffix or 'a file without a suffix'}: save the list as .csv, .xlsx or .ods")
    if not path.is_file():
        raise Unreadable("file not found")
    return _table(_read_csv(path) if suffix == ".csv" else _read_workbook(path, sheet=sheet))
