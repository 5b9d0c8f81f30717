"""Turn the child-level data lists an evidence lead uploads into a checked import and the inspectors' return.

The lists hold children's names and dates of birth: they are read here, in the web app, and kept only in
the product's own storage. A rejected import stores nothing and shows where each problem is (file, row,
column, child id), never a name or a date of birth.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from starlette.datastructures import FormData, UploadFile

from send_inspection.childdata.codes import LIST_TITLES, ListKind
from send_inspection.childdata.items import DATA_ITEMS, SUMMARY_FILE, data_folder
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused, SubmissionData
from send_inspection.files.storage import MAX_UPLOAD_BYTES, store_upload

DATA_TYPES = (".csv", ".xlsx", ".ods")


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
    """Check the uploaded lists together; store them, write the return and the summary, or refuse with why."""
    # pandas and the checks load here, not at import: the phase flows import this module for its names.
    from send_inspection.childdata.importer import import_lists
    from send_inspection.childdata.problems import ImportRejected
    from send_inspection.childdata.returns import summarise, write_return
    from send_inspection.childdata.store import store_lists

    if ctx.child_data is None:
        raise DecisionRefused("this partnership has no child_data.yaml: the lists cannot be checked")
    folder = data_folder(ctx, inspection_id, ref)
    incoming = folder.parent / f".incoming-{uuid.uuid4().hex}"
    try:
        files: dict[ListKind, Path] = {}
        for kind in DATA_ITEMS[ref]:
            upload = form.get(kind)
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise DecisionRefused(f"choose the file of the {LIST_TITLES[kind]}")
            if not upload.filename.lower().endswith(DATA_TYPES):
                raise DecisionRefused(f"'{upload.filename}' is not a CSV, XLSX or ODS file")
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
            files[kind] = store_upload(incoming / kind, upload.filename, data).path
        try:
            checked = import_lists(files, config=ctx.child_data, notified_on=notified_on)
        except ImportRejected as exc:
            head = (f"The lists were not accepted: {exc.error_count} problem(s) to correct"
                    f"{'' if exc.total == len(exc.problems) else f' (the first {len(exc.problems)} shown)'}. "
                    "Nothing was stored; correct the files and upload them again.")
            raise DataRejected(head, [f"{p.severity}: {p}" for p in exc.problems]) from None
        store_lists(checked, folder)
        returned = write_return(checked, folder / f"{ref}-return.xlsx")
        (folder / SUMMARY_FILE).write_text(json.dumps(summarise(checked), indent=2, default=str))
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    # The submitted return is kept apart: the next accepted import replaces `folder` whole.
    stored = store_upload(folder.parent / "submitted" / ref, returned.name, returned.read_bytes())
    return SubmissionData(kind="file", checklist=checklist, filename=stored.filename, stored_path=str(stored.path),
                          sha256=stored.sha256, size_bytes=stored.size_bytes)

