"""A phase that exists only here: its catalogue entry and its flow, and nothing else of the product edited."""

from __future__ import annotations

from datetime import timedelta

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import PHASES, Deployment, PhaseSpec, Start
from send_inspection.db import models as m
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.live.wiring import current_runtime

# Ten minutes after the call the forum's chair is briefed; the phase waits until then without a process.
BRIEF_AFTER = timedelta(minutes=10)

FORUM_BRIEFING = PhaseSpec(
    key="forum-briefing", label="parent carer forum briefing",
    deployment=Deployment(flow_name="forum-briefing", entrypoint="tests/rehearsal/declared_phase.py:forum_briefing",
                          description="Brief the parent carer forum's chair on notification day.",
                          tags=("send-inspection", "phase")),
    starts=Start(says="the notification phase", with_phase="notification"),
)
WITH_FORUM_BRIEFING = PHASES.with_phase(FORUM_BRIEFING)


def reconcile_briefing(inspection_id: str) -> PassResult:
    """Wait until the briefing is due, then finish."""
    ctx = current_runtime().context
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, FORUM_BRIEFING.key, now=now)
        notified_at = session.get_one(m.Inspection, inspection_id).notified_at
    due = notified_at + BRIEF_AFTER
    return pass_result(inspection_id, FORUM_BRIEFING.key, finished=now >= due, sent=0, statuses=[],
                       reason="Forum briefed" if now >= due else "Waiting to brief the forum",
                       mail=MailFailures(ctx.mail_retry), wake_times=[due], now=now)


@phase_flow(FORUM_BRIEFING)
def forum_briefing(inspection_id: str) -> str:
    """Brief the forum's chair once it is due, waiting without a process until then."""
    return run_phase_loop(inspection_id, FORUM_BRIEFING.key, reconcile=lambda: reconcile_briefing(inspection_id),
                          publish=lambda result: None)
