"""Helpers shared by tests: a real SMTP server on loopback that keeps what it accepts, free ports, email samples."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.smtp import Envelope

from send_inspection.checklist import CHECKLIST_IDS

# The Evidence Quality Assurance Checklist with every point ticked, as the submit form sends it.
ALL_TICKED = list(CHECKLIST_IDS)


class Collector:
    """An aiosmtpd handler that keeps every accepted envelope and can refuse on demand."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse_rcpt: dict[str, str] = {}
        self.data_reply: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: Any, session: Any, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Accept a recipient unless told to refuse it."""
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        """Keep the envelope, or answer the configured failure."""
        if self.data_reply is not None:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, *, seconds: float, alive: Callable[[], bool], what: str) -> None:
    """Poll `url` until it answers 200; fail naming `what` after `seconds` or as soon as `alive()` says it died."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not alive():
            raise AssertionError(f"{what} did not start on {url}")
        time.sleep(0.05)


# Reviewed samples of the kinds of email the whole-inspection rehearsal does not send (tests/rehearsal has those).
SAMPLES = Path(__file__).with_name("emails")


def assert_reads_as_reviewed(outbox: Path, key: str, *, kind: str, at: str) -> None:
    """Compare the email with `key` as received (plain text and HTML) with its reviewed sample tests/emails/<kind>.txt.

    After a change made on purpose, SEND_INSPECTION_WRITE_SAMPLES=1 writes the sample afresh: read it, then commit it.
    """
    from send_inspection.rehearsal.email_samples import render_sample

    text = render_sample(outbox, key, kind=kind, at=at)
    path = SAMPLES / f"{kind}.txt"
    if os.environ.get("SEND_INSPECTION_WRITE_SAMPLES") == "1":
        SAMPLES.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no reviewed sample {path.name}: write it with SEND_INSPECTION_WRITE_SAMPLES=1 and read it"
    assert text == path.read_text(encoding="utf-8"), kind
