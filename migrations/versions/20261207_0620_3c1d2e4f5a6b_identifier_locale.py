"""the language a customer added an identifier in, for staff's decision by e-mail

Revision ID: 3c1d2e4f5a6b
Revises: 5ea1a0d17e01
Create Date: 2026-12-07 06:20:00

Identifiers added before this are answered in Dutch, the portal's first language.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1d2e4f5a6b"
down_revision: str | None = "5ea1a0d17e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_identifiers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=8), server_default="nl", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_identifiers", schema=None) as batch_op:
        batch_op.drop_column("locale")
