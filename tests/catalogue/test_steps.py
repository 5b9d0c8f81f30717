"""The step catalogue: each step's page, form, email and person exist, and the derived answers hold."""

from __future__ import annotations

import pytest

from send_inspection import PROJECT_ROOT
from send_inspection.catalogue.steps import LEAD, RETURNED, REVIEWER, STEPS, in_order, step_label, step_spec
from send_inspection.config.models import Roles
from send_inspection.web.step_forms import FORMS


@pytest.mark.parametrize("spec", STEPS, ids=lambda s: s.key)
def test_every_step_has_its_page_email_form_and_person(spec) -> None:  # noqa: ANN001 - a StepSpec
    """The page part and the email templates are there, the form has a reader, and someone answers it."""
    assert (PROJECT_ROOT / "templates" / "web" / "steps" / f"{spec.page}.html.j2").is_file()
    assert all((PROJECT_ROOT / "templates" / "email" / f"{spec.email}.{part}.j2").is_file()
               for part in ("subject", "txt", "html"))
    assert spec.form is None or spec.form in FORMS
    assert spec.answered_by in (LEAD, REVIEWER) or spec.answered_by in Roles.model_fields
    assert spec.moves_on and len({b.outcome for b in spec.buttons}) == len(spec.buttons)


def test_the_answers_a_step_takes_come_from_its_buttons() -> None:
    """Steps move on by their buttons' outcomes; those with a return button may send an item back."""
    assert step_spec("submit").moves_on == {"submitted", "explained"}
    assert [s.key for s in STEPS if s.returnable] == ["approve", "check", "review"]
    assert RETURNED not in step_spec("approve").moves_on
    assert {s.key: b.outcome for s in STEPS for b in s.buttons if b.comment_needed} == {
        "confirm": "exists", "approve": RETURNED, "check": RETURNED, "review": RETURNED, "arrange": "requested",
        "act": "done", "attend": "representative"}


def test_steps_come_in_the_order_items_are_worked_through() -> None:
    """An item's steps are ordered by the catalogue whatever order they are stored in; labels name them."""
    assert in_order({"upload": 1, "review": 1, "submit": 1, "confirm": 1}) == ["confirm", "submit", "review", "upload"]
    assert step_label("check") == "director check"
    assert step_label("no-such-step") == "no-such-step"
