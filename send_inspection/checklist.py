"""The Evidence Quality Assurance Checklist that evidence leads tick when they submit."""

from __future__ import annotations

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
        ("week3-concerns", "Any concerns about meetings taking place in week 3 are highlighted with this submission."),
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
