"""Scripted staff for rehearsals: they read their emails in the outbox and answer through the web app."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

from fastapi.testclient import TestClient

from send_inspection.calendar import to_london
from send_inspection.checklist import CHECKLIST_IDS, note_field
from send_inspection.mail.outbox import list_outbox, read_outbox_raw

LINK = re.compile(r"https?://[^\s]+/a/([A-Za-z0-9_-]+)")
DATA_INPUT = re.compile(r'<input type="file" id="[a-z_]+" name="(ehc_plans|sen_support|providers)"')
HIDDEN = re.compile(r'<input type="hidden" name="(item_ref|step|round)" value="([^"]*)">')
KIT_DAY = re.compile(r'name="kit_day" value="(\d{4}-\d{2}-\d{2})"')
BASE = re.compile(r'name="(base_[^"]+)"[^>]*value="([^"]*)"')


# Fictional staff the SEND QA and Audit Manager names for tracked cases (staff only: never a child).
PRACTITIONERS = ("Priya Nandakumar", "Owen Castell", "Ruth Amankwah", "Daniel Ferris", "Aisha Rahman",
                 "Tomasz Nowicki", "Helen Garside", "Marcus Idowu")


def _link_in(raw: bytes) -> str | None:
    """Return the personal link's token in a message's plain text, as a reader's eye would find it."""
    # The compat32 parser builds no header objects: only the body is needed here, and it is many times faster.
    for part in message_from_bytes(raw).walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            charset = part.get_content_charset() or "utf-8"
            found = LINK.search(payload.decode(charset, "replace") if isinstance(payload, bytes) else "")
            return found.group(1) if found else None
    return None


def _address(name: str) -> str:
    return name.lower().replace(" ", ".") + "@demo-county.example"


def _identify(ref: str, now: datetime, declines: set[str]) -> dict[str, object]:
    """Name a practitioner, one setting lead and one other practitioner for the case."""
    case_id = ref.split(":", 1)[0]
    n = sum(map(ord, case_id))
    best, lead, other = (PRACTITIONERS[(n + k) % len(PRACTITIONERS)] for k in (0, 3, 5))
    return {"outcome": "identified", "practitioner_name": best, "practitioner_email": _address(best),
            "practitioner_role": "Key worker, Demo County SEND team",
            "settings": f"Demo Valley School ({case_id[-2:]}); {lead}; {_address(lead)}",
            "others": f"{other}; {_address(other)}; Educational psychologist"}


def _agree(ref: str, now: datetime, declines: set[str]) -> dict[str, object]:
    return {"outcome": "declined" if ref.split(":", 1)[0] in declines else "agreed"}


def _inform(ref: str, now: datetime, declines: set[str]) -> dict[str, object]:
    return {"outcome": "records", "comment": "Lead inspector will track the case from its records."}


# When and where the logistics team books each tracked child's meeting in week 2: (hour, minute, place).
MEETING_TIMES = {"briefing": (9, 30, "Teams"), "family-meeting": (11, 0, "Demo House, Room 4"),
                 "practitioners-meeting": (14, 0, "Demo House, Room 5")}


def _arrange(ref: str, now: datetime, declines: set[str], *, this_week: bool = False) -> dict[str, object]:
    """Book the meeting in the week after `now` (week 2), on a weekday of its own for each child.

    With `this_week` (a rehearsal that starts in the fieldwork week) it is booked from tomorrow to Thursday instead,
    before fieldwork ends on the Friday.
    """
    case_id, meeting = ref.split(":", 1)
    hour, minute, place = MEETING_TIMES[meeting]
    today = to_london(now).date()
    if this_week:
        thursday = today + timedelta(days=3 - today.weekday())
        day = max(min(today + timedelta(days=1 + sum(map(ord, case_id)) % 3), thursday), today + timedelta(days=1))
    else:
        monday = today + timedelta(days=7 - today.weekday())
        day = monday + timedelta(days=sum(map(ord, case_id)) % 5)
    return {"outcome": "requested", "slot": f"{day.isoformat()}T{hour:02d}:{minute:02d}", "location": place,
            "comment": "Booked with the setting."}


