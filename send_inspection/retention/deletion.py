"""Delete one kind of an inspection's data: its files and its rows, counted for the deletion record.

This module is the one place that deletes an inspection's data, whichever table or folder holds it. Each kind's
function removes the files first, then the rows (in the order the foreign keys need), in the caller's session:
the caller records the deletion and commits, so a failure part way leaves rows for the next run to finish.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from send_inspection.catalogue.phases import TRACKED_CASE
from send_inspection.childdata.items import DATA_ITEMS, data_folder
from send_inspection.childdata.names import ChildNames, names_in_lists
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.report.documents import report_folder
from send_inspection.retention.typed_text import redact_typed_text


@dataclass
class Deleted:
    """What one deletion removed: files and their bytes, rows, and texts a child's name was removed from."""

    files: int = 0
    bytes: int = 0
    rows: int = 0
    redacted: int = 0

    def remove(self, path: Path | str | None) -> None:
        """Remove a file, or a folder and everything in it, counting the files and bytes (gone already: nothing)."""
        if not path:
            return
        target = Path(path)
        if target.is_dir():
            for file in (p for p in target.rglob("*") if p.is_file()):
                self.files, self.bytes = self.files + 1, self.bytes + file.stat().st_size
            shutil.rmtree(target)
        elif target.exists():
            self.files, self.bytes = self.files + 1, self.bytes + target.stat().st_size
            target.unlink()

    def rows_of(self, session: Session, statement: object) -> None:
        """Run a delete or update and count the rows it touched."""
        self.rows += session.execute(statement).rowcount or 0  # type: ignore[call-overload]


def _prune(folder: Path) -> None:
    """Remove the inspection's folder once nothing is left in it."""
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _items(session: Session, inspection_id: str, *, case_work: bool) -> list[int]:
    """Return the ids of the inspection's register items: a tracked child's (or everything else)."""
    phase = m.RegisterItem.phase.startswith(f"{TRACKED_CASE.key}:")
    return list(session.scalars(select(m.RegisterItem.id).where(m.RegisterItem.inspection_id == inspection_id,
                                                                phase if case_work else ~phase)))


def _submissions(session: Session, done: Deleted, item_ids: list[int]) -> None:
    """Remove the files handed in for the items, then their submission rows."""
    if not item_ids:
        return
    for path in session.scalars(select(m.Submission.stored_path).where(m.Submission.item_id.in_(item_ids))):
        done.remove(path)
    done.rows_of(session, delete(m.Submission).where(m.Submission.item_id.in_(item_ids)))


def _child_data_folder(ctx: EngineContext, inspection_id: str) -> Path:
    """Return the folder holding every data item's lists, returns and summaries (childdata.items.data_folder)."""
    return data_folder(ctx, inspection_id, "child-level-data").parent


