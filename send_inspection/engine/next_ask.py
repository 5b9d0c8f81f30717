"""Send a decided item's next ask at the decision, for the phases whose pass only chases their items (ADR 0009)."""

from __future__ import annotations

import logging
from datetime import datetime

from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.item_chasing import chase_items
from send_inspection.engine.mail_retry import MailFailures

log = logging.getLogger(__name__)


def send_next_ask(ctx: EngineContext, item_id: int) -> int:
    """Send what the item's open step asks for now, as the phase's pass would; return how many emails went.

    Only in a phase the catalogue marks `asks_at_decision`; chasing skips an item that is done or held by a gate,
    as in the pass. The rest (a gate opening, the phase done, the next phase) is the phase's pass, which the web app
    wakes after this.
    Each email is claimed in the ledger under the key the pass would use, so whichever of the two comes first sends
    it and the other sends nothing. An email that fails or is held for the quiet hours is left to the pass.
    """
    now = ctx.clock.now()
    with ctx.session() as session:
        item = session.get(m.RegisterItem, item_id)
        if item is None or not phase_catalogue().spec(item.phase).asks_at_decision:
            return 0
        due = milestones(session, item.inspection_id)
        staff = people(session, item.inspection_id)
    mail = MailFailures(ctx.mail_retry)
    later: list[datetime] = []  # the pass keeps the phase's wake times; this only sends what is due now
    sent, _ = chase_items(ctx, [item], staff=staff, due=due, now=now, mail=mail, wake_times=later)
    if mail.failures or mail.deferred:
        log.info("the next ask for %s %s %s is left to its phase (%d failed, %d held)", item.inspection_id,
                 item.phase, item.ref, len(mail.failures), len(mail.deferred))
    return sent
