"""the action of an erasure on the record above another one at the same source

Revision ID: 9d4b7e1f2a63
Revises: 9d3f6a2b7c10
Create Date: 2026-12-08 01:10:00

A help desk user that staff anonymise by hand waits until the deletions of its tickets (found
through the user's e-mail address) are confirmed. Actions made before this name no parent
(``NULL``): they wait for nothing, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4b7e1f2a63"
down_revision: str | None = "9d3f6a2b7c10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_action_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_request_actions_parent_action_id_request_actions"),
            "request_actions",
            ["parent_action_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("request_actions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_request_actions_parent_action_id_request_actions"), type_="foreignkey"
        )
        batch_op.drop_column("parent_action_id")
