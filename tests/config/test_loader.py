"""The config loader: the shipped Demo County config, and problems reported with file, line and field."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from send_inspection import PROJECT_ROOT
from send_inspection.calendar import LONDON
from send_inspection.config import loader
from send_inspection.config.loader import (
    ConfigError,
    ConfigProblem,
    calendar_for,
    default_config_dir,
    load_config,
    timeline_for,
)
from send_inspection.config.models import STEPS, Partnership, PartnershipConfig

DEMO = PROJECT_ROOT / "config" / "demo-county"

APPENDIX_D_REFS = {
    "child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "tracked-cases",
    "2.1", "2.2", "2.3", "2.4", "2.5", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6",
    "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "6.1", "6.2", "6.3", "6.4",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> PartnershipConfig:
    """Load the shipped Demo County config."""
    return load_config(DEMO)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """Return a copy of the demo config folder that a test may break."""
    folder = tmp_path / "broken"
    shutil.copytree(DEMO, folder)
    return folder


def edit(folder: Path, name: str, old: str, new: str) -> int:
    """Replace the first `old` in a file by `new`; return the 1-based line where `old` started."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text[:index].count("\n") + 1


def problems_of(folder: Path) -> list[ConfigProblem]:
    """Load `folder`, expecting a ConfigError, and return its problems."""
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    return info.value.problems


def problem_at(problems: list[ConfigProblem], field: str) -> ConfigProblem:
    """Return the one problem about `field`."""
    found = [p for p in problems if p.field == field]
    assert len(found) == 1, f"expected one problem for {field}, got {problems}"
    return found[0]


def item_index(demo: PartnershipConfig, ref: str) -> int:
    """Return the position of register item `ref`."""
    return [item.ref for item in demo.annex_a.items].index(ref)


def person_index(demo: PartnershipConfig, person_id: str) -> int:
    """Return the position of person `person_id`."""
    return [p.id for p in demo.partnership.people].index(person_id)


# ---------------------------------------------------------------- the shipped demo config


def test_demo_config_has_every_appendix_d_item(demo: PartnershipConfig) -> None:
    """The demo register holds every Appendix D row plus the health template, each exactly once."""
    refs = [item.ref for item in demo.annex_a.items]
    assert set(refs) == APPENDIX_D_REFS | {"health-template"}
    assert len(refs) == len(set(refs))


def test_demo_phases_follow_appendix_d(demo: PartnershipConfig) -> None:
    """Items due by Tuesday midday are in phase day2 and the rest in day5."""
    day2 = {item.ref for item in demo.annex_a.items if item.phase == "day2"}
    expected = {
        "child-level-data",
        "providers-settings",
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "health-template",
    }
    assert day2 == expected


def test_demo_health_template_is_signed_off_by_icb_exec_lead(demo: PartnershipConfig) -> None:
    """The health template is approved by the ICB executive lead for SEND against its own milestones."""
    item = demo.annex_a.items[item_index(demo, "health-template")]
    assert demo.annex_a.accountable_lead(item) == demo.partnership.roles.icb_exec_lead
    assert demo.step_milestone(item, "submit") == "health_template_contacts_due"
    assert demo.step_milestone(item, "approve") == "health_template_due"
    assert demo.step_milestone(item, "upload") == "annex_a_initial_due"


def test_demo_leads_have_deputies_and_escalate_to_the_top(demo: PartnershipConfig) -> None:
    """Every evidence and accountable lead has a deputy and escalates up to the DCS or the ICB CEO."""
    p = demo.partnership
    leads = {item.evidence_lead for item in demo.annex_a.items}
    leads |= {demo.annex_a.accountable_lead(item) for item in demo.annex_a.items}
    for lead in sorted(leads):
        assert p.person(lead).deputy is not None, lead
        chain = [lead]
        while (up := p.person(chain[-1]).escalates_to) is not None:
            assert up not in chain, f"escalation loop from {lead}"
            chain.append(up)
        assert chain[-1] in {"dcs", "icb-ceo"}, chain


def test_demo_uses_only_reserved_email_domains(demo: PartnershipConfig) -> None:
    """Every address in the demo config is on demo-county.example or demo-icb.nhs.example."""
    p = demo.partnership
    addresses = [person.email for person in p.people]
    addresses += [inbox.address for inbox in (p.inboxes.comms, p.inboxes.logistics, p.inboxes.evidence)]
    addresses += [a for lst in [*p.notification_lists, *p.survey_lists.all()] for a in lst.addresses]
    addresses += [*p.staff_bulletin_list.addresses, p.parent_carer_forum.address]
    addresses += ["@" + partner.website.removeprefix("https://www.") for partner in p.report_partners]
    assert addresses
    assert all(a.endswith(("@demo-county.example", "@demo-icb.nhs.example")) for a in addresses), addresses


