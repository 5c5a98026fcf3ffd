"""the keyed hash of a letter writer's e-mail address, to link their request when they sign in

Revision ID: 7ce90a0efbb1
Revises: 3c1d2e4f5a6b
Create Date: 2026-12-07 06:30:00

Requests entered before this have no hash: the hash needs the application's secret key and
the address is stored encrypted, neither of which a migration has. ``flask --app portal
requests index-writers`` computes it for them once after the upgrade (see docs/production.md);
until then they are not linked when their writer signs in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7ce90a0efbb1"
down_revision: str | None = "3c1d2e4f5a6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requester_email_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_data_requests_requester_email_hash"),
            ["requester_email_hash"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_requests_requester_email_hash"))
        batch_op.drop_column("requester_email_hash")
