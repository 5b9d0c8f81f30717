"""Turn a file handed in for an item into its submission: stored, kept in the library for Annex A rows, checked."""

from __future__ import annotations

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import SubmissionData, latest_submission
from send_inspection.evidence.isolated_checks import check_isolated
from send_inspection.evidence.library import add_to_library
from send_inspection.evidence.link_checks import check_links_reachable
from send_inspection.files.storage import store_upload


def file_submission(ctx: EngineContext, item: m.RegisterItem, name: str, data: bytes, *,
                    checklist: dict[str, bool], submitted_by: str) -> SubmissionData:
    """Store the file under the item's folder and return it as a file submission; UploadRefused says why not."""
    folder = ctx.uploads_dir / item.inspection_id / item.ref.replace(":", "/")
    stored = store_upload(folder, name, data)
    report = check_isolated(stored.path, today=to_london(ctx.clock.now()).date())
    if item.phase in phase_catalogue().annex_a():  # only Annex A rows: a child's documents never join the library
        add_to_library(ctx, item.ref, name, data, loaded_by=submitted_by, checked=report)  # the update is kept
    return SubmissionData(kind="file", checklist=checklist, filename=stored.filename, stored_path=str(stored.path),
                          sha256=stored.sha256, size_bytes=stored.size_bytes, machine_checks=report.as_dict())


def check_submission_links(ctx: EngineContext, item_id: int) -> None:
    """Try the links of an item's latest submission and keep what was found (run after the answer is sent)."""
    with ctx.session() as session:
        submission = latest_submission(session, item_id)
        if submission is None or not submission.machine_checks:
            return
        checks = dict(submission.machine_checks)
        checks["links"] = check_links_reachable(list(checks.get("links") or {}),
                                                policy=ctx.config.partnership.link_checks)
        submission.machine_checks = checks
        session.commit()