def test_demo_every_item_has_a_deadline_for_every_step(demo: PartnershipConfig) -> None:
    """Every step of every item resolves to a milestone of the timeline."""
    for item in demo.annex_a.items:
        for step in STEPS:
            assert demo.step_milestone(item, step) in demo.timeline.milestones


def test_demo_every_milestone_is_used(demo: PartnershipConfig) -> None:
    """Every milestone of timeline.yaml is a deadline, a start, a wait or an anchor: none is written for nothing."""
    used = {demo.step_milestone(item, step) for item in demo.annex_a.items for step in STEPS}
    used |= set(demo.tracked_cases.deadlines.values()) | {demo.timeline.staff_bulletin.until}
    used |= {spec.after for spec in demo.timeline.milestones.values() if spec.after}
    used |= {ref for _, ref in demo.onsite.references()[1]}
    engine = set()  # named in the product's code (the phases' starts, the day-2 and day-5 late reports...)
    for path in [*(PROJECT_ROOT / "send_inspection").rglob("*.py"), *(PROJECT_ROOT / "flows").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        engine |= {name for name in demo.timeline.milestones if f'"{name}"' in text}
    assert sorted(set(demo.timeline.milestones) - used - engine) == []


def test_the_lists_go_to_inspectors_at_their_own_times(broken: Path) -> None:
    """The child-level data and providers list items are uploaded by child_level_data_due and providers_list_due."""
    for name in ("child_level_data_due", "providers_list_due"):
        old = f'{name}:'
        text = (broken / "timeline.yaml").read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if x.strip().startswith(old))
        edit(broken, "timeline.yaml", line, line.replace('"12:00"', '"17:00"'))
    config = load_config(broken)
    timeline = timeline_for(config, datetime(2023, 6, 26, 9, 0))
    upload = {item.ref: timeline[config.step_milestone(item, "upload")] for item in config.annex_a.items}
    assert upload["child-level-data"] == upload["providers-settings"] == datetime(2023, 6, 27, 17, 0, tzinfo=LONDON)
    assert upload["1.1"] == datetime(2023, 6, 27, 12, 0, tzinfo=LONDON)


