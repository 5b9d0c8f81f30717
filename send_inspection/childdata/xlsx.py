"""Write plain tables as an XLSX workbook quickly: text, whole numbers and dates, a bold frozen heading row, a filter.

openpyxl and xlsxwriter build a Python object or make a call per cell, which takes 10 to 30 seconds for
a return of 100,000 children; this writes each sheet's XML a block of rows at a time instead. Each
sheet gets what the return needs and no more: a heading row, frozen and with a filter, column widths,
text in the shared strings table, whole numbers, and dates as date cells shown dd/mm/yyyy (the format
the return always asked pandas for, which pandas' openpyxl writer ignores). Empty text and missing
values are empty cells.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from numbers import Integral, Real
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

DATE_FORMAT = "DD/MM/YYYY"
_ROWS_PER_BLOCK = 20_000
_EPOCH = date(1899, 12, 30)  # Excel's day 0 (so that its day 60 is its famous 29 February 1900)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold
_DATE_STYLE = 1  # the cell style (in _STYLES) of a date
_EMPTY = '"/>'  # the rest of an empty cell: `<c r="A2"/>`


def column_letter(index: int) -> str:
    """Return the spreadsheet letters of the column at 0-based `index` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Strings:
    """The shared strings table: each distinct text once, cells refer to it by number."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def xml(self) -> str:
        texts = list(self.index)
        if _NOT_XML.search("".join(texts)):
            texts = [_NOT_XML.sub("", text) for text in texts]
        # Escaped all at once: NUL, which no text now holds, stands for the tags between two texts.
        items = escape("\x00".join(texts)).replace("\x00", '</t></si><si><t xml:space="preserve">')
        count = len(texts)
        head = f'{_XML}<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">'
        return head + (f'<si><t xml:space="preserve">{items}</t></si>' if texts else "") + "</sst>"


def _text(value: str) -> str:
    """Return `value` escaped for XML, without the control characters XML cannot hold."""
    return escape(_NOT_XML.sub("", value))


def _cell_tail(value: Any, strings: _Strings) -> str:
    """Return the rest of a cell after `<c r="A2` (from the closing quote) holding `value` (empty: `"/>`)."""
    if value is None or value is pd.NaT or isinstance(value, str) and not value:
        return _EMPTY
    if isinstance(value, str):
        return f'" t="s"><v>{strings.add(value)}</v></c>'
    if isinstance(value, bool):
        return f'" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError("a date with a time of day cannot be written: write the date alone")
        value = value.date()
    if isinstance(value, date):
        return f'" s="{_DATE_STYLE}"><v>{(value - _EPOCH).days}</v></c>'
    if isinstance(value, Integral):
        return f'"><v>{int(value)}</v></c>'
    if isinstance(value, Real):
        return _EMPTY if value != value else f'"><v>{float(value)!r}</v></c>'  # NaN: empty
    raise TypeError(f"cannot write a {type(value).__name__} in a workbook cell")


def _sheet_rows(frame: pd.DataFrame, strings: _Strings) -> Any:
    """Yield the XML of the heading row, then of the other rows a block at a time."""
    letters = [column_letter(i) for i in range(frame.shape[1])]
    heading = "".join(
        f'<c r="{letter}1" t="s"><v>{strings.add(str(name))}</v></c>'
        for letter, name in zip(letters, frame.columns, strict=True)
    )
    yield f'<row r="1">{heading}</row>'
    columns = [frame.iloc[:, i].to_numpy(dtype=object).tolist() for i in range(frame.shape[1])]
    # A row is one format call: '<row r="{0}"><c r="A{0}{1}<c r="B{0}{2}…</row>' with each cell's tail.
    cells = "".join(f'<c r="{letter}{{0}}{{{i}}}' for i, letter in enumerate(letters, start=1))
    template = f'<row r="{{0}}">{cells}</row>'
    for start in range(0, len(frame), _ROWS_PER_BLOCK):
        numbers = [str(r) for r in range(start + 2, min(start + _ROWS_PER_BLOCK, len(frame)) + 2)]
        cells = [_tails(values[start : start + _ROWS_PER_BLOCK], strings) for values in columns]
        yield "".join(map(template.format, numbers, *cells))


def _tails(block: list[Any], strings: _Strings) -> list[str]:
    """Return the tail of each cell of a block of one column, making each distinct value's tail once."""
    kinds = set(map(type, block))
    if kinds == {str}:  # the common case, without a type test per value
        index = strings.index
        tails = {
            v: f'" t="s"><v>{index.setdefault(v, len(index))}</v></c>' if v else _EMPTY for v in dict.fromkeys(block)
        }
    elif bool in kinds and len(kinds) > 1:  # True == 1: no shared lookup for a mixed column
        return [_cell_tail(v, strings) for v in block]
    else:
        tails = {v: _cell_tail(v, strings) for v in dict.fromkeys(block)}
    return list(map(tails.__getitem__, block))


