"""The intake task: only with EWS or Graph, only the inboxes the settings name; it starts or wakes what mail asks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from send_inspection.clock import VirtualClock
from send_inspection.config.loader import calendar_for
from send_inspection.config.models import PartnershipConfig
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.mail.ews import EwsTransport
from send_inspection.runtime import Runtime, use_runtime
from send_inspection.settings import load_settings
from tasks.intake_tasks import poll_inboxes_task
from tests.conftest import NOTIFIED, fresh_database
from tests.intake.conftest import COMMS, EVIDENCE, HOS, MONDAY
from tests.mail.ews_server import EwsServer


class Recorder:
    """Stands in for the launcher and the waker: notes which phases it was asked to start or wake."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def start(self, inspection_id: str, phase: str) -> None:
        """Note a start."""
        self.calls.append(("start", inspection_id, phase))

    def wake(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Note a wake."""
        self.calls.append(("wake", inspection_id, phase))

    def wait(self, *args: object, **kwargs: object) -> bool:
        """Never wait here."""
        raise AssertionError("the intake never waits")

    def survey_links(self, inspection_id: str) -> None:
        """Never asked here."""
        raise AssertionError("the intake never asks for survey links")


def runtime(context: EngineContext, recorder: Recorder) -> Runtime:
    """Return a runtime around `context` whose launcher and waker record what they are asked."""
    return Runtime(context=context, waiter=recorder, launcher=recorder, waker=recorder, mode="rehearsal")


def test_without_exchange_the_task_returns_at_once(ctx: EngineContext) -> None:
    """With the outbox (or SMTP) nothing is polled and the task says intake needs EWS or Graph."""
    with use_runtime(runtime(ctx, Recorder())):
        said = poll_inboxes_task.fn()
    assert said == "Mailbox intake needs SEND_INSPECTION_MAIL=ews or graph (mail goes by outbox): no inbox polled."


def test_with_ews_the_task_polls_the_inboxes_named_and_starts_the_request(
        tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, server: EwsServer,
        transport: EwsTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the comms inbox is polled when it alone is named; the request recorded is started at once."""
    ews_ctx = EngineContext(config=demo_config, calendar=calendar_for(demo_config), db_url=fresh_database(tmp_path),
                            clock=clock, transport=transport, base_url="http://testserver",
                            uploads_dir=tmp_path / "uploads", check_links=False)
    iid = open_inspection(ews_ctx, NOTIFIED, mode="live")
    ews_ctx.clock.set(MONDAY)  # type: ignore[attr-defined]
    server.deliver(subject="FW: evidence", sender=HOS[2], body="Head of service: hos-send\nThe SEF, please.",
                   mailbox=COMMS, received_at=MONDAY - timedelta(minutes=3))
    server.deliver(subject="[Request 1]", sender=HOS[2], body="-", mailbox=EVIDENCE,
                   received_at=MONDAY - timedelta(minutes=2), attachments=[("sef.pdf", "application/pdf", b"%PDF")])
    monkeypatch.setenv("SEND_INSPECTION_WATCH_INBOXES", "comms")
    recorder = Recorder()
    with use_runtime(runtime(ews_ctx, recorder)):
        said = poll_inboxes_task.fn()  # the live inspection notified most recently
    assert said == f"{iid}: new messages by inbox: comms 1; 1 recorded"
    assert recorder.calls == [("start", iid, "request:1")]


@pytest.mark.parametrize(("value", "watched"), [(None, ("comms", "evidence")), ("evidence", ("evidence",)),
                                                (" comms , evidence,comms ", ("comms", "evidence")), ("", ())])
def test_the_watched_inboxes_come_from_the_settings(value: str | None, watched: tuple[str, ...]) -> None:
    """SEND_INSPECTION_WATCH_INBOXES lists the inboxes to watch; comms and evidence by default."""
    env = {} if value is None else {"SEND_INSPECTION_WATCH_INBOXES": value}
    assert load_settings(env).watch_inboxes == watched


def test_an_inbox_that_cannot_be_watched_is_refused_by_name() -> None:
    """Naming the logistics inbox (or a typo) is refused with the setting and the value at fault."""
    with pytest.raises(ValueError, match=r"SEND_INSPECTION_WATCH_INBOXES='comms,logistics': 'logistics' cannot"):
        load_settings({"SEND_INSPECTION_WATCH_INBOXES": "comms,logistics"})
