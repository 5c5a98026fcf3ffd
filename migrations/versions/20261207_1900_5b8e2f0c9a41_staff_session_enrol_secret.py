"""the TOTP secret shown while enrolling belongs to one staff session

Revision ID: 5b8e2f0c9a41
Revises: 7a4e9c2b1d30
Create Date: 2026-12-07 19:00:00

A pending secret on the staff member was shown to every browser that signed in with the
password, so someone who once saw the enrolment page held the secret the member confirmed
later. Each session now makes its own; pending secrets on members are dropped (whoever was
enrolling sees a fresh one).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b8e2f0c9a41"
down_revision: str | None = "7a4e9c2b1d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrol_secret_encrypted", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE staff_members SET totp_secret_encrypted = NULL, last_totp_step = NULL"
        " WHERE totp_enrolled_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_column("enrol_secret_encrypted")
