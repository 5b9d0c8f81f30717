"""The product's real local stack for tests: a Prefect server, the worker, the web app and an SMTP server."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from send_inspection.checklist import CHECKLIST_IDS
from send_inspection.config.loader import default_config_dir
from send_inspection.mail.message import KEY_HEADER
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.rehearsal.staff import DATA_INPUT, HIDDEN, LINK  # what a person's browser would read
from tests.helpers import Collector, free_port

# The stack's short lease, Pending grace and mail retry delays, so the fault tests take seconds instead of minutes.
# Two leases of grace: a flow-run process here starts in seconds (a lease and more under the suite's load).
LEASE_SECONDS = 15
PENDING_GRACE_SECONDS = 30
MAIL_RETRY_DELAYS = "1,2,3"


class LiveMail(Collector):
    """The stack's SMTP server's handler: keeps what it accepts, can be slow, and can hold a message unanswered.

    `delay` seconds are taken over each message. While `hold(key)` is true for a message's ledger key the server
    keeps that message's data without answering: a client killed then never hears 250, and aiosmtpd cancels the
    handler, so the message is not kept (as a server does that never said 250). Set `hold` to None to answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self.hold: Callable[[str], bool] | None = None
        self.holding: str | None = None  # the key of the message held unanswered now
        # Each kept message by its ledger key, read once as it arrives: a test or bench polling what arrived among
        # thousands of messages must not parse them all again each time (it would starve the server's own thread).
        self.by_key: dict[str, list[Any]] = {}
        # When each key first arrived (time.monotonic()): a bench times the email itself, not its own polling.
        self.arrived: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        """Take `delay` seconds over the message, hold it while asked to, then keep it."""
        came = time.monotonic()  # the whole message is here
        if self.delay:
            await asyncio.sleep(self.delay)
        key = str(BytesHeaderParser().parsebytes(envelope.content)[KEY_HEADER])  # the headers only: cheap
        if self.hold is not None and self.hold(key):
            self.holding = key
            try:
                while self.hold is not None:
                    await asyncio.sleep(0.05)
            finally:
                self.holding = None
            came = time.monotonic()  # taken only now
        answer = await super().handle_DATA(server, session, envelope)
        self.by_key.setdefault(key, []).append(envelope)
        self.arrived.setdefault(key, came)
        return answer


@dataclass(frozen=True)
class Received:
    """One message the SMTP server accepted: its ledger key, recipients, subject and personal link."""

    key: str
    to: tuple[str, ...]
    subject: str
    token: str | None


def _received(envelope: Any) -> Received:
    message = message_from_bytes(envelope.content, policy=default_policy)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    found = LINK.search(body.get_content() if body is not None else "")
    return Received(key=str(message[KEY_HEADER]), to=tuple(envelope.rcpt_tos), subject=str(message["Subject"]),
                    token=found.group(1) if found else None)


