"""Check a submitted document the way a careful reviewer would start: its date, leftover edits, 'draft', links.

The results are shown to the accountable lead beside the Evidence Quality Assurance Checklist. They inform;
they never refuse. A link that cannot be reached from here is 'unverifiable', not 'broken': the server may
be inside the council's network.
"""

from __future__ import annotations

import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import httpx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
OOXML = (".docx", ".xlsx", ".pptx")
DRAFT = re.compile(r"\bdraft\b", re.IGNORECASE)
STALE_AFTER_DAYS = 365
MAX_LINKS = 25
LINK_TIMEOUT = 4.0


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


def check_document(path: Path, *, today: date, check_links: bool = True,
                   client: httpx.Client | None = None) -> DocumentReport:
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
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, OSError) as exc:
        report.notes.append(f"the file could not be read as {suffix}: {type(exc).__name__}")
    if report.dated:
        report.stale = (today - date.fromisoformat(report.dated)).days > STALE_AFTER_DAYS
    if check_links and report.links:
        report.links = check_links_reachable(list(report.links), client=client)
    return report


def _check_ooxml(path: Path, report: DocumentReport) -> None:
    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
        if "docProps/core.xml" in names:
            core = package.read("docProps/core.xml").decode("utf-8", "replace")
            stamp = re.search(r"<dcterms:modified[^>]*>([^<]+)<", core) or re.search(
                r"<dcterms:created[^>]*>([^<]+)<", core)
            if stamp:
                report.dated = stamp.group(1)[:10]
            meta = " ".join(re.findall(r"<(?:dc:title|cp:keywords|cp:contentStatus|dc:subject)>([^<]*)<", core))
            report.marked_draft = bool(DRAFT.search(meta))
        if "word/document.xml" in names:
            body = ElementTree.fromstring(package.read("word/document.xml"))
            report.tracked_changes = sum(1 for _ in body.iter(f"{W}ins")) + sum(1 for _ in body.iter(f"{W}del"))
            text = " ".join(t.text or "" for t in body.iter(f"{W}t"))
            report.marked_draft = report.marked_draft or bool(DRAFT.search(text))
        if "word/comments.xml" in names:
            report.comments = sum(1 for _ in ElementTree.fromstring(package.read("word/comments.xml")).iter(
                f"{W}comment"))
        links: list[str] = []
        for name in sorted(n for n in names if n.endswith(".rels")):
            rels = package.read(name).decode("utf-8", "replace")
            for tag in re.findall(r"<Relationship\b[^>]*>", rels):
                if 'TargetMode="External"' in tag and "/hyperlink" in tag:
                    target = re.search(r'Target="([^"]+)"', tag)
                    if target and target.group(1).startswith(("http://", "https://")):
                        links.append(target.group(1).replace("&amp;", "&"))
        report.links = dict.fromkeys(dict.fromkeys(links), "not checked")


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


def check_links_reachable(urls: list[str], *, client: httpx.Client | None = None) -> dict[str, str]:
    """Return 'reachable', 'broken (HTTP n)' or 'unverifiable' for each URL (at most MAX_LINKS are tried)."""
    own = client is None
    client = client or httpx.Client(timeout=LINK_TIMEOUT, follow_redirects=True)

    def one(url: str) -> str:
        try:
            response = client.head(url)
            if response.status_code in (405, 501):
                response = client.get(url)
        except httpx.HTTPError:
            return "unverifiable"
        if response.status_code < 400:
            return "reachable"
        if response.status_code in (401, 403):
            return "unverifiable"  # needs a login we do not have: a person must look
        return f"broken (HTTP {response.status_code})"

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = dict(zip(urls[:MAX_LINKS], pool.map(one, urls[:MAX_LINKS]), strict=True))
    finally:
        if own:
            client.close()
    results.update(dict.fromkeys(urls[MAX_LINKS:], "not checked (too many links)"))
    return results


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

