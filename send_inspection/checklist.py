"""The Evidence Quality Assurance Checklist: each point ticked, or explained in a note, when evidence is submitted.

The guidance asks evidence leads to follow the checklist for consistency across agencies. A point that does not
apply, or is not met, is not ticked: its note says why. The week-3 point is a question whose "yes" the guidance
asks to be highlighted when submitting for sign-off: its note is the concern, shown highlighted to the accountable
lead. An explanation instead of evidence needs no checklist.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

CHECKLIST: list[tuple[str, list[tuple[str, str]]]] = [
    ("Evidence of continuous improvement", [
        ("outcome-focused", "Performance information and reports are outcome focused: how data is analysed, "
                            "how it changes provision and the difference that makes to children and families."),
        ("impact-noted", "Research, feedback and evaluations note the impact on and outcomes for children, "
                         "young people, families and the service."),
    ]),
    ("Capturing the voice of the child, young person and family", [
        ("blank-forms-explained", "Blank forms or templates come with who completes them, when, who distributes "
                                  "and collects them, what happens with the information and any action plans."),
    ]),
    ("Meetings", [
        ("actions-complete", "All actions are completed and updates captured in minutes."),
        ("issues-highlighted", "Any issues that need to be highlighted have been."),
        ("keyword-search", "A keyword search of minutes shows enough detail on the topic (multi-agency meetings)."),
        ("week3-concerns", "There are no concerns about the content, format or partner engagement of meetings "
                           "taking place in week 3. If there are, do not tick: write them in the note, and the "
                           "accountable lead sees them highlighted."),
        ("case-file-current", "The case file of any selected child discussed is up to date."),
    ]),
    ("Use of acronyms", [
        ("acronyms", "The full term is used first, with the acronym thereafter."),
    ]),
    ("Format", [
        ("dated", "The document is dated (generally no older than one year)."),
        ("recent", "The document is from the last 12 months or still relevant."),
        ("titled", "The document has a clear title."),
        ("signed", "The document is signed where appropriate (e.g. a memorandum of understanding)."),
        ("draft-qa", "If the document is a draft, it has been internally quality assured."),
        ("tracked-changes", "Tracked changes and comments have been reviewed, actioned and removed."),
    ]),
    ("Hyperlinks", [
        ("links-work", "All hyperlinks work."),
        ("link-template", "A bare hyperlink has been dropped into the template."),
        ("links-accessible", "Linked content is accessible to external viewers (if not, the content is copied "
                             "into the template)."),
    ]),
]

CHECKLIST_IDS = [item_id for _, items in CHECKLIST for item_id, _ in items]
CHECKLIST_TEXT = {item_id: text for _, items in CHECKLIST for item_id, text in items}
# The point whose note the guidance asks to be highlighted to whoever signs the evidence off.
HIGHLIGHTED = "week3-concerns"
# The longest note kept for a point.
MAX_NOTE = 1000
# An emailed submission has no checklist: each point says so to the accountable lead.
EMAILED = "sent by email: not checked against this point"


def note_field(item_id: str) -> str:
    """Return the form field of a point's note."""
    return f"note-{item_id}"


def checklist_answers(ticked: Collection[str], notes: Mapping[str, str]
                      ) -> tuple[dict[str, bool], dict[str, str], dict[str, str]]:
    """Return the points ticked, the notes of those not ticked, and every point neither ticked nor explained.

    The third is keyed by the note's form field, with what to do, so the page can say it beside the point.
    """
    checklist = {cid: cid in ticked for cid in CHECKLIST_IDS}
    kept = {cid: " ".join(str(notes.get(cid) or "").split())[:MAX_NOTE] for cid in CHECKLIST_IDS}
    kept = {cid: note for cid, note in kept.items() if note and not checklist[cid]}
    missing = {note_field(cid): "tick this point, or say in its note why not" for cid in CHECKLIST_IDS
               if not checklist[cid] and cid not in kept}
    return checklist, kept, missing
