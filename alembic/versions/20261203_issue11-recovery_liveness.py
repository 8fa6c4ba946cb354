"""job liveness (claimed_by) and periodic ticks

Revision ID: c11e0a7b5d21
Revises: a1874028f910
Create Date: 2026-12-03 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.db
from alembic import op

revision: str = "c11e0a7b5d21"
down_revision: str | None = "a1874028f910"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_job_claimed_by"), ["claimed_by"], unique=False)
    op.create_table(
        "periodic_tick",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "tick", name=op.f("pk_periodic_tick")),
    )
    with op.batch_alter_table("periodic_tick", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_periodic_tick_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("periodic_tick", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_periodic_tick_created_at"))
    op.drop_table("periodic_tick")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_claimed_by"))
        batch_op.drop_column("claimed_by")
