"""Measure what a zip-bomb .docx costs the product, and whether other people's pages wait while a document is checked.

Writes two Word packages once (not timed): the bomb (about 200 KiB, its document.xml expanding to 200 MiB of one
letter) and a long but honest document (about 13 MB, 80 MiB of text from a vocabulary: under every bound). Then:

- in a fresh child process each, `store_upload` and `check_document` on each package: seconds and how much the
  process's peak resident set grew (ru_maxrss after, less before);
- the web app served by uvicorn in a child process of its own (SQLite, the outbox, the demo inspection open):
  while each package is uploaded on the sign-off page, /healthz is asked every 10 ms; the answers' latencies
  and the growth of the web process's peak resident set (VmHWM) are reported.

    .venv/bin/python bench/document_bomb.py            # about a minute
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402

MIB = 1024 * 1024
TODAY = date(2023, 6, 26)
VOCABULARY = ("the partnership children young people families plans reviews health care education settings "
              "support needs assessment timeliness quality outcomes leaders local area inspection evidence "
              "annual review transition school college provision joint commissioning waiting times").split()


def write_packages(folder: Path) -> dict[str, Path]:
    """Write the bomb and the long document; return them by name."""
    import random

    from tests.security.documents import word_package

    words = random.Random(1)
    prose = " ".join(words.choice(VOCABULARY) for _ in range(40_000)).encode()
    return {"bomb": word_package(folder / "bomb" / "Self evaluation.docx", expanded=200 * MIB),
            "long": word_package(folder / "long" / "Self evaluation.docx", expanded=80 * MIB, text=prose)}


def measure_in_process(path: Path) -> dict[str, object]:
    """Store and check one package in this process; return seconds and the peak-RSS growth of each step."""
    from send_inspection.evidence.document_checks import check_document
    from send_inspection.files.storage import UploadRefused, store_upload

    data = path.read_bytes()
    result: dict[str, object] = {}
    before, started = _peak_self(), time.perf_counter()
    try:
        store_upload(path.parent / "stored", path.name, data)
        result["store_upload"] = "stored"
    except UploadRefused as exc:
        result["store_upload"] = f"refused: {exc}"
    result["store_upload_s"] = round(time.perf_counter() - started, 3)
    result["store_upload_rss_growth_mib"] = _peak_self() - before
    before, started = _peak_self(), time.perf_counter()
    report = check_document(path, today=TODAY)
    result["check_document_s"] = round(time.perf_counter() - started, 3)
    result["check_document_rss_growth_mib"] = _peak_self() - before
    result["check_document_notes"] = report.notes
    return result


def _peak_self() -> int:
    """Return this process's peak resident set so far, in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def serve(folder: Path, port: int) -> None:
    """Open the demo inspection on SQLite and serve the web app; print the evidence lead's token and form first."""
    import uvicorn
    from sqlalchemy import select

    from send_inspection.calendar import LONDON
    from send_inspection.clock import VirtualClock
    from send_inspection.config.loader import calendar_for, default_config_dir, load_config
    from send_inspection.db import models as m
    from send_inspection.db.session import migrate
    from send_inspection.engine.annex_a import reconcile_annex_a
    from send_inspection.engine.context import EngineContext
    from send_inspection.engine.inspection import open_inspection
    from send_inspection.engine.phase_rows import ensure_phase
    from send_inspection.mail.outbox import OutboxTransport
    from send_inspection.tokens import mint_token
    from send_inspection.web.app import create_app

    notified = datetime(2023, 6, 26, 9, 0, tzinfo=LONDON)
    config = load_config(default_config_dir())
    url = f"sqlite:///{folder / 'engine.db'}"
    migrate(url)
    ctx = EngineContext(config=config, calendar=calendar_for(config), db_url=url, clock=VirtualClock(notified),
                        transport=OutboxTransport(folder / "outbox"), base_url=f"http://127.0.0.1:{port}",
                        uploads_dir=folder / "uploads", check_links=False)
    iid = open_inspection(ctx, notified, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    reconcile_annex_a(ctx, iid, "day2")
    tokens = []
    with ctx.session() as session:
        for ref in ("1.1", "1.2", "1.3"):  # the bomb, the long document, the warm-up
            item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == iid,
                                                                m.RegisterItem.ref == ref)).one()
            raw = mint_token(session, iid, item.evidence_lead, item_id=item.id, step="submit", round_no=1,
                             now=notified, expires_at=notified + timedelta(days=30))
            tokens.append({"token": raw, "item_ref": ref})
        session.commit()
    print(json.dumps(tokens), flush=True)
    uvicorn.run(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")


def _hwm_mib(pid: int) -> tuple[float, float]:
    """Return a process's resident set now and its peak so far (VmRSS, VmHWM), in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _probe(url: str, latencies: list[float], done: threading.Event) -> None:
    """Ask `url` every 10 ms until `done`, keeping each answer's latency in seconds."""
    import httpx

    with httpx.Client(timeout=30) as client:
        while not done.is_set():
            started = time.perf_counter()
            client.get(url)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)


