"""Which register items carry child-level data, and where their accepted lists, return and summary are kept."""

from __future__ import annotations

import json
from pathlib import Path

from send_inspection.childdata.codes import ListKind
from send_inspection.engine.context import EngineContext

# Register items whose evidence is the partnership's own data lists, and the lists each one takes.
DATA_ITEMS: dict[str, tuple[ListKind, ...]] = {
    "child-level-data": ("ehc_plans", "sen_support"),
    "providers-settings": ("providers",),
}
SUMMARY_FILE = "summary.json"


def data_folder(ctx: EngineContext, inspection_id: str, ref: str) -> Path:
    """Return where the checked lists, the return and the summary of a data item's last accepted import are kept.

    A copy of the return is kept apart, under submitted/ (named by its digest), as the submission.
    """
    return ctx.uploads_dir / inspection_id / "child-data" / ref


def stored_summary(ctx: EngineContext, inspection_id: str, ref: str) -> dict | None:
    """Return the counts-only summary of the last accepted import of a data item, if any."""
    path = data_folder(ctx, inspection_id, ref) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.exists() else None
