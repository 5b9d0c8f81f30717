"""Reading a forwarded inspector's request: the note's lines, the request below the header, the first sender."""

from __future__ import annotations

from send_inspection.intake.forwarded import is_forward_subject, read_forwarded

OUTLOOK = """Head of service: hos-send
Inspector: Jane Smith HMI

________________________________
From: Jane Smith <jane.smith@inspectors.example>
Sent: Monday, July 3, 2023 9:41 AM
To: Nadia Pemberton <nadia.pemberton@demo-county.example>;
    Leah Marchetti <leah.marchetti@demo-county.example>
Subject: Request for evidence

Please send the annual review audit for 2023.
Service: Ofsted SEND inspections
"""


def test_the_request_is_the_text_below_the_forwarding_header() -> None:
    """The note's lines are read above the header; the request is everything below it, header lines dropped."""
    forwarded = read_forwarded(OUTLOOK)
    assert forwarded.asked == "Please send the annual review audit for 2023.\nService: Ofsted SEND inspections"
    assert (forwarded.head_of_service, forwarded.inspector, forwarded.explicit) == ("hos-send", "Jane Smith HMI", True)
    assert (forwarded.original_name, forwarded.original_address) == ("Jane Smith", "jane.smith@inspectors.example")


def test_gmail_and_plain_outlook_headers_are_recognised() -> None:
    """A Gmail "Forwarded message" and an Outlook "Original Message" header both end the note."""
    gmail = ("Service: hos-education\n\n---------- Forwarded message ---------\nFrom: lead@inspectors.example\n"
             "Date: Mon, 3 Jul 2023 at 09:41\nSubject: Evidence\nTo: <lano@demo-county.example>\n\nThe SEF, please.")
    forwarded = read_forwarded(gmail)
    assert (forwarded.asked, forwarded.head_of_service, forwarded.explicit) == ("The SEF, please.", "hos-education",
                                                                                False)
    assert (forwarded.original_name, forwarded.original_address) == ("", "lead@inspectors.example")
    plain = "-----Original Message-----\nFrom: A Inspector\nSent: 3 July 2023\n\nThe waiting list data."
    assert read_forwarded(plain).asked == "The waiting list data."


def test_without_a_header_the_whole_text_less_the_note_lines_is_the_request() -> None:
    """A message forwarded as an attachment (no header in its text) gives its own text as the request."""
    forwarded = read_forwarded("Inspector: Jane Smith\nThe inspector asks for the sufficiency plan.\n")
    assert (forwarded.asked, forwarded.inspector, forwarded.head_of_service) == (
        "The inspector asks for the sufficiency plan.", "Jane Smith", None)
    assert (forwarded.original_name, forwarded.original_address) == ("", "")


def test_forward_subjects_are_told_from_replies() -> None:
    """FW:, Fwd: and tagged forwards count; replies and plain subjects do not."""
    assert all(is_forward_subject(s) for s in ("FW: Evidence", "Fwd: Evidence", "[EXTERNAL] FW: Evidence", "fw:x"))
    assert not any(is_forward_subject(s) for s in ("RE: FW: Evidence", "Evidence for the FW: team", "Re: request"))
