"""Changing an item's owner for this inspection, and fresh links: the new person is asked, old links stop working."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from send_inspection.calendar import to_london
from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.handover import HandoverRefused, change_owner, send_fresh_link
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.tokens import TokenStatus, check_token
from tests.helpers import assert_reads_as_reviewed

LINK = re.compile(r"/a/([A-Za-z0-9_-]+)")


def token_in(ctx: EngineContext, key: str) -> str:
    """Return the personal link's token in the email with this ledger key."""
    return LINK.search(read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or "").group(1)


def status(ctx: EngineContext, raw: str) -> TokenStatus:
    """Return what a presented token is now."""
    with ctx.session() as session:
        return check_token(session, raw, now=ctx.clock.now()).status


def test_a_new_evidence_lead_is_asked_at_once_and_the_old_link_stops(ctx: EngineContext, clock: VirtualClock,
                                                                     started: tuple[str, m.RegisterItem]) -> None:
    """The open submit step passes to the new owner: a fresh ask under its own key; the old owner's link is replaced."""
    iid, item = started
    old = token_in(ctx, f"{iid}:day2:1.1:submit:r1:ask")
    clock.set(clock.now() + timedelta(minutes=10))
    handover = change_owner(ctx, iid, "1.1", "evidence_lead", "hos-data")
    assert (handover.before, handover.after, handover.asked_now) == ("sm-performance", "hos-data", True)
    assert status(ctx, old) is TokenStatus.REPLACED
    result = reconcile_annex_a(ctx, iid, "day2")
    new = token_in(ctx, f"{iid}:day2:1.1:submit:r1:h1:ask")
    assert status(ctx, new) is TokenStatus.VALID
    assert "1.1 evidence lead (Ben Hollinshead)" in result.reason


def test_a_new_accountable_lead_is_asked_only_when_their_step_comes(ctx: EngineContext,
                                                                   started: tuple[str, m.RegisterItem]) -> None:
    """Changing the accountable lead while the item is at submit asks nobody now and leaves the links as they are."""
    iid, item = started
    old = token_in(ctx, f"{iid}:day2:1.1:submit:r1:ask")
    handover = change_owner(ctx, iid, "1.1", "accountable_lead", "dir-family")
    assert not handover.asked_now
    assert status(ctx, old) is TokenStatus.VALID
    with ctx.session() as session:
        assert session.get(m.RegisterItem, item.id).accountable_lead == "dir-family"


@pytest.mark.parametrize(("ref", "field", "person", "message"), [
    ("1.1", "evidence_lead", "sm-performance", "person: Owen Garside is already the evidence lead of 1.1"),
    ("1.1", "evidence_lead", "nobody", "person: 'nobody' is not one of this inspection's people"),
    ("1.1", "director", "dcs", "owner: choose one of evidence lead, accountable lead"),
    ("9.9", "evidence_lead", "dcs", "item: '9.9' is not an item of this inspection"),
])
def test_an_owner_change_that_cannot_be_is_refused(ctx: EngineContext, started: tuple[str, m.RegisterItem], ref: str,
                                                  field: str, person: str, message: str) -> None:
    """Each refusal names its field and changes nothing."""
    iid, _ = started
    with pytest.raises(HandoverRefused, match=message):
        change_owner(ctx, iid, ref, field, person)
    with ctx.session() as session:
        assert session.query(m.RegisterItem).filter_by(inspection_id=iid, ref="1.1").one().handovers == 0


def test_a_fresh_link_works_and_the_lost_one_stops(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """The person gets a new-link email; their earlier link to the step is replaced, the new one is valid."""
    iid, _ = started
    old = token_in(ctx, f"{iid}:day2:1.1:submit:r1:ask")
    fresh = send_fresh_link(ctx, iid, "1.1", "sm-performance")
    assert (fresh.key, fresh.replaced) == (f"{iid}:day2:1.1:submit:r1:fresh-2:sm-performance", 1)
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(fresh.key))
    assert message.subject.startswith("New link: 1.1")
    assert "The link you were sent before no longer works." in (message.text or "")
    assert_reads_as_reviewed(ctx.transport.folder, fresh.key, kind="action-fresh-link",  # type: ignore[attr-defined]
                             at=to_london(ctx.clock.now()).isoformat(timespec="minutes"))
    assert status(ctx, old) is TokenStatus.REPLACED
    assert status(ctx, token_in(ctx, fresh.key)) is TokenStatus.VALID


def test_a_fresh_link_goes_only_to_someone_asked_for_the_step(ctx: EngineContext,
                                                             started: tuple[str, m.RegisterItem]) -> None:
    """Someone never asked for the item's open step gets no link, and nothing is sent."""
    iid, _ = started
    with pytest.raises(HandoverRefused, match="person: Helen Ashcombe has not been asked for the evidence lead step"):
        send_fresh_link(ctx, iid, "1.1", "dcs")
    with ctx.session() as session:
        assert session.query(m.ActionToken).filter_by(person_key="dcs").count() == 0


def test_a_fresh_link_asked_for_in_the_quiet_hours_waits_and_the_old_link_still_works(
        ctx: EngineContext, clock: VirtualClock, started: tuple[str, m.RegisterItem]) -> None:
    """At 20:00 the fresh link is refused saying when it may go; nothing is sent and the earlier link stays valid."""
    iid, _ = started
    old = token_in(ctx, f"{iid}:day2:1.1:submit:r1:ask")
    clock.set(clock.now().replace(hour=20, minute=0))
    with pytest.raises(HandoverRefused, match="it is the quiet hours: nothing was sent, and the earlier link still "
                                              "works; a fresh link may go from Tue 27 Jun 07:30"):
        send_fresh_link(ctx, iid, "1.1", "sm-performance")
    assert status(ctx, old) is TokenStatus.VALID
    with ctx.session() as session:
        assert session.query(m.ActionToken).filter_by(person_key="sm-performance").count() == 1
