"""ratings: sellers' ratings of products (the 口碑指数), and each material's product key

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import materials.models
from materials.catalogue.products import product_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("product_key", sa.String(length=80), server_default="", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_materials_product_key"), ["product_key"])
    _backfill_product_keys()
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("product_key", sa.String(length=80), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=True),
        sa.Column("performance", sa.Integer(), nullable=False),
        sa.Column("price_acceptance", sa.Integer(), nullable=False),
        sa.Column("design", sa.Integer(), nullable=False),
        sa.Column("packaging", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=400), nullable=False),
        sa.Column("created_at", materials.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", materials.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["material_id"], ["materials.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seller_id", "product_key"),
    )
    op.create_index("ix_ratings_product_key", "ratings", ["product_key"], unique=False)


def _backfill_product_keys() -> None:
    # With the rule as it is today (the default referral parameter); a later change of the
    # rule comes with its own migration.
    conn = op.get_bind()
    materials_table = sa.table(
        "materials",
        sa.column("id", sa.Integer),
        sa.column("product_url", sa.String),
        sa.column("product_key", sa.String),
    )
    rows = conn.execute(sa.select(materials_table.c.id, materials_table.c.product_url)).all()
    for material_id, url in rows:
        conn.execute(
            materials_table.update()
            .where(materials_table.c.id == material_id)
            .values(product_key=product_key(url, material_id))
        )


def downgrade() -> None:
    op.drop_index("ix_ratings_product_key", table_name="ratings")
    op.drop_table("ratings")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_materials_product_key"))
        batch_op.drop_column("product_key")
