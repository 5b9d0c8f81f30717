"""Problems name file, row, column and child id; a rejection carries every problem, capped, with the count."""

from __future__ import annotations

from send_inspection.childdata.problems import ImportRejected, Problem


def test_problem_names_only_what_is_known() -> None:
    """A problem leaves out the row, column or child id it does not have."""
    full = Problem("error", "a.csv", "wrong", row=3, column="DOB", child_id="C1")
    assert str(full) == "a.csv, row 3, column 'DOB', child id C1: wrong"
    assert str(Problem("error", "a.csv", "the file is empty")) == "a.csv: the file is empty"


def test_rejection_caps_the_list_and_keeps_the_count() -> None:
    """Past the cap a rejection still says how many problems there were, errors listed before warnings."""
    problems = [Problem("warning", "a.csv", "look", row=2)] + [
        Problem("error", "a.csv", "bad", row=r) for r in range(3, 8)
    ]
    rejected = ImportRejected(problems, limit=3)
    assert (rejected.total, rejected.error_count, rejected.warning_count) == (6, 5, 1)
    assert [p.row for p in rejected.problems] == [3, 4, 5]
    assert str(rejected).splitlines()[0] == (
        "rejected: 5 error(s), 1 warning(s); nothing was stored (showing the first 3 of 6)"
    )
    assert str(rejected).splitlines()[1] == "error: a.csv, row 3: bad"
