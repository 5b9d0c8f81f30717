"""The phase catalogue: prefect.yaml deploys exactly what it declares, and its entries hold together."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from send_inspection import PROJECT_ROOT
from send_inspection.catalogue.phases import (
    DEPLOYMENT_NAME,
    PHASES,
    Deployment,
    PhaseCatalogue,
    PhaseSpec,
    Start,
    artifact_key,
)


def _yaml_deployments(path: Path) -> dict[str, dict]:
    """Return prefect.yaml's deployments by entrypoint (anchors resolved)."""
    return {d["entrypoint"]: d for d in yaml.safe_load(path.read_text())["deployments"]}


def _as_yaml(declared: Deployment) -> dict:
    """Return what prefect.yaml must say of a declared deployment."""
    schedule = declared.schedule
    return {
        "name": DEPLOYMENT_NAME,
        "entrypoint": declared.entrypoint,
        "parameters": dict(declared.parameters),
        "schedules": [] if schedule is None else [{"cron": schedule.cron, "timezone": schedule.timezone,
                                                   "active": not schedule.needs_mail}],
        "tags": list(declared.tags),
        "description": declared.description,
        "work_queue": declared.work_queue.name,
    }


def test_prefect_yaml_deploys_exactly_the_catalogue() -> None:
    """Each deployment in prefect.yaml has the catalogue's name, entrypoint, parameters, schedule, tags, text and
    work queue."""
    written = {
        entrypoint: {"name": d["name"], "entrypoint": entrypoint, "parameters": d.get("parameters") or {},
                     "schedules": d.get("schedules") or [], "tags": d["tags"],
                     "description": " ".join(d["description"].split()),
                     "work_queue": d["work_pool"]["work_queue_name"]}
        for entrypoint, d in _yaml_deployments(PROJECT_ROOT / "prefect.yaml").items()
    }
    declared = {d.entrypoint: _as_yaml(d) for d in PHASES.deployments()}
    assert written == declared


def test_every_declared_flow_loads_under_its_declared_name() -> None:
    """Each entrypoint imports a Prefect flow whose name is the one its deployment is run by."""
    for declared in PHASES.deployments():
        assert declared.load_flow().name == declared.flow_name, declared.entrypoint


def test_phases_are_found_by_name_and_named_for_people() -> None:
    """A family's phases are found by their prefix and labelled with their value; a phase's run takes its value."""
    assert PHASES.spec("case:DC1001").key == "case"
    assert PHASES.label("case:DC1001") == "tracked case DC1001"
    assert PHASES.label("request:3") == "additional evidence request 3"
    assert PHASES.label("day2") == "Annex A day 2"
    assert PHASES.spec("request:3").run_parameters("demo", "request:3") == {"inspection_id": "demo", "number": 3}
    assert [p.key for p in PHASES.started_with("notification")] == ["day2", "day5", "bulletin", "kit", "onsite"]
    assert PHASES.in_bulletin() == {"day2": "Annex A evidence due on day 2", "day5": "Annex A evidence due on day 5"}


def test_artifact_keys_are_made_of_what_prefect_allows() -> None:
    """Keys are lower-case letters, digits and dashes; a phase's own artifacts carry the name operators know it by."""
    assert artifact_key("demo-county-2030-06-24", "case:DC-0042", "mail") == "demo-county-2030-06-24-case-dc-0042-mail"
    assert PHASES.artifact_key("demo-2023", "report") == "demo-2023-after-fieldwork"
    assert PHASES.artifact_key("demo-2023", "case:DC12", "status") == "demo-2023-case-dc12-status"
    assert PHASES.artifact_key("demo-2023", "day2", "register") == "demo-2023-day2-register"


@pytest.mark.parametrize(("extra", "problem"), [
    (PhaseSpec(key="day2", label="again", deployment=PHASES.phases[1].deployment, starts=Start(says="x")),
     "phase 'day2' is declared twice"),
    (PhaseSpec(key="forum", label="forum", starts=Start(says="x", with_phase="kit-meetings"),
               deployment=Deployment(flow_name="forum", entrypoint="flows/forum.py:forum", description="", tags=())),
     "phase 'forum' starts with 'kit-meetings', which is not declared"),
])
def test_a_catalogue_that_does_not_hold_together_is_refused(extra: PhaseSpec, problem: str) -> None:
    """A phase declared twice, or started with one never declared, is refused when the catalogue is built."""
    with pytest.raises(ValueError, match=problem):
        PhaseCatalogue(phases=(*PHASES.phases, extra), services=PHASES.services)


@pytest.mark.parametrize(("mail", "scheduled"), [("ews", True), ("graph", True), ("smtp", False), ("outbox", False)])
def test_the_mailbox_intake_is_scheduled_with_mail_through_exchange_only(mail: str, scheduled: bool) -> None:
    """The worker schedules the intake every two minutes with EWS or Graph, not with SMTP or the outbox."""
    from send_inspection.catalogue.phases import MAILBOX_INTAKE
    from send_inspection.live.worker import runner_deployments

    assert MAILBOX_INTAKE.schedule is not None and MAILBOX_INTAKE.schedule.serves_with(mail) is scheduled
    [intake] = [d for d in runner_deployments(PHASES, mail_transport=mail) if d.flow_name == "mailbox-intake"]
    assert bool(intake.schedules) is scheduled
