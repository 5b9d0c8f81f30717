"""The gate catalogue: each gate declared once has the engine's check, and register.yaml names only declared ones."""

from __future__ import annotations

from send_inspection.catalogue.gates import GATES, gate_spec
from send_inspection.config.models import PartnershipConfig
from send_inspection.engine.gates import CHECKS


def test_every_gate_declared_has_its_check_and_no_check_is_undeclared() -> None:
    """The catalogue's gates and the engine's checks name the same keys."""
    assert [g.key for g in GATES] == list(CHECKS) == ["tracked-cases-reviewed"]
    assert gate_spec("tracked-cases-reviewed").label.startswith("every tracked child's documents reviewed")


def test_the_demo_register_gates_the_tracked_cases_row(demo_config: PartnershipConfig) -> None:
    """Only the tracked-cases row waits, for the tracked children's documents."""
    assert {i.ref: i.waits_for for i in demo_config.annex_a.items if i.waits_for} == {
        "tracked-cases": "tracked-cases-reviewed"}
