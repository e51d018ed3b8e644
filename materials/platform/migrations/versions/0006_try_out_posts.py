"""try-out posts: a material's author, the material it is about, its review; trusted sellers

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import materials.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trusted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("origin_material_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("reviewed_at", materials.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_materials_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_materials_origin_material_id"), ["origin_material_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_materials_review"), ["review"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_materials_author_id_users"),
            "users",
            ["author_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_materials_origin_material_id_materials"),
            "materials",
            ["origin_material_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_materials_origin_material_id_materials"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_materials_author_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_materials_review"))
        batch_op.drop_index(batch_op.f("ix_materials_origin_material_id"))
        batch_op.drop_index(batch_op.f("ix_materials_author_id"))
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("review_reason")
        batch_op.drop_column("review")
        batch_op.drop_column("origin_material_id")
        batch_op.drop_column("author_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("trusted")
