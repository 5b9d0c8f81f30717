"""Which columns of our database hold text people typed (or text made from it), and removing children's names there.

Every text column is declared here as typed or structured (tests/retention/test_typed_text.py fails on one that is
neither), so a new column is thought about once. Typed text may name a child: a debrief, a comment, a request, the
feedback, a file's name, a mail server's answer. Structured text is ids, keys, states, hashes, paths, staff names
and addresses from the config, and the product's own words.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from send_inspection.childdata.names import ChildNames
from send_inspection.db import models as m

TYPED: dict[str, tuple[str, ...]] = {
    "accuracy_comments": ("paragraph", "comment", "evidence"),
    "audit_log": ("what",),
    "case_file_views": ("system", "inspector"),
    "debriefs": ("interviewees", "job_title", "contact", "service_area", "focus", "evidence_used",
                 "documents_provided", "documents_requested", "unexpected_questions", "how_answered",
                 "points_for_others", "overall_summary"),
    "decisions": ("comment", "details"),
    "email_ledger": ("recipients", "subject", "error"),
    "evidence_requests": ("asked", "inspector", "head_of_service_line"),
    "ews_meetings": ("location", "error"),
    "feedback_records": ("effective", "improve", "priority_actions"),
    "fieldwork_slots": ("title", "location", "focus", "pending_calendar"),
    "graph_events": ("location", "error"),
    "inbox_messages": ("outcome", "error"),
    "inspections": ("survey_links",),
    "library_documents": ("filename", "machine_checks"),
    "phase_runs": ("reason",),
    "register_items": ("title",),
    "restricted_documents": ("filename",),
    "retention_holds": ("reason", "lift_reason"),
    "submissions": ("filename", "link_url", "explanation", "machine_checks", "checklist_notes"),
    "tracked_cases": ("settings",),
}
STRUCTURED: dict[str, tuple[str, ...]] = {
    "absences": ("inspection_id", "person_key", "recorded_by"),
    "accuracy_comments": ("inspection_id", "partner", "reviewer"),
    "action_tokens": ("token_hash", "inspection_id", "person_key", "step"),
    "audit_log": ("actor", "actor_name", "channel", "action", "inspection_id"),
    "case_file_views": ("inspection_id", "case_id", "recorded_by"),
    "console_sessions": ("session_hash", "person_key", "role", "via", "csrf_token", "ended_why"),
    "debriefs": ("inspection_id", "slot_id", "debriefer", "rating"),
    "decisions": ("step", "outcome", "decided_by", "remote_addr", "user_agent"),
    "deletion_records": ("inspection_id", "kind", "rule"),
    "document_access": ("inspection_id", "kind", "person_key", "reason", "remote_addr"),
    "email_ledger": ("key", "inspection_id", "template", "status", "transport", "message_id"),
    "evidence_requests": ("inspection_id", "source", "head_of_service", "accountable_lead", "recorded_by",
                          "forwarded_by"),
    "ews_meetings": ("key", "mailbox", "status", "ews_item_id", "changekey", "attendees", "sent_digests"),
    "feedback_records": ("inspection_id", "recorded_by"),
    "fieldwork_slots": ("inspection_id", "slot_id", "kind", "attendees", "debriefer", "origin"),
    "graph_events": ("key", "mailbox", "status", "transaction_id", "event_id", "change_key", "attendees",
                     "sent_digests"),
    "inbox_messages": ("mailbox", "internet_message_id", "item_id"),
    "inspections": ("id", "partnership_id", "partnership_name", "kind", "mode"),
    "library_documents": ("partnership_id", "ref", "stored_path", "sha256", "loaded_by"),
    "mailbox_deltas": ("mailbox", "folder", "delta_link"),
    "milestones": ("inspection_id", "name"),
    # Names and addresses from partnership.yaml, or of someone named during the inspection (origin): those rows go
    # by the named_people rule.
    "people": ("inspection_id", "person_key", "name", "role", "email", "deputy_key", "escalates_to_key", "origin"),
    "phase_runs": ("inspection_id", "phase", "flow_run_id", "status"),
    "record_exports": ("inspection_id", "path", "sha256", "why", "made_by"),
    "register_items": ("inspection_id", "ref", "group_name", "phase", "evidence_lead", "accountable_lead",
                       "deadlines", "step", "outcome", "waits_for", "step_owners"),
    "restricted_documents": ("inspection_id", "kind", "stored_path", "sha256", "recorded_by"),
    "retention_holds": ("inspection_id", "kind", "placed_by", "lifted_by"),
    "sign_in_attempts": ("attempt_hash", "state", "nonce", "code_verifier", "redirect_uri"),
    "sign_in_links": ("token_hash", "person_key"),
    "submissions": ("kind", "stored_path", "sha256", "checklist", "submitted_by"),
    "tracked_cases": ("inspection_id", "child_id", "list_kind", "selected_by", "status", "practitioner_key",
                      "other_practitioner_keys"),
}


def _redacted(value: Any, names: ChildNames) -> Any:  # noqa: ANN401 - text, or JSON of any shape
    """Return `value` (text, or JSON: lists and mappings of text) with the children's names removed."""
    if isinstance(value, str):
        return names.redact(value)
    if isinstance(value, list):
        return [_redacted(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, names) for k, v in value.items()}
    return value


def redact_typed_text(session: Session, names: ChildNames) -> int:
    """Remove the children's names and dates of birth from every typed column of every row; return rows changed.

    Every row is read, of every inspection: a name of these children is removed wherever it was typed. The caller
    commits.
    """
    if names.pattern is None:
        return 0
    changed = 0
    for name, columns in TYPED.items():
        table = m.Base.metadata.tables[name]
        keys = list(table.primary_key.columns)
        for row in session.execute(select(*keys, *(table.c[c] for c in columns))).mappings():
            values = {c: _redacted(row[c], names) for c in columns}
            values = {c: v for c, v in values.items() if v != row[c]}
            if values:
                session.execute(update(table).where(*(k == row[k.name] for k in keys)).values(**values))
                changed += 1
    return changed
