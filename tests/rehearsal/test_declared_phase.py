"""A phase declared only in a catalogue entry (and its flow) is served, rehearsed and shown by `status`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName

from send_inspection.catalogue.phases import PHASES, using_phase_catalogue
from send_inspection.cli import main
from send_inspection.live.worker import runner_deployments
from send_inspection.rehearsal.driver import RehearsalReport, rehearse
from tests.conftest import NOTIFIED
from tests.rehearsal.declared_phase import FORUM_BRIEFING, WITH_FORUM_BRIEFING


@pytest.fixture(scope="module")
def briefed(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[RehearsalReport, Path]:
    """Rehearse the first half hour of day 1 with the declared phase in the catalogue."""
    workdir = tmp_path_factory.mktemp("declared")
    with using_phase_catalogue(WITH_FORUM_BRIEFING):
        return rehearse(workdir, notified_at=NOTIFIED, until=timedelta(minutes=30)), workdir


def test_the_worker_serves_the_declared_phase() -> None:
    """The deployments `serve` is given include the declared phase's, under its flow's name, tags and description."""
    served = {d.flow_name: d for d in runner_deployments(WITH_FORUM_BRIEFING, mail_transport="outbox")}
    deployment = served[FORUM_BRIEFING.deployment.flow_name]
    assert (deployment.name, deployment.tags, deployment.description) == (
        "send-inspection", ["send-inspection", "phase"], FORUM_BRIEFING.deployment.description)
    assert FORUM_BRIEFING.deployment.flow_name not in {d.flow_name for d in runner_deployments(
        PHASES, mail_transport="outbox")}  # the product's own catalogue is left as it was


def test_the_notification_phase_starts_it_and_the_rehearsal_runs_it_to_its_end(
        briefed: tuple[RehearsalReport, Path]) -> None:
    """Started with day 1, the phase waits until its time, then ends done in a flow run named by its label."""
    report, _ = briefed
    assert report.phases[FORUM_BRIEFING.key] == "done"
    assert report.phases["day2"] == "waiting"  # the rest of day 1 carries on as ever
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["forum-briefing"])))
    assert [r.name for r in runs] == ["demo-county-2023-06-26 · parent carer forum briefing"]
    assert runs[0].state is not None and runs[0].state.is_completed()


def test_status_shows_the_declared_phase_by_its_label(briefed: tuple[RehearsalReport, Path],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`send-inspection status` on the rehearsal's database lists the phase under its label, done."""
    _, workdir = briefed
    monkeypatch.setenv("SEND_INSPECTION_HOME", str(workdir))
    monkeypatch.setenv("SEND_INSPECTION_DB_URL", f"sqlite:///{workdir / 'rehearsal.db'}")
    monkeypatch.delenv("SEND_INSPECTION_CONFIG", raising=False)
    capsys.readouterr()
    with using_phase_catalogue(WITH_FORUM_BRIEFING):
        assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  parent carer forum briefing done     Forum briefed" in lines
