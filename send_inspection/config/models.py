"""The partnership's configuration as typed models: people, inboxes, lists, the register, the timeline."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from datetime import date, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from send_inspection.catalogue.gates import GATES
from send_inspection.catalogue.phases import PHASES
from send_inspection.catalogue.steps import ANNEX_A_CHAIN, TRACKED_CASE_STEPS
from send_inspection.mail.message import is_sendable_address
from send_inspection.mail.render import email_template_names
from send_inspection.timeline import AfterRule, DayRule, MilestoneRule

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_DURATION = re.compile(r"^(\d+)\s*(m|h|d)$")


class Strict(BaseModel):
    """Base model: unknown fields are an error, so a typo in YAML is caught at start."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Duration(timedelta):
    """A length of time read from config ('90m', '3h', '1d'), keeping the words it was written in (`text`)."""

    text: str

    def __new__(cls, text: str) -> Duration:  # noqa: D102 - parse; a timedelta subclass cannot take __init__
        m = _DURATION.match(str(text).strip())
        if not m:
            raise ValueError(f"{text!r} is not a duration like '30m', '3h' or '1d'")
        n, unit = int(m.group(1)), m.group(2)
        self = super().__new__(cls, **{{"m": "minutes", "h": "hours", "d": "days"}[unit]: n})
        self.text = str(text)
        return self

    def __repr__(self) -> str:
        return f"Duration({self.text!r})"

    def __reduce__(self) -> tuple[type[Duration], tuple[str]]:
        return Duration, (self.text,)


def parse_duration(text: str | Duration) -> Duration:
    """Parse '90m', '3h' or '1d' into a Duration (a timedelta that remembers its words)."""
    return text if isinstance(text, Duration) else Duration(text)


# A duration field of the config: written '90m', '3h' or '1d' in YAML, a timedelta once loaded.
DurationField = Annotated[Duration, PlainValidator(parse_duration), PlainSerializer(lambda d: d.text, return_type=str)]


def parse_clock_time(text: str) -> time:
    """Parse 'HH:MM' (24-hour) into a time."""
    m = re.match(r"^([01]\d|2[0-3]):([0-5]\d)$", str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a time like '09:00' or '17:30'")
    return time(int(m.group(1)), int(m.group(2)))


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def _check_sendable(value: str) -> str:
    """Check an address a list sends to: an email address with nothing a mail header could not carry."""
    address = _check_email(value)
    if not is_sendable_address(address):
        raise ValueError(f"{value!r} cannot be sent to: quotes, commas, brackets and accented letters cannot go in "
                         "an email header")
    return address


# An address the engine sends to, checked one by one so that a problem names its place in a long list.
SendableAddress = Annotated[str, AfterValidator(_check_sendable)]


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{value!r} is not an id (lower-case letters, digits, '.', '_' or '-')")
    return value


# ---------------------------------------------------------------- reference checks
# A reference problem names the exact field (a pydantic `loc`), so the loader can point at its YAML line.

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, object]


def format_loc(loc: Loc) -> str:
    """Write a field path the way a coordinator reads it: `items[3].evidence_lead`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def raise_problems(title: str, problems: list[Problem]) -> None:
    """Raise one ValidationError listing every problem at its own location (no-op if there are none)."""
    if not problems:
        return
    errors = [
        InitErrorDetails(
            type=PydanticCustomError("reference", "{message}", {"message": message}), loc=loc, input=value
        )
        for loc, message, value in problems
    ]
    raise ValidationError.from_exception_data(title, errors)


def _unknown(ref: str, kind: str, known: Iterable[str]) -> str:
    """Say that `ref` is not a known `kind`, suggesting near spellings."""
    close = difflib.get_close_matches(ref, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{ref!r} is not a {kind}{hint}"


def _duplicates(values: list[str], loc_of: Callable[[int], Loc], kind: str) -> list[Problem]:
    """Report each repeat of a value, at the repeat, naming where it was first used."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for index, value in enumerate(values):
        if value in first:
            where = format_loc(loc_of(first[value]))
            problems.append((loc_of(index), f"duplicate {kind} {value!r} (first used at {where})", value))
        else:
            first[value] = index
    return problems


def _check_refs(refs: list[tuple[Loc, str | None]], known: set[str], kind: str) -> list[Problem]:
    """Report every reference that is not one of `known`."""
    missing = [(loc, ref) for loc, ref in refs if ref is not None and ref not in known]
    return [(loc, _unknown(ref, kind, known), ref) for loc, ref in missing]


# ---------------------------------------------------------------- partnership.yaml


class Person(Strict):
    """A member of staff the engine may email: never a child or a family member."""

    id: str
    name: str
    role: str
    email: str
    organisation: str = ""
    deputy: str | None = None
    escalates_to: str | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _email = field_validator("email")(classmethod(lambda cls, v: _check_email(v)))


class Inbox(Strict):
    """A shared mailbox of Appendix F and what it is used for."""

    address: str
    purpose: str

    _email = field_validator("address")(classmethod(lambda cls, v: _check_email(v)))


class HandledMark(Strict):
    """How the mailbox intake marks each message it has taken in a shared inbox: an Outlook category or a folder.

    A category shows beside the message in Outlook and leaves it where it is; a folder (under the inbox, made if
    it is not there) takes it out of the inbox. Messages the intake gave up on are left unmarked, for a person.
    """

    category: str | None = None
    folder: str | None = None

    @model_validator(mode="after")
    def _one(self) -> HandledMark:
        chosen = [name for name in (self.category, self.folder) if name is not None]
        if len(chosen) != 1:
            raise ValueError("give either category or folder (the name the partnership uses), not both")
        if not chosen[0].strip() or len(chosen[0]) > 255 or "," in chosen[0]:
            raise ValueError("the name: 1 to 255 characters, without a comma")
        return self


class Inboxes(Strict):
    """The three inspection inboxes, and how the mailbox intake marks the messages it has taken in them."""

    comms: Inbox
    logistics: Inbox
    evidence: Inbox
    handled: HandledMark = Field(default_factory=lambda: HandledMark(category="SEND inspection: taken in"))


