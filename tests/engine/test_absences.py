"""Dated absences: while someone is away their deputy is asked from the start; back, they are asked again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from send_inspection.calendar import to_london
from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.absences import AbsenceRefused, absence_views, end_absence, record_absence
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import ensure_phase, get_phase
from send_inspection.mail.outbox import list_outbox, outbox_id_for, read_outbox_message
from tests.conftest import NOTIFIED
from tests.helpers import assert_reads_as_reviewed

OWEN = "owen.garside@demo-county.example"  # sm-performance: evidence lead of 1.1
LEAH = "leah.marchetti@demo-county.example"  # inspection-coordinator: Owen's deputy


def keys_to(ctx: EngineContext, address: str) -> set[str]:
    """Return the ledger keys of every email in the outbox to `address`."""
    return {e.key for e in list_outbox(ctx.transport.folder, recipient=address)}


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection with its day-2 phase, nobody asked yet."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    return iid


def test_someone_away_from_the_start_is_not_asked_their_deputy_is(ctx: EngineContext, iid: str) -> None:
    """Marked away before day 2's asks, 1.1's evidence lead gets nothing; their deputy gets the ask, saying why."""
    absence = record_absence(ctx, iid, "sm-performance", from_at=NOTIFIED, until_at=NOTIFIED + timedelta(days=3),
                             recorded_by="inspection-coordinator")
    result = reconcile_annex_a(ctx, iid, "day2")
    assert not any(":1.1:" in k for k in keys_to(ctx, OWEN))
    key = f"{iid}:day2:1.1:submit:r1:away{absence.id}:ask"
    assert key in keys_to(ctx, LEAH)
    text = read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or ""
    assert "Owen Garside is away, so you are asked instead." in text
    assert_reads_as_reviewed(ctx.transport.folder, key, kind="action-ask.away",  # type: ignore[attr-defined]
                             at=to_london(ctx.clock.now()).isoformat(timespec="minutes"))
    assert "1.1 evidence lead (Leah Marchetti)" in result.reason
    assert absence_views(ctx, iid)[0].deputy_name == "Leah Marchetti"


def test_marked_away_after_the_ask_the_deputy_is_asked_at_once_and_the_owner_again_when_back(
        ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """The deputy is asked on the next pass (the phase is told to look again); after the absence the owner's own
    reminders resume and the deputy gets no more."""
    reconcile_annex_a(ctx, iid, "day2")
    assert f"{iid}:day2:1.1:submit:r1:ask" in keys_to(ctx, OWEN)
    seen = get_phase(ctx, iid, "day2").changes
    clock.set(NOTIFIED + timedelta(hours=1))
    absence = record_absence(ctx, iid, "sm-performance", from_at=NOTIFIED + timedelta(hours=1),
                             until_at=NOTIFIED + timedelta(hours=3), recorded_by="inspection-coordinator")
    assert get_phase(ctx, iid, "day2").changes == seen + 1
    result = reconcile_annex_a(ctx, iid, "day2")
    assert f"{iid}:day2:1.1:submit:r1:away{absence.id}:ask" in keys_to(ctx, LEAH)
    assert result.next_wake_at is not None and result.next_wake_at <= NOTIFIED + timedelta(hours=3)

    clock.set(NOTIFIED + timedelta(hours=5))  # back; 17:00 - 3h reminder is due for the owner again
    reconcile_annex_a(ctx, iid, "day2")
    assert f"{iid}:day2:1.1:submit:r1:remind-3h" in keys_to(ctx, OWEN)
    assert not any(k.endswith("remind-3h") and ":1.1:" in k for k in keys_to(ctx, LEAH))


def test_an_absence_ended_early_hands_the_step_back(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """Ending an absence now stops the deputy being asked from then on."""
    absence = record_absence(ctx, iid, "sm-performance", from_at=NOTIFIED, until_at=NOTIFIED + timedelta(days=3),
                             recorded_by="inspection-coordinator")
    clock.set(NOTIFIED + timedelta(minutes=30))
    ended = end_absence(ctx, iid, absence.id)
    assert ended.until_at == NOTIFIED + timedelta(minutes=30)
    reconcile_annex_a(ctx, iid, "day2")
    assert f"{iid}:day2:1.1:submit:r1:ask" in keys_to(ctx, OWEN)
    with pytest.raises(AbsenceRefused, match="already ended"):
        end_absence(ctx, iid, absence.id)


@pytest.mark.parametrize(("person", "start", "end", "message"), [
    ("sm-performance", 2, 1, "until: the end of the absence must come after its start"),
    ("sm-performance", -48, -24, "until: this absence has already ended"),
    ("council-leader", 0, 24, "person: Cllr Robert Thistlewood has no deputy"),
    ("nobody", 0, 24, "person: 'nobody' is not one of this inspection's people"),
])
def test_an_absence_that_cannot_be_is_refused_and_nothing_is_recorded(ctx: EngineContext, iid: str, person: str,
                                                                     start: int, end: int, message: str) -> None:
    """Each refusal names its field; no absence is kept."""
    with pytest.raises(AbsenceRefused, match=message):
        record_absence(ctx, iid, person, from_at=NOTIFIED + timedelta(hours=start),
                       until_at=NOTIFIED + timedelta(hours=end), recorded_by="inspection-coordinator")
    with ctx.session() as session:
        assert session.query(m.Absence).count() == 0
