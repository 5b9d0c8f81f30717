"""The register as operators see it in Prefect."""

from __future__ import annotations

from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import ensure_phase
from tasks.annex_a_tasks import register_rows
from tests.conftest import NOTIFIED


def test_the_register_names_each_owner_not_their_role_id(ctx: EngineContext) -> None:
    """Operators read "Ben Hollinshead", not "hos-data": staff names may go to Prefect (ADR 0002), children's never."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    rows = register_rows(reconcile_annex_a(ctx, iid, "day2"))
    owners = {row["ref"]: row["owner"] for row in rows}
    assert owners["child-level-data"] == "Ben Hollinshead" and owners["1.1"] == "Owen Garside"
    assert not {p.id for p in ctx.config.partnership.people} & set(owners.values())
