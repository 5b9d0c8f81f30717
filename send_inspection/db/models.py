"""Database tables: inspections, people, register items, submissions, decisions, tokens, emails, phase runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; read them back aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention Alembic can rely on."""

    metadata = MetaData(naming_convention=NAMING)


class Inspection(Base):
    """One inspection of one partnership, from notification to the final report."""

    __tablename__ = "inspections"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    partnership_id: Mapped[str] = mapped_column(String(80))
    partnership_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="full")
    mode: Mapped[str] = mapped_column(String(20), default="live")
    notified_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    survey_links: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)


class Milestone(Base):
    """A deadline of an inspection, fixed when the inspection starts."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("inspection_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    name: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Person(Base):
    """A member of staff as configured when the inspection started (never a child or family member)."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("inspection_id", "person_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    person_key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    deputy_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    escalates_to_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # Where the person came from: "partnership" (partnership.yaml), or named during the inspection: on a tracked
    # case ("case"), in the inspectors' timetable ("timetable") or at a keeping-in-touch meeting ("kit").
    origin: Mapped[str] = mapped_column(String(20), default="partnership", server_default="partnership")


class RegisterItem(Base):
    """One Annex A requirement in one inspection, and where it stands in its sign-off chain."""

    __tablename__ = "register_items"
    __table_args__ = (UniqueConstraint("inspection_id", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    # An Annex A reference ("1.3"), or "<case id>:<step>" for a tracked child's work.
    ref: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    group_name: Mapped[str] = mapped_column(String(120))
    # "day2", "day5", or "case:<case id>" for a tracked child.
    phase: Mapped[str] = mapped_column(String(100))
    evidence_lead: Mapped[str] = mapped_column(String(80))
    accountable_lead: Mapped[str] = mapped_column(String(80))
    # step -> milestone name, frozen at the start of the inspection
    deadlines: Mapped[dict[str, str]] = mapped_column(JSON)
    step: Mapped[str] = mapped_column(String(20), default="submit")
    round: Mapped[int] = mapped_column(Integer, default=1)
    step_started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The gate (catalogue/gates.py) the item waits for before its first step is asked; cleared when it opens.
    waits_for: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # step -> person key, for a step answered by someone other than its usual owner (register.yaml answered_by).
    step_owners: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    # How often the coordinator changed who answers the open step: each handover asks the new owner afresh.
    handovers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Submission(Base):
    """What an evidence lead submitted for an item: a file, a hyperlink or an explanation."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("register_items.id"))
    round: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    stored_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    link_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    checklist: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    # Why a checklist point is not ticked, by point; the week-3 concern here is highlighted to the accountable lead.
    checklist_notes: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    # What the machine found in the file or link (date, leftover edits, draft, links): shown to reviewers.
    machine_checks: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(80))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Decision(Base):
    """A recorded answer to one step of one round of an item: who, when, from where, with which token."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("item_id", "step", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("register_items.id"))
    step: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("action_tokens.id"), nullable=True)
    # What the step's form held beyond the comment, as data the phase acts on (the days agreed, the meeting's
    # time and place, the issues raised); kept in our database only.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ActionToken(Base):
    """A personal link for one person to answer one step of one round; only its hash is kept."""

    __tablename__ = "action_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    person_key: Mapped[str] = mapped_column(String(80))
    item_id: Mapped[int] = mapped_column(ForeignKey("register_items.id"))
    step: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Set when the coordinator gave the person a fresh link (or the step a new owner): this one no longer works.
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class EmailRecord(Base):
    """The ledger of every email: its unique key means nothing is ever sent twice."""

    __tablename__ = "email_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    template: Mapped[str] = mapped_column(String(80))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    transport: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class PhaseRun(Base):
    """A phase of an inspection: its Prefect flow run, whether it waits, and when it must wake."""

    __tablename__ = "phase_runs"
    __table_args__ = (UniqueConstraint("inspection_id", "phase"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    phase: Mapped[str] = mapped_column(String(100))
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    wake_seq: Mapped[int] = mapped_column(Integer, default=0)
    next_wake_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    seen_changes: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The lease of the process carrying the phase: it beats while alive; stale while running means a zombie.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Fresh runs started in a row because the last one died (back to 0 once a pass reaches a wait or the end).
    recoveries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TrackedCase(Base):
    """A child the inspectors chose to track, by the council's case id only (names stay in the lists)."""

    __tablename__ = "tracked_cases"
    __table_args__ = (UniqueConstraint("inspection_id", "child_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    child_id: Mapped[str] = mapped_column(String(80))
    list_kind: Mapped[str] = mapped_column(String(20))
    selected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    selected_by: Mapped[str] = mapped_column(String(80))
    # Whether the child attends alternative provision (the commissioning agreement is then asked for).
    alternative_provision: Mapped[bool] = mapped_column(Boolean, default=False)
    # selected -> identified -> agreed | declined -> records-only | replaced -> complete
    status: Mapped[str] = mapped_column(String(20), default="selected")
    # Staff named by the SEND QA and Audit Manager (person keys of rows added to `people`).
    practitioner_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    other_practitioner_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"setting": the setting's name, "lead": person key}] for every setting the child attends.
    settings: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # When every document of the case had been reviewed by the LANO (the Annex A tracked-cases row waits for it).
    documents_reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LibraryDocument(Base):
    """One version of a document in the partnership's evidence library, loaded before or during an inspection."""

    __tablename__ = "library_documents"
    __table_args__ = (UniqueConstraint("partnership_id", "ref", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partnership_id: Mapped[str] = mapped_column(String(80))
    ref: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    loaded_by: Mapped[str] = mapped_column(String(80))
    machine_checks: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class EvidenceRequest(Base):
    """An additional evidence request from the inspectors during fieldwork, worked as the phase request:<number>."""

    __tablename__ = "evidence_requests"
    __table_args__ = (UniqueConstraint("inspection_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    number: Mapped[int] = mapped_column(Integer)
    # What the inspector asked for, as they put it (kept here and in emails; never sent to Prefect).
    asked: Mapped[str] = mapped_column(Text)
    inspector: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    head_of_service: Mapped[str] = mapped_column(String(80))
    accountable_lead: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    # A request forwarded to the comms inbox: who forwarded it (a person id) and what its "Head of service:" line
    # said (None: no such line). Without a known head of service the LANO stands in, and the request's run tells
    # the LANO and the forwarder why.
    forwarded_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    head_of_service_line: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lano_stands_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class FieldworkSlot(Base):
    """A slot of the inspectors' fieldwork timetable as last imported; `version` counts its changes."""

    __tablename__ = "fieldwork_slots"
    __table_args__ = (UniqueConstraint("inspection_id", "slot_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    slot_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    end_at: Mapped[datetime] = mapped_column(UtcDateTime())
    location: Mapped[str] = mapped_column(String(300))
    attendees: Mapped[list[str]] = mapped_column(JSON)
    debriefer: Mapped[str | None] = mapped_column(String(80), nullable=True)
    focus: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Calendar messages decided at import and not yet sent: [{"method", "sequence", "to": [ids], "ics"}].
    pending_calendar: Mapped[list[dict]] = mapped_column(JSON, default=list)
    # Who put the slot on the timetable: "timetable" (the inspectors' import), "case:<case id>" (a tracked child's
    # meeting) or "kit" (a keeping-in-touch meeting). An import changes and cancels its own slots only.
    origin: Mapped[str] = mapped_column(String(40), default="timetable", server_default="timetable")


class Debrief(Base):
    """What the debriefer recorded after a slot (Appendix E): never a child's details, by design of the form."""

    __tablename__ = "debriefs"
    __table_args__ = (UniqueConstraint("inspection_id", "slot_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    slot_id: Mapped[str] = mapped_column(String(80))
    debriefer: Mapped[str] = mapped_column(String(80))
    # The interviewee or focus group, their job title and contact details, and the service area (staff only).
    interviewees: Mapped[str] = mapped_column(Text)
    job_title: Mapped[str] = mapped_column(Text, default="", server_default="")
    contact: Mapped[str] = mapped_column(Text, default="", server_default="")
    service_area: Mapped[str] = mapped_column(Text, default="", server_default="")
    focus: Mapped[str] = mapped_column(Text)
    evidence_used: Mapped[str] = mapped_column(Text)
    documents_provided: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    documents_requested: Mapped[list[str]] = mapped_column(JSON)
    unexpected_questions: Mapped[str] = mapped_column(Text)
    how_answered: Mapped[str] = mapped_column(Text, default="", server_default="")
    points_for_others: Mapped[str] = mapped_column(Text)
    rating: Mapped[str] = mapped_column(String(10))
    overall_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CaseFileView(Base):
    """A case file an inspector opened in a case records system: which case (by id only), when, by whom, where."""

    __tablename__ = "case_file_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    case_id: Mapped[str] = mapped_column(String(40))
    # The case records system (e.g. the social care or the EHC case management system).
    system: Mapped[str] = mapped_column(String(120))
    inspector: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboxMessage(Base):
    """A message taken from a watched shared inbox, by its internet message id: handed over once, then kept."""

    __tablename__ = "inbox_messages"
    __table_args__ = (UniqueConstraint("mailbox", "internet_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    internet_message_id: Mapped[str] = mapped_column(String(500))
    # The mailbox's own id of the message where it was last seen: the EWS item id or the Graph message id.
    item_id: Mapped[str] = mapped_column(String(512))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set while one watcher hands the message over, so another leaves it alone; cleared when that fails.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set once the callback has taken the message (or the watcher gave up on it): never handed over again.
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # What the callback said it did, or why the watcher gave up; never the message's text.
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set once the message carries the partnership's handled mark in the mailbox (a category, or moved to a folder).
    marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class MeetingClaim:
    """The columns an Outlook meeting sent by our own key keeps, whichever way it went (EWS or Graph)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    # creating -> sent -> cancelled; uncertain when a create failed in a way that may have created it.
    status: Mapped[str] = mapped_column(String(20))
    # How many updates were sent after the first request.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    start_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    end_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A digest of each field as last sent (subject and body are not kept), to send only what changed.
    sent_digests: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class EwsMeeting(MeetingClaim, Base):
    """An Outlook meeting sent from a shared mailbox's calendar, by our own key, with its EWS item id."""

    __tablename__ = "ews_meetings"

    ews_item_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    changekey: Mapped[str | None] = mapped_column(String(200), nullable=True)


class GraphEvent(MeetingClaim, Base):
    """An Outlook meeting sent as an event of a shared mailbox's calendar through Graph, by our own key."""

    __tablename__ = "graph_events"

    # Graph's transactionId for the create: the same create sent again makes no second event.
    transaction_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    change_key: Mapped[str | None] = mapped_column(String(200), nullable=True)


class MailboxDelta(Base):
    """Where the Graph intake's delta query of a shared inbox got to: the @odata.deltaLink of its last round."""

    __tablename__ = "mailbox_deltas"
    __table_args__ = (UniqueConstraint("mailbox", "folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    folder: Mapped[str] = mapped_column(String(80))
    # The first round asked for messages received from this time on (the inspection's notification).
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    delta_link: Mapped[str] = mapped_column(Text)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FeedbackRecord(Base):
    """The inspectors' feedback at the end of fieldwork: embargoed, shown only to the named leadership group."""

    __tablename__ = "feedback_records"
    __table_args__ = (UniqueConstraint("inspection_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    # 1, 2 or 3: the outcomes in the order the inspectorate lists them (report/outcomes.py has their words).
    outcome: Mapped[int] = mapped_column(Integer)
    effective: Mapped[str] = mapped_column(Text)
    improve: Mapped[str] = mapped_column(Text)
    # [{"area": ..., "partners": [...]}]: the areas for priority action and the partners they name.
    priority_actions: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RestrictedDocument(Base):
    """A restricted document of the inspection (the draft report, the response, the final report), by file."""

    __tablename__ = "restricted_documents"
    __table_args__ = (UniqueConstraint("inspection_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    kind: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer, default=1)
    filename: Mapped[str] = mapped_column(String(300))
    stored_path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DocumentAccess(Base):
    """One attempt to open a restricted document through a personal link: who, when, and whether it was allowed."""

    __tablename__ = "document_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))
    document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    person_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class AccuracyCommentRow(Base):
    """A factual-accuracy comment on the draft report, as a reviewer submitted it."""

    __tablename__ = "accuracy_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("register_items.id"))
    partner: Mapped[str] = mapped_column(String(200))
    reviewer: Mapped[str] = mapped_column(String(80))
    paragraph: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Absence(Base):
    """A person away from one time to another in one inspection: their deputy is asked instead meanwhile."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    person_key: Mapped[str] = mapped_column(String(80))
    from_at: Mapped[datetime] = mapped_column(UtcDateTime())
    until_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignInLink(Base):
    """A one-time link to sign in to the coordinator's console, emailed to one person; only its hash is kept."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class SignInAttempt(Base):
    """A sign-in begun at the identity provider: what the browser's return must match (state, nonce, PKCE)."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The hash of the random id the browser holds in its cookie while it is away at the provider.
    attempt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str] = mapped_column(String(200))
    code_verifier: Mapped[str] = mapped_column(String(200))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ConsoleSession(Base):
    """A signed-in session of the console, held here so that signing out or the idle timeout really ends it."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The hash of the random id in the browser's signed cookie.
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_key: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    # How the person signed in: "email-link" or "identity-provider".
    via: Mapped[str] = mapped_column(String(30))
    # Every form of the session carries this token; a form without it changes nothing.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_why: Mapped[str | None] = mapped_column(String(40), nullable=True)


class AuditEntry(Base):
    """One coordinator action, from the console or the command line: who, when, what (never a child's data)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    actor_name: Mapped[str] = mapped_column(String(200))
    # "console" or "command line".
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    inspection_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    what: Mapped[str] = mapped_column(Text)


class RetentionHold(Base):
    """A hold on deleting an inspection's data (a complaint, a legal hold): while it stands, nothing is deleted."""

    __tablename__ = "retention_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    # "complaint" or "legal" (retention/holds.py HOLD_KINDS).
    kind: Mapped[str] = mapped_column(String(20))
    # Why, as the coordinator put it: kept here, never sent to Prefect.
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(80))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    lift_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class RecordExport(Base):
    """One export of an inspection's record for the council's records system: which file, when, why, its digest."""

    __tablename__ = "record_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # How many files the archive holds (the manifest lists them).
    entries: Mapped[int] = mapped_column(Integer)
    # "on demand" or "before deletion".
    why: Mapped[str] = mapped_column(String(40))
    made_by: Mapped[str] = mapped_column(String(80))
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeletionRecord(Base):
    """What retention deleted of one inspection: which kind of data, how many files and rows, when (no one named)."""

    __tablename__ = "deletion_records"
    __table_args__ = (UniqueConstraint("inspection_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    # One of config.models.RETENTION_KINDS: child_data, tracked_cases, restricted_draft, uploads, outbox, links,
    # named_people.
    kind: Mapped[str] = mapped_column(String(30))
    files: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    # Texts in the database from which a child's name or date of birth was removed (child_data only).
    redacted: Mapped[int] = mapped_column(Integer, default=0)
    # The rule applied, in words (e.g. "20 working days after the final report was published"), and when it fell due.
    rule: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deleted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    record_export_id: Mapped[int | None] = mapped_column(ForeignKey("record_exports.id"), nullable=True)
