"""Day 1 through Microsoft Graph: the surveys to a county-scale list go in Bcc batches from the planned mailboxes.

The real MSAL and our Graph client talk to the local Graph endpoint of tests/mail/graph_server.py; time is virtual.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from send_inspection.clock import VirtualClock
from send_inspection.config.loader import calendar_for
from send_inspection.config.models import PartnershipConfig, SurveyDistribution
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import SurveyLinks, survey_pass
from send_inspection.mail.graph import GraphTransport
from tests.conftest import NOTIFIED, fresh_database
from tests.mail.graph_server import CLIENT_SECRET, TENANT, GraphServer

MAILBOXES = ["inspection-logistics@demo-county.example", "send-inspection.comms@demo-county.example"]
FAMILIES = [f"parent.carer.{i:04d}@demo-county.example" for i in range(1_000)]
LINKS = SurveyLinks(children_young_people="https://surveys.example/cyp", parents_carers="https://surveys.example/pc",
                    practitioners="https://surveys.example/pr")


def test_a_county_list_goes_in_bcc_batches_from_each_planned_mailbox_within_its_day_limit(
        tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, graph_server: GraphServer) -> None:
    """Two mailboxes, 100 a message, 300 a day each: the first pass sends what the plan allows from each, all in Bcc,
    each by sendMail as its own mailbox; the rest waits for the next day and then goes, none twice."""
    partnership = demo_config.partnership
    lists = partnership.survey_lists
    config = demo_config.model_copy(update={"partnership": partnership.model_copy(update={
        "survey_lists": lists.model_copy(update={"parents_carers": lists.parents_carers.model_copy(
            update={"addresses": FAMILIES})}),
        "survey_distribution": SurveyDistribution(mailboxes=MAILBOXES, max_recipients_per_message=100,
                                                  messages_per_minute=30, recipients_per_day=300)})})
    transport = GraphTransport(TENANT, "demo-client", secret=CLIENT_SECRET, authority=graph_server.authority,
                               graph_base=graph_server.graph_base, ca_bundle=graph_server.ca_bundle, max_wait=1.0,
                               timeout=5.0)
    ctx = EngineContext(config=config, calendar=calendar_for(config), db_url=fresh_database(tmp_path), clock=clock,
                        transport=transport, base_url="http://testserver", uploads_dir=tmp_path / "up",
                        check_links=False)
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(NOTIFIED + timedelta(hours=1))  # type: ignore[attr-defined]
    first = survey_pass(ctx, iid, LINKS)
    by_mailbox = {box: sum(len(d.addresses("bccRecipients")) for d in graph_server.sent if d.sender == box)
                  for box in MAILBOXES}
    assert not first.done and all(0 < reached <= 300 for reached in by_mailbox.values())
    assert all(d.addresses("toRecipients") == [] and d.addresses("ccRecipients") == [] for d in graph_server.sent)
    assert all(len(d.addresses("bccRecipients")) <= 100 for d in graph_server.sent)
    assert {seen.path for seen in graph_server.seen if seen.method == "POST" and "/users/" in seen.path} == {
        f"/v1.0/users/{box}/sendMail" for box in MAILBOXES}
    passes = [first]
    while not passes[-1].done and len(passes) < 6:
        assert passes[-1].next_wake_at is not None
        ctx.clock.set(passes[-1].next_wake_at)  # type: ignore[attr-defined]
        passes.append(survey_pass(ctx, iid, LINKS))
    assert passes[-1].done
    reached = [a for d in graph_server.sent for a in d.addresses("bccRecipients")]
    assert len(reached) == len(set(reached)) and set(FAMILIES) <= set(reached)
    assert max(graph_server.max_in_flight.values()) <= 4
