"""Task that shows operators, on the phase's run, the emails a pass could not send."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from send_inspection.catalogue.phases import artifact_key
from send_inspection.engine.mail_problems import mail_problem
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown


@task(name="mail-problem", cache_policy=NO_CACHE, persist_result=False)
def mail_problem_task(inspection_id: str, phase: str, failures: list[str], retry_at: datetime | None) -> State:
    """End failed, named "Mail problem" (may pass) or "Mail refused", saying what did not go and what happens next."""
    problem = mail_problem(current_runtime().context, inspection_id, phase, failures)
    message = problem.message(retry_at=retry_at)
    get_run_logger().error("%s", message)
    publish_markdown(artifact_key(inspection_id, phase, "mail"), problem.markdown(retry_at=retry_at),
                     description="Emails this phase could not send, and when they are tried again", every_time=True)
    return Failed(name=problem.state_name, message=message)
