"""Send one message to very large recipient lists: batches in Bcc, spread over mailboxes within Exchange's limits.

A county's SEND families can be 40,000 addresses. Exchange Online lets one mailbox put at most 500 recipients on a
message (To, Cc and Bcc together), send 30 messages a minute and reach 10,000 recipients in any rolling 24 hours.
`plan_distribution` splits a list (or several lists, each with its own message, planned together because they share
the mailboxes' limits) into batches of up to 500 addresses, all in Bcc with no visible To recipient, so nobody
sees anybody else's address and every recipient slot reaches someone; it deals them round-robin to the mailboxes,
taking the lists in turn, and gives each batch the earliest time it may go; the plan says when the last one goes
and whether that is before the survey closes. Given the partnership's quiet hours (`allowed`), no batch is timed
inside them: a list too large for one day goes on the next morning, and the plan says so.
`send_distribution` sends the batches in order through the email ledger, one ledger row per batch (`batch_key`):
a list's first batch is keyed as the list itself, so a list that fits in one message keeps the key it always had,
and batch n > 1 adds `:batch:<n>`. A run stopped by a passing failure, or ended to wait for a batch's time,
resumes where it stopped and never sends a batch twice. A process that dies between the server accepting a batch
and the ledger marking it sent leaves a claim: the ledger sends that one batch again once the claim is stale
(STALE_CLAIM), as for every other email.
What it reports (the plan's text, the progress, why a run stopped) holds counts and the sending mailboxes only:
an error quoting the recipients of a batch has their addresses replaced by their number (`without_addresses`).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.clock import Clock
from send_inspection.db.models import EmailRecord
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.message import OutgoingMessage, is_sendable_address
from send_inspection.mail.transport import MailTransport, MailTransportError

# When a message due at a moment may go (the partnership's quiet hours): that moment, or a later one.
Allowed = Callable[[datetime], datetime]

DAY = timedelta(hours=24)
MINUTE = timedelta(minutes=1)
_ADDRESS = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_ADDRESS_RUN = re.compile(rf"{_ADDRESS}(?:\s*[,;]\s*{_ADDRESS})*")


@dataclass(frozen=True)
class DistributionLimits:
    """How much one mailbox may send; the defaults are Exchange Online's published sending limits."""

    # Recipients on one message, To + Cc + Bcc together: a batch puts this many addresses in Bcc and nobody in To.
    max_recipients_per_message: int = 500
    # Messages one mailbox may send in a minute; batches of a mailbox go at least 60 s / this apart.
    messages_per_minute: int = 30
    # Recipients one mailbox may reach in any rolling 24 hours.
    recipients_per_day: int = 10_000

    def __post_init__(self) -> None:
        if self.max_recipients_per_message < 1:
            raise ValueError("max_recipients_per_message: must be at least 1")
        if self.messages_per_minute < 1:
            raise ValueError("messages_per_minute: must be at least 1")
        if self.recipients_per_day < self.max_recipients_per_message:
            raise ValueError("recipients_per_day: must be at least max_recipients_per_message, "
                             "or no full message could ever be sent")

    @property
    def batch_size(self) -> int:
        """Return the most addresses one batch puts in Bcc: all of a message's recipients."""
        return self.max_recipients_per_message

    @property
    def spacing(self) -> timedelta:
        """Return the shortest time between two messages of one mailbox."""
        return MINUTE / self.messages_per_minute


EXCHANGE_ONLINE = DistributionLimits()


@dataclass(frozen=True)
class Batch:
    """One message of a distribution: its place in the plan (from 1), mailbox, Bcc recipients and earliest time.

    In a plan of several lists, `part` names the batch's list and `part_number` its number within that list.
    """

    number: int
    mailbox: str
    recipients: tuple[str, ...]
    earliest: datetime
    part: str = ""
    part_number: int = 0

    def __post_init__(self) -> None:
        if not self.part_number:
            object.__setattr__(self, "part_number", self.number)

    @property
    def recipient_count(self) -> int:
        """Return the recipients the message counts against the mailbox's limits: its Bcc, as nobody is in To."""
        return len(self.recipients)


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


