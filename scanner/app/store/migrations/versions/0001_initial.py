"""The first schema: scans, the observations the zone workers send back, and the results.

Written out rather than built from the models, so that it stays what it was when the models
change; tests/test_store.py checks that upgrading to head gives exactly the models' schema.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

WORD = sa.String(32)  # vocabulary words (outcome, status, severity, state), no CHECK: see tables.py


def _scan_fk(table: str) -> tuple[sa.Column, sa.ForeignKeyConstraint]:
    return (sa.Column("scan_id", sa.Uuid(), nullable=False),
            sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=f"fk_{table}_scan_id_scans", ondelete="CASCADE"))


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inventory_digest", sa.Text(), nullable=False),
        sa.Column("state", WORD, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scans"),
    )
    op.create_table(
        "observations",
        *_scan_fk("observations"),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("collector", sa.Text(), nullable=False),
        sa.Column("vantage", sa.Text(), nullable=False),
        sa.Column("outcome", WORD, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("scan_id", "host", "collector", "vantage", name="pk_observations"),
    )
    op.create_table(
        "results",
        *_scan_fk("results"),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("check_id", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("vantage", sa.Text(), nullable=False),
        sa.Column("status", WORD, nullable=False),
        sa.Column("severity", WORD, nullable=False),
        sa.Column("survey_items", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("message_key", sa.Text(), nullable=True),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(), nullable=False),
        sa.Column("waiver", postgresql.JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("scan_id", "host", "check_id", "target", "vantage", name="pk_results"),
    )


def downgrade() -> None:
    op.drop_table("results")
    op.drop_table("observations")
    op.drop_table("scans")
