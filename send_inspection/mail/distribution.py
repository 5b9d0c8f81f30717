"""Send one message to a very large recipient list: batches in Bcc, spread over mailboxes within Exchange's limits.

A county's SEND families can be 40,000 addresses. Exchange Online lets one mailbox put at most 500 recipients on a
message (To, Cc and Bcc together), send 30 messages a minute and reach 10,000 recipients in any rolling 24 hours.
`plan_distribution` splits the list into batches (each batch in Bcc, the sending mailbox itself in To, so nobody
sees anybody else's address), deals them round-robin to the mailboxes and gives each batch the earliest time it
may go; the plan says when the last one goes and whether that is before the survey closes.
`send_distribution` sends the batches in order through the email ledger, one ledger row per batch under the key
`<base key>:batch:<n>`, so a run stopped by a passing failure resumes where it stopped and never sends a batch
twice. A process that dies between the server accepting a batch and the ledger marking it sent leaves a claim:
the ledger sends that one batch again once the claim is stale (STALE_CLAIM), as for every other email.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.clock import Clock
from send_inspection.db.models import EmailRecord
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.message import OutgoingMessage, is_sendable_address
from send_inspection.mail.transport import MailTransport, MailTransportError

DAY = timedelta(hours=24)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class DistributionLimits:
    """How much one mailbox may send; the defaults are Exchange Online's published sending limits."""

    # Recipients on one message, To + Cc + Bcc together: a batch is one fewer, the mailbox itself being in To.
    max_recipients_per_message: int = 500
    # Messages one mailbox may send in a minute; batches of a mailbox go at least 60 s / this apart.
    messages_per_minute: int = 30
    # Recipients one mailbox may reach in any rolling 24 hours (the To counts too).
    recipients_per_day: int = 10_000

    def __post_init__(self) -> None:
        if self.max_recipients_per_message < 2:
            raise ValueError("max_recipients_per_message: must be at least 2 (the mailbox in To and one in Bcc)")
        if self.messages_per_minute < 1:
            raise ValueError("messages_per_minute: must be at least 1")
        if self.recipients_per_day < self.max_recipients_per_message:
            raise ValueError("recipients_per_day: must be at least max_recipients_per_message, "
                             "or no full message could ever be sent")

    @property
    def batch_size(self) -> int:
        """Return the most addresses one batch puts in Bcc (one recipient slot goes to the mailbox in To)."""
        return self.max_recipients_per_message - 1

    @property
    def spacing(self) -> timedelta:
        """Return the shortest time between two messages of one mailbox."""
        return MINUTE / self.messages_per_minute


EXCHANGE_ONLINE = DistributionLimits()


@dataclass(frozen=True)
class Batch:
    """One message of a distribution: its number (from 1), mailbox, Bcc recipients and earliest send time."""

    number: int
    mailbox: str
    recipients: tuple[str, ...]
    earliest: datetime

    @property
    def recipient_count(self) -> int:
        """Return the recipients the message counts against the mailbox's limits: the Bcc and the mailbox in To."""
        return len(self.recipients) + 1


class _Window:
    """What one mailbox has sent: enough to say when it may next send a message to n recipients."""

    def __init__(self, limits: DistributionLimits) -> None:
        self.limits = limits
        self.last: datetime | None = None
        # (sent at, recipients) of the messages still inside the rolling 24 hours, oldest first.
        self.day: deque[tuple[datetime, int]] = deque()
        self.in_day = 0

    def record(self, at: datetime, recipients: int) -> None:
        """Note a message to `recipients` sent at `at` (calls may come out of order when seeded from the ledger)."""
        self.last = at if self.last is None else max(self.last, at)
        if self.day and at < self.day[-1][0]:
            self.day = deque(sorted([*self.day, (at, recipients)]))
        else:
            self.day.append((at, recipients))
        self.in_day += recipients

    def earliest(self, not_before: datetime, recipients: int) -> datetime:
        """Return the first moment from `not_before` at which a message to `recipients` stays within the limits."""
        at = not_before
        if self.last is not None:
            at = max(at, self.last + self.limits.spacing)
        while True:
            # A message sent at s counts while s > at - 24 h: it stops counting at s + 24 h exactly.
            while self.day and self.day[0][0] <= at - DAY:
                self.in_day -= self.day.popleft()[1]
            if self.in_day + recipients <= self.limits.recipients_per_day:
                return at
            at = self.day[0][0] + DAY