# How a scripted evidence lead completes the Evidence Quality Assurance Checklist: every point ticked but two,
# each of those explained in its note.
NOT_TICKED = {"signed": "Not an agreement: nothing to sign", "draft-qa": "Not a draft"}
CHECKLIST = {"check": [c for c in CHECKLIST_IDS if c not in NOT_TICKED],
             **{note_field(c): note for c, note in NOT_TICKED.items()}}

# How a scripted debriefer fills in the Appendix E form (rating and documents are set per slot).
DEBRIEF = {"outcome": "debriefed", "interviewees": "Practitioners' focus group (two practitioners, a team manager)",
           "job_title": "SEND caseworkers and their team manager", "contact": "send-team@demo-county.example",
           "service_area": "SEND (EHC assessment and planning)",
           "focus": "How plans are reviewed and kept up to date", "evidence_used": "The annual review dashboard",
           "documents_provided": "none",
           "unexpected_questions": "How do families hear about the local offer?",
           "how_answered": "Through schools, the forum's newsletter and the local offer website",
           "points_for_others": "Expect follow-up questions on waiting times",
           "overall_summary": "Went as expected; follow-up on waiting times likely"}

# The fields of the staff pages where people type freely: a rehearsal may have everything typed there carry a text.
TYPED_FIELDS = ("explanation", "comment", "interviewees", "focus", "evidence_used", "unexpected_questions",
                "points_for_others", "comment_1", "evidence_1", "comment_2", "evidence_2")

# How the scripted staff answer each tracked-case step: (case id, now, declining cases) -> form fields.
CASE_ANSWERS = {"identify": _identify, "agree": _agree, "inform": _inform, "arrange": _arrange}


def _report_received(ref: str) -> tuple[dict[str, object], dict[str, tuple[str, bytes]]]:
    kind = "draft" if ref == "draft-report" else "final"
    body = f"%PDF-1.4 rehearsal {kind} report of the Demo County area SEND inspection".encode()
    return {"outcome": "received"}, {"file": (f"{kind}-report.pdf", body)}


def _comments(ref: str) -> tuple[dict[str, object], dict[str, tuple[str, bytes]]]:
    if ref.endswith("-icb-commissioning"):
        return {"outcome": "no-comments"}, {}
    # Every reviewer raises paragraph 12 in the same words: the response must hold it once.
    return {"outcome": "commented", "paragraph_1": "12",
            "comment_1": "The number of EHC plans issued within 20 weeks was 61%, not 51%.",
            "evidence_1": "SEN2 return 2023, table 3", "paragraph_2": str(3 + len(ref) % 20),
            "comment_2": f"The service is named incorrectly ({ref}, rehearsal).", "evidence_2": ""}, {}


def _presentation(ref: str) -> tuple[dict[str, object], dict[str, tuple[str, bytes]]]:
    deck = b"%PDF-1.4 rehearsal opening presentation of the Demo County partnership"
    return {"outcome": "prepared"}, {"file": ("opening-presentation.pdf", deck)}


# How the scripted staff answer the steps before the inspectors arrive: item ref -> (form fields, files).
ONSITE_ANSWERS = {
    "task": lambda ref: ({"outcome": "done", "comment": "Done (rehearsal)."}, {}),
    "headlines": lambda ref: ({"outcome": "sent", "headlines": f"{ref.removeprefix('headlines-')}: plans reviewed on "
                               "time rose from 64% to 81%; waiting times for assessment are falling."}, {}),
    "presentation": _presentation,
    "attend": lambda ref: ({"outcome": "representative", "comment": "Pat Kemp, Head of Early Help"}
                           if ref == "attend-dir-family" else {"outcome": "attending"}, {}),
    "send-list": lambda ref: ({"outcome": "sent"}, {}),
    "views": lambda ref: ({"outcome": "sent", "views": "Families recognise the waiting times described; the "
                           "self-evaluation says too little about transport (rehearsal)."}, {}),
}

REPORT_ANSWERS = {
    "receive": _report_received,
    "comment": _comments,
    "publish": lambda ref: ({"outcome": "published",
                             "website_url": f"https://www.demo-county.example/send-inspection-report#{ref}"}, {}),
}


@dataclass(frozen=True)
class Behaviour:
    """How one person answers: after how long, whether at all, and what they return or explain."""

    delay: timedelta = timedelta(minutes=20)
    absent: bool = False
    returns_once: frozenset[str] = frozenset()
    explains: frozenset[str] = frozenset()
    # Items this person never answers (their deputy, escalated to, does).
    ignores: frozenset[str] = frozenset()


