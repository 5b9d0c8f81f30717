"""Search the Prefect server's stores, or the product's own, for given strings: databases, files, logs, artifacts.

Children's names and dates of birth must never reach Prefect. Give this module the strings to look for
(each with a label that may be shown, such as a case id), and it reports every place one of them occurs,
naming the label and the place (table, column and row id; file; log record; artifact), never the string.
Nothing is unpickled: result files are searched as bytes, through any base64, compression or zip layers.

    python -m send_inspection.rehearsal.privacy_scan --needles-file needles.txt [--database-url URL]

scans an installation's Prefect stores (one name or yyyy-mm-dd date of birth a line; exit 1 if any is found);
with --ours, the product's own stores (its database, uploads, child-data folders, outbox, logs and record exports),
which after
the retention rules have run hold none of the children's names either.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bz2
import gzip
import io
import json
import logging
import lzma
import re
import sqlite3
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from send_inspection.childdata.names import date_forms, trie_pattern

_MIN_NEEDLE = 3  # shorter strings are everywhere; they would prove nothing
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{24,}={0,2}")
_MAX_DEPTH = 3  # layers of base64/compression/zip opened inside one another


@dataclass(frozen=True)
class Hit:
    """One occurrence of a needle: which store, where in it, and the needle's label (never the needle)."""

    store: str
    where: str
    label: str

    def __str__(self) -> str:
        return f"{self.store}: {self.where}: {self.label}"


@dataclass
class Scan:
    """What a scan found and how much it searched (e.g. rows per table, files, log records, artifacts)."""

    hits: list[Hit] = field(default_factory=list)
    scanned: Counter[str] = field(default_factory=Counter)

    def add(self, other: Scan) -> Scan:
        """Add another scan's hits and counts to this one and return it."""
        self.hits += other.hits
        self.scanned.update(other.scanned)
        return self

    def labels(self, store: str | None = None) -> set[str]:
        """Return the labels found (in one store, or in all)."""
        return {h.label for h in self.hits if store is None or h.store == store}


class Needles:
    """The strings to look for, each with the labels to report it by (two children may share a birthday)."""

    def __init__(self, labelled: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        """Take {needle: label} or (needle, label) pairs (matched ignoring case); refuse a needle too short."""
        pairs = labelled.items() if isinstance(labelled, Mapping) else labelled
        self.labels: dict[str, set[str]] = {}
        for needle, label in pairs:
            if len(needle.strip()) < _MIN_NEEDLE:
                raise ValueError(f"needle {label!r} is shorter than {_MIN_NEEDLE} characters")
            self.labels.setdefault(needle.lower(), set()).add(label)
        if not self.labels:
            raise ValueError("no needles to search for")
        # Lower-cased text is 7 times faster to search than IGNORECASE; the look-ahead finds overlapping needles.
        self._pattern = re.compile(f"(?=({trie_pattern(self.labels)}))")
        self._inside: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def find(self, text: str) -> set[str]:
        """Return the labels of the needles in `text`."""
        found: set[str] = set()
        for match in self._pattern.finditer(text.lower()):
            found |= self._labels_within(match.group(1))
        return found

    def find_bytes(self, data: bytes) -> set[str]:
        """Return the labels of the needles in `data` read as UTF-8 (undecodable bytes skipped)."""
        return self.find(data.decode("utf-8", errors="replace"))

    def _labels_within(self, matched: str) -> set[str]:
        """Return the labels of `matched` and of every shorter needle inside it (found once, then kept)."""
        if matched not in self._inside:
            self._inside[matched] = {label for needle, labels in self.labels.items() if needle in matched
                                     for label in labels}
        return self._inside[matched]


def child_needles(child_id: str, *, first_name: str, last_name: str, born: date) -> dict[str, str]:
    """Return one child's needles (names and every form of the date of birth), labelled by the case id."""
    needles = {first_name: f"{child_id} first name", last_name: f"{child_id} last name"}
    needles.update({form: f"{child_id} date of birth" for form in date_forms(born)})
    return needles


# --- the database -------------------------------------------------------------------------------------------


def sync_url(url: str) -> str:
    """Return a database URL usable without asyncio (the Prefect server's own uses aiosqlite or asyncpg)."""
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


def scan_database(url: str, needles: Needles, *, store: str = "database") -> Scan:
    """Search every column of every row of every table (and, for SQLite, the file's raw pages too)."""
    url = sync_url(url)
    path = _sqlite_path(url)
    scan = Scan()
    for table, rows in (_sqlite_tables(path) if path else _sqlalchemy_tables(url)):
        scan.scanned[f"{store}:{table}"] += 0
        for row_id, row in rows:
            scan.scanned[f"{store}:{table}"] += 1
            for column, value in row.items():
                for label in sorted(_labels_in_value(value, needles)):
                    scan.hits.append(Hit(store, f"{table}.{column} id={row_id}", label))
    if path:
        scan.add(_scan_sqlite_files(path, needles, store=store))
    return scan


Rows = Iterator[tuple[str, dict[str, object]]]


def _sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL (None for another database)."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?")[0])


