"""Turn the child-level data lists an evidence lead uploads into a checked import and the inspectors' return.

The lists hold children's names and dates of birth: they are read here, in the web app, and kept only in
the product's own storage. A refused upload leaves nothing on disk: the uploads, the checked lists, the
summary and the return are written to places of their own first and moved into place only when all of
them are written; any failure removes them. Problems say where (file, row, column, child id), never a
value from the lists. The upload limit is for the uploaded lists; the return is the product's own and
has none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from send_inspection.childdata.codes import LIST_TITLES, ListKind
from send_inspection.childdata.items import DATA_ITEMS, SUMMARY_FILE, data_folder
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused, SubmissionData
from send_inspection.files.storage import MAX_UPLOAD_BYTES, StoredFile, store_upload

DATA_TYPES = (".csv", ".xlsx", ".ods")
log = logging.getLogger(__name__)


class DataRejected(DecisionRefused):
    """The uploaded lists cannot be used; `lines` says where each problem is."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


@dataclass(frozen=True)
class DataField:
    """One file input of a data item's form."""

    name: ListKind
    label: str


def data_fields(ref: str) -> list[DataField]:
    """Return the file inputs the submit form of item `ref` shows (none for an ordinary item)."""
    return [DataField(kind, LIST_TITLES[kind]) for kind in DATA_ITEMS.get(ref, ())]


async def data_submission(ctx: EngineContext, form: FormData, *, inspection_id: str, ref: str, notified_on: date,
                          checklist: dict[str, bool]) -> SubmissionData:
    """Check the uploaded lists together; keep them, the summary and the return, or refuse with why, keeping nothing."""
    if ctx.child_data is None:
        raise DecisionRefused("this partnership has no child_data.yaml: the lists cannot be checked")
    folder = data_folder(ctx, inspection_id, ref)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = folder.parent / f".uploaded-{uuid.uuid4().hex}"  # the uploads, and the return until it is kept
    work.mkdir(mode=0o700)
    try:
        files: dict[ListKind, Path] = {}
        for kind in DATA_ITEMS[ref]:
            upload = form.get(kind)
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise DecisionRefused(f"choose the file of the {LIST_TITLES[kind]}")
            if not upload.filename.lower().endswith(DATA_TYPES):
                raise DecisionRefused(f"'{upload.filename}' is not a CSV, XLSX or ODS file")
            data = await upload.read(MAX_UPLOAD_BYTES + 1)  # the upload limit: never more than it in memory
            files[kind] = store_upload(work / kind, upload.filename, data).path
        # Seconds of work for a large area: in a thread, so that the app goes on answering everyone else.
        stored = await run_in_threadpool(_accept, ctx, files, folder=folder, work=work, ref=ref,
                                         notified_on=notified_on)
    except OSError as exc:  # the disk, not the files: say so, keep nothing
        log.error("child-level data for %s %s could not be kept: %s", inspection_id, ref, type(exc).__name__)
        raise DecisionRefused("the lists could not be kept because of a problem on the server, not in your files: "
                              "try again later, and tell the coordinator if it happens again") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SubmissionData(kind="file", checklist=checklist, filename=stored.filename, stored_path=str(stored.path),
                          sha256=stored.sha256, size_bytes=stored.size_bytes)


def _accept(ctx: EngineContext, files: dict[ListKind, Path], *, folder: Path, work: Path, ref: str,
            notified_on: date) -> StoredFile:
    """Import the lists; write them, the summary and the return; move them into place together or not at all."""
    # pandas and the checks load here, not at import: the phase flows import this module for its names.
    from send_inspection.childdata.importer import import_lists
    from send_inspection.childdata.problems import ImportRejected
    from send_inspection.childdata.returns import summarise, write_return
    from send_inspection.childdata.store import staged_folder, write_lists

    assert ctx.child_data is not None
    try:
        checked = import_lists(files, config=ctx.child_data, notified_on=notified_on)
    except ImportRejected as exc:
        head = (f"The lists were not accepted: {exc.error_count} problem(s) to correct"
                f"{'' if exc.total == len(exc.problems) else f' (the first {len(exc.problems)} shown)'}. "
                "Nothing was stored; correct the files and upload them again.")
        raise DataRejected(head, [f"{p.severity}: {p}" for p in exc.problems]) from None
    placed: Path | None = None
    try:
        with staged_folder(folder) as staging:  # replaces `folder` whole when the block ends
            write_lists(checked, staging)
            (staging / SUMMARY_FILE).write_text(json.dumps(summarise(checked), indent=2, default=str))
            returned = write_return(checked, staging / f"{ref}-return.xlsx")
            # The submitted return is kept apart too: the next accepted import replaces `folder` whole.
            stored, placed = _keep(shutil.copyfile(returned, work / returned.name), folder.parent / "submitted" / ref)
    except BaseException:
        if placed is not None:
            placed.unlink(missing_ok=True)
        raise
    return stored


def _keep(path: Path, folder: Path) -> tuple[StoredFile, Path | None]:
    """Move the written file `path` into `folder` under its digest; return it and the path if newly placed there."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    sha256 = digest.hexdigest()
    target = folder / f"{sha256[:12]}-{path.name}"  # named as every kept upload is (files/storage.py)
    stored = StoredFile(filename=path.name, path=target, sha256=sha256, size_bytes=path.stat().st_size)
    if target.exists():  # the same return, kept for an earlier submission: it stays, whatever happens now
        return stored, None
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return stored, target