def _sheet_xml_parts(frame: pd.DataFrame, strings: _Strings, widths: list[float]) -> Any:
    """Yield the worksheet XML of `frame` in parts."""
    last = f"{column_letter(max(frame.shape[1], 1) - 1)}{len(frame) + 1}"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>' for i, width in enumerate(widths, start=1)
    )
    yield (
        f'{_XML}<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetPr><outlinePr summaryBelow="1" '
        f'summaryRight="1"/></sheetPr><dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}<sheetData>'
    )
    yield from _sheet_rows(frame, strings)
    yield f'</sheetData><autoFilter ref="A1:{last}"/>'
    yield '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>'


def write_xlsx(path: Path, sheets: Mapping[str, pd.DataFrame], widths: Mapping[str, list[float]]) -> Path:
    """Write each frame as a sheet of the workbook `path` (its columns' widths in `widths`), replacing it."""
    strings = _Strings()
    names = list(sheets)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for number, (name, frame) in enumerate(sheets.items(), start=1):
            with book.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as handle:
                _write_parts(handle, _sheet_xml_parts(frame, strings, widths[name]))
        book.writestr("xl/sharedStrings.xml", strings.xml())
        book.writestr("xl/workbook.xml", _workbook(names, sheets))
        book.writestr("xl/styles.xml", _STYLES)
        write_package_parts(book, len(names))
    return path


def write_package_parts(book: zipfile.ZipFile, sheets: int) -> None:
    """Write the parts every workbook of `sheets` sheets has besides its sheets, strings, styles and workbook.xml."""
    book.writestr("[Content_Types].xml", _content_types(sheets))
    book.writestr("_rels/.rels", _ROOT_RELS)
    book.writestr("docProps/app.xml", _APP)
    book.writestr("docProps/core.xml", _CORE)
    book.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(sheets))


def _write_parts(handle: IO[bytes], parts: Iterator[str]) -> None:
    """Write each part to `handle`, compressing one in a second thread while the next is made.

    zlib and the CRC give up the GIL, so on 2 cores compressing costs almost no time of its own.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[int] | None = None
        for part in parts:
            data = part.encode("utf-8")
            if pending is not None:
                pending.result()
            pending = pool.submit(handle.write, data)
        if pending is not None:
            pending.result()


def _workbook(names: list[str], sheets: Mapping[str, pd.DataFrame]) -> str:
    entries = "".join(
        f'<sheet name={quoteattr(_NOT_XML.sub("", n))} sheetId="{i}" r:id="rId{i}"/>'
        for i, n in enumerate(names, start=1)
    )
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{_text(_quoted(n))}!$A$1:${column_letter(max(sheets[n].shape[1], 1) - 1)}${len(sheets[n]) + 1}"
        "</definedName>"
        for i, n in enumerate(names)
    )
    return (
        f'{_XML}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr/><bookViews><workbookView '
        f'activeTab="0"/></bookViews><sheets>{entries}</sheets><definedNames>{filters}</definedNames>'
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def _quoted(name: str) -> str:
    """Return a sheet name as a formula refers to it: in single quotes, its own quotes doubled."""
    return "'" + name.replace("'", "''") + "'"


def _workbook_rels(count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    return (
        f'{_XML}<Relationships xmlns="{_PKG}/relationships">{sheets}'
        f'<Relationship Id="rId{count + 1}" Type="{REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{count + 2}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )


def _content_types(count: int) -> str:
    ml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ml}.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    return (
        f'{_XML}<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ml}.sheet.main+xml"/>{sheets}'
        f'<Override PartName="/xl/styles.xml" ContentType="{ml}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ml}.sharedStrings+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"  # the namespaces a sheet and workbook.xml use
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG}/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (
    f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>send-inspection</Application></Properties>"
)
_CORE = (
    f'{_XML}<cp:coreProperties xmlns:cp="{_PKG}/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>send-inspection</dc:creator></cp:coreProperties>'
)
# Styles: 0 plain; 1 a date shown dd/mm/yyyy.
_STYLES = (
    f'{_XML}<styleSheet xmlns="{MAIN}">'
    f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
