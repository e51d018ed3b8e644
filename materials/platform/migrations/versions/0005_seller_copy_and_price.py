"""the seller's own copy and price: ops' copy variants and first comment, each seller's pick
or own words and markup, the variant every forward, click and order was made with

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import materials.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EVENTS = ("forwards", "clicks", "conversions")


def upgrade() -> None:
    op.create_table(
        "copy_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("retired_at", materials.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", materials.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["material_id"], ["materials.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_copy_variants_material_id"), "copy_variants", ["material_id"], unique=False
    )
    op.create_table(
        "seller_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("own_body", sa.Text(), nullable=True),
        sa.Column("markup_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", materials.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["material_id"], ["materials.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["variant_id"], ["copy_variants.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seller_id", "material_id"),
    )
    op.create_index(
        op.f("ix_seller_copies_material_id"), "seller_copies", ["material_id"], unique=False
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("comment", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("markup_allowed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("markup_cap_cents", sa.BigInteger(), server_default="0", nullable=False)
        )
    for table in EVENTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column("own_copy", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_variant_id"), ["variant_id"])
            batch_op.create_foreign_key(
                f"fk_{table}_variant_id",
                "copy_variants",
                ["variant_id"],
                ["id"],
                ondelete="SET NULL",
            )
    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("markup_cents", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.drop_column("markup_cents")
    for table in EVENTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_variant_id", type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_variant_id"))
            batch_op.drop_column("own_copy")
            batch_op.drop_column("variant_id")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_column("markup_cap_cents")
        batch_op.drop_column("markup_allowed")
        batch_op.drop_column("comment")
    op.drop_index(op.f("ix_seller_copies_material_id"), table_name="seller_copies")
    op.drop_table("seller_copies")
    op.drop_index(op.f("ix_copy_variants_material_id"), table_name="copy_variants")
    op.drop_table("copy_variants")