def delete_child_data(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove the children's names from typed text and every file naming one, then the lists, returns and rows.

    The lists are the only place that says whose names to look for: once they go, nothing could find them.
    """
    done = Deleted()
    names = names_in_lists(data_folder(ctx, inspection_id, "child-level-data"))
    done.redacted = redact_typed_text(session, names)
    _files_naming_a_child(session, done, inspection_id, names)
    items = list(session.scalars(select(m.RegisterItem.id).where(m.RegisterItem.inspection_id == inspection_id,
                                                                 m.RegisterItem.ref.in_(DATA_ITEMS))))
    _submissions(session, done, items)
    done.remove(_child_data_folder(ctx, inspection_id))
    _prune(ctx.uploads_dir / inspection_id)
    return done


def _files_naming_a_child(session: Session, done: Deleted, inspection_id: str, names: ChildNames) -> None:
    """Remove each file handed in or kept for the inspection whose text names a child on the lists."""
    if names.pattern is None:
        return
    items = select(m.RegisterItem.id).where(m.RegisterItem.inspection_id == inspection_id)
    for submission in session.scalars(select(m.Submission).where(m.Submission.item_id.in_(items),
                                                                 m.Submission.stored_path.is_not(None))).all():
        if _names_a_child(names, submission.stored_path):
            done.remove(submission.stored_path)
            submission.stored_path = None
            done.rows += 1
    for document in session.scalars(select(m.RestrictedDocument).where(
            m.RestrictedDocument.inspection_id == inspection_id)).all():
        if _names_a_child(names, document.stored_path):
            done.remove(document.stored_path)
            session.delete(document)
            done.rows += 1


def _names_a_child(names: ChildNames, path: str | None) -> bool:
    return bool(path) and Path(path).is_file() and names.found_in_file(Path(path).read_bytes())  # type: ignore[arg-type]


def delete_tracked_cases(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove each tracked child's documents, the case's steps, answers, links, phases and row, and the record of
    which case files the inspectors opened."""
    done = Deleted()
    items = _items(session, inspection_id, case_work=True)
    _submissions(session, done, items)
    if items:
        done.rows_of(session, delete(m.Decision).where(m.Decision.item_id.in_(items)))
        done.rows_of(session, delete(m.ActionToken).where(m.ActionToken.item_id.in_(items)))
        done.rows_of(session, delete(m.RegisterItem).where(m.RegisterItem.id.in_(items)))
    done.rows_of(session, delete(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id,
                                                   m.PhaseRun.phase.startswith(f"{TRACKED_CASE.key}:")))
    done.rows_of(session, delete(m.CaseFileView).where(m.CaseFileView.inspection_id == inspection_id))
    for child_id in session.scalars(select(m.TrackedCase.child_id).where(m.TrackedCase.inspection_id == inspection_id)):
        done.remove(ctx.uploads_dir / inspection_id / child_id)  # where file_submission kept the case's files
    done.rows_of(session, delete(m.TrackedCase).where(m.TrackedCase.inspection_id == inspection_id))
    return done


def _documents(session: Session, done: Deleted, inspection_id: str, kinds: list[str] | None) -> None:
    """Remove the restricted documents of `kinds` (all when None): files, then rows."""
    query = select(m.RestrictedDocument).where(m.RestrictedDocument.inspection_id == inspection_id)
    if kinds is not None:
        query = query.where(m.RestrictedDocument.kind.in_(kinds))
    for document in session.scalars(query).all():
        done.remove(document.stored_path)
        session.delete(document)
        done.rows += 1


def delete_restricted_draft(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove every version of the restricted draft report (who opened it stays recorded)."""
    done = Deleted()
    _documents(session, done, inspection_id, ["draft"])
    done.remove(report_folder(ctx, inspection_id) / "draft")
    return done


def delete_uploads(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove every other file handed in for the inspection and the report documents, and their rows."""
    done = Deleted()
    _submissions(session, done, _items(session, inspection_id, case_work=False))
    _documents(session, done, inspection_id, None)
    folder = ctx.uploads_dir / inspection_id
    for leftover in sorted(folder.iterdir()) if folder.is_dir() else []:
        if leftover != _child_data_folder(ctx, inspection_id):  # the child-data kind's, removed with the names
            done.remove(leftover)
    _prune(folder)
    return done


def delete_outbox(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove the outbox's copy of each email of the inspection, and the family survey lists' addresses."""
    done = Deleted()
    path_for: Callable[[str], Path] | None = getattr(ctx.transport, "path_for", None)  # only a local outbox has one
    keys = session.scalars(select(m.EmailRecord.key).where(m.EmailRecord.inspection_id == inspection_id))
    if path_for is not None:
        for key in keys:
            done.remove(path_for(key))
    done.rows_of(session, update(m.EmailRecord).where(m.EmailRecord.inspection_id == inspection_id,
                                                      m.EmailRecord.template == "survey").values(recipients=[]))
    return done


def delete_links(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove every personal link of the inspection; decisions keep who answered and when."""
    done = Deleted()
    tokens = select(m.ActionToken.id).where(m.ActionToken.inspection_id == inspection_id)
    session.execute(update(m.Decision).where(m.Decision.token_id.in_(tokens)).values(token_id=None))
    session.execute(update(m.DocumentAccess).where(m.DocumentAccess.token_id.in_(tokens)).values(token_id=None))
    done.rows_of(session, delete(m.ActionToken).where(m.ActionToken.inspection_id == inspection_id))
    return done


def delete_named_people(ctx: EngineContext, session: Session, inspection_id: str) -> Deleted:
    """Remove the people named during the inspection (outside partnership.yaml), their names and addresses first.

    Their names and addresses are removed as whole words from every typed column, as children's names are (a
    representative typed as "Name <address>", an address in a calendar message); their keys stay where they answered.
    """
    done = Deleted()
    named = session.execute(select(m.Person.name, m.Person.email).where(
        m.Person.inspection_id == inspection_id, m.Person.origin != "partnership")).all()
    if named:
        done.redacted = redact_typed_text(session, ChildNames.of((name, email, None) for name, email in named))
    done.rows_of(session, delete(m.Person).where(m.Person.inspection_id == inspection_id,
                                                 m.Person.origin != "partnership"))
    return done


DELETERS: dict[str, Callable[[EngineContext, Session, str], Deleted]] = {
    "child_data": delete_child_data,
    "tracked_cases": delete_tracked_cases,
    "restricted_draft": delete_restricted_draft,
    "uploads": delete_uploads,
    "outbox": delete_outbox,
    "links": delete_links,
    "named_people": delete_named_people,
}