class Roles(Strict):
    """Who plays each named part in the process (person ids)."""

    coordinator: str
    lano: str
    director_final_check: str
    icb_exec_lead: str
    lead_evidence_officer: str
    # Arranges the keeping-in-touch (KIT) meetings and records each one (the coordinator if not named).
    kit_organiser: str | None = None
    sender_name: str = "SEND Inspection Team"

    def person_for(self, role: str) -> str:
        """Return the person id playing `role` (a field of this model that names a person)."""
        if role == "kit_organiser":
            return self.kit_organiser or self.coordinator
        return str(getattr(self, role))


# The roles that name a person (every field of Roles but the sender's name).
PersonRole = Literal[tuple(f for f in Roles.model_fields if f != "sender_name")]  # type: ignore[valid-type]


class MailingList(Strict):
    """A distribution list: staff by id, plus plain addresses (for lists kept elsewhere)."""

    id: str
    name: str
    members: list[str] = Field(default_factory=list)
    addresses: list[SendableAddress] = Field(default_factory=list)
    # Its members pass the email on to their teams: it asks them to, and says nothing of personal links.
    cascade: bool = False

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class SurveyLists(Strict):
    """The pre-prepared distribution lists for the three inspectorate surveys."""

    children_young_people: MailingList
    parents_carers: MailingList
    practitioners: MailingList

    def all(self) -> list[MailingList]:
        """Return the three lists."""
        return [self.children_young_people, self.parents_carers, self.practitioners]


class SurveyDistribution(Strict):
    """How the survey emails reach large lists: Bcc batches from these mailboxes, within each one's sending limits.

    The defaults are Exchange Online's limits per mailbox; a council whose Exchange allows more says so here.
    """

    # The mailboxes the batches are sent from, in turn (none: the logistics inbox alone). The mail account must
    # be allowed to send as each of them.
    mailboxes: list[SendableAddress] = Field(default_factory=list)
    # Recipients on one message, To, Cc and Bcc together (every one of them in Bcc).
    max_recipients_per_message: int = Field(default=500, ge=1)
    messages_per_minute: int = Field(default=30, ge=1)
    # Recipients one mailbox may reach in any rolling 24 hours.
    recipients_per_day: int = Field(default=10_000, ge=1)

    @field_validator("recipients_per_day")
    @classmethod
    def _day(cls, value: int, info: ValidationInfo) -> int:
        per_message = info.data.get("max_recipients_per_message")
        if per_message is not None and value < per_message:
            raise ValueError(f"{value} is fewer than max_recipients_per_message ({per_message}): "
                             "no full message could ever be sent")
        return value


class PartnershipInfo(Strict):
    """Name and id of the local area partnership."""

    id: str
    name: str
    council: str
    icb: str


class ReportPartner(Strict):
    """A partner named in the inspection report: who reviews the draft, who signs off, who publishes."""

    id: str
    name: str
    reviewers: list[str] = Field(min_length=1)
    accountable_officer: str
    publisher: str
    website: str
    # The sections of the report this partner's reviewers check (as the report heads them).
    sections: list[str] = Field(default_factory=list)

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))

    @field_validator("website")
    @classmethod
    def _website(cls, v: str) -> str:
        if not v.startswith("https://"):
            raise ValueError(f"{v!r} is not a web address starting https://")
        return v


class ParentCarerForum(Strict):
    """The parent carer forum: a party of the inspection with its own id, asked and invited like staff.

    The inspectors meet it (the timetable names it by `id`), it is asked for its views on the self-evaluation,
    it cascades the family survey to its members and is sent the final report. It is not a member of staff:
    `liaison` is the officer who is told when the forum has not answered, and who follows it up.
    """

    id: str = "parent-carer-forum"
    name: str
    address: str
    liaison: str | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _address = field_validator("address")(classmethod(lambda cls, v: _check_email(v)))

    def as_party(self) -> Person:
        """Return the forum as the inspection keeps a party it emails: its id, name and address."""
        return Person(id=self.id, name=self.name, role="Parent carer forum", email=self.address,
                      organisation=self.name, escalates_to=self.liaison)


class SurveyReminder(Strict):
    """Whether families are reminded of the surveys before they close, how long before, and why.

    Off unless the partnership turns it on with its reason: the reminder goes to the family and children's survey
    lists (and the forum, to cascade) in the same Bcc batches as the surveys, out of quiet hours.
    """

    send: bool = False
    before: DurationField = Duration("1d")
    reason: str = ""

    @model_validator(mode="after")
    def _reasoned(self) -> SurveyReminder:
        if self.send and not self.reason.strip():
            raise ValueError("say why in 'reason': the reminder to families is turned on")
        return self


_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class LinkChecks(Strict):
    """Whether the links in submitted evidence are tried from the server, and which intranet hosts may be.

    Links are tried only on the public internet unless a host is listed here: a link is text a submitter wrote,
    and trying it inside the council's network would tell an outsider what listens there. Turning checks off,
    or listing hosts, needs its reason written down.
    """

    check: bool = True
    # Intranet host names (exact, or '*.' and a domain for every host under it) whose links are tried although
    # they resolve to private addresses; never link-local, unspecified or multicast ones.
    intranet_hosts: list[str] = Field(default_factory=list)
    reason: str = ""

    @field_validator("intranet_hosts")
    @classmethod
    def _hosts(cls, values: list[str]) -> list[str]:
        hosts = [v.strip().lower().rstrip(".") for v in values]
        for given, host in zip(values, hosts, strict=True):
            if not _HOST.match(host):
                raise ValueError(f"{given!r} is not a host name like 'intranet.demo-county.example' or "
                                 "'*.demo-county.example'")
        return hosts

    @model_validator(mode="after")
    def _reasoned(self) -> LinkChecks:
        if (not self.check or self.intranet_hosts) and not self.reason.strip():
            raise ValueError("say why in 'reason': link checks are turned off or intranet hosts are listed")
        return self
CONSOLE_ROLES = ("viewer", "coordinator")  # in order of what they allow: a viewer reads, a coordinator acts


