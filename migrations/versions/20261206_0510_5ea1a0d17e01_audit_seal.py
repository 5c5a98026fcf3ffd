"""audit log entries sealed with the application's key

Revision ID: 5ea1a0d17e01
Revises: 930ace6c0d31
Create Date: 2026-12-06 05:10:00

Entries written before this have no seal; ``flask audit seal`` seals them once (the key is
the application's secret, which migrations do not handle).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5ea1a0d17e01"
down_revision: str | None = "930ace6c0d31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("seal")
