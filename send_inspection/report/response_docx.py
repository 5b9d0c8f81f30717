"""Write the factual-accuracy response as a Word document (.docx), the form a council sends it in."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import date
from typing import IO

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Row

from send_inspection.report.comments import AccuracyComment, MergedComment
from send_inspection.report.table import COLUMNS, MARKING, TITLE, particulars, table_rows

WIDTHS_CM = (1.2, 2.8, 10.0, 7.5, 4.2)  # landscape A4 with 2 cm margins leaves 25.7 cm
MARKING_RED = RGBColor(0xC0, 0x00, 0x00)


def _repeat_as_heading(row: _Row) -> None:
    """Make a table row repeat at the top of every page the table runs onto."""
    heading = OxmlElement("w:tblHeader")
    heading.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(heading)


def _fill_table(table: Table, rows: Sequence[Sequence[int | str]]) -> None:
    """Write the bold heading row and one row per comment, each column at its width."""
    table.style = "Table Grid"
    table.autofit = False
    heading = table.rows[0]
    _repeat_as_heading(heading)
    for cell, label in zip(heading.cells, COLUMNS, strict=True):
        cell.paragraphs[0].add_run(label).bold = True
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = str(value)
    for column, width in zip(table.columns, WIDTHS_CM, strict=True):
        for cell in column.cells:
            cell.width = Cm(width)


def write_response_docx(
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    *,
    area_name: str,
    inspection_ref: str,
    draft_received: date,
    due: date,
    comments: Iterable[AccuracyComment | MergedComment],
    signed_off_by: Sequence[tuple[str, str]],
) -> None:
    """Write the response: marking, title, particulars, then one table row per merged comment in report order."""
    document = Document()
    document.core_properties.title = f"{TITLE}: {area_name}"
    document.core_properties.category = MARKING
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Cm(2.0)
    for paragraph in (section.header.paragraphs[0], document.add_paragraph()):
        run = paragraph.add_run(MARKING)
        run.bold, run.font.color.rgb = True, MARKING_RED
    document.add_heading(TITLE, level=0)
    lines = particulars(area_name, inspection_ref, draft_received=draft_received, due=due, signed_off_by=signed_off_by)
    for label, value in lines:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(2)
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value)
    document.add_paragraph()
    _fill_table(document.add_table(rows=1, cols=len(COLUMNS)), table_rows(comments))
    document.save(path_or_stream)
