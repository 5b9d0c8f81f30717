"""The coordinator's console in Chromium: signed in through the emailed link and through a real OpenID Connect
provider, every console page (and its refusals) checked with axe for WCAG 2.2 AA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from send_inspection.clock import VirtualClock
from send_inspection.console.guard import Console
from send_inspection.console.settings import ConsoleSettings, OidcSettings
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.settings import SecretRef
from send_inspection.web.app import create_app
from tests.browser.axe_check import assert_accessible
from tests.browser.conftest import serving
from tests.console.conftest import COORDINATOR, VIEWER, newest_link
from tests.console.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.coordinator.fake_runner import RecordingRunner

pytestmark = pytest.mark.browser

IID = "demo-county-2023-06-26"
TIMETABLE = """Slot,Kind,Title,Date,Start,End,Location,Attendees,Debriefer,Focus
W3-1,leaders-meeting,Meeting with leaders,2023-07-10,10:00,11:00,Demo House,dcs;dir-inclusion,dir-inclusion,
W3-2,staff-meeting,Meeting with practitioners,2023-07-10,14:00,15:00,Teams,hos-send;hos-education,hos-send,
"""


@pytest.fixture
def console_web(ctx: EngineContext, web_port: int) -> Iterator[str]:
    """Serve the web app with its console (sign-in by emailed link, the outbox pages) on loopback; its sessions
    outlast the virtual clock's jump past a deadline."""
    settings = ConsoleSettings(base_url=ctx.base_url, secret_key="k" * 40, prefect_ui_url="http://127.0.0.1:4200",
                               idle_timeout=timedelta(days=1), max_age=timedelta(days=1))
    console = Console(ctx, settings, RecordingRunner(), has_outbox=True)
    with serving(create_app(ctx, outbox_dir=ctx.transport.folder, console=console), web_port) as url:
        yield url


def checked(page: Any, heading: str, what: str) -> None:
    """Wait for the page's main heading, then run axe on it."""
    page.get_by_role("heading", name=heading, level=1).wait_for()
    assert_accessible(page, what)


def sign_in_by_link(ctx: EngineContext, page: Any, url: str, address: str) -> None:
    """Ask for a link on the sign-in page, open it from the email, press Sign in."""
    page.goto(f"{url}/console/")
    page.get_by_label("Your work email address").fill(address)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.goto(url + newest_link(ctx, address))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Inspections", level=1).wait_for()