@dataclass
class LiveStack:
    """Processes of the product started from its console script, with the environment they share."""

    root: Path
    env: dict[str, str]
    api_url: str
    web_url: str
    mail: LiveMail
    smtp_port: int
    outbox: Path | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    smtp: Controller | None = None
    browsers: threading.local = field(default_factory=threading.local, repr=False)  # an HTTP client per thread

    @property
    def auth(self) -> dict[str, str]:
        """Return the header that carries the Prefect API's auth string, when the stack's server has one."""
        secret = self.env.get("PREFECT_API_AUTH_STRING")
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()} if secret else {}

    @property
    def db_url(self) -> str:
        """Return the product database's URL."""
        return self.env["SEND_INSPECTION_DB_URL"]

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start a process in its own session (so a kill reaches its children), logging to root/<name>.log."""
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed when the process is reaped
        proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run `send-inspection <args>` to completion and return what it printed."""
        done = subprocess.run([sys.executable, "-m", "send_inspection.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"send-inspection {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def prefect(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> str:
        """Run the `prefect` command line against the stack's server and return what it printed."""
        done = subprocess.run([sys.executable, "-m", "prefect", *args], env=self.env, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def pool_workers(self) -> list[dict]:
        """Return the workers the server has heard from on the stack's work pool."""
        response = httpx.post(f"{self.api_url}/work_pools/{POOL}/workers/filter", json={}, timeout=10,
                              headers=self.auth)
        return response.json() if response.status_code == 200 else []

    def start_worker(self) -> None:
        """Start the worker that serves the phase deployments and the ticker."""
        seen = len(self.log("worker"))
        self.spawn("worker", [sys.executable, "-m", "send_inspection.cli", "worker"])
        self.wait_for(lambda: self.deployment_count() >= 12 and self.runner_polling(since=seen), seconds=90,
                      what="the worker's deployments")

    def start_server(self) -> float:
        """Start the Prefect server (on the stack's port and database); return the seconds until it answers."""
        port = self.api_url.rsplit(":", 1)[1].split("/")[0]
        self.spawn("prefect-server", [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                      "--port", port])
        return self.wait_for(lambda: httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200,
                             seconds=120, what="the Prefect server")

    def stop(self, name: str) -> None:
        """Stop a process and everything it started with SIGTERM, as a service manager would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def kill(self, name: str) -> None:
        """Kill a process and everything it started with SIGKILL, as a crash would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every process this stack started."""
        for name in list(self.procs)[::-1]:
            if self.procs[name].poll() is None:
                self.stop(name)
            else:
                self.procs.pop(name)

    def start_smtp(self) -> None:
        """Start the SMTP server on the stack's port."""
        self.smtp = Controller(self.mail, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()

    def stop_smtp(self) -> None:
        """Stop the SMTP server: connections to its port are refused until it starts again."""
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None

    def api(self, method: str, path: str, *, json: object = None, tries: int = 20) -> Any:
        """Call the Prefect API and return its JSON; a 503 (SQLite busy under load) is tried again, as Prefect does."""
        for _ in range(tries - 1):
            response = httpx.request(method, f"{self.api_url}{path}", json=json, timeout=10, headers=self.auth)
            if response.status_code != 503:
                break
            time.sleep(0.5)
        else:
            response = httpx.request(method, f"{self.api_url}{path}", json=json, timeout=10, headers=self.auth)
        response.raise_for_status()
        return response.json() if response.content else None

    def tick(self) -> dict:
        """Run the ticker now (as its every-minute schedule would) and return its finished flow run.

        One tick runs at a time: a tick made while a scheduled one runs stands down (says so in its log), so it is
        made again.
        """
        for _ in range(10):
            run = self.run_now("ticker")
            logs = self.api("POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run["id"]]}}})
            if not any(log["message"].startswith("this tick does nothing") for log in logs):
                break
            time.sleep(1)
        return run

    def start_run(self, flow: str, **parameters: object) -> str:
        """Make a run of a flow's deployment now (as its schedule, or the Prefect UI with `parameters`, would),
        without waiting for it; return its id."""
        deployment = self.api("GET", f"/deployments/name/{flow}/send-inspection")
        return self.api("POST", f"/deployments/{deployment['id']}/create_flow_run",
                        json={"parameters": parameters} if parameters else {})["id"]

    def run_now(self, flow: str) -> dict:
        """Run a flow's deployment now (as its schedule would) and return its finished flow run."""
        run_id = self.start_run(flow)
        last: dict = {}

        def finished() -> bool:
            try:
                last.update(self.flow_run(run_id))
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 404:
                    raise
                # Deleted: only a tick that completed with nothing to do is, by the next such tick's sweep.
                last.update(id=run_id, state={"type": "COMPLETED", "name": "Completed"}, swept=True)
            return last["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED")

        # A busy machine takes a minute or more to start a flow-run process (issue figures: 63 s p50 under load).
        self.wait_for(finished, seconds=240, what=f"the {flow} run")
        return last

    def log(self, name: str) -> str:
        """Return what a process has logged so far."""
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for(self, check: Callable[[], bool], *, seconds: float, what: str, every: float = 0.2) -> float:
        """Poll `check` until it holds; return the seconds it took, or fail naming `what` and the logs."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                if check():
                    return time.monotonic() - started
            except (httpx.HTTPError, OSError):
                pass
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.log(name)[-4000:]}"
            time.sleep(every)
        tails = "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in ("worker", "web"))
        raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}\n{tails}")

    # --- what the stack shows ---------------------------------------------------------------------------------

    def received(self) -> list[Received]:
        """Return every message the SMTP server accepted, in order."""
        return [_received(e) for e in list(self.mail.envelopes)]

    def received_keys(self) -> Counter[str]:
        """Count accepted messages by ledger key (a key seen twice is an email sent twice)."""
        return Counter({key: len(kept) for key, kept in list(self.mail.by_key.items())})

    def has_sent(self, key: str) -> bool:
        """Say whether the email with this ledger key has arrived (in the outbox or at the SMTP server)."""
        if self.outbox is not None:
            return (self.outbox / f"{outbox_id_for(key)}.eml").exists()
        return key in self.mail.by_key

    def token_for(self, key: str) -> str:
        """Return the personal link token in the email with this ledger key."""
        if self.outbox is not None:
            found = LINK.search(read_outbox_message(self.outbox, outbox_id_for(key)).text or "")
            assert found, f"no personal link in {key}"
            return found.group(1)
        token = self.message(key).token
        assert token, f"no personal link in {key}"
        return token

    def message(self, key: str) -> Received:
        """Return the accepted message with this ledger key."""
        found = self.mail.by_key.get(key)
        assert found, f"no email with key {key}; got {sorted(self.received_keys())}"
        return _received(found[0])

    def query(self, sql: str, **params: object) -> list[tuple]:
        """Run a read-only query on the product database."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()

    def phase(self, inspection_id: str, phase: str) -> tuple[str, str | None, int]:
        """Return a phase's status, flow run id and wake counter."""
        rows = self.query("select status, flow_run_id, wake_seq from phase_runs where inspection_id = :i "
                          "and phase = :p", i=inspection_id, p=phase)
        return rows[0] if rows else ("absent", None, 0)

    def phase_row(self, inspection_id: str, phase: str) -> dict[str, Any]:
        """Return every column of a phase's row."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                row = conn.execute(text("select * from phase_runs where inspection_id = :i and phase = :p"),
                                   {"i": inspection_id, "p": phase}).mappings().first()
                assert row is not None, f"no phase {phase} of {inspection_id}"
                return dict(row)
        finally:
            engine.dispose()

    def ledger(self, inspection_id: str) -> dict[str, str]:
        """Return the email ledger of an inspection: key to status."""
        return dict(self.query("select key, status from email_ledger where inspection_id = :i", i=inspection_id))

    def keys_of(self, inspection_id: str) -> Counter[str]:
        """Count accepted messages of one inspection by ledger key."""
        return Counter({k: n for k, n in self.received_keys().items() if k.startswith(f"{inspection_id}:")})

    def assert_sent_once(self, inspection_id: str, wanted: set[str]) -> None:
        """Assert that no email arrived twice, that every email the ledger marks sent arrived and every one that
        arrived is in the ledger, and that `wanted` arrived and are marked sent. Other phases may have emails in flight
        or waiting to be tried again meanwhile."""
        marked = {k for k, status in self.ledger(inspection_id).items() if status == "sent"}  # read before arrivals
        counts = self.keys_of(inspection_id)
        assert [k for k, n in counts.items() if n > 1] == []
        ledger = self.ledger(inspection_id)  # read after: every email is claimed in the ledger before it goes
        assert marked <= set(counts) <= set(ledger)
        assert wanted <= set(counts) and all(ledger[k] == "sent" for k in wanted)

    def flow_run(self, flow_run_id: str) -> dict:
        """Return a flow run as the Prefect API gives it."""
        return self.api("GET", f"/flow_runs/{flow_run_id}")

    def deployment_count(self) -> int:
        """Return how many deployments the Prefect server knows."""
        return len(self.api("POST", "/deployments/filter", json={}))

    def runner_polling(self, *, since: int = 0) -> bool:
        """Return whether the worker has said it is serving (in its log after offset `since`)."""
        return "trigger any of these deployments" in self.log("worker")[since:]

    def suspended_with(self, flow_run_id: str) -> str | None:
        """Return the pause key if the flow run is suspended, else None."""
        state = self.flow_run(flow_run_id)["state"]
        if state["type"] == "PAUSED":
            return state["state_details"].get("pause_key")
        return None

    # --- what staff do ----------------------------------------------------------------------------------------

    def answer(self, token: str, outcome: str, *, lists_as_of: date | None = None, **fields: object) -> httpx.Response:
        """Open a personal link like a person would, then press the button with `outcome`.

        A data item's lists are fictional children aged 0-25 on `lists_as_of` (the notification date).
        """
        return self.press(token, self.open_link(token), outcome, lists_as_of=lists_as_of, **fields)

    def open_link(self, token: str) -> httpx.Response:
        """Open a personal link as a person's browser would; return its page."""
        page = self._browser().get(f"{self.web_url}/a/{token}", timeout=10)
        assert page.status_code == 200, page.text[:500]
        return page

    def press(self, token: str, page: httpx.Response, outcome: str, *, lists_as_of: date | None = None,
              **fields: object) -> httpx.Response:
        """Press the button with `outcome` on a link's open page: post its form as the browser would."""
        data: dict[str, object] = dict(HIDDEN.findall(page.text))
        data["outcome"] = outcome
        files: dict[str, tuple[str, bytes]] = {}
        if data.get("step") == "submit" and outcome == "submitted":
            data.setdefault("check", list(CHECKLIST_IDS))  # the Evidence Quality Assurance Checklist, all ticked
            kinds = DATA_INPUT.findall(page.text)
            if kinds:  # a data item: upload fictional lists instead of a hyperlink
                assert lists_as_of is not None, "a data item needs lists_as_of"
                lists = self.fictional_lists(lists_as_of)
                files = {kind: (lists[kind].name, lists[kind].read_bytes()) for kind in kinds}
            else:
                data.setdefault("link_url", f"https://evidence.demo-county.example/{data['item_ref']}")
        data.update(fields)
        return self._browser().post(f"{self.web_url}/a/{token}", data=data, files=files or None, timeout=60)

    def _browser(self) -> httpx.Client:
        """Return this thread's HTTP client for the web app: kept, as a browser keeps its connection, instead of a
        new client (and its TLS set-up) for each request, which a bench's many threads would pay for in CPU."""
        client = getattr(self.browsers, "client", None)
        if client is None:
            client = self.browsers.client = httpx.Client()
        return client

    def fictional_lists(self, as_of: date) -> dict[str, Path]:
        """Return fictional Demo County child-level data lists for a notification on `as_of`."""
        from send_inspection.childdata.columns import load_child_data_config
        from send_inspection.childdata.synthetic import generate

        folder = self.root / f"fictional-lists-{as_of.isoformat()}"
        return dict(generate(folder, children=300, seed=3, as_of=as_of,
                             config=load_child_data_config(default_config_dir())))


def _config_without_quiet_hours(root: Path) -> Path:
    """Return a copy of the Demo County config whose quiet hours hold nothing, for a stack on the real clock.

    The live stack runs on the machine's clock, so with the partnership's quiet hours a run at 20:00 or on a
    Saturday would hold every email until 07:30 on the next working day. The quiet hours are tested on a virtual
    clock (tests/engine/test_send_window.py, the rehearsals); here `start` equal to `end` means none in the day.
    """
    folder = root / "config"
    shutil.copytree(default_config_dir(), folder)
    timeline = folder / "timeline.yaml"
    data = yaml.safe_load(timeline.read_text(encoding="utf-8"))
    data["chasing"]["quiet_hours"].update(start="00:00", end="00:00", non_working_days=False)
    timeline.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder


def _stack(root: Path, *, mail: str, product_db: str | None = None, prefect_db: str | None = None,
           auth_string: str | None = None, env: dict[str, str] | None = None) -> LiveStack:
    """Return a stack's settings on free loopback ports (nothing started yet); with `auth_string` the Prefect server
    requires it, and every process of the stack is given it; `env` adds or overrides settings."""
    root.mkdir(parents=True, exist_ok=True)
    smtp_port, api_port, web_port = free_port(), free_port(), free_port()
    home = root / "home"
    extra = env or {}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SEND_INSPECTION_"))},
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        # The tests restart the worker, which replaces the ticker's future runs: schedule them again within seconds.
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "10",
        "SEND_INSPECTION_HOME": str(home),
        "SEND_INSPECTION_CONFIG": str(_config_without_quiet_hours(root)),
        "SEND_INSPECTION_DB_URL": product_db or f"sqlite:///{home / 'send_inspection.db'}",
        "SEND_INSPECTION_MAIL": mail,
        "SEND_INSPECTION_SMTP_HOST": "127.0.0.1",
        "SEND_INSPECTION_SMTP_PORT": str(smtp_port),
        "SEND_INSPECTION_WEB_PORT": str(web_port),
        "SEND_INSPECTION_PHASE_LEASE": str(LEASE_SECONDS),
        "SEND_INSPECTION_PENDING_GRACE": str(PENDING_GRACE_SECONDS),
        "SEND_INSPECTION_MAIL_RETRY_DELAYS": MAIL_RETRY_DELAYS,
    }
    env.update(extra)
    if prefect_db:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = env["PREFECT_API_AUTH_STRING"] = auth_string
    return LiveStack(root=root, env=env, api_url=env["PREFECT_API_URL"], web_url=f"http://127.0.0.1:{web_port}",
                     mail=LiveMail(), smtp_port=smtp_port, outbox=home / "outbox" if mail == "outbox" else None)


def start_stack(root: Path, *, mail: str = "smtp", env: dict[str, str] | None = None) -> LiveStack:
    """Start an SMTP server, a Prefect server on SQLite, the web app and the worker, all on free ports.

    With mail="outbox" the product writes to its local outbox instead of the SMTP server; with mail="graph", `env`
    holds the SEND_INSPECTION_GRAPH_* settings of the Graph endpoint to use.
    """
    stack = _stack(root, mail=mail, env=env)
    return _start(stack, workers=stack.start_worker)


POOL = "send-inspection"


def start_pool_stack(root: Path, *, product_db: str, prefect_db: str, workers: int = 2) -> LiveStack:
    """Start the production shape: Prefect server and product on PostgreSQL, `prefect deploy --all`, N pool workers,
    the Prefect API behind its auth string (the workers, the web app and the command line configured with it).

    scripts/pool.sh sets the pool's concurrency limit, deploys the project's prefect.yaml and starts each worker as a
    separate `prefect worker start --pool send-inspection` process, started again if it exits.
    """
    stack = _stack(root, mail="smtp", product_db=product_db, prefect_db=prefect_db,
                   auth_string=f"operator:{secrets.token_urlsafe(24)}")
    project = Path(__file__).resolve().parents[2]

    def pool_workers() -> None:
        # As an operator starts it: the pool with its concurrency limit, prefect.yaml deployed, supervised workers.
        stack.env.update(SEND_INSPECTION_WORKERS=str(workers), SEND_INSPECTION_POOL=POOL)
        stack.spawn("pool", ["bash", str(project / "scripts" / "pool.sh")])
        stack.wait_for(lambda: len(stack.pool_workers()) >= workers, seconds=180, what="the pool's workers")

    return _start(stack, workers=pool_workers)


def _start(stack: LiveStack, *, workers: Callable[[], None]) -> LiveStack:
    """Start SMTP, the Prefect server, the schema, the web app and then `workers`; stop them all on a failure."""
    stack.start_smtp()
    try:
        stack.start_server()
        stack.cli("migrate")
        stack.spawn("web", [sys.executable, "-m", "send_inspection.cli", "web"])  # starts while the workers do
        workers()
        stack.wait_for(lambda: httpx.get(f"{stack.web_url}/healthz", timeout=2).status_code == 200, seconds=60,
                       what="the web app")
    except BaseException:
        stop_stack(stack)
        raise
    return stack


def stop_stack(stack: LiveStack) -> None:
    """Stop every process of the stack and the SMTP server."""
    stack.stop_all()
    stack.stop_smtp()