class ConsoleAccess(Strict):
    """Who may use the coordinator's console (the web pages behind sign-in) and what they may do there.

    Coordinators may do every coordinator action; viewers may only look. Anyone else is refused. With an identity
    provider (Microsoft Entra ID) the person signing in is found by the object id (`oid`) listed here for them, else
    by their email address; `tenant_id`, if set, must be the `tid` of their sign-in, and `app_roles`, if set, names
    the app roles the provider must also have given them (its `roles` claim): the console grants the lesser of what
    this file and the provider allow.
    """

    coordinators: list[str] = Field(default_factory=list)
    viewers: list[str] = Field(default_factory=list)
    tenant_id: str | None = None
    # Console role -> the app role's value in the identity provider, e.g. {coordinator: Inspection.Coordinator}.
    app_roles: dict[Literal["viewer", "coordinator"], str] = Field(default_factory=dict)
    # Person id -> their object id (`oid`) at the identity provider.
    object_ids: dict[str, str] = Field(default_factory=dict)

    def role_of(self, person_id: str) -> str | None:
        """Return the console role this file gives a person (coordinator, viewer), or None."""
        if person_id in self.coordinators:
            return "coordinator"
        return "viewer" if person_id in self.viewers else None


class Partnership(Strict):
    """The contents of partnership.yaml."""

    partnership: PartnershipInfo
    inboxes: Inboxes
    people: list[Person]
    roles: Roles
    core_group: list[str]
    notification_lists: list[MailingList]
    survey_lists: SurveyLists
    survey_distribution: SurveyDistribution = Field(default_factory=SurveyDistribution)
    health_template_contacts: list[str]
    # Everyone across the partnership, for the staff bulletin during the inspection (none: no bulletin).
    staff_bulletin_list: MailingList | None = None
    # Who may read the inspectors' feedback while it is embargoed (person ids).
    leadership_group: list[str] = Field(default_factory=list)
    # The partners the report names: each reviews the draft, signs off its part of the response, publishes.
    report_partners: list[ReportPartner] = Field(default_factory=list)
    parent_carer_forum: ParentCarerForum | None = None
    # A reminder to families before the surveys close (off unless turned on, with its reason).
    survey_reminder: SurveyReminder = Field(default_factory=SurveyReminder)
    # Who updates the strategic plan after the report and drafts any priority action plan (a person id).
    improvement_lead: str | None = None
    # Whether the links in submitted evidence are tried, and which intranet hosts may be (with the reason).
    link_checks: LinkChecks = Field(default_factory=LinkChecks)
    # Who may sign in to the coordinator's console, and as what.
    console: ConsoleAccess = Field(default_factory=ConsoleAccess)

    @model_validator(mode="after")
    def _references(self) -> Partnership:
        raise_problems("Partnership", self._id_problems() + self._person_ref_problems())
        return self

    def _lists(self) -> list[tuple[Loc, MailingList]]:
        notify = [(("notification_lists", i), lst) for i, lst in enumerate(self.notification_lists)]
        survey = [(("survey_lists", n), getattr(self.survey_lists, n)) for n in SurveyLists.model_fields]
        bulletin = [(("staff_bulletin_list",), self.staff_bulletin_list)] if self.staff_bulletin_list else []
        return [*notify, *survey, *bulletin]

    def _id_problems(self) -> list[Problem]:
        lists = self._lists()
        forum = self.parent_carer_forum
        clash = [(("parent_carer_forum", "id"), f"{forum.id!r} is already a person id: give the forum its own id",
                  forum.id)] if forum is not None and forum.id in {p.id for p in self.people} else []
        return [
            *_duplicates([p.id for p in self.people], lambda i: ("people", i, "id"), "person id"),
            *_duplicates([lst.id for _, lst in lists], lambda i: (*lists[i][0], "id"), "list id"),
            *clash,
        ]

    def _person_ref_problems(self) -> list[Problem]:
        refs: list[tuple[Loc, str | None]] = []
        problems: list[Problem] = []
        for i, p in enumerate(self.people):
            for field in ("deputy", "escalates_to"):
                refs.append((("people", i, field), getattr(p, field)))
                if getattr(p, field) == p.id:
                    problems.append((("people", i, field), f"{field} cannot be the person themself", p.id))
        refs += [(("roles", f), getattr(self.roles, f)) for f in Roles.model_fields if f != "sender_name"]
        refs += [(("core_group", i), ref) for i, ref in enumerate(self.core_group)]
        refs += [(("health_template_contacts", i), r) for i, r in enumerate(self.health_template_contacts)]
        refs += [(("leadership_group", i), r) for i, r in enumerate(self.leadership_group)]
        refs.append((("improvement_lead",), self.improvement_lead))
        for group in ("coordinators", "viewers"):
            refs += [(("console", group, i), r) for i, r in enumerate(getattr(self.console, group))]
        refs += [(("console", "object_ids", r), r) for r in self.console.object_ids]
        both = set(self.console.coordinators) & set(self.console.viewers)
        problems += [(("console", "viewers", self.console.viewers.index(r)),
                      f"{r!r} is also a coordinator: list each person once", r) for r in sorted(both)]
        if self.parent_carer_forum is not None:
            refs.append((("parent_carer_forum", "liaison"), self.parent_carer_forum.liaison))
        for i, partner in enumerate(self.report_partners):
            refs += [(("report_partners", i, "reviewers", j), r) for j, r in enumerate(partner.reviewers)]
            refs += [(("report_partners", i, f), getattr(partner, f)) for f in ("accountable_officer", "publisher")]
        refs += [((*loc, "members", i), r) for loc, lst in self._lists() for i, r in enumerate(lst.members)]
        return [*_check_refs(refs, {p.id for p in self.people}, "person id"), *problems, *self._escalation_circles()]

    def _escalation_circles(self) -> list[Problem]:
        """Report each circle of escalates_to (a to b, b to a) once, at the first of its people in the file."""
        index = {p.id: i for i, p in enumerate(self.people)}
        problems: list[Problem] = []
        reported: set[str] = set()
        for person in self.people:
            trail = [person.id]
            while (up := self.people[index[trail[-1]]].escalates_to) in index and up not in trail:
                trail.append(up)
            if up not in trail or up in reported:
                continue  # the chain reaches the top (or an unknown id, reported above)
            circle = trail[trail.index(up):]
            reported.update(circle)
            if len(circle) == 1:
                continue  # escalating to oneself is reported above
            first = min(circle, key=index.__getitem__)
            at = circle.index(first)
            shown = [*circle[at:], *circle[:at], first]
            message = (f"escalation goes round in a circle: {' -> '.join(shown)}; the person at the top of a chain "
                       "escalates to nobody (leave escalates_to out)")
            problems.append((("people", index[first], "escalates_to"), message, self.people[index[first]].escalates_to))
        return problems

    def person(self, person_id: str) -> Person:
        """Return the person with this id."""
        for p in self.people:
            if p.id == person_id:
                return p
        raise KeyError(person_id)

    def parties(self) -> list[Person]:
        """Return everyone the inspection may ask or invite by id: the people, and the parent carer forum."""
        forum = self.parent_carer_forum
        return [*self.people, *([forum.as_party()] if forum is not None else [])]


