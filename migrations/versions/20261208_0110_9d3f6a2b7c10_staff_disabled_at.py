"""when a staff member was disabled, and when the portal forgot them

Revision ID: 9d3f6a2b7c10
Revises: 5b8e2f0c9a41
Create Date: 2026-12-08 01:10:00

A disabled staff member's password hash, authenticator secret and passkeys were kept, with
their name and e-mail address, for as long as the portal ran. The retention sweep now erases
the sign-in secrets ``portal_retention.disabled_staff`` after disabling, and the name and
address once the audit log no longer names them. Members disabled before this revision count
from now.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "9d3f6a2b7c10"
down_revision: str | None = "5b8e2f0c9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    now = datetime.now(UTC)
    members = sa.table(
        "staff_members",
        sa.column("active", sa.Boolean()),
        sa.column("disabled_at", sa.DateTime(timezone=True)),
    )
    bind.execute(
        members.update()
        .where(members.c.active.is_(False))
        .values(disabled_at=now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now)
    )


def downgrade() -> None:
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.drop_column("forgotten_at")
        batch_op.drop_column("disabled_at")
