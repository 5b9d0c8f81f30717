"""The priority action plan after outcome 3: one item per area for priority action, drafted, signed off, submitted.

Phase "action-plan", started when the final report of an inspection with outcome 3 is published. Each area the
inspectors named (recorded with the feedback) is an item `action-<n>` whose chain is
  submit   the improvement lead drafts the plan for the area (or explains)
  approve  the accountable officer of the first partner named for it signs it off (or returns it)
  upload   the LANO submits it to the inspectorate and confirms
with deadlines in working days after the final report (timeline.yaml, outcome_follow_up).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from send_inspection.catalogue.phases import PRIORITY_ACTION_PLAN
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import chase_items, waiting_reason
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass

PHASE = PRIORITY_ACTION_PLAN.key
DEADLINES = {"submit": "action_plan_draft_due", "approve": "action_plan_signoff_due",
             "upload": "action_plan_submit_due"}


def open_action_items(ctx: EngineContext, inspection_id: str, *, now: datetime) -> None:
    """Create one item per area for priority action, once."""
    p = ctx.config.partnership
    officers = {partner.id: partner.accountable_officer for partner in p.report_partners}
    with ctx.session() as session:
        feedback = session.scalars(select(m.FeedbackRecord).where(
            m.FeedbackRecord.inspection_id == inspection_id)).first()
        have = set(session.scalars(select(m.RegisterItem.ref).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE)))
        for n, action in enumerate(feedback.priority_actions if feedback else [], start=1):
            if f"action-{n}" in have:
                continue
            partners = [str(x) for x in action["partners"]]  # type: ignore[union-attr]
            session.add(m.RegisterItem(
                inspection_id=inspection_id, ref=f"action-{n}", title=f"Priority action plan: {action['area']}",
                group_name="Priority action plan", phase=PHASE, evidence_lead=p.improvement_lead or p.roles.lano,
                accountable_lead=officers.get(partners[0], p.roles.director_final_check) if partners
                else p.roles.director_final_check,
                deadlines=dict(DEADLINES), step="submit", round=1, step_started_at=now))
        session.commit()


def reconcile_action_plan(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Chase each area's plan through draft, sign-off and submission; done when every one is submitted."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
    open_action_items(ctx, inspection_id, now=now)
    with ctx.session() as session:
        items = list(session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == PHASE).order_by(m.RegisterItem.id)))
        due = milestones(session, inspection_id)
        staff = people(session, inspection_id)
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    sent, statuses = chase_items(ctx, items, staff=staff, due=due, now=now, mail=mail, wake_times=wake_times)
    finished = all(s.outcome is not None for s in statuses)
    reason = (f"Priority action plan: all {len(statuses)} areas submitted" if finished
              else "Priority action plan: " + waiting_reason(PHASE, statuses, staff))
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=statuses,
                       mail=mail, wake_times=wake_times, now=now)
