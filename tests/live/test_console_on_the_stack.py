"""The production shape driven from the coordinator's console alone: from the call to the draft report, with no
command-line call. The Prefect API refuses a call without its auth string; the web app and the workers have it.

Runs on the `pool` stack (tests/live/conftest.py): the PostgreSQL pass of scripts/test.sh; skipped otherwise. Staff
answer through their emailed links as people would; the coordinator only uses the console's pages.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import httpx
import pytest

from send_inspection.calendar import LONDON
from send_inspection.rehearsal.staff import HIDDEN
from tests.live.stack import LiveStack

pytestmark = pytest.mark.timeout(900)

INSPECTION = "demo-county-2030-07-01"
NOTIFIED = "2030-07-01T09:00"  # a Monday far ahead (so deliberately dated): no reminder falls due meanwhile
LEAH = "leah.marchetti@demo-county.example"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SIGN_IN = re.compile(r"https?://[^\s/]+(/console/sign-in/link/[A-Za-z0-9_-]+)")
TIMETABLE = """Slot,Kind,Title,Date,Start,End,Location,Attendees,Debriefer,Focus
W3-1,leaders-meeting,Meeting with leaders,2030-07-15,10:00,11:00,Demo House,dcs;dir-inclusion,dir-inclusion,
W3-2,staff-meeting,Meeting with practitioners,2030-07-15,14:00,15:00,Teams,hos-send;hos-education,hos-send,
"""


def key(*parts: str) -> str:
    """Return a ledger key of the test inspection."""
    return ":".join((INSPECTION, *parts))


def body(envelope: object) -> str:
    """Return the plain text of an accepted message."""
    message = message_from_bytes(envelope.content, policy=default_policy)  # type: ignore[attr-defined]
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


class Coordinator:
    """The coordinator's browser on the console: one cookie jar, each form sent with the session's CSRF token."""

    def __init__(self, pool: LiveStack) -> None:
        self.pool = pool
        self.http = httpx.Client(base_url=pool.web_url, timeout=60, follow_redirects=False)
        self.csrf = ""

    def sign_in(self) -> None:
        """Ask for a link on the sign-in page, take it from the email the SMTP server got, press Sign in."""
        assert self.http.post("/console/sign-in/email", data={"email": LEAH}).status_code == 200
        found: list[str] = []

        def emailed() -> bool:
            found[:] = [m.group(1) for e in list(self.pool.mail.envelopes) if LEAH in e.rcpt_tos
                        for m in [SIGN_IN.search(body(e))] if m]
            return bool(found)

        self.pool.wait_for(emailed, seconds=30, what="the sign-in email")
        assert self.http.post(found[-1]).status_code == 303
        page = self.http.get("/console/")
        assert page.status_code == 200 and "Signed in as Leah Marchetti (coordinator)" in page.text
        self.csrf = CSRF.search(page.text).group(1)

    def act(self, path: str, files: dict | None = None, **data: str) -> str:
        """Send a console form; return the page it lands on (after its redirect), failing on a refusal."""
        response = self.http.post(path, data={"csrf": self.csrf, **data}, files=files)
        assert response.status_code in (200, 303), f"{path}: {response.status_code}\n{response.text[:800]}"
        if response.status_code == 303:
            response = self.http.get(response.headers["location"])
        assert response.status_code == 200, response.text[:500]
        return response.text


def staff_answer(pool: LiveStack, ask: str, outcome: str, *, files: dict | None = None, **fields: str) -> None:
    """Answer a step through the link in its ask, as the person would (a file too, when the step takes one)."""
    if files is None:
        response = pool.answer(pool.token_for(ask), outcome, **fields)
    else:
        link = f"{pool.web_url}/a/{pool.token_for(ask)}"
        page = httpx.get(link, timeout=10)
        data = dict(HIDDEN.findall(page.text)) | {"outcome": outcome} | fields
        response = httpx.post(link, data=data, files=files, timeout=60)
    assert response.status_code == 200, response.text[:500]


def arrived(pool: LiveStack, *wanted: str, seconds: float = 180) -> None:
    """Wait until an email with each ledger key (or a key starting with what comes before a final '*') has reached
    the SMTP server."""
    def there() -> bool:
        keys = set(pool.received_keys())
        return all(any(k == w or (w.endswith("*") and k.startswith(w[:-1])) for k in keys) for w in wanted)

    pool.wait_for(there, seconds=seconds, what=f"the emails {', '.join(wanted)}")


def test_the_prefect_api_refuses_a_call_without_its_auth_string(pool: LiveStack) -> None:
    """Without the auth string the API answers 401; with it, 200; its health check stays open for probes."""
    refused = httpx.post(f"{pool.api_url}/deployments/filter", json={}, timeout=10)
    assert refused.status_code == 401
    wrong = httpx.post(f"{pool.api_url}/deployments/filter", json={}, timeout=10,
                       headers={"Authorization": "Basic b3BlcmF0b3I6Z3Vlc3M="})
    assert wrong.status_code == 401
    assert httpx.post(f"{pool.api_url}/deployments/filter", json={}, headers=pool.auth, timeout=10).status_code == 200
    assert httpx.get(f"{pool.api_url}/health", timeout=10).status_code == 200


def test_an_inspection_driven_from_the_console_alone_reaches_the_draft_report(pool: LiveStack, tmp_path: Path) -> None:
    """Start, survey links, tracked cases, someone away, a fresh link, a new owner, the timetable (previewed, then
    sent), an additional request and the feedback, each from the console; the runs go on the pool's workers; the
    LANO records the draft report through her link and the reviewers are asked for their comments."""
    leah = Coordinator(pool)
    leah.sign_in()
    dashboard = leah.act("/console/start", notified_at=NOTIFIED, kind="full", deliberate="yes")
    assert f"Inspection {INSPECTION}" in dashboard and "started the full inspection" in dashboard
    arrived(pool, key("notification", "list", "boards"), *(key("day2", ref, "submit", "r1", "ask")
                                                           for ref in ("child-level-data", "1.2", "1.4", "1.5")))
    base = f"/console/i/{INSPECTION}"
    page = leah.act(f"{base}/survey-links", children_young_people="https://surveys.example/cyp",
                    parents_carers="https://surveys.example/pc", practitioners="https://surveys.example/pr",
                    closes_at="2030-07-09T12:00")
    assert "the surveys close Tue 09 Jul 12:00" in page
    arrived(pool, key("notification", "survey") + ":*")
    # Day 1 then waits without a process for the reminder to families before the surveys close (partnership.yaml).
    pool.wait_for(lambda: pool.phase(INSPECTION, "notification")[0] in ("waiting", "done"), seconds=180,
                  what="the notification phase waiting for the reminder once the surveys went")

    # The data lead uploads the child-level data; the coordinator enters two of its case ids.
    staff_answer(pool, key("day2", "child-level-data", "submit", "r1", "ask"), "submitted",
                 lists_as_of=date(2030, 7, 1))
    stored = Path(pool.env["SEND_INSPECTION_HOME"]) / "uploads" / INSPECTION / "child-data" / "child-level-data"
    with open(stored / "ehc_plans.csv", newline="") as handle:
        ids = [row["child_id"] for row in csv.DictReader(handle)][:2]
    page = leah.act(f"{base}/cases", case_ids=" ".join(ids))
    assert "2 children chosen" in page
    arrived(pool, *(key("case", i) + ":*" for i in ids))

    now = datetime.now(LONDON)  # an absence is lived in real time, whatever the inspection's dates
    page = leah.act(f"{base}/away", person="hos-data", from_at=f"{now - timedelta(minutes=1):%Y-%m-%dT%H:%M}",
                    until_at=f"{now + timedelta(days=3):%Y-%m-%dT%H:%M}")
    assert "Ben Hollinshead away" in page
    arrived(pool, key("day2", "1.2", "submit", "r1", "away") + "*")  # the deputy's own ask
    assert any(r.to == ("owen.garside@demo-county.example",) for r in pool.received()
               if r.key.startswith(key("day2", "1.2", "submit", "r1", "away")))

    old = pool.token_for(key("day2", "1.4", "submit", "r1", "ask"))
    leah.act(f"{base}/fresh-link", item="1.4", person="head-improvement")
    arrived(pool, key("day2", "1.4", "submit", "r1", "fresh-2", "head-improvement"))
    assert httpx.get(f"{pool.web_url}/a/{old}", timeout=10).status_code == 410

    leah.act(f"{base}/owner", item="1.5", field="evidence_lead", person="pcf-liaison")
    arrived(pool, key("day2", "1.5", "submit", "r1", "h1", "ask"))
    assert pool.message(key("day2", "1.5", "submit", "r1", "h1", "ask")).to == ("megan.ashdown@demo-county.example",)

    preview = leah.act(f"{base}/timetable", files={"file": ("timetable.csv", TIMETABLE.encode())})
    assert "Invitations: 2" in preview and "Cancellations: 0" in preview
    staged = re.search(r'name="staged" value="([^"]+)"', preview).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', preview).group(1)
    assert "imported the timetable timetable.csv" in leah.act(f"{base}/timetable/confirm", staged=staged,
                                                              digest=digest)
    arrived(pool, key("fieldwork", "calendar", "W3-1") + ":*", key("fieldwork", "calendar", "W3-2") + ":*")

    leah.act(f"{base}/requests", asked="The multi-agency audit summary for 2030", inspector="Ms Example",
             head_of_service="hos-send")
    arrived(pool, key("request:1", "request-1", "confirm", "r1", "ask"))

    leah.act(f"{base}/feedback", outcome="2", effective="Joint working across education and health",
             improve="Waiting times for assessments")
    arrived(pool, key("report", "feedback"), key("report", "draft-report", "receive", "r1", "ask"))
    staff_answer(pool, key("report", "draft-report", "receive", "r1", "ask"), "received",
                 files={"file": ("Draft report.pdf", b"%PDF-1.7 Demo County draft report (fictional)")})
    arrived(pool, key("report", "comments-") + "*")

    dashboard = leah.http.get(base).text
    runs = re.findall(r'href="([^"]+/runs/flow-run/[0-9a-f-]+)"', dashboard)
    assert len(runs) >= 8  # notification, day 2, day 5, bulletin, two cases, fieldwork, the request, the report
    assert all(link.startswith(pool.api_url.removesuffix("/api")) for link in runs)
    audit = [(actor, channel, action) for actor, channel, action in pool.query(
        "select actor, channel, action from audit_log where inspection_id = :i order by id", i=INSPECTION)]
    assert audit == [("inspection-coordinator", "console", a) for a in (
        "start inspection", "survey links", "select cases", "away", "fresh link", "change owner",
        "import timetable", "additional request", "feedback")]
    assert [k for k, n in pool.keys_of(INSPECTION).items() if n > 1] == []  # every email once