# ---------------------------------------------------------------- register.yaml

# The phases whose items are Annex A rows, and the chain of steps each row is worked through (the catalogues').
Phase = Literal[tuple(PHASES.annex_a())]  # type: ignore[valid-type]
Step = Literal[ANNEX_A_CHAIN]  # type: ignore[valid-type]
STEPS: tuple[Step, ...] = ANNEX_A_CHAIN
# What an item can wait for before its first step is asked (the gate catalogue's keys).
Gate = Literal[tuple(g.key for g in GATES)]  # type: ignore[valid-type]


class Group(Strict):
    """A group of Annex A evidence (Local Area Partnership, Education, Care, Health, AP)."""

    id: str
    name: str
    accountable_lead: str


class RegisterItem(Strict):
    """One row of Appendix D (or the health structure template) with its owners and deadlines."""

    ref: str
    title: str
    description: str = ""
    group: str
    phase: Phase
    evidence_lead: str
    accountable_lead: str | None = None
    # Step -> milestone name; steps not named here take the chain defaults of timeline.yaml.
    deadlines: dict[Step, str] = Field(default_factory=dict)
    # Step -> the role (partnership.yaml `roles`) that answers it for this item instead of the step's usual owner.
    answered_by: dict[Step, PersonRole] = Field(default_factory=dict)
    # A gate (catalogue/gates.py) the item waits for: nobody is asked for it until the gate opens.
    waits_for: Gate | None = None

    @field_validator("ref")
    @classmethod
    def _ref(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", v):
            raise ValueError(f"{v!r} is not a register reference like '1.3' or 'child-level-data'")
        return v


class Register(Strict):
    """The contents of register.yaml: the Annex A register, and the focused areas of a monitoring inspection."""

    groups: list[Group]
    items: list[RegisterItem]
    # A monitoring inspection asks for evidence on these focused areas instead of the full Annex A.
    monitoring_items: list[RegisterItem] = Field(default_factory=list)
    # Phase -> step -> the role that answers that step for every item of the phase (an item's own answered_by wins).
    answered_by: dict[Phase, dict[Step, PersonRole]] = Field(default_factory=dict)

    def items_for(self, kind: str) -> list[RegisterItem]:
        """Return the register of an inspection of `kind` ("full" or "monitoring")."""
        return self.monitoring_items if kind == "monitoring" else self.items

    @model_validator(mode="after")
    def _unique(self) -> Register:
        groups = {g.id for g in self.groups}
        group_refs: list[tuple[Loc, str | None]] = [
            (("items", i, "group"), item.group) for i, item in enumerate(self.items)
        ]
        group_refs += [(("monitoring_items", i, "group"), it.group) for i, it in enumerate(self.monitoring_items)]
        raise_problems(
            "Register",
            [
                *_duplicates([g.id for g in self.groups], lambda i: ("groups", i, "id"), "group id"),
                *_duplicates([it.ref for it in self.items], lambda i: ("items", i, "ref"), "ref"),
                *_duplicates([it.ref for it in self.monitoring_items], lambda i: ("monitoring_items", i, "ref"), "ref"),
                *_check_refs(group_refs, groups, "group id"),
            ],
        )
        return self

    def group(self, group_id: str) -> Group:
        """Return the group with this id."""
        return next(g for g in self.groups if g.id == group_id)

    def accountable_lead(self, item: RegisterItem) -> str:
        """Return who signs this item off: the item's own accountable lead, else its group's."""
        return item.accountable_lead or self.group(item.group).accountable_lead

    def answering_roles(self, item: RegisterItem) -> dict[str, str]:
        """Return step -> role for the steps of `item` answered by a role other than the step's usual owner."""
        return {**self.answered_by.get(item.phase, {}), **item.answered_by}


# ---------------------------------------------------------------- tracked_cases.yaml

CaseStep = Literal[TRACKED_CASE_STEPS]  # type: ignore[valid-type]
CASE_STEPS: tuple[CaseStep, ...] = TRACKED_CASE_STEPS
# Who provides a tracked-case document when `provided_by` is not a person id.
CASE_PROVIDERS = ("practitioner", "qa_manager")


class CaseRoles(Strict):
    """Who runs the tracked-case steps (person ids)."""

    qa_manager: str
    logistics: str


class CaseDocument(Strict):
    """A document the inspectors ask for about each tracked child, and who provides it."""

    id: str
    title: str
    description: str = ""
    provided_by: str
    only_if: Literal["alternative_provision"] | None = None

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


# Who a tracked child's meeting invites, beyond person ids: the practitioner who knows the child best, the other
# practitioners named for the case, and the lead of every setting the child attends.
CASE_INVITEES = ("practitioner", "practitioners", "setting_leads")


class CaseMeeting(Strict):
    """A meeting the logistics team arranges for each tracked child, put on the timetable with its invitations."""

    id: str
    title: str
    needs_family: bool = False
    # The kind of slot it is on the timetable (fieldwork/timetable.py KIND_TITLES says how each is described).
    kind: Literal["tracking-meeting", "practitioners-briefing"] = "tracking-meeting"
    minutes: int = Field(default=60, ge=15, le=480)
    # Who is invited: CASE_INVITEES and person ids of partnership.yaml.
    invite: list[str] = Field(default_factory=lambda: list(CASE_INVITEES), min_length=1)

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class TrackedCases(Strict):
    """The contents of tracked_cases.yaml: the steps for each child the inspectors track."""

    roles: CaseRoles
    deadlines: dict[CaseStep, str]
    documents: list[CaseDocument]
    meetings: list[CaseMeeting]

    @model_validator(mode="after")
    def _complete(self) -> TrackedCases:
        missing = [step for step in CASE_STEPS if step not in self.deadlines]
        problems: list[Problem] = []
        if missing:
            problems.append((("deadlines",), f"no deadline for step(s) {', '.join(missing)}", None))
        problems += _duplicates([d.id for d in self.documents], lambda i: ("documents", i, "id"), "document id")
        problems += _duplicates([x.id for x in self.meetings], lambda i: ("meetings", i, "id"), "meeting id")
        raise_problems("TrackedCases", problems)
        return self


# ---------------------------------------------------------------- onsite.yaml


class LogisticsTask(Strict):
    """One thing made ready for the inspectors before they arrive: who does it, by which milestone, and why."""

    id: str
    title: str
    owner: str
    due: str
    reason: str = Field(min_length=1)

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class OpeningMeeting(Strict):
    """The opening meeting on day 11: the headlines, the presentation and the Appendix H attendee list."""

    # Who presents (the DCS and the ICB chief executive): sent the presentation when it is ready.
    presenters: list[str] = Field(min_length=1)
    # The heads of service who each send their service's key headlines, and by when.
    headlines_from: list[str] = Field(min_length=1)
    headlines_due: str
    # Who makes the presentation from the headlines (the inspection team), and by when.
    presentation_by: str
    presentation_due: str
    # Appendix H: who is asked to attend (person ids, and the forum's id); each confirms or names a representative.
    attendees: list[str] = Field(min_length=1)
    attendees_due: str
    # The LANO sends the gathered list to the lead inspector by this milestone.
    attendee_list_due: str


class ForumViews(Strict):
    """The parent carer forum is asked for its views on an Annex A item (the self-evaluation) once it is uploaded."""

    about: str = "1.3"
    due: str
    reason: str = Field(min_length=1)


class Onsite(Strict):
    """The contents of onsite.yaml: what is made ready before the inspectors arrive on day 11."""

    logistics: list[LogisticsTask] = Field(default_factory=list)
    opening_meeting: OpeningMeeting | None = None
    forum_views: ForumViews | None = None

    @model_validator(mode="after")
    def _unique(self) -> Onsite:
        problems = _duplicates([t.id for t in self.logistics], lambda i: ("logistics", i, "id"), "task id")
        if self.opening_meeting is not None:
            meeting = self.opening_meeting
            for name in ("headlines_from", "attendees"):
                values = getattr(meeting, name)
                problems += _duplicates(values, lambda i, n=name: ("opening_meeting", n, i), "person id")
        raise_problems("Onsite", problems)
        return self

    def references(self) -> tuple[list[tuple[Loc, str | None]], list[tuple[Loc, str | None]]]:
        """Return the person ids and the milestones it names, each with its field."""
        people: list[tuple[Loc, str | None]] = [(("logistics", i, "owner"), t.owner)
                                                for i, t in enumerate(self.logistics)]
        milestones: list[tuple[Loc, str | None]] = [(("logistics", i, "due"), t.due)
                                                    for i, t in enumerate(self.logistics)]
        if (meeting := self.opening_meeting) is not None:
            for name in ("presenters", "headlines_from"):
                people += [(("opening_meeting", name, i), r) for i, r in enumerate(getattr(meeting, name))]
            people.append((("opening_meeting", "presentation_by"), meeting.presentation_by))
            milestones += [(("opening_meeting", f), getattr(meeting, f))
                           for f in ("headlines_due", "presentation_due", "attendees_due", "attendee_list_due")]
        if self.forum_views is not None:
            milestones.append((("forum_views", "due"), self.forum_views.due))
        return people, milestones


# ---------------------------------------------------------------- timeline.yaml


class MilestoneSpec(Strict):
    """A milestone rule as written in YAML: {day, at} or {after, working_days, at}."""

    day: int | None = Field(default=None, ge=1, le=60)
    after: str | None = None
    working_days: int | None = Field(default=None, ge=0, le=120)
    at: str | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, v: str | None) -> str | None:
        if v is not None:
            parse_clock_time(v)
        return v

    @model_validator(mode="after")
    def _shape(self) -> MilestoneSpec:
        if (self.day is None) == (self.after is None):
            raise ValueError("give either 'day' (with 'at') or 'after' (with 'working_days')")
        if self.day is not None and self.at is None:
            raise ValueError("a 'day' rule needs 'at' (HH:MM)")
        if self.after is not None and self.working_days is None:
            raise ValueError("an 'after' rule needs 'working_days'")
        return self

    def rule(self) -> MilestoneRule:
        """Return the calendar rule this spec describes."""
        at = parse_clock_time(self.at) if self.at is not None else None
        if self.day is not None:
            assert at is not None
            return DayRule(day=self.day, at=at)
        assert self.after is not None and self.working_days is not None
        return AfterRule(after=self.after, working_days=self.working_days, at=at)