def _latencies_while(url: str, work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Do `work` while `url` is asked every 10 ms; return its result and the answers' latencies."""
    latencies: list[float] = []
    done = threading.Event()
    prober = threading.Thread(target=_probe, args=(url, latencies, done))
    prober.start()
    time.sleep(0.2)
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    time.sleep(0.2)
    done.set()
    prober.join()
    ordered = sorted(latencies)
    return result, {"work_s": round(seconds, 3), "healthz_asked": len(ordered),
                    "healthz_p50_ms": round(statistics.median(ordered) * 1000, 1),
                    "healthz_p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
                    "healthz_max_ms": round(ordered[-1] * 1000, 1)}


def measure_live(folder: Path, packages: dict[str, Path]) -> dict[str, object]:
    """Upload each package to the served app while /healthz is asked every 10 ms; return what was seen."""
    import httpx

    from tests.helpers import free_port

    port = free_port()
    app = subprocess.Popen([sys.executable, __file__, "--serve", str(folder / "app"), str(port)],
                           stdout=subprocess.PIPE, text=True)
    try:
        tokens = json.loads(app.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        # One refused upload first, so that what is measured is not the app's first form, template or import.
        warm = tokens.pop()
        httpx.post(f"{base}/a/{warm['token']}", timeout=30, files={"file": ("warm-up.docx", b"MZ not a document")},
                   data={"item_ref": warm["item_ref"], "step": "submit", "round": "1", "outcome": "submitted"})
        results: dict[str, object] = {"idle": _latencies_while(f"{base}/healthz", lambda: time.sleep(3))[1]}
        for (name, path), token in zip(packages.items(), tokens, strict=True):
            rss_before, _ = _hwm_mib(app.pid)
            answer, seen = _latencies_while(f"{base}/healthz", lambda path=path, token=token: httpx.post(
                f"{base}/a/{token['token']}", timeout=120, files={"file": (path.name, path.read_bytes())},
                data={"item_ref": token["item_ref"], "step": "submit", "round": "1", "outcome": "submitted"}))
            _, hwm_after = _hwm_mib(app.pid)
            results[name] = {"upload_status": answer.status_code, **seen,
                             "web_process_peak_growth_mib": round(hwm_after - rss_before, 1)}
        return results
    finally:
        app.terminate()
        app.wait(10)


def main() -> int:
    """Write the packages, measure them in child processes and on the served app, and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child: store and check one package
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)      # child: serve the web app
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_in_process(args.measure)))
        return 0
    if args.serve:
        folder = Path(args.serve[0])
        folder.mkdir(parents=True, exist_ok=True)
        serve(folder, int(args.serve[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="send-inspection-bomb-") as tmp:
        folder = Path(tmp)
        packages = write_packages(folder)
        sizes = {name: {"package_kib": round(p.stat().st_size / 1024, 1)} for name, p in packages.items()}
        in_process = {name: json.loads(subprocess.run([sys.executable, __file__, "--measure", str(path)],
                                                      capture_output=True, text=True, check=True).stdout)
                      for name, path in packages.items()}
        live = measure_live(folder, packages)
    print(json.dumps({"machine": machine("fastapi", "uvicorn", "defusedxml"), "packages": sizes,
                      "in_process": in_process, "live": live}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
