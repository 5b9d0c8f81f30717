"""Check a submitted document the way a careful reviewer would start: its date, leftover edits, 'draft', links.

The results are shown to the accountable lead beside the Evidence Quality Assurance Checklist. They inform;
they never refuse. A package's sizes are read from its zip directory before any part is opened, and its XML is
read as a stream (entities and DTDs refused), so memory stays small whatever the document holds. The links it
finds are listed here and tried elsewhere (send_inspection/evidence/link_checks.py), after the answer is sent.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from send_inspection.files.content import package_problem

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DCTERMS = "{http://purl.org/dc/terms/}"
CORE_TEXT = {"{http://purl.org/dc/elements/1.1/}title", "{http://purl.org/dc/elements/1.1/}subject",
             "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}keywords",
             "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}contentStatus"}
RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
OOXML = (".docx", ".xlsx", ".pptx")
DRAFT = re.compile(r"\bdraft\b", re.IGNORECASE)
STALE_AFTER_DAYS = 365
# Text of one paragraph kept to look for 'draft' across its runs; a longer paragraph is searched in pieces.
_TEXT_WINDOW = 4096


@dataclass
class DocumentReport:
    """What the machine found in one document."""

    dated: str | None = None
    stale: bool = False
    tracked_changes: int = 0
    comments: int = 0
    marked_draft: bool = False
    links: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return the report as plain data (for the database)."""
        return asdict(self)


def check_document(path: Path, *, today: date) -> DocumentReport:
    """Check the document at `path` as of `today`; never raise for a document it cannot read."""
    report = DocumentReport()
    suffix = path.suffix.lower()
    try:
        if suffix in OOXML:
            _check_ooxml(path, report)
        elif suffix == ".pdf":
            _check_pdf(path, report)
        else:
            report.notes.append(f"no automatic checks for {suffix or 'this'} files")
    except (zipfile.BadZipFile, ParseError, DefusedXmlException, KeyError, OSError, EOFError) as exc:
        report.notes.append(f"the file could not be read as {suffix}: {type(exc).__name__}")
    if report.dated:
        report.stale = (today - date.fromisoformat(report.dated)).days > STALE_AFTER_DAYS
    return report


def _elements(stream: IO[bytes]) -> Iterator[Element]:
    """Yield each element of an XML stream as it ends, then drop it, so that memory holds one path at a time."""
    path: list[Element] = []
    for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if event == "start":
            path.append(element)
            continue
        path.pop()
        yield element
        if path:
            del path[-1][-1]  # an element that ends is its parent's last child so far


def _check_ooxml(path: Path, report: DocumentReport) -> None:
    with zipfile.ZipFile(path) as package:
        problem = package_problem(package, package_bytes=path.stat().st_size)
        if problem:
            report.notes.append(f"the machine did not open this document: {problem}")
            return
        names = set(package.namelist())
        if "docProps/core.xml" in names:
            _read_core(package, report)
        if "word/document.xml" in names:
            _read_body(package, report)
        if "word/comments.xml" in names:
            with package.open("word/comments.xml") as stream:
                report.comments = sum(1 for element in _elements(stream) if element.tag == f"{W}comment")
        links: list[str] = []
        for name in sorted(n for n in names if n.endswith(".rels")):
            with package.open(name) as stream:
                links += [element.get("Target", "") for element in _elements(stream) if element.tag == RELATIONSHIP
                          and element.get("TargetMode") == "External"
                          and element.get("Type", "").endswith("/hyperlink")]
        report.links = dict.fromkeys(dict.fromkeys(u for u in links if u.startswith(("http://", "https://"))),
                                     "not checked")


def _read_core(package: zipfile.ZipFile, report: DocumentReport) -> None:
    """Take the date the document was last saved (dcterms:modified, never the created date a template carries)."""
    with package.open("docProps/core.xml") as stream:
        for element in _elements(stream):
            text = (element.text or "").strip()
            if element.tag == f"{DCTERMS}modified" and re.match(r"\d{4}-\d{2}-\d{2}", text):
                report.dated = text[:10]
            elif element.tag in CORE_TEXT and DRAFT.search(text):
                report.marked_draft = True


def _read_body(package: zipfile.ZipFile, report: DocumentReport) -> None:
    """Count tracked changes and look for 'draft' in the text, a paragraph at a time."""
    paragraph = ""
    with package.open("word/document.xml") as stream:
        for element in _elements(stream):
            tag = element.tag
            if tag in (f"{W}ins", f"{W}del"):
                report.tracked_changes += 1
            elif tag == f"{W}t" and not report.marked_draft:
                paragraph += element.text or ""
                if len(paragraph) > _TEXT_WINDOW:
                    report.marked_draft = bool(DRAFT.search(paragraph))
                    paragraph = paragraph[-16:]
            elif tag == f"{W}p":
                report.marked_draft = report.marked_draft or bool(DRAFT.search(paragraph))
                paragraph = ""
    report.marked_draft = report.marked_draft or bool(DRAFT.search(paragraph))


def _check_pdf(path: Path, report: DocumentReport) -> None:
    data = path.read_bytes()
    stamp = re.search(rb"/ModDate\s*\(D:(\d{8})", data) or re.search(rb"/CreationDate\s*\(D:(\d{8})", data)
    if stamp:
        raw = stamp.group(1).decode()
        report.dated = f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}"
    title = re.search(rb"/Title\s*\(([^)]*)\)", data)
    report.marked_draft = bool(title and DRAFT.search(title.group(1).decode("latin-1")))
    links = [m.decode("latin-1") for m in re.findall(rb"/URI\s*\((https?://[^)]+)\)", data)]
    report.links = dict.fromkeys(dict.fromkeys(links), "not checked")


def summary_lines(report: dict) -> list[str]:
    """Say what a reviewer should look at, one sentence each."""
    lines = []
    if report.get("dated"):
        age = "more than twelve months old" if report.get("stale") else "within the last twelve months"
        lines.append(f"Last saved {report['dated']}: {age}.")
    else:
        lines.append("The document carries no date the machine can read.")
    if report.get("tracked_changes"):
        lines.append(f"It still holds {report['tracked_changes']} tracked change(s): accept or reject them.")
    if report.get("comments"):
        lines.append(f"It still holds {report['comments']} comment(s): remove them before it goes to inspectors.")
    if report.get("marked_draft"):
        lines.append("It is marked draft.")
    for url, state in (report.get("links") or {}).items():
        lines.append(f"Link {url}: {state}.")
    lines += report.get("notes") or []
    return lines