def unique_recipients(recipients: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """Return the sendable addresses (first spelling kept, case-insensitive, in order), the unsendable, the repeats."""
    seen: set[str] = set()
    kept: list[str] = []
    invalid: list[str] = []
    repeats = 0
    for raw in recipients:
        address = raw.strip()
        folded = address.casefold()
        if folded in seen:
            repeats += 1
            continue
        seen.add(folded)
        (kept if is_sendable_address(address) else invalid).append(address)
    return tuple(kept), tuple(invalid), repeats


def _schedule(sizes: Sequence[int], mailboxes: Sequence[str], *, limits: DistributionLimits,
              start: datetime) -> list[tuple[str, datetime]]:
    """Deal messages of the given Bcc sizes round-robin to `mailboxes`; return each one's mailbox and earliest time."""
    windows = [_Window(limits) for _ in mailboxes]
    slots: list[tuple[str, datetime]] = []
    for index, size in enumerate(sizes):
        which = index % len(mailboxes)
        at = windows[which].earliest(start, size + 1)
        windows[which].record(at, size + 1)
        slots.append((mailboxes[which], at))
    return slots


def _london(moment: datetime) -> str:
    return to_london(moment).strftime("%a %d %b %H:%M") + " (London)"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "es" if word.endswith(("x", "s")) else "s")


@dataclass(frozen=True)
class DistributionPlan:
    """The batches of one distribution, when the last one goes, and whether that is before the deadline."""

    batches: tuple[Batch, ...]
    mailboxes: tuple[str, ...]
    limits: DistributionLimits
    start: datetime
    deadline: datetime | None
    given: int
    repeats: int
    invalid: tuple[str, ...]
    # Fewest mailboxes that would finish before the deadline (None: it fits already, or no number would).
    mailboxes_needed: int | None = None

    @property
    def recipients(self) -> int:
        """Return how many distinct, sendable addresses the plan reaches."""
        return sum(len(batch.recipients) for batch in self.batches)

    @property
    def messages(self) -> int:
        """Return how many messages (batches) the plan sends."""
        return len(self.batches)

    @property
    def mailboxes_used(self) -> tuple[str, ...]:
        """Return the mailboxes that send at least one batch."""
        return self.mailboxes[: min(len(self.mailboxes), len(self.batches))]

    @property
    def finish(self) -> datetime:
        """Return the earliest time of the last batch (the start when there is nothing to send)."""
        return self.batches[-1].earliest if self.batches else self.start

    @property
    def fits(self) -> bool:
        """Say whether the last batch may go no later than the deadline (always, without a deadline)."""
        return self.deadline is None or self.finish <= self.deadline

    @property
    def warning(self) -> str | None:
        """Return the operator's warning when the plan cannot finish before the deadline, else None."""
        if self.fits or self.deadline is None:
            return None
        if self.mailboxes_needed is not None:
            remedy = f"{self.mailboxes_needed} mailboxes would finish in time"
        elif self.deadline <= self.start:
            remedy = "it closes before the first batch may go"
        else:
            remedy = "no number of mailboxes finishes in time with these limits"
        return (f"WARNING: the last batch goes {_london(self.finish)}, after the survey closes "
                f"{_london(self.deadline)}; {remedy}")

    def describe(self) -> str:
        """Return the plan as the short text an operator reads: size, mailboxes, finish, and OK or a WARNING."""
        used = len(self.mailboxes_used)
        head = (f"{self.recipients:,} recipients → {_plural(self.messages, 'message')} of "
                f"≤{self.limits.max_recipients_per_message} (up to {self.limits.batch_size} in Bcc, the mailbox in "
                f"To) from {_plural(used, 'mailbox')}; finishes {_london(self.finish)}")
        if self.deadline is None:
            line = f"{head}; no closing time given: OK"
        elif self.fits:
            line = f"{head}; survey closes {_london(self.deadline)}: OK"
        else:
            line = f"{head}\n{self.warning}"
        left_out = []
        if self.repeats:
            left_out.append(f"{_plural(self.repeats, 'repeated address')} sent once")
        if self.invalid:
            shown = ", ".join(self.invalid[:3]) + (", …" if len(self.invalid) > 3 else "")
            left_out.append(f"{_plural(len(self.invalid), 'address')} that cannot be sent to left out ({shown})")
        if left_out:
            line += f"\n({self.given:,} given: " + "; ".join(left_out) + ")"
        return line