def test_every_console_page_passes_axe_for_a_coordinator_signed_in_by_email(
        ctx: EngineContext, clock: VirtualClock, console_web: str, page: Any, tmp_path: Path) -> None:
    """From the sign-in page to the audit log, through every action page, its errors and its results."""
    url = console_web
    page.goto(f"{url}/")
    checked(page, "Sign in to the inspection console", "the sign-in page")
    page.get_by_label("Your work email address").fill(COORDINATOR)
    page.get_by_role("button", name="Email me a sign-in link").click()
    checked(page, "Check your email", "the link-sent page")
    link = url + newest_link(ctx, COORDINATOR)
    page.goto(link)
    checked(page, "Sign in to the inspection console", "the sign-in link's page")
    page.get_by_role("button", name="Sign in").click()
    checked(page, "Inspections", "the inspections list (empty)")

    page.get_by_role("link", name="Start an inspection").first.click()
    checked(page, "Start an inspection", "the start page")
    page.get_by_label("Time of the lead inspector's call").fill("2023-06-14T09:00")
    page.get_by_role("button", name="Start the inspection").click()
    page.get_by_text("12 days ago").first.wait_for()
    checked(page, "Start an inspection", "the start page refusing a time 12 days back")
    page.get_by_label("Time of the lead inspector's call").fill("2023-06-26T09:00")
    page.get_by_role("button", name="Start the inspection").click()
    checked(page, f"Inspection {IID}", "the dashboard just after the start")

    ensure_phase(ctx, IID, "day2")
    reconcile_annex_a(ctx, IID, "day2")  # the asks go, as day 2's run would send them
    clock.set(clock.now() + timedelta(hours=8, minutes=5))  # past the 17:00 deadline: late steps to chase
    page.reload()
    page.get_by_role("heading", name="Late: whom to chase").wait_for()
    assert page.get_by_role("img", name="The weeks from the call to the report").is_visible()
    checked(page, f"Inspection {IID}", "the dashboard with late steps and the picture")

    nav = page.get_by_role("navigation", name=f"Inspection {IID}")
    nav.get_by_role("link", name="Survey links").click()
    checked(page, "Survey links", "the survey links page")
    page.get_by_label("Survey for children and young people").fill("not a web address")
    page.get_by_role("button", name="Give the survey links").click()
    page.get_by_role("heading", name="Nothing was recorded: there is a problem").wait_for()
    checked(page, "Survey links", "the survey links page refusing a bad link")
    page.get_by_label("Survey for children and young people").fill("https://surveys.example/cyp")
    page.get_by_label("Survey for parents and carers").fill("https://surveys.example/pc")
    page.get_by_label("Survey for practitioners").fill("https://surveys.example/pr")
    page.get_by_role("button", name="Give the survey links").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "Survey links", "the survey links page after giving them")

    nav.get_by_role("link", name="Tracked cases").click()
    checked(page, "Tracked cases", "the tracked cases page")
    page.get_by_label("Case ids").fill("DC1 DC2")
    page.get_by_role("button", name="Record the choice and start the tracked cases").click()
    page.get_by_text("no accepted child-level data lists yet").first.wait_for()
    checked(page, "Tracked cases", "the tracked cases page refusing a choice before the lists")

    nav.get_by_role("link", name="Timetable").click()
    checked(page, "Fieldwork timetable", "the timetable page")
    csv = tmp_path / "timetable.csv"
    csv.write_text(TIMETABLE)
    page.get_by_label("Timetable file (CSV or XLSX)").set_input_files(str(csv))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("heading", name="Check what will be sent").wait_for()
    checked(page, "Fieldwork timetable", "the timetable preview")
    page.get_by_role("button", name="Import the timetable and send these").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "Fieldwork timetable", "the timetable as imported")
    bad = tmp_path / "bad.csv"
    bad.write_text(TIMETABLE.replace("dcs;dir-inclusion", "nobody-here"))
    page.get_by_label("Timetable file (CSV or XLSX)").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("Nothing was imported").wait_for()
    checked(page, "Fieldwork timetable", "the timetable page listing problems by row and column")

    nav.get_by_role("link", name="Additional requests").click()
    checked(page, "Additional evidence requests", "the requests page")
    page.get_by_label("What the inspector asked for").fill("The multi-agency audit summary for 2023")
    page.get_by_label("The inspector", exact=True).fill("Ms Example")
    page.get_by_label("Head of service or partner lead").select_option("hos-send")
    page.get_by_role("button", name="Record the request").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "Additional evidence requests", "the requests page listing one")

    nav.get_by_role("link", name="Who is away").click()
    checked(page, "Who is away", "the away page")
    page.get_by_label("Who is away", exact=True).select_option("hos-data")
    page.get_by_label("Away from").fill("2023-06-26T17:00")
    page.get_by_label("Back at").fill("2023-06-28T09:00")
    page.get_by_role("button", name="Mark them away").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "Who is away", "the away page listing an absence")

    nav.get_by_role("link", name="Fresh link").click()
    checked(page, "Give someone a fresh link", "the fresh link page")
    page.get_by_label("The item", exact=True).select_option("1.3")
    page.get_by_label("Who needs a new link").select_option("head-improvement")
    page.get_by_role("button", name="Send a fresh link").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "Give someone a fresh link", "the fresh link page after sending one")

    nav.get_by_role("link", name="Change an owner").click()
    checked(page, "Change an item's owner", "the owner page")
    page.get_by_label("The item", exact=True).select_option("1.1")
    page.get_by_label("The new owner").select_option("sm-performance")
    page.get_by_role("button", name="Change the owner").click()
    page.get_by_role("heading", name="Nothing was recorded: there is a problem").wait_for()
    checked(page, "Change an item's owner", "the owner page refusing the same owner")

    nav.get_by_role("link", name="Retention and records").click()
    checked(page, "Retention and records", "the retention page")
    page.get_by_role("button", name="Place the hold").click()
    page.get_by_role("heading", name="Nothing was recorded: there is a problem").wait_for()
    checked(page, "Retention and records", "the retention page refusing a hold without its reason")
    page.get_by_label("A complaint about the inspection").check()
    page.get_by_label("Say why").fill("A parent's complaint received on 3 July")
    page.get_by_role("button", name="Place the hold").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "Retention and records", "the retention page with a hold in force")

    nav.get_by_role("link", name="Feedback").click()
    checked(page, "The inspectors' feedback", "the feedback page")
    page.get_by_label("2. The local area partnership’s arrangements lead to inconsistent", exact=False).check()
    page.get_by_label("What is effective").fill("Joint working across education and health")
    page.get_by_label("What must improve").fill("Waiting times for assessments")
    page.get_by_role("button", name="Record the feedback").click()
    page.get_by_role("heading", name="Done").wait_for()
    checked(page, "The inspectors' feedback", "the feedback page once recorded")

    page.get_by_role("link", name="Evidence library").click()
    checked(page, "Evidence library", "the evidence library")
    page.get_by_role("link", name="Audit log").click()
    checked(page, "Audit log", "the audit log")
    page.get_by_role("link", name="Inspections").click()
    checked(page, "Inspections", "the inspections list")

    page.goto(link)  # the spent sign-in link
    checked(page, "This sign-in link has already been used", "the spent sign-in link's page")
    page.goto(f"{url}/console/i/no-such-inspection")
    checked(page, "No such inspection", "the page for an unknown inspection")
    page.get_by_role("button", name="Sign out").click()
    checked(page, "Sign in to the inspection console", "the sign-in page after signing out")


