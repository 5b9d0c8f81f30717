"""Check that a file's bytes are what its name says, and that a document package opens to a bounded size.

A name is a claim; the bytes decide. The magic-bytes signatures come from puremagic; the structure of Office and
OpenDocument packages (zip files with required parts) is read from their zip directory without expanding
anything, so a package that would expand to hundreds of megabytes is refused before any part of it is opened.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import puremagic

# What any part of the product may expand a document package to: the zip directory's total, and its ratio
# to the package's own size once the total is past RATIO_APPLIES_ABOVE (small packages are never refused
# for their ratio: a page of text compresses well).
MAX_EXPANDED_BYTES = 100 * 1024 * 1024
MAX_EXPANSION_RATIO = 100
RATIO_APPLIES_ABOVE = 10 * 1024 * 1024
MAX_PARTS = 10_000

_MIB = 1024 * 1024
# Programs are named in plain words (puremagic ranks a Windows program below a plug-in that shares its header).
_PROGRAMS = {b"MZ": "a Windows program", b"\x7fELF": "a Linux program", b"\xcf\xfa\xed\xfe": "a macOS program",
             b"\xce\xfa\xed\xfe": "a macOS program", b"\xca\xfe\xba\xbe": "a macOS program", b"#!": "a script"}


@dataclass(frozen=True)
class Expected:
    """What a declared type must hold: how to name it, its magic-bytes extensions, or its package parts."""

    name: str
    magic: frozenset[str] = frozenset()
    parts: tuple[str, ...] = ()
    odf_mimetype: str | None = None
    text: bool = False


_OOXML = "save it again from Microsoft Office (or 'Save as' the right type)"
EXPECTED: dict[str, Expected] = {
    ".pdf": Expected("a PDF document", magic=frozenset({".pdf"})),
    ".png": Expected("a PNG image", magic=frozenset({".png"})),
    ".jpg": Expected("a JPEG image", magic=frozenset({".jpg", ".jpeg", ".jfif", ".jpe"})),
    ".jpeg": Expected("a JPEG image", magic=frozenset({".jpg", ".jpeg", ".jfif", ".jpe"})),
    # Word 97-2003 and Excel 97-2003 files are OLE compound files: one signature for both.
    ".doc": Expected("a Word 97-2003 document", magic=frozenset({".doc", ".xls"})),
    ".xls": Expected("an Excel 97-2003 workbook", magic=frozenset({".doc", ".xls"})),
    ".docx": Expected("a Word document", parts=("[Content_Types].xml", "word/document.xml")),
    ".xlsx": Expected("an Excel workbook", parts=("[Content_Types].xml", "xl/workbook.xml")),
    ".pptx": Expected("a PowerPoint presentation", parts=("[Content_Types].xml", "ppt/presentation.xml")),
    ".odt": Expected("an OpenDocument text", parts=("mimetype", "content.xml"),
                     odf_mimetype="application/vnd.oasis.opendocument.text"),
    ".ods": Expected("an OpenDocument spreadsheet", parts=("mimetype", "content.xml"),
                     odf_mimetype="application/vnd.oasis.opendocument.spreadsheet"),
    ".odp": Expected("an OpenDocument presentation", parts=("mimetype", "content.xml"),
                     odf_mimetype="application/vnd.oasis.opendocument.presentation"),
    ".csv": Expected("a CSV text file", text=True),
    ".txt": Expected("a text file", text=True),
}


def content_problem(filename: str, data: bytes) -> str | None:
    """Say why `data` is not the type its name declares (and what it is instead); None when it is."""
    ext = filename[filename.rfind("."):].lower() if "." in filename else ""
    expected = EXPECTED.get(ext)
    if expected is None:
        return None  # the caller's list of accepted extensions decides what may come in at all
    if expected.parts:
        return _package_problem(filename, data, expected)
    if expected.text:
        return _text_problem(filename, data, expected)
    return None if expected.magic & _magic_extensions(data) else _mismatch(filename, data, expected)


def package_problem(package: zipfile.ZipFile, *, package_bytes: int) -> str | None:
    """Say why a package must not be opened (too many parts, or expanding past the bounds), from its directory."""
    entries = package.infolist()
    if len(entries) > MAX_PARTS:
        return f"it holds {len(entries):,} parts, more than the {MAX_PARTS:,} we open"
    expanded = sum(entry.file_size for entry in entries)
    if expanded > MAX_EXPANDED_BYTES:
        return (f"it expands to {expanded / _MIB:,.0f} MiB when opened, more than the "
                f"{MAX_EXPANDED_BYTES // _MIB} MiB we accept")
    if expanded > RATIO_APPLIES_ABOVE and expanded > MAX_EXPANSION_RATIO * max(package_bytes, 1):
        return (f"it expands {expanded // max(package_bytes, 1):,} times over when opened "
                f"({expanded / _MIB:,.0f} MiB), more than the {MAX_EXPANSION_RATIO} times we accept")
    return None


def _package_problem(filename: str, data: bytes, expected: Expected) -> str | None:
    """Say why a package is refused: not a zip file, expanding past the bounds, or lacking the parts of its type."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return _mismatch(filename, data, expected)
    with package:
        problem = package_problem(package, package_bytes=len(data))
        if problem:
            return (f"'{filename}' cannot be accepted: {problem}. Save it again without embedded copies, "
                    "or share it by hyperlink instead")
        names = set(package.namelist())
        missing = [part for part in expected.parts if part not in names]
        mimetype_ok = expected.odf_mimetype is None or (
            "mimetype" in names and package.getinfo("mimetype").file_size < 200
            and package.read("mimetype").strip() == expected.odf_mimetype.encode())
        if missing or not mimetype_ok:
            what = f"it lacks {', '.join(missing)}" if missing else "its mimetype part names another type"
            advice = _OOXML if filename.lower().endswith("x") else "save it again as that type"
            return f"'{filename}' is a zip file but not {expected.name} ({what}): {advice}, and upload it again"
    return None


def _text_problem(filename: str, data: bytes, expected: Expected) -> str | None:
    """Say why a text file is refused: it holds binary bytes (a NUL, or a known binary signature at its start)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark: text with NULs in it
        try:
            data.decode("utf-16")
        except UnicodeDecodeError:
            return _mismatch(filename, data, expected)
        return None
    binary = any(match.mime_type and not match.mime_type.startswith("text/") for match in _matches(data))
    return _mismatch(filename, data, expected) if binary or b"\x00" in data else None


def _matches(data: bytes) -> list:
    """Return puremagic's matches for the bytes, most likely first (none when it recognises nothing)."""
    try:
        return puremagic.magic_string(data)
    except puremagic.PureError:
        return []


def _magic_extensions(data: bytes) -> set[str]:
    return {match.extension.lower() for match in _matches(data)}


def _mismatch(filename: str, data: bytes, expected: Expected) -> str:
    """Say the file is not what its name says, and what its bytes look like instead."""
    found = sorted(_matches(data), key=lambda match: (not match.mime_type, -match.confidence))
    program = next((name for magic, name in _PROGRAMS.items() if data.startswith(magic)), None)
    if program:
        looks = f"it is {program}"
    elif zipfile.is_zipfile(io.BytesIO(data)):
        looks = "it is a zip file"
    elif found:
        looks = f"it looks like {found[0].name or found[0].extension}"
    else:
        looks = "it is a kind of file we do not recognise"
    return (f"'{filename}' is named as {expected.name}, but {looks}: nothing was stored. "
            "Upload the document itself, saved in the type its name says")
