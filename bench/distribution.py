"""Measure a county-scale survey distribution: 40,000 families through the real EWS client to a local endpoint.

Plans the distribution for Exchange Online's limits (500 recipients a message, 30 messages a minute and 10,000
recipients a rolling day per mailbox) and prints the operator's plan text for 1 and for 3 mailboxes against the
demo inspection's survey close. Then sends it from `--mailboxes` mailboxes through `EwsTransport` (exchangelib)
to the local EWS endpoint of the tests (tests/mail/ews_server.py, in a thread of this process), with the email
ledger on SQLite, and counts the HTTP requests, CreateItems and recipients the endpoint received.

The rate limits run on a virtual clock: every wait the plan asks for (2 s between one mailbox's messages, a day
when a mailbox has reached 10,000 recipients) moves the clock instead of sleeping, so the wall time is the work
(building, sending and recording 81 messages), not the hours Exchange would make a real run take.

    .venv/bin/python bench/distribution.py [--recipients 40000] [--mailboxes 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402

NOTIFIED = "2026-11-23T09:00"  # a Monday; the surveys close at 09:00 on day 6 of the demo timeline
KEY_SUFFIX = "notification:survey:parents_carers"


def families(count: int) -> list[str]:
    """Return `count` distinct fictional Demo County family addresses."""
    return [f"parent.carer.{i:05d}@demo-county.example" for i in range(count)]


def mailboxes(count: int) -> list[str]:
    """Return the addresses of `count` fictional survey mailboxes."""
    return [f"send-survey-{i}@demo-county.example" for i in range(1, count + 1)]


def main() -> int:
    """Plan for 1 and 3 mailboxes, send through the local EWS endpoint, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=40_000)
    parser.add_argument("--mailboxes", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    from exchangelib.protocol import close_connections
    from sqlalchemy import func, select

    from send_inspection.calendar import LONDON
    from send_inspection.clock import VirtualClock
    from send_inspection.config.loader import calendar_for, default_config_dir, load_config
    from send_inspection.db import models as m
    from send_inspection.db.session import migrate
    from send_inspection.engine.context import EngineContext
    from send_inspection.engine.setup import open_inspection
    from send_inspection.mail.distribution import EXCHANGE_ONLINE, Batch, plan_distribution, send_distribution
    from send_inspection.mail.ews import EwsTransport
    from send_inspection.mail.message import OutgoingMessage
    from send_inspection.mail.outbox import OutboxTransport
    from tests.mail.ews_server import EwsServer

    imports = time.perf_counter() - started
    notified = datetime.fromisoformat(NOTIFIED).replace(tzinfo=LONDON)
    clock = VirtualClock(notified)
    recipients = families(args.recipients)
    with tempfile.TemporaryDirectory(prefix="distribution-bench-") as tmp, EwsServer() as server:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'engine.db'}"
        migrate(url)
        config = load_config(default_config_dir())
        ctx = EngineContext(config=config, calendar=calendar_for(config), db_url=url, clock=clock,
                            transport=OutboxTransport(folder / "outbox"), base_url="http://bench.invalid",
                            uploads_dir=folder / "uploads")
        inspection_id = open_inspection(ctx, notified)
        with ctx.session() as session:
            closes = session.scalars(select(m.Milestone.due_at).where(m.Milestone.inspection_id == inspection_id,
                                                                       m.Milestone.name == "surveys_close")).one()
        plans = {}
        for count in (1, 3):
            plans[count] = plan_distribution(recipients, mailboxes=mailboxes(count), limits=EXCHANGE_ONLINE,
                                             start=clock.now(), deadline=closes)
            print(f"Exchange Online limits, {count} mailbox{'es' if count > 1 else ''}:\n  "
                  + plans[count].describe().replace("\n", "\n  ") + "\n")

        t0 = time.perf_counter()
        plan = plan_distribution(recipients, mailboxes=mailboxes(args.mailboxes), limits=EXCHANGE_ONLINE,
                                 start=clock.now(), deadline=closes)
        plan_seconds = time.perf_counter() - t0

        transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send",
                                 secret="demo-secret", max_wait=5.0)
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.advance(timedelta(seconds=seconds))

        def survey(batch: Batch, key: str) -> OutgoingMessage:
            return OutgoingMessage(
                key=key, sender=batch.mailbox, to=(batch.mailbox,), bcc=batch.recipients,
                sender_name="Demo County SEND inspection",
                subject="Have your say: the SEND inspection survey for parents and carers",
                text="The inspectors would like to hear from you: https://survey.demo-county.example/parents\n",
            )

        def send() -> object:
            return send_distribution(plan, key=f"{inspection_id}:{KEY_SUFFIX}", inspection_id=inspection_id,
                                     template="survey", message_for_batch=survey,
                                     transport_for_mailbox=lambda _mailbox: transport, sessions=ctx.session,
                                     clock=clock, sleep=sleep)

        virtual_start = clock.now()
        t0 = time.perf_counter()
        progress = send()
        send_seconds = time.perf_counter() - t0
        virtual_end = clock.now()
        t0 = time.perf_counter()
        again = send()
        resume_seconds = time.perf_counter() - t0
        close_connections()

        bcc = [address for item in server.sent for address in item.bcc]
        per_message = [len(item.to) + len(item.cc) + len(item.bcc) for item in server.sent]
        with ctx.session() as session:
            ledger_rows = session.scalar(select(func.count()).select_from(m.EmailRecord)
                                         .where(m.EmailRecord.status == "sent"))
        result = {
            "recipients": args.recipients,
            "mailboxes": args.mailboxes,
            "plan_messages": plan.messages,
            "http_requests": len(server.seen),
            "create_items": server.operations().count("CreateItem"),
            "messages_accepted": len(server.sent),
            "max_recipients_per_message": max(per_message),
            "max_bcc_per_message": max(len(item.bcc) for item in server.sent),
            "to_is_sending_mailbox": all(item.to == [item.author] for item in server.sent),
            "distinct_bcc_recipients": len(set(bcc)),
            "bcc_recipients_in_two_messages": len(bcc) - len(set(bcc)),
            "all_recipients_reached": sorted(bcc) == sorted(recipients),
            "ledger_rows_sent": ledger_rows,
            "sent_now": len(progress.sent_now),  # type: ignore[attr-defined]
            "second_run_sent_now": len(again.sent_now),  # type: ignore[attr-defined]
            "plan_seconds": round(plan_seconds, 3),
            "send_wall_seconds": round(send_seconds, 2),
            "send_wall_seconds_per_message": round(send_seconds / max(1, len(server.sent)), 3),
            "second_run_wall_seconds": round(resume_seconds, 3),
            "virtual_waits": len(slept),
            "virtual_time_covered": str(virtual_end - virtual_start),
            "startup_imports_seconds": round(imports, 2),
            "machine": machine("exchangelib", "sqlalchemy", "prefect"),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