# The kinds of asks, reminders and escalations as the ledger names them (the email of each is action_request).
_ACTION_KIND = re.compile(r"^action-(ask|remind-\d+[mhd]|escalate-deputy|escalate-up-\d+)$")


class QuietHours(Strict):
    """No email between `start` and `end`, nor (if set) at weekends and bank holidays, but the urgent kinds.

    An ask whose deadline falls before the quiet hours end goes at once too (see engine/send_window.py). `start`
    after `end` spans midnight; `start` equal to `end` means no quiet hours in the day.
    """

    start: str = "19:00"
    end: str = "07:30"
    non_working_days: bool = True
    # Emails sent at once, quiet hours or not: email template names (templates/email) or action kinds.
    urgent: list[str] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v

    @field_validator("urgent")
    @classmethod
    def _kinds(cls, values: list[str]) -> list[str]:
        known = email_template_names()
        for v in values:
            if v not in known and not _ACTION_KIND.match(v):
                close = difflib.get_close_matches(v, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"{v!r} is not a kind of email{hint}: give an email template's name from "
                                 "templates/email, e.g. 'debrief_red', or an action such as 'action-escalate-deputy'")
        return values


class Chasing(Strict):
    """When reminders go before a deadline and escalations after it."""

    reminders_before: list[DurationField] = Field(default_factory=lambda: [Duration("3h"), Duration("1h")])
    escalate_to_deputy_after: DurationField = Duration("0m")
    escalate_up_after: DurationField = Duration("1h")
    quiet_hours: QuietHours = Field(default_factory=QuietHours)