def _may_go(window: _Window, not_before: datetime, recipients: int, allowed: Allowed | None) -> datetime:
    """Return the first moment from `not_before` the mailbox's limits and the allowed hours both let a message go."""
    at = window.earliest(not_before, recipients)
    while allowed is not None and (later := allowed(at)) > at:
        at = window.earliest(later, recipients)
    return at


def _schedule(sizes: Sequence[int], mailboxes: Sequence[str], *, limits: DistributionLimits,
              start: datetime, allowed: Allowed | None = None) -> list[tuple[str, datetime]]:
    """Deal messages of the given Bcc sizes round-robin to `mailboxes`; return each one's mailbox and earliest time."""
    windows = [_Window(limits) for _ in mailboxes]
    slots: list[tuple[str, datetime]] = []
    for index, size in enumerate(sizes):
        which = index % len(mailboxes)
        at = _may_go(windows[which], start, size, allowed)
        windows[which].record(at, size)
        slots.append((mailboxes[which], at))
    return slots


def _london(moment: datetime) -> str:
    return to_london(moment).strftime("%a %d %b %H:%M") + " (London)"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "es" if word.endswith(("x", "s")) else "s")


def without_addresses(text: str, *, keep: Iterable[str] = ()) -> str:
    """Return `text` with each run of email addresses replaced by how many there were (the `keep` ones stay)."""
    kept = {address.casefold() for address in keep}

    def count(found: re.Match[str]) -> str:
        run = found.group(0)
        if run.casefold() in kept:
            return run
        return _plural(len(re.findall(_ADDRESS, run)), "address")

    return _ADDRESS_RUN.sub(count, text)


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
    # The lists of a plan of several, in order; empty for a plan of one list.
    parts: tuple[str, ...] = ()
    # When a batch may go, beyond the mailboxes' limits (the quiet hours); None: at any time.
    allowed: Allowed | None = field(default=None, compare=False, repr=False)

    @property
    def recipients(self) -> int:
        """Return how many distinct, sendable addresses the plan reaches (in each list)."""
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
        return max((batch.earliest for batch in self.batches), default=self.start)

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

    def part_batches(self, part: str) -> list[Batch]:
        """Return the batches of one list of the plan."""
        return [batch for batch in self.batches if batch.part == part]

    def describe(self) -> str:
        """Return the plan as the short text an operator reads: size, mailboxes, finish, and OK or a WARNING."""
        used = len(self.mailboxes_used)
        head = (f"{self.recipients:,} recipients → {_plural(self.messages, 'message')} of "
                f"≤{self.limits.max_recipients_per_message} recipients (all in Bcc, nobody in To) from "
                f"{_plural(used, 'mailbox')}; finishes {_london(self.finish)}")
        if self.deadline is None:
            line = f"{head}; no closing time given: OK"
        elif self.fits:
            line = f"{head}; survey closes {_london(self.deadline)}: OK"
        else:
            line = f"{head}\n{self.warning}"
        for part in self.parts:
            batches = self.part_batches(part)
            reached = sum(len(batch.recipients) for batch in batches)
            last = f", the last {_london(max(b.earliest for b in batches))}" if batches else ""
            line += f"\n- {part}: {reached:,} recipients in {_plural(len(batches), 'message')}{last}"
        left_out = []
        if self.repeats:
            left_out.append(f"{_plural(self.repeats, 'repeated address')} sent once")
        if self.invalid:
            left_out.append(f"{_plural(len(self.invalid), 'address')} that cannot be sent to left out")
        if left_out:
            line += f"\n({self.given:,} given: " + "; ".join(left_out) + ")"
        return line


