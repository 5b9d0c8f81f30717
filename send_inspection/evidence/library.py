"""The partnership's evidence library: documents loaded in advance against Annex A rows, every version kept.

Councils prepare their Annex A evidence before the call comes. Loading a document again with new content adds
a version; loading the same bytes again changes nothing. During the inspection an evidence lead can submit
the library's latest version as it is, or upload an update (which the library then keeps too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from send_inspection.calendar import to_london
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.evidence.document_checks import DocumentReport
from send_inspection.evidence.isolated_checks import check_isolated
from send_inspection.files.storage import store_upload


class LibraryRefused(ValueError):
    """The document cannot go into the library (unknown row, refused file); nothing was stored."""


@dataclass(frozen=True)
class Loaded:
    """The library version a load resulted in, and whether it was new."""

    ref: str
    version: int
    filename: str
    new: bool


def library_dir(ctx: EngineContext) -> Path:
    """Return where the library's files are kept."""
    return ctx.uploads_dir.parent / "library"


def add_to_library(ctx: EngineContext, ref: str, name: str, data: bytes, *, loaded_by: str,
                   checked: DocumentReport | None = None) -> Loaded:
    """Keep `data` as the next version of row `ref`'s evidence, unless it is the same as the latest version.

    `checked` is the report of these bytes when the caller has already checked them.
    """
    refs = [item.ref for item in ctx.config.annex_a.items]
    if ref not in refs:
        raise LibraryRefused(f"{ref!r} is not an Annex A row in register.yaml (rows: {', '.join(refs)})")
    partnership = ctx.config.partnership.partnership.id
    latest = latest_in_library(ctx, ref)
    stored = store_upload(library_dir(ctx) / ref, name, data)  # refuses bad types, empty and oversized files
    if latest is not None and latest.sha256 == stored.sha256:
        return Loaded(ref, latest.version, latest.filename, new=False)
    report = checked or check_isolated(stored.path, today=to_london(ctx.clock.now()).date())
    with ctx.session() as session:
        version = (session.scalar(select(func.max(m.LibraryDocument.version)).where(
            m.LibraryDocument.partnership_id == partnership, m.LibraryDocument.ref == ref)) or 0) + 1
        session.add(m.LibraryDocument(partnership_id=partnership, ref=ref, version=version, filename=stored.filename,
                                      stored_path=str(stored.path), sha256=stored.sha256,
                                      size_bytes=stored.size_bytes, loaded_at=ctx.clock.now(), loaded_by=loaded_by,
                                      machine_checks=report.as_dict()))
        session.commit()
    return Loaded(ref, version, stored.filename, new=True)


def latest_in_library(ctx: EngineContext, ref: str) -> m.LibraryDocument | None:
    """Return the latest version held for row `ref`, if any."""
    return (library_versions(ctx, ref) or [None])[-1]


def library_versions(ctx: EngineContext, ref: str) -> list[m.LibraryDocument]:
    """Return every version held for row `ref`, oldest first."""
    with ctx.session() as session:
        return list(session.scalars(select(m.LibraryDocument).where(
            m.LibraryDocument.partnership_id == ctx.config.partnership.partnership.id, m.LibraryDocument.ref == ref)
            .order_by(m.LibraryDocument.version)))