def _sqlite_tables(path: Path) -> Iterator[tuple[str, Rows]]:
    """Yield each table of a SQLite file (read-only, values as stored) with its rows by primary key or rowid."""
    if not path.exists():
        raise ValueError(f"no SQLite database at {path}")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in db.execute("select name from sqlite_master where type = 'table' order by name")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            info = db.execute(f"pragma table_info({quoted})").fetchall()
            keys = [name for _, name, _, _, _, pk in sorted(info, key=lambda c: c[5]) if pk]
            yield table, _sqlite_rows(db, quoted, keys)
    finally:
        db.close()


def _sqlite_rows(db: sqlite3.Connection, quoted: str, keys: list[str]) -> Rows:
    cursor = db.execute(f"select * from {quoted}")
    columns = [d[0] for d in cursor.description]
    for number, values in enumerate(cursor, start=1):
        row = dict(zip(columns, values, strict=True))
        yield (",".join(str(row[k]) for k in keys) if keys else f"row {number}"), row


def _sqlalchemy_tables(url: str) -> Iterator[tuple[str, Rows]]:
    """Yield each table of another database (e.g. PostgreSQL) with its rows, streamed."""
    from sqlalchemy import MetaData, create_engine, select
    from sqlalchemy.exc import ArgumentError

    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise ValueError(f"{url!r} is not a database URL this scan can open ({exc})") from exc
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                keys = [c.name for c in table.primary_key.columns]
                result = conn.execution_options(stream_results=True).execute(select(table))
                yield table.name, ((",".join(str(r[k]) for k in keys) if keys else f"row {n}", dict(r))
                                   for n, r in enumerate(result.mappings(), start=1))
    finally:
        engine.dispose()


def _labels_in_value(value: object, needles: Needles) -> set[str]:
    """Return the labels in one column value: text (JSON decoded too), bytes, or anything printable."""
    if value is None or isinstance(value, bool | int | float):
        return set()
    if isinstance(value, bytes | bytearray | memoryview):
        return _labels_in_bytes(bytes(value), needles)
    if isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    text = value.isoformat() if isinstance(value, date) else str(value)
    found = _labels_in_bytes(text.encode("utf-8", errors="replace"), needles)
    if "\\u" in text and text[:1] in "{[\"":
        try:  # JSON keeps non-ASCII as \u escapes: search the decoded text as well
            found |= needles.find(json.dumps(json.loads(text), ensure_ascii=False))
        except ValueError:
            pass
    return found


def _scan_sqlite_files(path: Path, needles: Needles, *, store: str) -> Scan:
    """Search a SQLite file and its write-ahead log as raw bytes: deleted rows linger in free pages."""
    scan = Scan()
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            scan.scanned[f"{store}:raw files"] += 1
            scan.hits += [Hit(store, f"raw bytes of {file.name}", label) for label in sorted(_find_in_file(
                file, needles))]
    return scan


def _find_in_file(path: Path, needles: Needles, *, chunk: int = 1 << 24) -> set[str]:
    """Return the labels in a file read in chunks that overlap by the longest needle."""
    overlap = max(len(n.encode()) for n in needles.labels)
    found: set[str] = set()
    tail = b""
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            found |= needles.find_bytes(tail + block)
            tail = block[-overlap:]
    return found


# --- result storage -----------------------------------------------------------------------------------------


def scan_files(folder: Path, needles: Needles, *, store: str = "result storage") -> Scan:
    """Search every file under `folder` as bytes, opening base64, gzip/zlib/bz2/lzma and zip layers (no unpickling)."""
    scan = Scan()
    scan.scanned[f"{store}:files"] += 0
    if not folder.exists():
        return scan
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        scan.scanned[f"{store}:files"] += 1
        found = _labels_in_bytes(path.read_bytes(), needles)
        scan.hits += [Hit(store, str(path.relative_to(folder)), label) for label in sorted(found)]
    return scan


