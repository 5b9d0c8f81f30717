"""The live stack's config: the Demo County one, with quiet hours that hold nothing on the machine's clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from send_inspection.calendar import LONDON
from send_inspection.config.loader import calendar_for, default_config_dir, load_config
from send_inspection.engine.send_window import SendWindow
from tests.live.stack import _config_without_quiet_hours


def test_the_stack_sends_at_any_hour_of_any_day(tmp_path: Path) -> None:
    """Every hour of a Saturday and a weekday evening lets an ask go at once; the rest of the config is unchanged."""
    shipped = load_config(default_config_dir())
    config = load_config(_config_without_quiet_hours(tmp_path))
    window = SendWindow(config.timeline.chasing.quiet_hours, calendar_for(config))
    saturday, monday_evening = datetime(2030, 6, 22, tzinfo=LONDON), datetime(2030, 6, 24, 20, tzinfo=LONDON)
    for moment in [saturday + timedelta(minutes=30 * n) for n in range(48)] + [monday_evening]:
        assert window.may_send_at("action-ask", moment, moment + timedelta(days=3)) == moment
        assert window.may_send_at("phase_complete", moment) == moment
    assert config.model_copy(update={"timeline": shipped.timeline}) == shipped
    assert config.timeline.model_copy(update={"chasing": shipped.timeline.chasing}) == shipped.timeline
