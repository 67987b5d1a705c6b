"""The store's schema as typed SQLAlchemy 2 models; migrations/ creates exactly this (a test
compares the two).

- `scans`: one row per distributed scan.
- `observations`: one collector's facts about one host from one vantage zone. Its primary key is
  (scan, host, collector, vantage), so a second delivery of the same facts cannot add a row.
- `results`: one check's verdict on one host (and target) from one vantage.

Vocabularies (outcome, status, severity, state) are stored as their words in plain VARCHAR with
no CHECK constraint: the pydantic models validate them on the way in and on the way out, and a
word added to a vocabulary then needs no migration (autogenerate would not notice a stale CHECK,
and every insert of the new word would fail mid-scan).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKey, MetaData, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scanner.model import Outcome, Severity, Status

# Constraint names fixed by rule, so the migration and the models name them alike.
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}
WORD_LENGTH = 32  # room for vocabulary words yet to come


class ScanState(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # interrupted, or a zone did not answer in time


def _words(enum: type[StrEnum]) -> Enum:
    """A vocabulary stored as its words (`ok`, not `OK`), without CHECK constraint (see above)."""
    return Enum(enum, native_enum=False, create_constraint=False, length=WORD_LENGTH,
                values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSONB, str: Text}


def _scan_id() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    started: Mapped[datetime]
    ended: Mapped[datetime | None]
    inventory_digest: Mapped[str]  # sha256 of the inventory file: workers refuse tasks of another
    state: Mapped[ScanState] = mapped_column(_words(ScanState))


class ObservationRow(Base):
    __tablename__ = "observations"

    scan_id: Mapped[uuid.UUID] = _scan_id()
    host: Mapped[str] = mapped_column(primary_key=True)
    collector: Mapped[str] = mapped_column(primary_key=True)
    vantage: Mapped[str] = mapped_column(primary_key=True)  # the zone it was seen from
    outcome: Mapped[Outcome] = mapped_column(_words(Outcome))
    detail: Mapped[str]
    started: Mapped[datetime]
    ended: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class ResultRow(Base):
    __tablename__ = "results"

    scan_id: Mapped[uuid.UUID] = _scan_id()
    host: Mapped[str] = mapped_column(primary_key=True)  # "" for organisation-level checks
    check_id: Mapped[str] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(primary_key=True)
    vantage: Mapped[str] = mapped_column(primary_key=True)  # "" when the verdict is not a zone's
    status: Mapped[Status] = mapped_column(_words(Status))
    severity: Mapped[Severity] = mapped_column(_words(Severity))
    survey_items: Mapped[list[str]] = mapped_column(ARRAY(Text))
    message_key: Mapped[str | None]
    params: Mapped[dict[str, Any]]
    evidence: Mapped[dict[str, Any]]
    waiver: Mapped[dict[str, Any] | None]
