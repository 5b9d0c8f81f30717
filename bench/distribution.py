"""Measure a county-scale survey distribution: 40,000 families through the engine's survey passes and real EWS.

The demo inspection's family survey list is replaced by 40,000 generated fictional addresses (the other two survey
lists are emptied, so every message counted is the families'), sent from `--mailboxes` mailboxes within Exchange
Online's limits (500 recipients a message, all in Bcc; 30 messages a minute and 10,000 recipients a rolling day per
mailbox). The engine's notification phase does it as it would live: `survey_pass` shows the plan (printed here),
sends the batches now due through `EwsTransport` (exchangelib) to the local EWS endpoint of the tests
(tests/mail/ews_server.py, in a thread of this process) with the email ledger on SQLite, and ends when a mailbox
reaches its day limit; the next pass runs at the wake time it gave, as the ticker would start it. Then one more
pass shows that nothing is sent twice. The plans for 1 and 3 mailboxes are printed against the demo survey close.

The rate limits run on a virtual clock: every wait (2 s between one mailbox's messages; a day when a mailbox has
reached 10,000 recipients) moves the clock instead of sleeping, so the wall time is the work (building, sending
and recording 80 messages), not the hours Exchange would make a real run take.

    .venv/bin/python bench/distribution.py [--recipients 40000] [--mailboxes 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402

NOTIFIED = "2026-11-23T09:00"  # a Monday; the surveys close at 09:00 on day 6 of the demo timeline
LINKS = {"children_young_people": "https://surveys.inspectorate.example/cyp",
         "parents_carers": "https://surveys.inspectorate.example/parents",
         "practitioners": "https://surveys.inspectorate.example/practitioners"}


def families(count: int) -> list[str]:
    """Return `count` distinct fictional Demo County family addresses."""
    return [f"parent.carer.{i:05d}@demo-county.example" for i in range(count)]


def mailboxes(count: int) -> list[str]:
    """Return the addresses of `count` fictional survey mailboxes."""
    return [f"send-survey-{i}@demo-county.example" for i in range(1, count + 1)]


def county_config(recipients: list[str], sending: list[str]):  # noqa: ANN201 - imported late
    """Return the demo config with `recipients` as the only survey list and `sending` as its mailboxes."""
    from send_inspection.config.loader import default_config_dir, load_config
    from send_inspection.config.models import SurveyDistribution

    config = load_config(default_config_dir())
    partnership = config.partnership
    lists = partnership.survey_lists
    empty = {"members": [], "addresses": []}
    survey_lists = lists.model_copy(update={
        "parents_carers": lists.parents_carers.model_copy(update={"members": [], "addresses": recipients}),
        "children_young_people": lists.children_young_people.model_copy(update=empty),
        "practitioners": lists.practitioners.model_copy(update=empty),
    })
    return config.model_copy(update={"partnership": partnership.model_copy(update={
        "survey_lists": survey_lists, "survey_distribution": SurveyDistribution(mailboxes=sending)})})


def main() -> int:
    """Plan for 1 and 3 mailboxes, send through the engine's passes to the local EWS endpoint, print JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=40_000)
    parser.add_argument("--mailboxes", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    from exchangelib.protocol import close_connections
    from sqlalchemy import func, select

    from send_inspection.calendar import LONDON
    from send_inspection.clock import VirtualClock
    from send_inspection.config.loader import calendar_for
    from send_inspection.db import models as m
    from send_inspection.db.session import migrate
    from send_inspection.engine.context import EngineContext
    from send_inspection.engine.inspection import open_inspection
    from send_inspection.engine.notification import SurveyLinks, survey_pass, survey_plan
    from send_inspection.mail.distribution import EXCHANGE_ONLINE, plan_distribution
    from send_inspection.mail.ews import EwsTransport
    from tests.mail.ews_server import EwsServer

    imports = time.perf_counter() - started
    notified = datetime.fromisoformat(NOTIFIED).replace(tzinfo=LONDON)
    clock = VirtualClock(notified)
    recipients = families(args.recipients)
    links = SurveyLinks.model_validate(LINKS)
    with tempfile.TemporaryDirectory(prefix="distribution-bench-") as tmp, EwsServer() as server:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'engine.db'}"
        migrate(url)
        config = county_config(recipients, mailboxes(args.mailboxes))
        transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send",
                                 secret="demo-secret", max_wait=5.0)
        ctx = EngineContext(config=config, calendar=calendar_for(config), db_url=url, clock=clock,
                            transport=transport, base_url="http://bench.invalid", uploads_dir=folder / "uploads")
        inspection_id = open_inspection(ctx, notified)
        with ctx.session() as session:
            closes = session.scalars(select(m.Milestone.due_at).where(m.Milestone.inspection_id == inspection_id,
                                                                       m.Milestone.name == "surveys_close")).one()
        for count in (1, 3):
            plan = plan_distribution(recipients, mailboxes=mailboxes(count), limits=EXCHANGE_ONLINE,
                                     start=clock.now(), deadline=closes)
            print(f"Exchange Online limits, {count} mailbox{'es' if count > 1 else ''}:\n  "
                  + plan.describe().replace("\n", "\n  ") + "\n")

        shown: list[str] = []
        passes = []
        virtual_start = clock.now()
        t0 = time.perf_counter()
        while not passes or not passes[-1].done:
            if passes:
                clock.set(passes[-1].next_wake_at)  # the ticker wakes the phase at the time the pass gave
            passes.append(survey_pass(ctx, inspection_id, links, show_plan=shown.append))
        send_seconds = time.perf_counter() - t0
        virtual_end = clock.now()
        print("The engine's plan (the surveys artifact, before the first batch):\n" + shown[0])
        t0 = time.perf_counter()
        again = survey_pass(ctx, inspection_id, links)
        resume_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        survey_plan(ctx, inspection_id)
        plan_seconds = time.perf_counter() - t0
        close_connections()

        bcc = [address for item in server.sent for address in item.bcc]
        per_message = [len(item.to) + len(item.cc) + len(item.bcc) for item in server.sent]
        with ctx.session() as session:
            ledger_rows = session.scalar(select(func.count()).select_from(m.EmailRecord)
                                         .where(m.EmailRecord.status == "sent"))
        result = {
            "recipients": args.recipients,
            "mailboxes": args.mailboxes,
            "passes": len(passes),
            "sent_per_pass": [p.sent for p in passes],
            "http_requests": len(server.seen),
            "create_items": server.operations().count("CreateItem"),
            "messages_accepted": len(server.sent),
            "max_recipients_per_message": max(per_message),
            "max_bcc_per_message": max(len(item.bcc) for item in server.sent),
            "nobody_in_to_or_cc": all(item.to == [] and item.cc == [] for item in server.sent),
            "distinct_bcc_recipients": len(set(bcc)),
            "bcc_recipients_in_two_messages": len(bcc) - len(set(bcc)),
            "all_recipients_reached": sorted(bcc) == sorted(recipients),
            "ledger_rows_sent": ledger_rows,
            "pass_after_the_end_sent": again.sent,
            "plan_seconds": round(plan_seconds, 3),
            "send_wall_seconds": round(send_seconds, 2),
            "send_wall_seconds_per_message": round(send_seconds / max(1, len(server.sent)), 3),
            "pass_after_the_end_wall_seconds": round(resume_seconds, 3),
            "virtual_time_covered": str(virtual_end - virtual_start),
            "startup_imports_seconds": round(imports, 2),
            "machine": machine("exchangelib", "sqlalchemy", "prefect"),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
