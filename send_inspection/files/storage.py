"""The one door for files people hand in: size, allowed types, content that matches the type, safe names."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from send_inspection.files.content import content_problem

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
ALLOWED_EXTENSIONS = {
    ".pdf", ".docx", ".doc", ".xlsx", ".xls", ".pptx", ".odt", ".ods", ".odp", ".csv", ".txt", ".png", ".jpg",
    ".jpeg",
}


class UploadRefused(ValueError):
    """The file cannot be accepted; the message says why."""

    @property
    def fields(self) -> dict[str, str]:
        """Say the refusal is about the form's file input."""
        return {"file": str(self)}


@dataclass(frozen=True)
class StoredFile:
    """A file kept on disk for a submission."""

    filename: str
    path: Path
    sha256: str
    size_bytes: int


def safe_filename(name: str) -> str:
    """Return a file name with no path, no control characters and only plain characters."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")
    return base[:120] or "evidence"


def store_upload(folder: Path, name: str, data: bytes) -> StoredFile:
    """Check the upload against the limits and store it under `folder`; refuse it with a reason otherwise."""
    filename = safe_filename(name)
    ext = Path(filename).suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(sorted(ALLOWED_EXTENSIONS))
        raise UploadRefused(f"'{filename}' is not a type we accept ({ext or 'no extension'}); accepted: {allowed}")
    if not data:
        raise UploadRefused(f"'{filename}' is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"'{filename}' is larger than the 25 MB limit: share it by hyperlink instead")
    problem = content_problem(filename, data)  # the bytes must be the type the name declares
    if problem:
        raise UploadRefused(problem)
    digest = hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest[:12]}-{filename}"
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return StoredFile(filename=filename, path=path, sha256=digest, size_bytes=len(data))