def test_default_config_dir_is_demo_county(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SEND_INSPECTION_CONFIG the shipped Demo County folder is used."""
    monkeypatch.delenv("SEND_INSPECTION_CONFIG", raising=False)
    assert default_config_dir() == DEMO


def test_default_config_dir_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SEND_INSPECTION_CONFIG points the engine at another partnership's folder."""
    monkeypatch.setenv("SEND_INSPECTION_CONFIG", str(tmp_path))
    assert default_config_dir() == tmp_path


# ---------------------------------------------------------------- calendar_for and timeline_for


def test_calendar_for_applies_bank_holiday_corrections(broken: Path) -> None:
    """extra_bank_holidays and not_bank_holidays change which days are working days."""
    edit(broken, "timeline.yaml", "extra_bank_holidays: []", "extra_bank_holidays: [2023-06-28]")
    edit(broken, "timeline.yaml", "not_bank_holidays: []", "not_bank_holidays: [2023-08-28]")
    calendar = calendar_for(load_config(broken))
    assert not calendar.is_working_day(date(2023, 6, 28))
    assert calendar.is_working_day(date(2023, 8, 28))


def test_timeline_for_reads_naive_time_as_london(demo: PartnershipConfig) -> None:
    """A naive notification time means Europe/London wall time."""
    naive = timeline_for(demo, datetime(2023, 6, 26, 9, 0))
    aware = timeline_for(demo, datetime(2023, 6, 26, 9, 0, tzinfo=LONDON))
    assert naive == aware
    assert naive["annex_a_initial_due"].isoformat() == "2023-06-27T12:00:00+01:00"


# ---------------------------------------------------------------- problems, each at its file, line and field


def test_unknown_field_is_reported_with_suggestion(broken: Path, demo: PartnershipConfig) -> None:
    """A misspelt field names its line and suggests the right spelling."""
    line = edit(
        broken, "register.yaml", "    title: Approach to EHC plans", "    titel: Approach to EHC plans"
    )
    problem = problem_at(problems_of(broken), f"items[{item_index(demo, '2.2')}].titel")
    assert problem.file.endswith("register.yaml")
    assert problem.line == line
    assert problem.message == "unknown field 'titel' (did you mean 'title'?)"


def test_missing_field_points_at_its_parent(broken: Path, demo: PartnershipConfig) -> None:
    """A missing required field is reported at the line of the entry that lacks it."""
    edit(broken, "register.yaml", "    title: Short breaks\n", "")
    line = edit(broken, "register.yaml", '  - ref: "4.2"', '  - ref: "4.2"')
    problem = problem_at(problems_of(broken), f"items[{item_index(demo, '4.2')}].title")
    assert (problem.line, problem.message) == (line, "required field 'title' is missing")


def test_bad_email_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """An address without '@' is reported at its line in partnership.yaml."""
    line = edit(
        broken, "partnership.yaml", "owen.garside@demo-county.example", "owen.garside.demo-county.example"
    )
    problem = problem_at(problems_of(broken), f"people[{person_index(demo, 'sm-performance')}].email")
    assert problem.file.endswith("partnership.yaml")
    assert problem.line == line
    assert problem.message == "'owen.garside.demo-county.example' is not an email address"


def test_unknown_person_in_register_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """An evidence lead that is not a person id names the register line, the field and a suggestion."""
    line = edit(
        broken, "register.yaml", "evidence_lead: hos-participation", "evidence_lead: hos-participaton"
    )
    field = f"items[{item_index(demo, '1.5')}].evidence_lead"
    with pytest.raises(ConfigError) as info:
        load_config(broken)
    problem = problem_at(info.value.problems, field)
    assert problem.line == line
    expected = f"register.yaml, line {line}, field {field}: 'hos-participaton' is not a person id"
    assert expected in str(info.value)
    assert "did you mean 'hos-participation'?" in problem.message


def test_unknown_deputy_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """A deputy that is not a person id is reported at that person's deputy line."""
    old = "    deputy: cht-therapies\n    escalates_to: icb-dir-nursing"
    line = edit(broken, "partnership.yaml", old, old.replace("cht-therapies", "nobody"))
    problem = problem_at(problems_of(broken), f"people[{person_index(demo, 'cht-ddo-cyp')}].deputy")
    assert (problem.line, problem.message) == (line, "'nobody' is not a person id")


def test_unknown_group_accountable_lead_is_reported(broken: Path) -> None:
    """A group's accountable lead must be a person id from partnership.yaml."""
    line = edit(broken, "register.yaml", "accountable_lead: dir-family", "accountable_lead: dir-famly")
    problem = problem_at(problems_of(broken), "groups[2].accountable_lead")
    assert problem.line == line
    assert problem.file.endswith("register.yaml")


def test_duplicate_ref_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """A repeated register ref is reported at the repeat, naming the first use."""
    line = edit(broken, "register.yaml", 'ref: "1.2"', 'ref: "1.1"')
    problem = problem_at(problems_of(broken), f"items[{item_index(demo, '1.2')}].ref")
    assert problem.line == line
    assert problem.message == f"duplicate ref '1.1' (first used at items[{item_index(demo, '1.1')}].ref)"


def test_duplicate_person_id_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """Two people with one id are reported at the second."""
    line = edit(broken, "partnership.yaml", "  - id: dir-family", "  - id: dir-inclusion")
    problem = problem_at(problems_of(broken), f"people[{person_index(demo, 'dir-family')}].id")
    assert problem.line == line
    assert problem.message.startswith("duplicate person id 'dir-inclusion'")


def test_yaml_syntax_error_gives_line_and_column(broken: Path) -> None:
    """Unquoted text containing ': ' is a syntax error reported with line, column and a hint."""
    line = edit(
        broken, "register.yaml", "    title: Self-evaluation\n", "    title: Self-evaluation: draft\n"
    )
    [problem] = problems_of(broken)
    assert problem.file.endswith("register.yaml")
    assert (problem.line, problem.column, problem.field) == (line, len("    title: Self-evaluation") + 1, "")
    assert problem.message.startswith("mapping values are not allowed here")
    assert str(problem).endswith(f"register.yaml, line {line}, column 27: {problem.message}")


def test_bad_indentation_is_a_syntax_error(broken: Path) -> None:
    """An item indented one space too little is reported at its line with an indentation hint."""
    line = edit(broken, "register.yaml", '  - ref: "1.3"', ' - ref: "1.3"')
    [problem] = problems_of(broken)
    assert (problem.line, problem.column) == (line, 2)
    assert "check the indentation" in problem.message


def test_bad_time_is_reported(broken: Path) -> None:
    """A clock time of 25:00 is reported at the milestone's line."""
    old = 'onsite_start:                   {day: 11, at: "09:00"}'
    line = edit(broken, "timeline.yaml", old, old.replace("09:00", "25:00"))
    problem = problem_at(problems_of(broken), "milestones.onsite_start.at")
    assert problem.file.endswith("timeline.yaml")
    assert (problem.line, problem.message) == (line, "'25:00' is not a time like '09:00' or '17:30'")


def test_bad_quiet_hours_time_is_reported(broken: Path) -> None:
    """A quiet-hours start that is not HH:MM is reported at its own line."""
    line = edit(broken, "timeline.yaml", 'start: "19:00"', 'start: "7pm"')
    problem = problem_at(problems_of(broken), "chasing.quiet_hours.start")
    assert problem.line == line


def test_an_urgent_kind_that_is_no_email_is_reported_at_its_line(broken: Path) -> None:
    """A misspelt urgent kind is refused at its line, suggesting the template meant; the demo marks the red debrief."""
    assert load_config(DEMO).timeline.chasing.quiet_hours.urgent == ["debrief_red"]
    line = edit(broken, "timeline.yaml", "urgent: [debrief_red]", "urgent: [debrief_rde]")
    problem = problem_at(problems_of(broken), "chasing.quiet_hours.urgent")
    assert problem.line == line
    assert "'debrief_rde' is not a kind of email (did you mean 'debrief_red'?)" in problem.message


def test_unquoted_time_is_read_as_text(broken: Path) -> None:
    """`at: 17:00` without quotes is a time, not YAML 1.1's base-60 number 1020."""
    old = 'evidence_leads_initial_due:     {day: 1, at: "17:00"}'
    edit(broken, "timeline.yaml", old, old.replace('"17:00"', "17:00"))
    rule = load_config(broken).timeline.rules()["evidence_leads_initial_due"]
    assert rule.at == time(17, 0)


def test_unquoted_numeric_ref_asks_for_quotes(broken: Path, demo: PartnershipConfig) -> None:
    """A ref written as a bare number is reported with a hint to quote it."""
    line = edit(broken, "register.yaml", 'ref: "3.4"', "ref: 3.4")
    problem = problem_at(problems_of(broken), f"items[{item_index(demo, '3.4')}].ref")
    assert problem.line == line
    assert 'write it in quotes, e.g. "3.4"' in problem.message


def test_unknown_milestone_in_chains_is_reported(broken: Path) -> None:
    """A chain step naming no milestone is reported at that step's line."""
    line = edit(
        broken, "timeline.yaml", "approve: accountable_review_initial_due", "approve: accountable_review_due"
    )
    problem = problem_at(problems_of(broken), "chains.day2.approve")
    assert problem.file.endswith("timeline.yaml")
    assert problem.line == line
    assert problem.message.startswith("'accountable_review_due' is not a milestone")


def test_unknown_milestone_in_item_deadlines_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """An item's own deadline must name a milestone of timeline.yaml."""
    line = edit(broken, "register.yaml", "approve: health_template_due", "approve: health_template")
    problem = problem_at(
        problems_of(broken), f"items[{item_index(demo, 'health-template')}].deadlines.approve"
    )
    assert problem.line == line


def test_missing_chain_step_is_reported_on_items(broken: Path, demo: PartnershipConfig) -> None:
    """Removing a chain step leaves items of that phase without a deadline, reported per item."""
    edit(broken, "timeline.yaml", "    check: director_check_final_due\n", "")
    problems = problems_of(broken)
    day5 = [i for i, item in enumerate(demo.annex_a.items) if item.phase == "day5"]
    assert [p.field for p in problems] == [f"items[{i}].phase" for i in day5]
    assert "no deadline for step(s) check" in problems[0].message


def test_milestone_cycle_is_reported(broken: Path) -> None:
    """Two milestones each waiting for the other are reported once, naming the circle."""
    for days, other in (("14", "final_report_expected_by"), ("30", "draft_report_expected_by")):
        old = f"{{after: feedback_meeting, working_days: {days}"
        edit(broken, "timeline.yaml", old, old.replace("feedback_meeting", other))
    [problem] = problems_of(broken)
    assert problem.field == "milestones.draft_report_expected_by.after"
    assert (
        "draft_report_expected_by -> final_report_expected_by -> draft_report_expected_by" in problem.message
    )


def test_escalation_circle_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """Two people escalating to each other are reported once, at the first of them in the file, naming the circle."""
    old = "    deputy: deputy-dcs\n"
    line = edit(broken, "partnership.yaml", old, old + "    escalates_to: dir-inclusion\n") + 1
    [problem] = problems_of(broken)
    assert problem.file.endswith("partnership.yaml")
    assert (problem.line, problem.field) == (line, f"people[{person_index(demo, 'dcs')}].escalates_to")
    assert problem.message.startswith("escalation goes round in a circle: dcs -> dir-inclusion -> dcs; ")


def test_chain_step_due_after_the_next_is_reported(broken: Path) -> None:
    """The accountable review moved to day 3, after the director's check and the upload, is refused at its step."""
    edit(broken, "timeline.yaml", 'accountable_review_initial_due: {day: 2, at: "10:00"}',
         'accountable_review_initial_due: {day: 3, at: "10:00"}')
    line = edit(broken, "timeline.yaml", "approve: accountable_review_initial_due",
                "approve: accountable_review_initial_due")
    [problem] = problems_of(broken)
    assert problem.file.endswith("timeline.yaml")
    assert (problem.line, problem.field) == (line, "chains.day2.approve")
    assert problem.message.startswith(
        "step approve (accountable_review_initial_due, day 3 10:00) is due after check (director_check_initial_due, "
        "day 2 11:00) and upload (annex_a_initial_due, day 2 12:00): the steps submit -> approve -> check -> upload")


def test_item_deadline_out_of_chain_order_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """An item's own deadline that puts its step after the next step's is refused at that item's deadline."""
    line = edit(broken, "register.yaml", "approve: health_template_due", "approve: tracked_case_agreement_due")
    [problem] = problems_of(broken)
    assert problem.file.endswith("register.yaml")
    assert (problem.line, problem.field) == (line, f"items[{item_index(demo, 'health-template')}].deadlines.approve")
    assert "step approve (tracked_case_agreement_due, day 3 17:00) is due after check" in problem.message


def test_duplicate_yaml_key_is_reported(broken: Path, demo: PartnershipConfig) -> None:
    """A key given twice in one mapping is an error at the second one, not a silent overwrite."""
    email = "    email: owen.garside@demo-county.example\n"
    line = edit(broken, "partnership.yaml", email, email + "    email: o.garside@demo-county.example\n") + 1
    problem = problem_at(problems_of(broken), f"people[{person_index(demo, 'sm-performance')}].email")
    assert problem.line == line
    assert problem.message.startswith("duplicate key 'email'")


def test_missing_file_is_named(broken: Path) -> None:
    """A missing timeline.yaml is a problem naming the file."""
    (broken / "timeline.yaml").unlink()
    [problem] = problems_of(broken)
    assert problem.file.endswith("timeline.yaml")
    assert problem.line is None
    assert "file not found" in problem.message


def test_missing_folder_is_named(tmp_path: Path) -> None:
    """A config folder that does not exist is reported as such."""
    [problem] = problems_of(tmp_path / "nowhere")
    assert problem.message == "config folder not found"


def test_problems_in_several_files_are_all_reported(broken: Path, demo: PartnershipConfig) -> None:
    """Problems are collected across files, even when one file cannot be read at all."""
    (broken / "timeline.yaml").unlink()
    edit(broken, "partnership.yaml", "owen.garside@demo-county.example", "owen.garside")
    edit(broken, "register.yaml", "    title: Self-evaluation\n", "    titl: Self-evaluation\n")
    with pytest.raises(ConfigError) as info:
        load_config(broken)
    files = [Path(p.file).name for p in info.value.problems]
    assert files == ["partnership.yaml", "register.yaml", "register.yaml", "timeline.yaml"]
    assert len(str(info.value).splitlines()) == 4


def test_problem_paths_are_relative_to_the_project(
    broken: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config folder inside the project is shown by its path relative to the project root."""
    monkeypatch.setattr(loader, "PROJECT_ROOT", tmp_path)
    edit(broken, "register.yaml", "evidence_lead: hos-participation", "evidence_lead: nobody")
    [problem] = problems_of(broken)
    assert problem.file == "broken/register.yaml"
    assert str(problem).startswith("broken/register.yaml, line ")


def test_models_report_reference_locations_directly(demo: PartnershipConfig) -> None:
    """Validating a Partnership without the loader still names the exact field of a bad reference."""
    data = demo.partnership.model_dump()
    data["people"][4]["deputy"] = "nobody"
    with pytest.raises(ValidationError) as info:
        Partnership.model_validate(data)
    [error] = info.value.errors()
    assert error["loc"] == ("people", 4, "deputy")
    assert error["msg"] == "'nobody' is not a person id"


def test_empty_file_is_reported(broken: Path) -> None:
    """An empty register.yaml is reported as empty rather than as a list of missing fields."""
    (broken / "register.yaml").write_text("# nothing yet\n", encoding="utf-8")
    [problem] = problems_of(broken)
    assert (Path(problem.file).name, problem.message) == ("register.yaml", "the file is empty")


def test_impossible_date_is_reported_at_its_position(broken: Path) -> None:
    """A date that does not exist (30 February) is reported with its line and column."""
    line = edit(broken, "timeline.yaml", "extra_bank_holidays: []", "extra_bank_holidays: [2024-02-30]")
    [problem] = problems_of(broken)
    assert (problem.line, problem.column) == (line, len("extra_bank_holidays: [") + 1)
    assert problem.message.startswith("'2024-02-30' is not a valid date")


def test_a_bad_staff_bulletin_day_is_reported(broken: Path) -> None:
    """A weekday that is not one of mon to fri is named at its timeline.yaml line."""
    line = edit(broken, "timeline.yaml", '"on": [mon, wed, fri]', '"on": [mon, wednesday]')
    day = problem_at(problems_of(broken), "staff_bulletin.on[1]")
    assert day.line == line and "'mon', 'tue', 'wed', 'thu' or 'fri'" in day.message


def test_an_unknown_staff_bulletin_milestone_is_reported(broken: Path) -> None:
    """An `until` that is not a milestone is named with the milestone it resembles."""
    line = edit(broken, "timeline.yaml", "until: feedback_meeting", "until: feedback_meetin")
    until = problem_at(problems_of(broken), "staff_bulletin.until")
    assert until.line == line and "feedback_meetin" in until.message and "feedback_meeting" in until.message


def test_demo_day5_uploads_are_the_directors_and_the_health_template_ends_with_the_lead_evidence_officer(
        demo: PartnershipConfig) -> None:
    """As the guidance says: the director reviews and uploads on day 5; the Lead Evidence Officer gives the health
    template its final sign-off; the day-2 uploads stay the LANO's."""
    roles = {item.ref: demo.annex_a.answering_roles(item) for item in demo.annex_a.items}
    assert roles["health-template"] == {"check": "lead_evidence_officer"}
    assert {ref: r for ref, r in roles.items() if ref != "health-template" and r} == {
        item.ref: {"upload": "director_final_check"} for item in demo.annex_a.items if item.phase == "day5"}
    assert demo.partnership.roles.person_for("lead_evidence_officer") == "lead-evidence-officer"
    assert demo.partnership.roles.person_for("kit_organiser") == "business-delivery"


def test_an_unknown_role_or_gate_in_the_register_is_reported(broken: Path) -> None:
    """A role answered_by names that partnership.yaml has not, and a gate nobody declared, each name their line."""
    upload = edit(broken, "register.yaml", "upload: director_final_check", "upload: director_check")
    gate = edit(broken, "register.yaml", "waits_for: tracked-cases-reviewed", "waits_for: cases-reviewed")
    with pytest.raises(ConfigError) as info:
        load_config(broken)
    text = str(info.value)
    assert (f"register.yaml, line {upload}, field answered_by.day5.upload: Input should be 'coordinator', 'lano', "
            "'director_final_check', 'icb_exec_lead', 'lead_evidence_officer' or 'kit_organiser' (got "
            "'director_check')") in text
    assert (f"register.yaml, line {gate}, field items[8].waits_for: Input should be 'tracked-cases-reviewed' "
            "(got 'cases-reviewed')") in text


@pytest.mark.parametrize("name", sorted(loader.FILES.values()))
def test_libyaml_reads_the_shipped_files_as_pyyaml_does(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast parser gives every shipped file the same data and the same line and column for every path."""
    assert issubclass(loader._FastConfigYamlLoader, yaml.CSafeLoader)  # the wheel carries libyaml
    fast = loader.read_document(DEMO / name)
    monkeypatch.setattr(loader, "_FastConfigYamlLoader", loader._ConfigYamlLoader)
    slow = loader.read_document(DEMO / name)
    assert fast.parsed and fast.data == slow.data and fast.problems == slow.problems == []
    assert {p: (m.line, m.column) for p, m in fast.marks.items()} == {
        p: (m.line, m.column) for p, m in slow.marks.items()}