def test_a_viewer_sees_the_console_without_its_forms(ctx: EngineContext, console_web: str, page: Any) -> None:
    """A viewer signed in by email sees the pages, told they may only look; axe on the pages they see."""
    sign_in_by_link(ctx, page, console_web, VIEWER)
    assert_accessible(page, "the inspections list for a viewer")
    page.goto(f"{console_web}/console/start")
    checked(page, "Start an inspection", "the start page for a viewer")
    assert page.get_by_text("You are a viewer of the console").is_visible()
    assert page.get_by_role("button", name="Start the inspection").count() == 0


@pytest.fixture
def oidc_web(ctx: EngineContext, web_port: int, oidc_provider: Provider) -> Iterator[str]:
    """Serve the web app whose console signs in with the OpenID Connect provider on loopback."""
    oidc = OidcSettings(issuer=oidc_provider.issuer, client_id=CLIENT_ID,
                        secret=SecretRef("SEND_INSPECTION_OIDC_CLIENT_SECRET", value=CLIENT_SECRET))
    settings = ConsoleSettings(base_url=ctx.base_url, secret_key="k" * 40, oidc=oidc)
    with serving(create_app(ctx, console=Console(ctx, settings, RecordingRunner())), web_port) as url:
        yield url


def test_signing_in_through_the_partnerships_identity_provider(ctx: EngineContext, oidc_web: str, browser: Any) -> None:
    """The coordinator signs in at the provider and lands in the console; staff the console does not name are
    refused politely; axe on the console's pages on the way."""
    for sub, heading in (("leah", "Inspections"), ("catherine", "The console is not open to you")):
        context = browser.new_context()
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(f"{oidc_web}/console/")
        checked(page, "Sign in to the inspection console", "the sign-in page with an identity provider")
        page.get_by_role("link", name="Sign in with your partnership account").click()
        page.get_by_role("button", name=sub, exact=True).click()  # the provider's own page
        checked(page, heading, f"the console after {sub} signed in at the provider")
        context.close()