@dataclass
class Action:
    """One answer a person will give through one link at a set time."""

    at: datetime
    person_email: str
    token: str


@dataclass
class ScriptedStaff:
    """Everyone's behaviour, and the answers they have scheduled from the emails they got."""

    outbox: Path
    client: TestClient
    behaviours: dict[str, Behaviour]
    default: Behaviour = field(default_factory=lambda: Behaviour(delay=timedelta(minutes=45)))
    pending: list[Action] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    returned: set[tuple[str, str]] = field(default_factory=set)
    log: list[tuple[datetime, str, str, str, int]] = field(default_factory=list)
    # The lists a data lead uploads, by list kind (ehc_plans, sen_support, providers).
    data_files: dict[str, Path] = field(default_factory=dict)
    # Tracked cases whose family declines to take part (the inspectors then track them from the records).
    family_declines: set[str] = field(default_factory=set)
    # Fieldwork: slots whose debrief is red, and the document inspectors asked for in a slot's meeting.
    red_debriefs: set[str] = field(default_factory=set)
    documents_in: dict[str, str] = field(default_factory=dict)
    # After fieldwork: when each report reaches the LANO (by item ref); its arrival is recorded then.
    arrivals: dict[str, datetime] = field(default_factory=dict)
    # Keeping in touch: the weekdays agreed in each week (1 to 3, Monday 0), the representatives members name
    # (member's email -> KIT day -> who), and the issues raised at each meeting (day -> "issue; owner; deadline").
    kit_weekdays: dict[int, tuple[int, ...]] = field(default_factory=dict)
    representatives: dict[str, dict[str, str]] = field(default_factory=dict)
    kit_issues: dict[str, list[str]] = field(default_factory=dict)
    # What everyone adds to whatever they type (TYPED_FIELDS, the documents asked for in a debrief): a rehearsal of
    # careless or hostile writing, e.g. a child's name and a link.
    typed: str = ""
    # A file to hand in at a submit step, by item ref (None: a hyperlink, as usual).
    files_for: Callable[[str], tuple[str, bytes] | None] | None = None
    # Items (by ref) whose emails are answered this long after they arrive, whoever gets them.
    answer_after: dict[str, timedelta] = field(default_factory=dict)
    # Whether the tracked children's meetings are booked in the week the rehearsal is in (it starts in fieldwork).
    case_meetings_this_week: bool = False

    def _behaviour(self, email: str) -> Behaviour:
        return self.behaviours.get(email, self.default)

    def read_mail(self) -> None:
        """Schedule an answer for every new email that carries a personal link."""
        for entry in list_outbox(self.outbox, exclude=self.seen):  # only new mail is read (and parsed)
            self.seen.add(entry.id)
            token = _link_in(read_outbox_raw(self.outbox, entry.id))
            if token is None:
                continue
            arrival = next((t for ref, t in self.arrivals.items() if f":{ref}:" in entry.key), None)
            after = next((d for ref, d in self.answer_after.items() if f":{ref}:" in entry.key), None)
            for email in entry.to:
                behaviour = self._behaviour(email)
                if not behaviour.absent:
                    at = entry.date + (after or behaviour.delay)
                    self.pending.append(Action(max(at, arrival) if arrival else at, email, token))

    def next_time(self, after: datetime) -> datetime | None:
        """Return when the next scheduled answer is due, if any is after `after`."""
        times = [a.at for a in self.pending if a.at > after]
        return min(times) if times else None

    def act(self, now: datetime) -> int:
        """Give every answer due by `now` through the web app; return how many were recorded."""
        self.read_mail()
        due = sorted((a for a in self.pending if a.at <= now), key=lambda a: a.at)
        self.pending = [a for a in self.pending if a.at > now]
        recorded = 0
        for action in due:
            recorded += self._answer(action, now)
        return recorded

    def _keeping_in_touch(self, step: str, ref: str, page: str, email: str) -> dict[str, object] | None:
        """Return the answer to a keeping-in-touch step, or None when the person has nothing to say."""
        if step == "settle":
            days = [d for d in KIT_DAY.findall(page) if self._agreed(date.fromisoformat(d), KIT_DAY.findall(page))]
            return {"outcome": "settled", "kit_day": days, **dict(BASE.findall(page))}
        if step == "represent":
            named = self.representatives.get(email)
            if not named:
                return None
            return {"outcome": "represented", **{f"rep_KIT-{day}": who for day, who in named.items()}}
        if step == "minute":
            day = ref.removeprefix("kit-")
            return {"outcome": "minuted", "issues": "\n".join(self.kit_issues.get(day, [])),
                    "notes": "Everyone is well; the day's meetings went as planned."}
        return {"outcome": "done", "comment": "Done, and the coordinator told."}

    def _agreed(self, day: date, offered: list[str]) -> bool:
        """Say whether the scripted core group agrees a KIT meeting on `day` (week 1 holds the first day offered)."""
        first = date.fromisoformat(offered[0])
        week = 1 + ((day - first).days + first.weekday()) // 7
        return day.weekday() in self.kit_weekdays.get(week, (0, 1, 2, 3, 4))

    def _answer(self, action: Action, now: datetime) -> int:
        url = f"/a/{action.token}"
        page = self.client.get(url)
        if page.status_code != 200:
            return 0  # already answered by someone else, expired or moved on: nothing to do
        fields = dict(HIDDEN.findall(page.text))
        ref, step = fields["item_ref"], fields["step"]
        behaviour = self._behaviour(action.person_email)
        if ref in behaviour.ignores:
            return 0
        data: dict[str, object] = dict(fields)
        files: dict[str, tuple[str, bytes]] = {}
        data_inputs = DATA_INPUT.findall(page.text)
        if step == "submit":
            if ref in behaviour.explains:
                data.update(outcome="explained", explanation="Not held in this form; see the strategy instead.")
            elif data_inputs:
                data.update(outcome="submitted", **CHECKLIST)
                files = {kind: (self.data_files[kind].name, self.data_files[kind].read_bytes()) for kind in data_inputs}
            elif self.files_for is not None and (handed := self.files_for(ref)) is not None:
                data.update(outcome="submitted", **CHECKLIST)
                files = {"file": handed}
            else:
                data.update(outcome="submitted", link_url=f"https://evidence.demo-county.example/{ref}", **CHECKLIST)
        elif step == "debrief":
            slot_id = ref.removeprefix("debrief-")
            data.update(DEBRIEF, rating="red" if slot_id in self.red_debriefs else "green",
                        documents_requested=self.documents_in.get(slot_id, "none"))
        elif step == "confirm":
            data.update({"outcome": "not-held"} if ref in behaviour.explains else
                        {"outcome": "exists", "comment": "Within two hours"})
        elif step in CASE_ANSWERS:
            data.update(_arrange(ref, now, self.family_declines, this_week=self.case_meetings_this_week)
                        if step == "arrange" else CASE_ANSWERS[step](ref, now, self.family_declines))
        elif step in ("settle", "represent", "minute", "act"):
            answer = self._keeping_in_touch(step, ref, page.text, action.person_email)
            if answer is None:
                return 0  # nothing to say (a member who comes to every meeting)
            data.update(answer)
        elif step in REPORT_ANSWERS:
            answer, files = REPORT_ANSWERS[step](ref)
            data.update(answer)
        elif step in ONSITE_ANSWERS:
            answer, files = ONSITE_ANSWERS[step](ref)
            data.update(answer)
        elif step in ("approve", "check", "review"):
            if ref in behaviour.returns_once and (ref, step) not in self.returned:
                self.returned.add((ref, step))
                data.update(outcome="returned", comment="Please add the latest version (rehearsal).")
            else:
                data.update(outcome="approved")
        else:
            data.update(outcome="confirmed")
        if self.typed:
            for name in TYPED_FIELDS:
                if isinstance(data.get(name), str) and data[name]:
                    data[name] = f"{data[name]} {self.typed}"
            if data.get("documents_requested") not in (None, "none"):
                data["documents_requested"] = f"{data['documents_requested']} {self.typed}"
        response = self.client.post(url, data=data, files=files or None)
        if response.status_code != 200:
            said = re.search(r'<div class="error" role="alert">(.*?)</div>', response.text, re.S)
            raise AssertionError(f"{action.person_email}'s answer to {ref} {step} was refused "
                                 f"({response.status_code}): {said.group(1) if said else response.text[:300]}")
        self.log.append((now, action.person_email, ref, f"{step}:{data['outcome']}", response.status_code))
        return int(response.status_code == 200)