def plan_distribution(
    recipients: Iterable[str],
    *,
    mailboxes: Sequence[str],
    limits: DistributionLimits = EXCHANGE_ONLINE,
    start: datetime,
    deadline: datetime | None = None,
) -> DistributionPlan:
    """Split `recipients` into Bcc batches dealt round-robin to `mailboxes`, each timed to stay within `limits`."""
    if start.tzinfo is None or (deadline is not None and deadline.tzinfo is None):
        raise ValueError("start and deadline: must be timezone-aware")
    boxes, bad_boxes, _ = unique_recipients(mailboxes)
    if bad_boxes:
        raise ValueError(f"mailboxes: {bad_boxes[0]!r} is not an email address")
    if not boxes:
        raise ValueError("mailboxes: at least one mailbox is needed to send from")
    given = list(recipients)
    kept, invalid, repeats = unique_recipients(given)
    size = limits.batch_size
    chunks = [kept[i:i + size] for i in range(0, len(kept), size)]
    sizes = [len(chunk) for chunk in chunks]
    slots = _schedule(sizes, boxes, limits=limits, start=start)
    batches = tuple(
        Batch(number=n, mailbox=mailbox, recipients=chunk, earliest=at)
        for n, (chunk, (mailbox, at)) in enumerate(zip(chunks, slots, strict=True), start=1)
    )
    needed: int | None = None
    if deadline is not None and batches and batches[-1].earliest > deadline and deadline > start:
        # More mailboxes than messages cannot help; the names do not matter for the timing.
        for count in range(len(boxes) + 1, len(chunks) + 1):
            if _schedule(sizes, [str(i) for i in range(count)], limits=limits, start=start)[-1][1] <= deadline:
                needed = count
                break
    return DistributionPlan(batches=batches, mailboxes=boxes, limits=limits, start=start, deadline=deadline,
                            given=len(given), repeats=repeats, invalid=invalid, mailboxes_needed=needed)


def batch_key(key: str, number: int) -> str:
    """Return the idempotency key of batch `number` of the distribution `key`."""
    return f"{key}:batch:{number}"


@dataclass
class DistributionProgress:
    """Where a distribution stands after a run: batches and recipients sent, refused and left, and why it stopped."""

    messages: int
    recipients: int
    sent: list[int] = field(default_factory=list)
    sent_now: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    left: list[int] = field(default_factory=list)
    sent_recipients: int = 0
    refused_recipients: int = 0
    left_recipients: int = 0
    # Why the run stopped before the end (a passing failure, a batch another run is sending, a long wait).
    stopped: str | None = None
    # When the next batch left may go, if the run stopped before it.
    next_at: datetime | None = None

    @property
    def finished(self) -> bool:
        """Say whether every batch has been either sent or refused."""
        return not self.left

    def markdown(self) -> str:
        """Return the progress as a short Markdown report for a Prefect artifact (counts only, no addresses)."""
        rows = [
            "| | messages | recipients |",
            "|---|---:|---:|",
            f"| sent | {len(self.sent):,} | {self.sent_recipients:,} |",
            f"| refused | {len(self.refused):,} | {self.refused_recipients:,} |",
            f"| left | {len(self.left):,} | {self.left_recipients:,} |",
            f"| **total** | {self.messages:,} | {self.recipients:,} |",
        ]
        lines = [f"Sent {len(self.sent_now):,} messages in this run.", "", *rows]
        if self.refused:
            lines += ["", "Refused (a person must correct the list or the mailbox, then send these again):"]
            lines += [f"- batch {n}: {error}" for n, error in sorted(self.refused.items())]
        if self.stopped:
            lines += ["", f"Stopped: {self.stopped}"]
        if self.next_at is not None:
            lines += [f"Next batch may go {_london(self.next_at)}."]
        return "\n".join(lines)


class DistributionChangedError(ValueError):
    """A batch already sent holds other recipients than the plan's batch of the same number: the list changed."""


def _row_recipients_match(row: EmailRecord, batch: Batch) -> bool:
    recorded = [r.casefold() for r in row.recipients]
    if not recorded:
        return True
    to = recorded[0]
    return set(recorded) - {to} == {r.casefold() for r in batch.recipients} - {to}


def _check_addressing(message: OutgoingMessage, batch: Batch, key: str) -> None:
    """Refuse a built message that is not addressed as the batch says: that could show families each other."""
    problems = []
    if message.key != key:
        problems.append(f"key {message.key!r} is not {key!r}")
    if message.sender.casefold() != batch.mailbox.casefold():
        problems.append(f"sender {message.sender} is not the batch's mailbox {batch.mailbox}")
    if [a.casefold() for a in message.to] != [batch.mailbox.casefold()] or message.cc:
        problems.append("To must be the sending mailbox alone, and Cc empty")
    if message.bcc != batch.recipients:
        problems.append("Bcc must be exactly the batch's recipients")
    if problems:
        raise ValueError(f"batch {batch.number}: the message is not addressed as planned: " + "; ".join(problems))


