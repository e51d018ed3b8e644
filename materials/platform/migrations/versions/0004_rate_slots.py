"""rate slots: calls to WeChat's 小程序码 API paced across every process

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import materials.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_slots",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_at", materials.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("rate_slots")