class AdditionalRequests(Strict):
    """When an additional evidence request from the inspectors is due, and its internal deadlines."""

    due_same_day_at: str = "18:00"     # a request is due the same working day at this time...
    arriving_after: str = "16:00"      # ...unless it arrives after this time (or outside a working day),
    next_day_due_at: str = "10:00"     # ...then at this time on the next working day
    confirm_within: DurationField = Duration("30m")      # the head of service says whether it exists, and by when
    submit_before_due: DurationField = Duration("2h")    # the evidence or an explanation, this long before it is due
    signoff_before_due: DurationField = Duration("1h")   # the accountable lead's sign-off, this long before it is due

    @field_validator("due_same_day_at", "arriving_after", "next_day_due_at")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v


class Fieldwork(Strict):
    """Fieldwork in weeks 2 and 3: when debriefs are due (the KIT summaries follow the KIT meetings)."""

    debrief_within: DurationField = Duration("2h")       # a slot's debrief is due this long after the slot ends


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class StaffBulletin(Strict):
    """The staff bulletin: on which weekdays and at what time it goes, from notification until a milestone."""

    on: list[Literal["mon", "tue", "wed", "thu", "fri"]] = Field(default_factory=lambda: ["mon", "wed", "fri"],
                                                                 min_length=1)
    at: str = "08:30"
    until: str = "feedback_meeting"    # the last bulletin goes on this milestone's day

    @field_validator("at")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v

    def weekdays(self) -> set[int]:
        """Return the weekdays it goes on as numbers (Monday is 0)."""
        return {WEEKDAYS.index(day) for day in self.on}


class AfterFieldwork(Strict):
    """After fieldwork, in working days: the reviewers' and sign-off deadlines, the response, publication."""

    comments_within: int = Field(default=5, ge=1, le=30)   # after the draft arrives: reviewers' comments
    signoff_within: int = Field(default=8, ge=1, le=30)    # after the draft arrives: accountable officers
    response_within: int = Field(default=10, ge=1, le=30)  # after the draft arrives: the response is due
    publish_within: int = Field(default=5, ge=1, le=30)    # after the final report arrives: on each website
    due_at: str = "17:00"

    @field_validator("due_at")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v

    @model_validator(mode="after")
    def _order(self) -> AfterFieldwork:
        if not self.comments_within <= self.signoff_within <= self.response_within:
            raise ValueError("comments_within, signoff_within and response_within must not decrease")
        return self


class OutcomeFollowUp(Strict):
    """After the final report: the strategic plan, the priority action plan and when inspectors next come."""

    strategic_plan_within: int = Field(default=60, ge=1, le=260)        # working days after the final report
    action_plan_draft_within: int = Field(default=15, ge=1, le=260)     # outcome 3: the priority action plan...
    action_plan_signoff_within: int = Field(default=25, ge=1, le=260)   # ...signed off...
    action_plan_submit_within: int = Field(default=30, ge=1, le=260)    # ...and submitted to the inspectorate
    monitoring_inspection_after_months: int = Field(default=18, ge=1, le=60)   # outcome 3
    next_full_inspection_after_months: dict[int, int] = Field(default_factory=lambda: {1: 60, 2: 36})

    @model_validator(mode="after")
    def _order(self) -> OutcomeFollowUp:
        if not self.action_plan_draft_within <= self.action_plan_signoff_within <= self.action_plan_submit_within:
            raise ValueError("action_plan_draft_within, _signoff_within and _submit_within must not decrease")
        if set(self.next_full_inspection_after_months) - {1, 2}:
            raise ValueError("next_full_inspection_after_months is for outcomes 1 and 2 only")
        return self