def send_distribution(
    plan: DistributionPlan,
    *,
    key: str,
    inspection_id: str,
    template: str,
    message_for_batch: Callable[[Batch, str], OutgoingMessage],
    transport_for_mailbox: Callable[[str], MailTransport],
    sessions: Callable[[], Session],
    clock: Clock,
    sleep: Callable[[float], None],
    wait_at_most: timedelta | None = None,
) -> DistributionProgress:
    """Send the plan's batches in order through the email ledger, waiting for each one's time; resume safely.

    Each batch is one `MailLedger.send_once` under `<key>:batch:<n>`: a batch sent or refused before is skipped.
    A retryable failure stops the run (call again later); a permanent refusal is recorded and the rest go on.
    `message_for_batch(batch, batch_key)` builds the message: from the batch's mailbox, To that mailbox alone,
    Bcc the batch's recipients (checked before sending). With `wait_at_most`, a batch whose time is further off
    stops the run instead of sleeping, and the progress says when to come back (`next_at`).
    """
    progress = DistributionProgress(messages=plan.messages, recipients=plan.recipients)
    prefix = f"{key}:batch:"
    with sessions() as session:
        rows = {row.key: row for row in session.scalars(select(EmailRecord).where(EmailRecord.key.startswith(prefix)))}
    # What each mailbox sent of this distribution before (a resumed run): its limits still count it.
    windows: dict[str, _Window] = {}

    def window(mailbox: str) -> _Window:
        return windows.setdefault(mailbox.casefold(), _Window(plan.limits))

    for batch in plan.batches:
        row = rows.get(batch_key(key, batch.number))
        if row is None or row.status not in ("sent", "refused"):
            continue
        if row.status == "sent" and not _row_recipients_match(row, batch):
            raise DistributionChangedError(
                f"batch {batch.number} of {key} was sent to other recipients than this plan's batch {batch.number}: "
                "the list changed after sending started, so resuming could send some people a second copy and "
                "miss others. Send the addresses not yet reached under a new key."
            )
        window(batch.mailbox).record(row.sent_at or row.claimed_at, batch.recipient_count)

    ledgers: dict[int, MailLedger] = {}
    for batch in plan.batches:
        this_key = batch_key(key, batch.number)
        row = rows.get(this_key)
        if row is not None and row.status == "sent":
            progress.sent.append(batch.number)
            progress.sent_recipients += len(batch.recipients)
            continue
        if row is not None and row.status == "refused":
            progress.refused[batch.number] = row.error or "refused"
            progress.refused_recipients += len(batch.recipients)
            continue
        if progress.stopped:
            progress.left.append(batch.number)
            progress.left_recipients += len(batch.recipients)
            continue
        due = window(batch.mailbox).earliest(max(batch.earliest, clock.now()), batch.recipient_count)
        if wait_at_most is not None and due - clock.now() > wait_at_most:
            progress.stopped = f"batch {batch.number} may not go before {_london(due)}"
            progress.next_at = due
            progress.left.append(batch.number)
            progress.left_recipients += len(batch.recipients)
            continue
        while (now := clock.now()) < due:
            sleep((due - now).total_seconds())
        transport = transport_for_mailbox(batch.mailbox)
        ledger = ledgers.setdefault(id(transport), MailLedger(sessions, transport))

        def build(batch: Batch = batch, this_key: str = this_key) -> OutgoingMessage:
            message = message_for_batch(batch, this_key)
            _check_addressing(message, batch, this_key)
            return message

        now = clock.now()
        try:
            sent = ledger.send_once(this_key, build, inspection_id=inspection_id, template=template, now=now,
                                    due_at=batch.earliest)
        except MailTransportError as exc:
            if exc.retryable:
                progress.stopped = f"batch {batch.number}: {exc}"
                progress.left.append(batch.number)
                progress.left_recipients += len(batch.recipients)
                continue
            progress.refused[batch.number] = str(exc)
            progress.refused_recipients += len(batch.recipients)
            window(batch.mailbox).record(now, batch.recipient_count)
            continue
        if not sent:
            # send_once found the key claimed moments ago by another run, which is sending it now.
            with sessions() as session:
                status = session.scalar(select(EmailRecord.status).where(EmailRecord.key == this_key))
            if status == "sent":
                progress.sent.append(batch.number)
                progress.sent_recipients += len(batch.recipients)
            elif status == "refused":
                progress.refused[batch.number] = "refused"
                progress.refused_recipients += len(batch.recipients)
            else:
                progress.stopped = f"batch {batch.number} is being sent by another run"
                progress.left.append(batch.number)
                progress.left_recipients += len(batch.recipients)
            continue
        window(batch.mailbox).record(now, batch.recipient_count)
        progress.sent.append(batch.number)
        progress.sent_now.append(batch.number)
        progress.sent_recipients += len(batch.recipients)
    return progress
