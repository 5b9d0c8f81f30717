"""What reaches Prefect: artifacts built by one helper, inert in the UI; mail problems told in the product's words.

The whole promise (a child's name typed into every free-text field is found in none of Prefect's stores) is shown
on a rehearsal in tests/rehearsal/test_retention.py, which shares the rehearsals' Prefect server.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from markdown_it import MarkdownIt

from send_inspection import PROJECT_ROOT
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.mail_problems import mail_problem
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.smtp import SmtpTransport
from tasks.artifacts import inert
from tests.conftest import NOTIFIED
from tests.helpers import Collector, free_port

CHILD = "Qzvtyped Qzvchild"
TYPED = [
    "[click me](javascript:alert(1))",
    "![tracker](http://127.0.0.1:9/pixel.png)",
    '<img src="http://127.0.0.1:9/pixel.png"> <a href="javascript:alert(1)">x</a>',
    "<http://127.0.0.1:9/autolink> and https://outside.example/page and www.outside.example",
    "[ref]: javascript:alert(1)\n\n[ref]",
]


def _tokens(markdown: str) -> list[str]:
    """Return the types of every token the markdown parses into, inline ones included."""
    found: list[str] = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        found.append(token.type)
        found += [child.type for child in token.children or []]
    return found


@pytest.mark.parametrize("typed", TYPED)
def test_typed_markup_is_shown_as_written_never_as_a_link_an_image_or_html(typed: str) -> None:
    """A link, an image, HTML, an autolink or a bare address given to the helper shows as text, nothing to open."""
    shown = inert(typed)
    assert not {"link_open", "image", "html_inline", "html_block"} & set(_tokens(shown)), shown
    assert not re.search(r"(?i)(https?|javascript):/{2}|www\.", shown)
    rendered = html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(shown)))
    assert rendered.split() == typed.split()  # what was typed is all there to read, character for character


def test_only_the_artifacts_helper_creates_artifacts() -> None:
    """No module of the product but tasks/artifacts.py calls Prefect's artifact functions."""
    callers = []
    for folder in ("flows", "tasks", "send_inspection"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"prefect\.artifacts|create_\w*artifact|update_progress_artifact", text):
                callers.append(path.relative_to(PROJECT_ROOT).as_posix())
    assert callers == ["tasks/artifacts.py"]


@pytest.fixture
def filtering_server() -> Iterator[Collector]:
    """Run a real SMTP server whose content filter refuses every message, quoting a child's name and an address."""
    collector = Collector()
    collector.data_reply = f"554 5.7.1 Message refused: subject names {CHILD} (sent to qzvchild.parent@home.example)"
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    collector.port = port  # type: ignore[attr-defined]
    try:
        yield collector
    finally:
        controller.stop()


def test_a_mail_servers_answer_stays_in_the_ledger_and_prefect_gets_the_products_words(
        ctx: EngineContext, filtering_server: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """The server's answer quoting a name and an address is kept in the ledger; the log, message and table say
    only what failed and when it is tried again."""
    ctx.transport = SmtpTransport("127.0.0.1", filtering_server.port, timeout=5)  # type: ignore[attr-defined]
    ctx.ledger = MailLedger(ctx._factory, ctx.transport)  # type: ignore[attr-defined]
    iid = open_inspection(ctx, NOTIFIED, mode="live")
    ensure_phase(ctx, iid, "day2")
    with caplog.at_level(logging.DEBUG, logger="send_inspection"):
        failures = reconcile_annex_a(ctx, iid, "day2").mail_failures
    problem = mail_problem(ctx, iid, "day2", failures)
    retry_at = ctx.clock.now() + timedelta(seconds=300)
    shown = [*failures, problem.message(retry_at=retry_at), problem.markdown(retry_at=retry_at),
             *(r.getMessage() for r in caplog.records if r.name.startswith("send_inspection"))]
    assert len(failures) == 8
    assert [text for text in shown if "Qzv" in text or "@home.example" in text] == []
    assert f"smtp 127.0.0.1:{filtering_server.port}: SMTPDataError (554)" in problem.message(retry_at=retry_at)
    from send_inspection.db import models as m

    with ctx.session() as session:
        kept = {r.error for r in session.query(m.EmailRecord)}
    assert all(CHILD in (error or "") for error in kept)  # the whole answer is ours to read, in our database