class KeepingInTouch(Strict):
    """The internal keeping-in-touch (KIT) meetings of weeks 1 to 3: when, where, and how long things may take."""

    # The weekdays offered by default when the core group agrees how often they meet (the guidance: daily).
    days: list[Literal["mon", "tue", "wed", "thu", "fri"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1)
    at: str = "17:30"
    minutes: int = Field(default=60, ge=15, le=240)
    location: str = ""
    # Where a manager is based unless the core group agrees otherwise (shown on the day-1 record's page).
    base: str = ""
    # The day-1 agreement is due this long after the core group meeting ends...
    agree_within: DurationField = Duration("2h")
    # ...and each KIT meeting's record this long after the meeting ends (its summary goes once it is recorded).
    record_within: DurationField = Duration("30m")

    @field_validator("at")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v


class CoreGroupMeeting(Strict):
    """The day-1 core group meeting: preferred time, and how to find the next sensible slot."""

    preferred: str = "11:00"
    min_notice_minutes: int = Field(default=45, ge=0)
    slot_minutes: int = Field(default=30, ge=5)
    latest_start: str = "16:00"
    next_day_start: str = "09:00"
    duration_minutes: int = Field(default=60, ge=15)
    location: str = ""

    @field_validator("preferred", "latest_start", "next_day_start")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v


# When a milestone falls, as an inspection day (notification day = 1) and a wall time: the same order for any date.
DayAndTime = tuple[int, time]


def _shown(when: DayAndTime) -> str:
    return f"day {when[0]} {when[1]:%H:%M}"


def out_of_order_steps(due: dict[Step, DayAndTime], *, moved: Iterable[Step] = ()) -> dict[Step, list[Step]]:
    """Return the steps of a sign-off chain due out of order, each with the steps it conflicts with.

    The steps kept in order are the most that can be (preferring those not `moved`); the others are out of order.
    """
    steps = [step for step in STEPS if step in due]
    moved = set(moved)
    best: tuple[int, int] = (-1, -1)
    kept: list[Step] = []
    for mask in range(1 << len(steps)):
        chosen = [step for n, step in enumerate(steps) if mask >> n & 1]
        if all(due[a] <= due[b] for a, b in zip(chosen, chosen[1:], strict=False)):
            score = (len(chosen), sum(1 for step in chosen if step not in moved))
            if score > best:
                best, kept = score, chosen
    order = {step: n for n, step in enumerate(steps)}
    return {
        step: [other for other in kept if (order[other] < order[step]) == (due[other] > due[step])]
        for step in steps if step not in kept
    }


def chain_order_message(step: Step, conflicts: list[Step], due: dict[Step, DayAndTime],
                        milestone: dict[Step, str]) -> str:
    """Say which step is due out of order, when, and against which steps."""
    def one(s: Step) -> str:
        return f"{s} ({milestone[s]}, {_shown(due[s])})"

    order = {s: n for n, s in enumerate(STEPS)}
    before = [s for s in conflicts if order[s] < order[step]]
    after = [s for s in conflicts if order[s] > order[step]]
    def listed(steps: list[Step]) -> str:
        return " and ".join([", ".join(one(s) for s in steps[:-1]), one(steps[-1])] if len(steps) > 1
                            else [one(steps[0])])

    clauses = ([f"before {listed(before)}"] if before else []) + ([f"after {listed(after)}"] if after else [])
    return (f"step {one(step)} is due {' and '.join(clauses)}: the steps {' -> '.join(STEPS)} must fall in that "
            "order (a step may share its deadline with the next)")


class Timeline(Strict):
    """The contents of timeline.yaml."""

    milestones: dict[str, MilestoneSpec]
    # phase -> step -> milestone name (the chain defaults for register items of that phase)
    chains: dict[Phase, dict[Step, str]]
    chasing: Chasing = Field(default_factory=Chasing)
    core_group_meeting: CoreGroupMeeting = Field(default_factory=CoreGroupMeeting)
    keeping_in_touch: KeepingInTouch = Field(default_factory=KeepingInTouch)
    additional_requests: AdditionalRequests = Field(default_factory=AdditionalRequests)
    fieldwork: Fieldwork = Field(default_factory=Fieldwork)
    staff_bulletin: StaffBulletin = Field(default_factory=StaffBulletin)
    after_fieldwork: AfterFieldwork = Field(default_factory=AfterFieldwork)
    outcome_follow_up: OutcomeFollowUp = Field(default_factory=OutcomeFollowUp)
    token_valid_after_deadline: DurationField = Duration("3d")
    extra_bank_holidays: list[date] = Field(default_factory=list)
    not_bank_holidays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Timeline:
        names = set(self.milestones)
        refs: list[tuple[Loc, str | None]] = [
            (("milestones", name, "after"), spec.after) for name, spec in self.milestones.items()
        ]
        refs += [(("chains", ph, st), ms) for ph, steps in self.chains.items() for st, ms in steps.items()]
        refs.append((("staff_bulletin", "until"), self.staff_bulletin.until))
        problems = [*_check_refs(refs, names, "milestone"), *self._cycle_problems()]
        raise_problems("Timeline", problems or self._chain_order_problems())
        return self

    def days_and_times(self) -> dict[str, DayAndTime]:
        """Return each milestone's inspection day and wall time (the milestones refer to known ones, in no circle)."""
        found: dict[str, DayAndTime] = {}

        def place(name: str) -> DayAndTime:
            if name not in found:
                spec = self.milestones[name]
                if spec.day is not None:
                    found[name] = (spec.day, parse_clock_time(spec.at or ""))
                else:
                    day, at = place(spec.after or "")
                    found[name] = (day + (spec.working_days or 0), parse_clock_time(spec.at) if spec.at else at)
            return found[name]

        for name in self.milestones:
            place(name)
        return found

    def _chain_order_problems(self) -> list[Problem]:
        when = self.days_and_times()
        problems: list[Problem] = []
        for phase, chain in self.chains.items():
            due = {step: when[name] for step, name in chain.items()}
            for step, conflicts in out_of_order_steps(due).items():
                problems.append((("chains", phase, step), chain_order_message(step, conflicts, due, chain),
                                 chain[step]))
        return problems

    def _cycle_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        reported: set[str] = set()
        for name in self.milestones:
            trail = [name]
            while (after := self.milestones[trail[-1]].after) in self.milestones and after not in trail:
                trail.append(after)
            if after == name and name not in reported:
                reported.update(trail)
                message = f"milestones wait for each other: {' -> '.join([*trail, name])}"
                problems.append((("milestones", name, "after"), message, after))
        return problems

    def rules(self) -> dict[str, MilestoneRule]:
        """Return the milestone rules in file order."""
        return {name: spec.rule() for name, spec in self.milestones.items()}


# What a rule counts from: the final report confirmed on every partner's website, or every phase of the inspection
# done (the report published, the strategic plan updated, any priority action plan submitted).
Anchor = Literal["report_published", "inspection_finished"]
ANCHOR_WORDS: dict[str, str] = {
    "report_published": "the final report was published",
    "inspection_finished": "the inspection finished",
}


class RetentionRule(Strict):
    """Keep one kind of data until `working_days` after `after`; `reason` says why (shown to the coordinator)."""

    after: Anchor
    working_days: int = Field(ge=0, le=2600)
    reason: str = Field(min_length=10)

    def words(self) -> str:
        """Say the rule in a few words, e.g. '20 working days after the final report was published'."""
        return f"{self.working_days} working days after {ANCHOR_WORDS[self.after]}"


class Retention(Strict):
    """The rule of each kind of data the product deletes, and the time of day deletions fall due."""

    child_data: RetentionRule
    tracked_cases: RetentionRule
    restricted_draft: RetentionRule
    uploads: RetentionRule
    outbox: RetentionRule
    links: RetentionRule
    named_people: RetentionRule
    due_at: str = "02:00"

    @field_validator("due_at")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v

    def rules(self) -> dict[str, RetentionRule]:
        """Return each kind's rule, by kind, in the order deletions are listed."""
        return {kind: getattr(self, kind) for kind in RETENTION_KINDS}


# The kinds of data retention deletes, in the order they are listed (retention/deletion.py deletes each).
RETENTION_KINDS = ("child_data", "tracked_cases", "restricted_draft", "uploads", "outbox", "links", "named_people")


class PartnershipConfig(Strict):
    """Everything loaded from one partnership's config folder."""

    partnership: Partnership
    annex_a: Register
    timeline: Timeline
    tracked_cases: TrackedCases
    onsite: Onsite
    retention: Retention

    @model_validator(mode="after")
    def _cross_references(self) -> PartnershipConfig:
        people = {p.id for p in self.partnership.people}
        milestones = set(self.timeline.milestones)
        groups, items = self.annex_a.groups, self.annex_a.items
        person_refs: list[tuple[Loc, str | None]] = [
            (("annex_a", "groups", i, "accountable_lead"), g.accountable_lead) for i, g in enumerate(groups)
        ]
        milestone_refs: list[tuple[Loc, str | None]] = []
        listed = [(("annex_a", "items", i), item) for i, item in enumerate(items)]
        listed += [(("annex_a", "monitoring_items", i), item) for i, item in enumerate(self.annex_a.monitoring_items)]
        for loc, item in listed:
            person_refs += [((*loc, f), getattr(item, f)) for f in ("evidence_lead", "accountable_lead")]
            milestone_refs += [((*loc, "deadlines", s), ms) for s, ms in item.deadlines.items()]
        cases = self.tracked_cases
        person_refs += [(("tracked_cases", "roles", r), getattr(cases.roles, r)) for r in ("qa_manager", "logistics")]
        person_refs += [(("tracked_cases", "documents", i, "provided_by"), d.provided_by)
                        for i, d in enumerate(cases.documents) if d.provided_by not in CASE_PROVIDERS]
        person_refs += [(("tracked_cases", "meetings", i, "invite", j), who)
                        for i, meeting in enumerate(cases.meetings) for j, who in enumerate(meeting.invite)
                        if who not in CASE_INVITEES]
        milestone_refs += [(("tracked_cases", "deadlines", s), ms) for s, ms in cases.deadlines.items()]
        onsite_people, onsite_milestones = self.onsite.references()
        person_refs += [(("onsite", *loc), ref) for loc, ref in onsite_people]
        milestone_refs += [(("onsite", *loc), ref) for loc, ref in onsite_milestones]
        raise_problems(
            "PartnershipConfig",
            [
                *_check_refs(person_refs, people, "person id"),
                *_check_refs(milestone_refs, milestones, "milestone"),
                *self._onsite_problems(),
                *self._chain_problems(),
            ],
        )
        return self

    def _onsite_problems(self) -> list[Problem]:
        """Report an Appendix H attendee who is neither a person nor the forum, and forum views with no forum."""
        parties = {p.id for p in self.partnership.parties()}
        meeting, views = self.onsite.opening_meeting, self.onsite.forum_views
        attendees = meeting.attendees if meeting is not None else []
        problems = _check_refs([(("onsite", "opening_meeting", "attendees", i), r) for i, r in enumerate(attendees)],
                               parties, "person id (or the parent carer forum's id)")
        if views is not None and self.partnership.parent_carer_forum is None:
            problems.append((("onsite", "forum_views"), "forum views are asked for, but partnership.yaml names no "
                             "parent_carer_forum", None))
        refs = {item.ref for item in self.annex_a.items}
        if views is not None and views.about not in refs:
            problems.append((("onsite", "forum_views", "about"), _unknown(views.about, "register reference", refs),
                             views.about))
        return problems

    def _chain_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        for i, item in enumerate(self.annex_a.items):
            chain = self.timeline.chains.get(item.phase, {})
            missing = [step for step in STEPS if step not in item.deadlines and step not in chain]
            if missing:
                message = (
                    f"no deadline for step(s) {', '.join(missing)}: add them to chains.{item.phase} "
                    "in timeline.yaml or to this item's deadlines"
                )
                problems.append((("annex_a", "items", i, "phase"), message, item.phase))
        return problems or self._item_order_problems()

    def _item_order_problems(self) -> list[Problem]:
        """Report an item whose own deadlines put its sign-off chain out of order (its phase's chain is in order)."""
        when = self.timeline.days_and_times()
        problems: list[Problem] = []
        listed = [(("annex_a", "items", i), item) for i, item in enumerate(self.annex_a.items)]
        listed += [(("annex_a", "monitoring_items", i), item) for i, item in enumerate(self.annex_a.monitoring_items)]
        for loc, item in listed:
            chain = self.timeline.chains.get(item.phase, {})
            milestone = {step: item.deadlines.get(step) or chain.get(step) for step in STEPS}
            if not item.deadlines or not set(milestone.values()) <= set(when):
                continue  # no deadline of its own, or a step without one or naming no milestone (reported)
            due = {step: when[name] for step, name in milestone.items()}
            for step, conflicts in out_of_order_steps(due, moved=item.deadlines).items():
                field: Loc = (*loc, "deadlines", step) if step in item.deadlines else (*loc, "deadlines")
                problems.append((field, chain_order_message(step, conflicts, due, milestone), milestone[step]))
        return problems

    def step_milestone(self, item: RegisterItem, step: Step) -> str:
        """Return the milestone that is the deadline of `step` for `item`."""
        return item.deadlines.get(step) or self.timeline.chains[item.phase][step]
