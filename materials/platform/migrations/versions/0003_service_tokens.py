"""service tokens: WeChat's access_token and jsapi_ticket, shared by every process

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import materials.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_tokens",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("refresh_at", materials.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", materials.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", materials.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("service_tokens")
