"""Keep the restricted documents after fieldwork and decide, and record, who may open them.

The draft report is restricted and confidential: only the people the partnership names may open it, each
through their own link, and every attempt to open it, allowed or refused, is recorded with who and when.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.files.storage import store_upload

KINDS = ("draft", "response-docx", "response-xlsx", "final")


def report_folder(ctx: EngineContext, inspection_id: str) -> Path:
    """Return the folder that holds the inspection's restricted report documents."""
    return ctx.uploads_dir / inspection_id / "report"


def keep_document(session: Session, ctx: EngineContext, inspection_id: str, kind: str, *, filename: str, data: bytes,
                  recorded_by: str, now: datetime) -> m.RestrictedDocument:
    """Store a new version of a restricted document (checked like any upload) and record it; do not commit."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    stored = store_upload(report_folder(ctx, inspection_id) / kind, filename, data)
    version = (session.scalar(select(func.max(m.RestrictedDocument.version)).where(
        m.RestrictedDocument.inspection_id == inspection_id, m.RestrictedDocument.kind == kind)) or 0) + 1
    row = m.RestrictedDocument(inspection_id=inspection_id, kind=kind, version=version, filename=stored.filename,
                               stored_path=str(stored.path), sha256=stored.sha256, size_bytes=stored.size_bytes,
                               recorded_by=recorded_by, recorded_at=now)
    session.add(row)
    return row


def latest_document(session: Session, inspection_id: str, kind: str) -> m.RestrictedDocument | None:
    """Return the latest version of a restricted document, if any."""
    return session.scalars(select(m.RestrictedDocument).where(
        m.RestrictedDocument.inspection_id == inspection_id, m.RestrictedDocument.kind == kind)
        .order_by(m.RestrictedDocument.version.desc()).limit(1)).first()


def named_readers(ctx: EngineContext, kind: str) -> set[str]:
    """Return the person ids who may open a restricted document of `kind`."""
    p = ctx.config.partnership
    readers = {p.roles.lano, p.roles.coordinator}
    for partner in p.report_partners:
        readers |= {*partner.reviewers, partner.accountable_officer}
        if kind == "final":
            readers.add(partner.publisher)
    return readers


def open_document(session: Session, ctx: EngineContext, token: m.ActionToken | None, kind: str, *,
                  refused_because: str | None, remote_addr: str | None,
                  inspection_id: str | None = None) -> m.RestrictedDocument | None:
    """Return the document if the link's holder may open it; record the attempt either way; commit."""
    now = ctx.clock.now()
    inspection_id = token.inspection_id if token is not None else (inspection_id or "unknown")
    document = latest_document(session, inspection_id, kind) if token is not None else None
    reason = refused_because
    if reason is None and token is not None and token.person_key not in named_readers(ctx, kind):
        reason = "not named to read it"
    if reason is None and document is None:
        reason = "no such document yet"
    session.add(m.DocumentAccess(
        inspection_id=inspection_id, kind=kind, document_id=document.id if document else None,
        person_key=token.person_key if token is not None else None, token_id=token.id if token is not None else None,
        granted=reason is None, reason=reason or "named reader", remote_addr=(remote_addr or "")[:64] or None, at=now))
    session.commit()
    return document if reason is None else None