def _labels_in_bytes(data: bytes, needles: Needles) -> set[str]:
    """Return the labels in `data` and in its base64, compressed or zipped layers."""
    found: set[str] = set()
    for layer in _layers(data, depth=0):
        found |= needles.find_bytes(layer)
    return found


def _layers(data: bytes, *, depth: int) -> Iterator[bytes]:
    """Yield `data`, then what is inside it: decompressed, zip members, and the bytes of base64 runs."""
    yield data
    if depth >= _MAX_DEPTH:
        return
    inner = _unpacked(data)
    for part in inner:
        yield from _layers(part, depth=depth + 1)
    if inner:
        return
    for run in _BASE64_RUN.finditer(data):
        try:
            decoded = base64.b64decode(run.group(), validate=True)
        except (binascii.Error, ValueError):
            continue
        yield from _layers(decoded, depth=depth + 1)


def _unpacked(data: bytes) -> list[bytes]:
    """Return the contents of a gzip, zlib, bz2, lzma or zip blob (empty if it is none of them)."""
    openers = ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress),
               (b"]\x00\x00", lzma.decompress), (b"x", zlib.decompress))
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return [archive.read(name) for name in archive.namelist()]
        except (zipfile.BadZipFile, OSError):
            return []
    for magic, opener in openers:
        if data.startswith(magic):
            try:
                return [opener(data)]
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
                return []
    return []


# --- logs ---------------------------------------------------------------------------------------------------


class LogCapture(logging.Handler):
    """Keep every log record's text (message, exception and stack) to search later."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's logger name and full text."""
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not format is kept as given
            text = f"{record.msg!r} {record.args!r}"
        parts = [text, record.exc_text or "", record.stack_info or ""]
        if record.exc_info and not record.exc_text:
            parts.append(logging.Formatter().formatException(record.exc_info))
        self.records.append((record.name, "\n".join(parts)))


@contextmanager
def capture_logs(*loggers: str) -> Iterator[LogCapture]:
    """Capture every log record reaching the root logger; the named loggers log everything meanwhile."""
    capture = LogCapture()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in loggers}
    root.addHandler(capture)
    for name in loggers:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def scan_log_records(records: Sequence[tuple[str, str]], needles: Needles, *, store: str = "log records") -> Scan:
    """Search captured log records (logger name, text)."""
    scan = Scan()
    scan.scanned[f"{store}:records"] = len(records)
    for number, (name, text) in enumerate(records, start=1):
        scan.hits += [Hit(store, f"record {number} ({name})", label) for label in sorted(needles.find(text))]
    return scan


# --- artifacts through the API ------------------------------------------------------------------------------


def scan_artifacts(needles: Needles, *, store: str = "artifacts (API)", page: int = 200) -> Scan:
    """Search every artifact the Prefect API returns (key, description, data, metadata), page by page."""
    from prefect.client.orchestration import get_client

    scan = Scan()
    scan.scanned[f"{store}:artifacts"] += 0
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            batch = client.read_artifacts(limit=page, offset=offset)
            for artifact in batch:
                scan.scanned[f"{store}:artifacts"] += 1
                found = needles.find(artifact.model_dump_json())
                scan.hits += [Hit(store, f"artifact {artifact.key or artifact.id}", label) for label in sorted(found)]
            if len(batch) < page:
                return scan
            offset += page


# --- everything ---------------------------------------------------------------------------------------------


def flush_prefect() -> None:
    """Send the log records and events this process still holds to the Prefect server."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    EventsWorker.drain_all(at_exit=False)


def prefect_database_url() -> str:
    """Return the Prefect server's database URL from the current Prefect settings."""
    from prefect.settings import get_current_settings

    url = get_current_settings().server.database.connection_url
    if url is None:
        raise ValueError("PREFECT_SERVER_DATABASE_CONNECTION_URL is not set: give the database URL")
    return url.get_secret_value()


