"""One rendered email of each kind from a rehearsal, as a person receives it, for review and the golden tests.

A kind is the ledger's template name; an ask is also told apart by the phase it is for (an Annex A item, a tracked
case, an additional request, a debrief, the report), as each reads differently. The first email of each kind the
rehearsal sent is the sample: its headers, its plain text and its HTML, with the personal link's token replaced
(tokens are random), Bcc recipients counted and attachments named.
"""

from __future__ import annotations

import re
from pathlib import Path

from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.rehearsal.driver import RehearsalReport

_TOKEN = re.compile(r"/a/[A-Za-z0-9_-]+")
# The templates whose emails read differently for each phase they are sent for.
_BY_PHASE = ("action-ask",)


def sample_kind(template: str, key: str) -> str:
    """Return the kind an email is a sample of: its template, with the phase it is for if asks differ by phase."""
    if template not in _BY_PHASE:
        return template
    phase = key.split(":")[1] if key.count(":") > 1 else ""
    return f"{template}.{phase}"


def render_sample(outbox: Path, key: str, *, kind: str, at: str) -> str:
    """Return one email as text to review: headers, plain text and HTML, with the personal link masked."""
    view = read_outbox_message(outbox, outbox_id_for(key))
    lines = [
        f"Kind: {kind}",
        f"Sent: {at} (London)",
        f"From: {view.sender}",
        f"To: {', '.join(view.to)}",
        *([f"Cc: {', '.join(view.cc)}"] if view.cc else []),
        *([f"Bcc: {len(view.bcc)} recipients"] if view.bcc else []),
        f"Reply-To: {view.reply_to or ''}",
        f"Subject: {view.subject}",
        *([f"Attachments: {', '.join(f'{a.filename} ({a.content_type})' for a in view.attachments)}"]
          if view.attachments else []),
        "",
        "----- plain text -----",
        (view.text or "").replace("\r\n", "\n").rstrip("\n"),
        "----- HTML -----",
        (view.html or "").replace("\r\n", "\n").rstrip("\n"),
    ]
    return _TOKEN.sub("/a/<personal-link>", "\n".join(lines)) + "\n"


def email_samples(report: RehearsalReport, outbox: Path) -> dict[str, str]:
    """Return the first email of each kind the rehearsal sent, rendered for review, by kind."""
    samples: dict[str, str] = {}
    for email in report.emails:
        kind = sample_kind(email.template, email.key)
        if kind not in samples:
            samples[kind] = render_sample(outbox, email.key, kind=kind, at=email.at)
    return dict(sorted(samples.items()))


def write_samples(samples: dict[str, str], folder: Path) -> None:
    """Write each sample to `<folder>/<kind>.txt`, removing samples of kinds no longer sent."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        if old.stem not in samples:
            old.unlink()
    for kind, text in samples.items():
        (folder / f"{kind}.txt").write_text(text, encoding="utf-8")


def read_samples(folder: Path) -> dict[str, str]:
    """Return the reviewed samples in `folder`, by kind."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))}
