"""Write small XLSX and ODS workbooks cell by cell, as spreadsheet programs save them, for the reading tests.

Each cell is given as its value: text, a number, a bool, a date, a datetime or a time (saved as a
date-formatted number in XLSX and as a date or time value in ODS), None for an empty cell, a
`Formula` (its expression and the value the program cached when it saved) or an `Error` (#DIV/0! …).
`Inline` is text saved in the cell itself rather than in the shared strings (as some exports do).
Writing the sheets here, rather than through a library, lets the tests hold formulas with their cached
values and error cells, which openpyxl and odfpy cannot write (the XLSX package's other parts are the
return's own, send_inspection.childdata.xlsx).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from send_inspection.childdata.xlsx import MAIN, REL, column_letter, write_package_parts


@dataclass(frozen=True)
class Formula:
    """A formula cell: its expression and the value cached when the workbook was saved (None: none cached)."""

    expression: str
    cached: object = None


@dataclass(frozen=True)
class Error:
    """An error cell, such as #DIV/0! or #N/A."""

    code: str


@dataclass(frozen=True)
class Inline:
    """Text kept in the cell itself (XLSX inline string); the same as plain text in ODS."""

    text: str


Rows = Sequence[Sequence[object]]
_EPOCH = datetime(1899, 12, 30)
# XLSX cell styles (see _STYLES): 1 date (built-in format 14), 2 date and time (22), 3 time (21), 4 dd/mm/yyyy.
_DATE, _DATETIME, _TIME, _UK_DATE = 1, 2, 3, 4


def _serial(value: date | datetime | time) -> str:
    """Return a date, datetime or time as Excel's day number."""
    if isinstance(value, time):
        return repr((value.hour * 3600 + value.minute * 60 + value.second) / 86400)
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return repr((moment - _EPOCH).total_seconds() / 86400)


class _XlsxSheet:
    def __init__(self, strings: dict[str, int], *, uk_dates: bool) -> None:
        self.strings, self.uk_dates = strings, uk_dates

    def shared(self, text: str) -> int:
        return self.strings.setdefault(text, len(self.strings))

    def cell(self, ref: str, value: object) -> str:
        if value is None:
            return ""
        formula = ""
        if isinstance(value, Formula):
            formula, value = f"<f>{escape(value.expression)}</f>", value.cached
            if value is None:
                return f'<c r="{ref}">{formula}</c>'
            if isinstance(value, str):  # a formula's text result is kept in the cell
                return f'<c r="{ref}" t="str">{formula}<v>{escape(value)}</v></c>'
        if isinstance(value, Error):
            return f'<c r="{ref}" t="e">{formula}<v>{escape(value.code)}</v></c>'
        if isinstance(value, Inline):
            return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value.text)}</t></is></c>'
        if isinstance(value, str):
            return f'<c r="{ref}" t="s"><v>{self.shared(value)}</v></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b">{formula}<v>{int(value)}</v></c>'
        if isinstance(value, (date, time)):
            return f'<c r="{ref}" s="{self.style(value)}">{formula}<v>{_serial(value)}</v></c>'
        return f'<c r="{ref}">{formula}<v>{value!r}</v></c>'

    def style(self, value: date | time) -> int:
        if isinstance(value, datetime):
            return _DATETIME
        if isinstance(value, date):
            return _UK_DATE if self.uk_dates else _DATE
        return _TIME

    def xml(self, rows: Rows, *, first_row: int) -> str:
        out = []
        for number, row in enumerate(rows, start=first_row):
            cells = "".join(self.cell(f"{column_letter(i)}{number}", v) for i, v in enumerate(row))
            if cells:
                out.append(f'<row r="{number}">{cells}</row>')
        return f'<worksheet xmlns="{MAIN}"><sheetData>{"".join(out)}</sheetData></worksheet>'


def write_xlsx_cells(path: Path, sheets: Mapping[str, Rows], *, uk_dates: bool = False, first_row: int = 1) -> Path:
    """Write `sheets` (name -> rows of cells) as an XLSX workbook whose rows start at `first_row`."""
    strings: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as book:
        for number, rows in enumerate(sheets.values(), start=1):
            sheet = _XlsxSheet(strings, uk_dates=uk_dates)
            book.writestr(f"xl/worksheets/sheet{number}.xml", sheet.xml(rows, first_row=first_row))
        items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
        book.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}" count="{len(strings)}">{items}</sst>')
        book.writestr("xl/styles.xml", _STYLES)
        entries = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1)
        )
        workbook = f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{entries}</sheets></workbook>'
        book.writestr("xl/workbook.xml", workbook)
        write_package_parts(book, len(sheets))
    return path


def _ods_cell(value: object) -> str:
    """Return one ODS table cell holding `value`."""
    if value is None:
        return "<table:table-cell/>"
    formula = ""
    if isinstance(value, Formula):
        formula = f" table:formula={quoteattr('of:=' + value.expression)}"
        value = value.cached
        if value is None:
            return f"<table:table-cell{formula}/>"
    if isinstance(value, Error):  # as LibreOffice saves an error result: a string cell showing the code
        return (
            f'<table:table-cell{formula} office:value-type="string" office:string-value="" '
            f'calcext:value-type="error"><text:p>{escape(value.code)}</text:p></table:table-cell>'
        )
    if isinstance(value, Inline):
        value = value.text
    if isinstance(value, str):
        text = f"<text:p>{escape(value)}</text:p>"
        return f'<table:table-cell{formula} office:value-type="string">{text}</table:table-cell>'
    if isinstance(value, bool):
        shown = "TRUE" if value else "FALSE"
        return (
            f'<table:table-cell{formula} office:value-type="boolean" office:boolean-value="{str(value).lower()}">'
            f"<text:p>{shown}</text:p></table:table-cell>"
        )
    if isinstance(value, datetime):
        return (
            f'<table:table-cell{formula} office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value:%d/%m/%Y %H:%M:%S}</text:p></table:table-cell>"
        )
    if isinstance(value, date):
        return (
            f'<table:table-cell{formula} office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value:%d/%m/%Y}</text:p></table:table-cell>"
        )
    if isinstance(value, time):
        duration = f"PT{value.hour:02d}H{value.minute:02d}M{value.second:02d}S"
        return (
            f'<table:table-cell{formula} office:value-type="time" office:time-value="{duration}">'
            f"<text:p>{value:%H:%M:%S}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell{formula} office:value-type="float" office:value="{value!r}">'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def write_ods_cells(path: Path, sheets: Mapping[str, Rows], *, first_row: int = 1) -> Path:
    """Write `sheets` (name -> rows of cells) as an ODS workbook whose rows start at `first_row`."""
    tables = []
    for name, rows in sheets.items():
        blank = f'<table:table-row table:number-rows-repeated="{first_row - 1}"><table:table-cell/></table:table-row>'
        body = (blank if first_row > 1 else "") + "".join(
            f"<table:table-row>{''.join(_ods_cell(v) for v in row) or '<table:table-cell/>'}</table:table-row>"
            for row in rows
        )
        tables.append(f"<table:table table:name={quoteattr(name)}>{body}</table:table>")
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NAMESPACES} office:version="1.3">'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/manifest.xml", _ODS_MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        book.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


_STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0"/>'
    '<xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/>'
    '<xf numFmtId="21" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


_ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
)
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)
