"""Everything the engine needs to act, wired in one place: config, database, clock, mail, links."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from send_inspection.calendar import WorkingCalendar
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.clock import Clock
from send_inspection.config.models import PartnershipConfig
from send_inspection.db.session import engine_for
from send_inspection.engine.mail_retry import MailRetry
from send_inspection.engine.send_window import SendWindow
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.render import MailRenderer
from send_inspection.mail.transport import MailTransport


@dataclass
class EngineContext:
    """The engine's adapters: handed to every engine function instead of globals."""

    config: PartnershipConfig
    calendar: WorkingCalendar
    db_url: str
    clock: Clock
    transport: MailTransport
    base_url: str
    uploads_dir: Path
    renderer: MailRenderer = field(default_factory=MailRenderer)
    # How the partnership's child-level data exports are laid out (child_data.yaml), if it has one.
    child_data: ChildDataConfig | None = None
    # Whether the links in submitted evidence are tried over the network (off in rehearsals and most tests).
    check_links: bool = True
    # When emails that failed in a way that may pass are tried again (live: SEND_INSPECTION_MAIL_RETRY_DELAYS).
    mail_retry: MailRetry = field(default_factory=MailRetry)

    def __post_init__(self) -> None:
        self._factory = sessionmaker(engine_for(self.db_url), expire_on_commit=False)
        # Every email waits for the quiet hours to end unless it is urgent or cannot wait (timeline.yaml).
        self.send_window = SendWindow(self.config.timeline.chasing.quiet_hours, self.calendar)
        self.ledger = MailLedger(self._factory, self.transport, send_window=self.send_window.may_send_at)

    def session(self) -> Session:
        """Open a new database session (use it as a context manager; commit yourself)."""
        return self._factory()
