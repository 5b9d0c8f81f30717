"""When each kind of data goes: working days from publication or the end, London time, holds, what is awaited."""

from __future__ import annotations

from datetime import datetime

from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.config.models import PartnershipConfig
from send_inspection.retention.plan import DELETED, DUE, HELD, SCHEDULED, WAITING, Facts, Hold, plan_deletions

PUBLISHED = datetime(2023, 12, 19, 15, 30, tzinfo=LONDON)  # Tue 19 Dec: the twenty days run over Christmas
FINISHED = datetime(2024, 1, 15, 13, 0, tzinfo=LONDON)


def _facts(**changes: object) -> Facts:
    """Return an inspection published on 19 Dec and finished on 15 Jan, with nothing held or deleted."""
    values: dict[str, object] = {"inspection_id": "demo", "report_published_at": PUBLISHED, "finished_at": FINISHED,
                                 "open_phases": (), "holds": (), "deleted": {}}
    return Facts(**{**values, **changes})  # type: ignore[arg-type]


def test_each_kind_is_due_its_working_days_after_what_it_counts_from(demo_config: PartnershipConfig) -> None:
    """Children's data 20 working days after publication (25, 26 Dec and 1 Jan skipped), at 02:00 London time."""
    plan = {d.kind: d for d in plan_deletions(_facts(), demo_config.retention, WorkingCalendar())}
    assert plan["child_data"].due_at == datetime(2024, 1, 19, 2, 0, tzinfo=LONDON)
    assert plan["restricted_draft"].due_at == datetime(2024, 1, 5, 2, 0, tzinfo=LONDON)
    assert plan["links"].due_at == datetime(2024, 2, 12, 2, 0, tzinfo=LONDON)  # 20 days after 15 Jan
    assert plan["child_data"].rule == "20 working days after the final report was published"
    assert plan["child_data"].state(datetime(2024, 1, 19, 1, 59, tzinfo=LONDON)) == SCHEDULED
    assert plan["child_data"].state(datetime(2024, 1, 19, 2, 0, tzinfo=LONDON)) == DUE
    assert "to be deleted on Fri 19 Jan 2024 02:00" in plan["child_data"].describe(PUBLISHED)


def test_a_rule_without_its_event_waits_and_says_for_what(demo_config: PartnershipConfig) -> None:
    """Unpublished, the children's data waits for publication; unfinished, the uploads name the phases still open."""
    plan = {d.kind: d for d in plan_deletions(
        _facts(report_published_at=None, finished_at=None, open_phases=("additional evidence request 4",)),
        demo_config.retention, WorkingCalendar())}
    assert {d.state(FINISHED) for d in plan.values()} == {WAITING}
    assert plan["child_data"].describe(FINISHED).endswith(
        "waiting for the final report to be published on every partner's website")
    assert plan["uploads"].describe(FINISHED).endswith("(open: additional evidence request 4)")


def test_a_hold_stops_every_kind_and_a_deletion_is_remembered(demo_config: PartnershipConfig) -> None:
    """A hold makes every dated kind held, whatever its date; a kind deleted stays deleted."""
    hold = Hold(id=1, kind="complaint", placed_by="lano", placed_at=PUBLISHED)
    later = datetime(2025, 1, 1, tzinfo=LONDON)
    held = plan_deletions(_facts(holds=(hold,), deleted={"outbox": FINISHED}), demo_config.retention,
                          WorkingCalendar())
    assert {d.kind: d.state(later) for d in held} == {
        "child_data": HELD, "tracked_cases": HELD, "restricted_draft": HELD, "uploads": HELD, "outbox": DELETED,
        "links": HELD, "named_people": HELD}
    assert "held: nothing is deleted while a hold stands" in held[0].describe(later)
