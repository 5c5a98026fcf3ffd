"""the other categories a record an erasure keeps by law holds, for the closing e-mail

Revision ID: 7a4e9c2b1d30
Revises: 7ce90a0efbb1
Create Date: 2026-12-07 06:40:00

A source keeps a record whole: an order kept for its payment keeps the address on it too. The
customer is told which other data stays. Records kept before this name none (``NULL``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a4e9c2b1d30"
down_revision: str | None = "7ce90a0efbb1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keep_also", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_actions", schema=None) as batch_op:
        batch_op.drop_column("keep_also")