def prefect_storage() -> Path:
    """Return the folder Prefect writes persisted results to (PREFECT_LOCAL_STORAGE_PATH)."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().results.local_storage_path)


def scan_prefect(
    needles: Needles,
    *,
    database_url: str | None = None,
    storage: Path | None = None,
    log_records: Sequence[tuple[str, str]] = (),
    artifacts_api: bool = True,
) -> Scan:
    """Search the Prefect server's database, result storage, captured log records and artifacts."""
    scan = scan_database(database_url or prefect_database_url(), needles)
    scan.add(scan_files(storage or prefect_storage(), needles))
    scan.add(scan_log_records(log_records, needles))
    if artifacts_api:
        scan.add(scan_artifacts(needles))
    return scan


def scan_our_stores(
    needles: Needles,
    *,
    database_url: str,
    uploads: Path,
    outbox: Path | None = None,
    log_folder: Path | None = None,
    records: Path | None = None,
    log_records: Sequence[tuple[str, str]] = (),
) -> Scan:
    """Search the product's own stores: its database, the uploads (with each inspection's child-data folder), the
    outbox, the log files, the record exports and captured log records."""
    scan = scan_database(database_url, needles, store="our database")
    scan.add(scan_files(uploads, needles, store="uploads"))
    for child_data in sorted(uploads.glob("*/child-data")) if uploads.is_dir() else []:
        scan.add(scan_files(child_data, needles, store="child-data folder"))
    if outbox is not None:
        scan.add(scan_files(outbox, needles, store="outbox"))
    if log_folder is not None:
        scan.add(scan_files(log_folder, needles, store="log files"))
    if records is not None:
        scan.add(scan_files(records, needles, store="record exports"))
    scan.add(scan_log_records(log_records, needles, store="our log records"))
    return scan


@contextmanager
def logs_to_prefect(*loggers: str) -> Iterator[None]:
    """Send these loggers' records to the Prefect API, as production does (PREFECT_LOGGING_EXTRA_LOGGERS)."""
    from prefect.logging.handlers import APILogHandler

    handler = APILogHandler()
    for name in loggers:
        logging.getLogger(name).addHandler(handler)
    try:
        yield
    finally:
        for name in loggers:
            logging.getLogger(name).removeHandler(handler)


def read_needles(path: Path) -> Needles:
    """Read needles from a file, one a line (a yyyy-mm-dd date stands for all its forms); labels are line numbers."""
    labelled: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            forms = date_forms(date.fromisoformat(text)) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else [text]
        except ValueError as exc:
            raise ValueError(f"{path.name} line {number}: {exc}") from exc
        labelled += [(form, f"line {number}") for form in forms]
    try:
        return Needles(labelled)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Scan an installation's Prefect stores for the needles in a file; exit 1 if any is found."""
    parser = argparse.ArgumentParser(prog="python -m send_inspection.rehearsal.privacy_scan", description=main.__doc__)
    parser.add_argument("--needles-file", type=Path, required=True,
                        help="one name or date of birth (yyyy-mm-dd) a line; the file is never printed")
    parser.add_argument("--database-url", help="the Prefect server's database (default: from Prefect's settings)")
    parser.add_argument("--storage", type=Path, help="result storage folder (default: PREFECT_LOCAL_STORAGE_PATH)")
    parser.add_argument("--no-api", action="store_true", help="do not read artifacts through the Prefect API")
    parser.add_argument("--ours", action="store_true",
                        help="scan the product's own stores instead (its database, uploads, outbox, logs and record "
                             "exports, from the SEND_INSPECTION_* settings): after retention they hold none of the "
                             "needles")
    args = parser.parse_args(argv)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        needles = read_needles(args.needles_file)
        if args.ours:
            from send_inspection.retention.record import records_folder
            from send_inspection.settings import load_settings

            settings = load_settings()
            scan = scan_our_stores(needles, database_url=settings.database_url, uploads=settings.uploads_dir,
                                   outbox=settings.outbox_dir, log_folder=settings.home / "logs",
                                   records=records_folder(settings.uploads_dir))
        else:
            scan = scan_prefect(needles, database_url=args.database_url, storage=args.storage,
                                artifacts_api=not args.no_api)
    except (OSError, ValueError, SQLAlchemyError) as exc:
        print(exc, file=sys.stderr)
        return 2
    searched = Counter[str]()
    for key, count in scan.scanned.items():
        searched[key.split(":")[0]] += count
    print(f"{len(needles)} needles; searched " + ", ".join(f"{store}: {n}" for store, n in searched.items()))
    for hit in scan.hits:
        print(hit)
    print(f"{len(scan.hits)} hits")
    return 1 if scan.hits else 0


if __name__ == "__main__":
    sys.exit(main())