def _interleave(parts: Sequence[Sequence[tuple[str, ...]]]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Order the lists' chunks in turns (first chunk of each list, then the second...): (list, number, chunk)."""
    order: list[tuple[int, int, tuple[str, ...]]] = []
    for number in range(1, max((len(chunks) for chunks in parts), default=0) + 1):
        order += [(which, number, chunks[number - 1]) for which, chunks in enumerate(parts) if len(chunks) >= number]
    return order


def plan_distribution(
    recipients: Iterable[str] | Mapping[str, Iterable[str]],
    *,
    mailboxes: Sequence[str],
    limits: DistributionLimits = EXCHANGE_ONLINE,
    start: datetime,
    deadline: datetime | None = None,
    allowed: Allowed | None = None,
) -> DistributionPlan:
    """Split `recipients` into Bcc batches dealt round-robin to `mailboxes`, each timed to stay within `limits`.

    Given a mapping of list names to addresses, each list gets batches of its own (a person on two lists is in a
    batch of each), and the lists take turns, so a small list is not kept waiting behind a large one. With
    `allowed` (the quiet hours), no batch is timed before the moment it says.
    """
    if start.tzinfo is None or (deadline is not None and deadline.tzinfo is None):
        raise ValueError("start and deadline: must be timezone-aware")
    boxes, bad_boxes, _ = unique_recipients(mailboxes)
    if bad_boxes:
        raise ValueError(f"mailboxes: {bad_boxes[0]!r} is not an email address")
    if not boxes:
        raise ValueError("mailboxes: at least one mailbox is needed to send from")
    lists = dict(recipients) if isinstance(recipients, Mapping) else {"": recipients}
    given = repeats = 0
    invalid: list[str] = []
    chunked: list[list[tuple[str, ...]]] = []
    size = limits.batch_size
    for addresses in lists.values():
        listed = list(addresses)
        kept, bad, repeated = unique_recipients(listed)
        given, repeats = given + len(listed), repeats + repeated
        invalid += bad
        chunked.append([kept[i:i + size] for i in range(0, len(kept), size)])
    order = _interleave(chunked)
    sizes = [len(chunk) for _, _, chunk in order]
    slots = _schedule(sizes, boxes, limits=limits, start=start, allowed=allowed)
    names = list(lists)
    batches = tuple(
        Batch(number=n, mailbox=mailbox, recipients=chunk, earliest=at, part=names[which], part_number=number)
        for n, ((which, number, chunk), (mailbox, at)) in enumerate(zip(order, slots, strict=True), start=1)
    )
    needed: int | None = None
    finish = max((batch.earliest for batch in batches), default=start)
    if deadline is not None and finish > deadline and deadline > start:
        # More mailboxes than messages cannot help; the names do not matter for the timing.
        for count in range(len(boxes) + 1, len(sizes) + 1):
            if max(at for _, at in _schedule(sizes, [str(i) for i in range(count)], limits=limits,
                                              start=start, allowed=allowed)) <= deadline:
                needed = count
                break
    return DistributionPlan(batches=batches, mailboxes=boxes, limits=limits, start=start, deadline=deadline,
                            given=given, repeats=repeats, invalid=tuple(invalid), mailboxes_needed=needed,
                            parts=tuple(name for name in names if name), allowed=allowed)


def batch_key(key: str, batch: Batch) -> str:
    """Return the idempotency key of `batch` of the distribution `key`: its list's key, plus ':batch:<n>' after 1."""
    base = f"{key}:{batch.part}" if batch.part else key
    return base if batch.part_number == 1 else f"{base}:batch:{batch.part_number}"


def distribution_rows(session: Session, key: str) -> dict[str, EmailRecord]:
    """Return the ledger rows of the distribution `key` (every batch tried so far), by key."""
    query = select(EmailRecord).where(or_(EmailRecord.key == key, EmailRecord.key.startswith(f"{key}:",
                                                                                              autoescape=True)))
    return {row.key: row for row in session.scalars(query)}


def started_at(sessions: Callable[[], Session], key: str) -> datetime | None:
    """Return when the distribution `key` started (its first batch's planned time), or None if nothing was tried.

    A plan made again from this time has the same batches and times, so each pass of a phase that re-plans keeps
    the first plan's schedule instead of starting it over.
    """
    with sessions() as session:
        due = [row.due_at for row in distribution_rows(session, key).values() if row.due_at is not None]
    return min(due, default=None)


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
    # Whether to look again in a few minutes (a failure that may pass, a batch another run holds), not at next_at.
    retry: bool = False
    # Whether a mail failure that may pass stopped it (`stopped` says which, with no address in it).
    failed: bool = False
    # When the next batch left may go, if the run stopped to wait for it.
    next_at: datetime | None = None

    def note_sent(self, batch: Batch) -> None:
        """Count `batch` as sent."""
        self.sent.append(batch.number)
        self.sent_recipients += len(batch.recipients)

    def note_refused(self, batch: Batch, error: str) -> None:
        """Count `batch` as refused for good, saying why (with no address in `error`)."""
        self.refused[batch.number] = error
        self.refused_recipients += len(batch.recipients)

    def note_left(self, batch: Batch) -> None:
        """Count `batch` as still to send."""
        self.left.append(batch.number)
        self.left_recipients += len(batch.recipients)

    @property
    def finished(self) -> bool:
        """Say whether every batch has been either sent or refused."""
        return not self.left

    @property
    def done(self) -> int:
        """Return how many batches have been sent or refused."""
        return len(self.sent) + len(self.refused)

    def line(self) -> str:
        """Return the progress in one line of counts: messages and recipients sent of the total, refused, next."""
        text = (f"{len(self.sent):,} of {_plural(self.messages, 'message')} sent, {self.sent_recipients:,} of "
                f"{self.recipients:,} recipients reached")
        if self.refused:
            text += f"; {len(self.refused):,} refused ({self.refused_recipients:,} recipients)"
        if self.next_at is not None:
            text += f"; next batch {_london(self.next_at)}"
        return text

    def markdown(self, plan: DistributionPlan | None = None) -> str:
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
        if plan is not None and plan.parts:
            sent = set(self.sent)
            lines += ["", "| list | messages sent | recipients reached |", "|---|---:|---:|"]
            for part in plan.parts:
                batches = plan.part_batches(part)
                done = [b for b in batches if b.number in sent]
                lines.append(f"| {part} | {len(done):,} of {len(batches):,} | "
                             f"{sum(len(b.recipients) for b in done):,} of "
                             f"{sum(len(b.recipients) for b in batches):,} |")
        if self.refused:
            lines += ["", "Refused (a person must correct the list or the mailbox, then send these again):"]
            lines += [f"- batch {n}: {error}" for n, error in sorted(self.refused.items())]
        if self.stopped:
            lines += ["", f"Stopped: {self.stopped}"]
        if self.next_at is not None:
            lines += [f"Next batch may go {_london(self.next_at)}."]
        return "\n".join(lines)


def read_progress(plan: DistributionPlan, *, key: str, sessions: Callable[[], Session]) -> DistributionProgress:
    """Return where the distribution `key` of `plan` stands, from the ledger alone (nothing is sent)."""
    progress = DistributionProgress(messages=plan.messages, recipients=plan.recipients)
    with sessions() as session:
        rows = distribution_rows(session, key)
    for batch in plan.batches:
        row = rows.get(batch_key(key, batch))
        if row is not None and row.status == "sent":
            progress.note_sent(batch)
        elif row is not None and row.status == "refused":
            progress.note_refused(batch, without_addresses(row.error or "refused", keep=plan.mailboxes))
        else:
            progress.note_left(batch)
    return progress


class DistributionChangedError(ValueError):
    """A batch already sent holds other recipients than the plan's batch of the same number: the list changed."""


def _row_recipients_match(row: EmailRecord, batch: Batch) -> bool:
    recorded = {r.casefold() for r in row.recipients}
    if not recorded:
        return True
    # A batch sent by an earlier version carried its mailbox in To: that one is not a recipient of the list.
    mailbox = batch.mailbox.casefold()
    return recorded - {mailbox} == {r.casefold() for r in batch.recipients} - {mailbox}


def _check_addressing(message: OutgoingMessage, batch: Batch, key: str) -> None:
    """Refuse a built message that is not addressed as the batch says: that could show families each other."""
    problems = []
    if message.key != key:
        problems.append(f"key {message.key!r} is not {key!r}")
    if message.sender.casefold() != batch.mailbox.casefold():
        problems.append(f"sender {message.sender} is not the batch's mailbox {batch.mailbox}")
    if message.to or message.cc:
        problems.append("To and Cc must be empty (every recipient in Bcc)")
    if message.bcc != batch.recipients:
        problems.append("Bcc must be exactly the batch's recipients")
    if problems:
        raise ValueError(f"batch {batch.number}: the message is not addressed as planned: " + "; ".join(problems))


def wait_on(clock: Clock) -> Callable[[float], None]:
    """Return how to wait some seconds on `clock`: move a virtual clock on, or sleep for the system clock."""
    advance = getattr(clock, "advance", None)
    if callable(advance):
        return lambda seconds: advance(timedelta(seconds=seconds))
    return time.sleep


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
    on_batch: Callable[[DistributionProgress], None] | None = None,
) -> DistributionProgress:
    """Send the plan's batches in order through the email ledger, waiting for each one's time; resume safely.

    Each batch is one `MailLedger.send_once` under `batch_key(key, batch)`: a batch sent or refused before is
    skipped. A retryable failure stops the run (call again later); a permanent refusal is recorded and the rest go
    on. `message_for_batch(batch, batch_key)` builds the message: from the batch's mailbox, nobody in To or Cc,
    Bcc the batch's recipients (checked before sending). With `wait_at_most`, a batch whose time is further off
    stops the run instead of sleeping, and the progress says when to come back (`next_at`). `on_batch` is given
    the progress after each batch sent or refused in this run.
    """
    progress = DistributionProgress(messages=plan.messages, recipients=plan.recipients)
    with sessions() as session:
        rows = distribution_rows(session, key)
    keep = plan.mailboxes
    # What each mailbox sent of this distribution before (a resumed run): its limits still count it.
    windows: dict[str, _Window] = {}

    def window(mailbox: str) -> _Window:
        return windows.setdefault(mailbox.casefold(), _Window(plan.limits))

    def leave(batch: Batch, why: str | None = None) -> None:
        progress.note_left(batch)
        if why is not None:
            progress.stopped = why

    def refuse(batch: Batch, error: str) -> None:
        progress.note_refused(batch, without_addresses(error, keep=keep))

    for batch in plan.batches:
        row = rows.get(batch_key(key, batch))
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
        this_key = batch_key(key, batch)
        row = rows.get(this_key)
        if row is not None and row.status == "sent":
            progress.note_sent(batch)
            continue
        if row is not None and row.status == "refused":
            refuse(batch, row.error or "refused")
            continue
        if progress.stopped:
            leave(batch)
            continue
        due = _may_go(window(batch.mailbox), max(batch.earliest, clock.now()), batch.recipient_count, plan.allowed)
        if wait_at_most is not None and due - clock.now() > wait_at_most:
            progress.next_at = due
            leave(batch, f"batch {batch.number} may not go before {_london(due)}")
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
            went = ledger.send_once(this_key, build, inspection_id=inspection_id, template=template, now=now,
                                    due_at=batch.earliest)
        except MailTransportError as exc:
            if exc.retryable:
                progress.retry = progress.failed = True
                leave(batch, f"batch {batch.number}: {without_addresses(str(exc), keep=keep)}")
                continue
            refuse(batch, str(exc))
            window(batch.mailbox).record(now, batch.recipient_count)
            if on_batch is not None:
                on_batch(progress)
            continue
        if not went:
            # send_once found the key claimed moments ago by another run, which is sending it now.
            with sessions() as session:
                status = session.scalar(select(EmailRecord.status).where(EmailRecord.key == this_key))
            if status == "sent":
                progress.note_sent(batch)
            elif status == "refused":
                refuse(batch, "refused")
            else:
                progress.retry = True
                leave(batch, f"batch {batch.number} is being sent by another run")
            continue
        window(batch.mailbox).record(now, batch.recipient_count)
        progress.note_sent(batch)
        progress.sent_now.append(batch.number)
        if on_batch is not None:
            on_batch(progress)
    return progress
