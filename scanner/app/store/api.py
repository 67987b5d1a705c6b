"""The store's API, typed at its edge: scanner.model's Observation and Result go in and come out.

Only the control side writes here (a zone worker sends its facts back through the broker).

A duplicate delivery of an observation is ignored: INSERT … ON CONFLICT DO NOTHING, the first
observation stored under (scan, host, collector, vantage) stays. Redelivery (acks_late) means
the order facts arrive in is not the order they were seen in, so "the last one wins" would only
mean "the last to arrive"; and a fact the control side has judged or checkpointed never changes
under the results stored beside it. `put_observation` says whether it stored anything.

Results are verdicts worked out from the stored facts, so judging again replaces them
(ON CONFLICT DO UPDATE): the latest judgement of a scan is its judgement.

PostgreSQL's text and JSONB cannot hold the character U+0000, which a hostile target can put in
a banner or a command's output: it is stored as U+FFFD, the replacement character the scanner
already writes for bytes it cannot decode, rather than losing the whole fact.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from scanner.app.store.errors import DatabaseUnreachable, UnknownScan, UrlInvalid
from scanner.app.store.tables import ObservationRow, ResultRow, Scan, ScanState
from scanner.model import Frozen, Message, Observation, Result, utcnow

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK = 0x7265_6479  # pg_advisory_xact_lock key: one control process migrates at a time
FOREIGN_KEY_VIOLATION = "23503"
DRIVER = "postgresql+psycopg"


class ScanRecord(Frozen):
    id: uuid.UUID
    started: datetime
    ended: datetime | None
    inventory_digest: str
    state: ScanState


def normalized_url(url: str):
    """The URL as SQLAlchemy reads it, with psycopg 3 as the driver (`postgresql://` and
    `postgres://` name it too); anything else is refused without echoing it (it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UrlInvalid() from None
    if parsed.drivername in ("postgresql", "postgres", DRIVER):
        return parsed.set(drivername=DRIVER)
    raise UrlInvalid()


def _pg_safe(value: Any) -> Any:
    """`value` with U+0000 replaced in every string and key (PostgreSQL text cannot hold it)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_pg_safe(k): _pg_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pg_safe(v) for v in value]
    return value


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _result_row(scan_id: uuid.UUID, vantage: str, result: Result) -> dict[str, Any]:
    fields = _pg_safe(result.model_dump(mode="json"))
    message = fields["message"] or {"key": None, "params": {}}
    return {"scan_id": scan_id, "vantage": _pg_safe(vantage), "host": fields["host"], "check_id": fields["check_id"],
            "target": fields["target"], "status": result.status, "severity": result.severity,
            "survey_items": fields["survey_items"], "message_key": message["key"], "params": message["params"],
            "evidence": fields["evidence"], "waiver": fields["waiver"]}


class Store:
    """One PostgreSQL database; `Store(url)` connects only when first used."""

    def __init__(self, url: str, *, connect_timeout: int = CONNECT_TIMEOUT_S) -> None:
        parsed = normalized_url(url)
        self.safe_url = parsed.render_as_string(hide_password=True)
        # Times come back in UTC whatever the server's zone, so a stored fact reads back as it was.
        self._engine = create_engine(parsed, pool_pre_ping=True,
                                     connect_args={"connect_timeout": connect_timeout, "options": "-c TimeZone=UTC"})

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed at the end; a database that cannot be reached
        is DatabaseUnreachable (one line, URL without password), not SQLAlchemy's traceback."""
        try:
            conn = self._engine.connect()
        except OperationalError as exc:
            raise DatabaseUnreachable(url=self.safe_url, reason=_first_line(exc.orig or exc)) from None
        with conn, conn.begin():
            yield conn

    def ping(self) -> None:
        with self._transaction() as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Bring the schema to the newest migration (a no-op when it is there already)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._transaction() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def begin_scan(self, inventory_digest: str, started: datetime | None = None,
                   scan_id: uuid.UUID | None = None) -> uuid.UUID:
        scan_id = scan_id or uuid.uuid4()
        with self._transaction() as conn:
            conn.execute(insert(Scan).values(id=scan_id, started=started or utcnow(), ended=None,
                                             inventory_digest=inventory_digest, state=ScanState.RUNNING))
        return scan_id

    def end_scan(self, scan_id: uuid.UUID, state: ScanState, ended: datetime | None = None) -> None:
        with self._transaction() as conn:
            done = conn.execute(update(Scan).where(Scan.id == scan_id).values(state=state, ended=ended or utcnow()))
            if done.rowcount == 0:
                raise UnknownScan(scan=str(scan_id))

    def scan(self, scan_id: uuid.UUID) -> ScanRecord:
        with self._transaction() as conn:
            row = conn.execute(select(Scan.__table__).where(Scan.id == scan_id)).mappings().first()
        if row is None:
            raise UnknownScan(scan=str(scan_id))
        return ScanRecord.model_validate(dict(row))

    @contextmanager
    def _of_scan(self, scan_id: uuid.UUID) -> Iterator[Connection]:
        """A transaction that writes rows of `scan_id`: a scan the store does not hold is UnknownScan."""
        try:
            with self._transaction() as conn:
                yield conn
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION:
                raise UnknownScan(scan=str(scan_id)) from None
            raise

    def put_observation(self, scan_id: uuid.UUID, host: str, vantage: str, observation: Observation) -> bool:
        """Store one collector's facts about `host` seen from `vantage`; False when facts under the
        same key were stored already (a duplicate delivery), which are kept (see the module's doc)."""
        fields = _pg_safe(observation.model_dump(mode="json"))
        row = {**fields, "outcome": observation.outcome, "started": observation.started,
               "ended": observation.ended, "scan_id": scan_id, "host": _pg_safe(host), "vantage": _pg_safe(vantage)}
        with self._of_scan(scan_id) as conn:
            stored = conn.execute(insert(ObservationRow).values(row).on_conflict_do_nothing()
                                  .returning(ObservationRow.host))
            return stored.first() is not None

    def observations(self, scan_id: uuid.UUID) -> dict[str, dict[tuple[str, str], Observation]]:
        """host → (collector, vantage) → the stored observation."""
        table = ObservationRow.__table__
        out: dict[str, dict[tuple[str, str], Observation]] = {}
        with self._transaction() as conn:
            rows = conn.execute(select(table).where(table.c.scan_id == scan_id)
                                .order_by(table.c.host, table.c.collector, table.c.vantage)).mappings()
            for row in rows:
                out.setdefault(row["host"], {})[(row["collector"], row["vantage"])] = Observation(
                    collector=row["collector"], outcome=row["outcome"], detail=row["detail"],
                    started=row["started"], ended=row["ended"], data=row["data"])
        return out

    def answered(self, scan_id: uuid.UUID) -> set[tuple[str, str, str]]:
        """(host, collector, vantage) of every observation stored for the scan: the keys alone, for
        a control side that polls while the zones answer (the facts are read once, at the end)."""
        table = ObservationRow.__table__
        with self._transaction() as conn:
            rows = conn.execute(select(table.c.host, table.c.collector, table.c.vantage)
                                .where(table.c.scan_id == scan_id))
            return {(row.host, row.collector, row.vantage) for row in rows}

    def put_results(self, scan_id: uuid.UUID, vantage: str, results: Iterable[Result]) -> int:
        """Store the verdicts judged from `vantage`'s facts ("" for verdicts that are no zone's),
        replacing earlier ones under the same (host, check, target, vantage); how many."""
        rows = [_result_row(scan_id, vantage, r) for r in results]
        if not rows:
            return 0
        stmt = insert(ResultRow)
        keys = ("scan_id", "host", "check_id", "target", "vantage")
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: stmt.excluded[c] for c in rows[0] if c not in keys})
        with self._of_scan(scan_id) as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def results(self, scan_id: uuid.UUID) -> dict[str, list[Result]]:
        """vantage → its results, by host, check and target."""
        table = ResultRow.__table__
        out: dict[str, list[Result]] = {}
        with self._transaction() as conn:
            rows = conn.execute(select(table).where(table.c.scan_id == scan_id)
                                .order_by(table.c.vantage, table.c.host, table.c.check_id, table.c.target)).mappings()
            for row in rows:
                message = Message(key=row["message_key"], params=row["params"]) if row["message_key"] else None
                out.setdefault(row["vantage"], []).append(Result(
                    check_id=row["check_id"], host=row["host"], target=row["target"], status=row["status"],
                    severity=row["severity"], survey_items=tuple(row["survey_items"]), message=message,
                    evidence=row["evidence"], waiver=row["waiver"]))
        return out
