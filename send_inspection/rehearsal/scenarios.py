"""The demo rehearsal's cast: most on time, some late, one absent whose deputy steps in, one return."""

from __future__ import annotations

from datetime import timedelta

from send_inspection.cases.selection import MEASURED_AREAS
from send_inspection.childdata.codes import ALTERNATIVE_PROVISION
from send_inspection.childdata.importer import ChildData
from send_inspection.rehearsal.staff import Behaviour


def demo_behaviours() -> dict[str, Behaviour]:
    """Return behaviours by person id for the Demo County rehearsal (everyone else answers in 45 minutes)."""
    return {
        # Absent all week: the deputy (the performance service manager) is escalated to and steps in.
        "hos-data": Behaviour(absent=True),
        # Slow but on time: answers after the reminders, before 17:00.
        "hos-participation": Behaviour(delay=timedelta(hours=6, minutes=30)),
        # Late: would answer at 18:30; the deputy escalated to at 17:00 answers first.
        "hos-education": Behaviour(delay=timedelta(hours=9, minutes=30)),
        # Returns the self-evaluation once with a comment.
        "dir-inclusion": Behaviour(delay=timedelta(minutes=40), returns_once=frozenset({"1.3"})),
        # A practitioner named for a tracked case who answers a day after each ask: past the deadlines of
        # the family's agreement (17:00 day 3) and of the documents (17:00 day 4), after the reminders.
        "owen.castell@demo-county.example": Behaviour(delay=timedelta(days=1)),
        # Leaves the inspectors' parking to the last minute and past it: his deputy, escalated to, arranges it.
        "facilities-officer": Behaviour(ignores=frozenset({"logistics-parking"})),
    }


DEFAULT_DELAY = timedelta(minutes=45)


def choose_demo_cases(data: ChildData, *, count: int = 6) -> list[str]:
    """Pick the inspectors' cases from the accepted lists: one in AP, two on SEN support, every area of need."""
    rows = []
    for kind in ("ehc_plans", "sen_support"):
        frame = data.frame(kind)  # type: ignore[arg-type]
        if frame is not None:
            rows += [(kind, r["child_id"], r["broad_area"], r["setting_type"])
                     for r in frame[["child_id", "broad_area", "setting_type"]].to_dict("records")]
    rows.sort(key=lambda r: r[1])
    chosen: list[tuple[str, str, str, str]] = []

    def take(test) -> None:  # noqa: ANN001 - a predicate on a row
        row = next((r for r in rows if test(r) and r not in chosen), None)
        if row is not None:
            chosen.append(row)

    take(lambda r: r[3] == ALTERNATIVE_PROVISION)
    for area in MEASURED_AREAS:
        sen_support = sum(r[0] == "sen_support" for r in chosen)
        if not any(r[2] == area for r in chosen):
            take(lambda r, a=area, want=sen_support < 2: r[2] == a and (r[0] == "sen_support") == want)
    while sum(r[0] == "sen_support" for r in chosen) < 2:
        take(lambda r: r[0] == "sen_support")
    while len(chosen) < count:
        take(lambda r: True)
    return [r[1] for r in chosen[:count]]
