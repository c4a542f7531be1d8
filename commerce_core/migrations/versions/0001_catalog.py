"""catalog: products, variants, customisation rule sets

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customization_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_kind', sa.String(length=16), nullable=False),
    sa.Column('scope_value', sa.String(length=120), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("scope_kind in ('category', 'sku')", name=op.f('ck_customization_rule_set_scope_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customization_rule_set')),
    sa.UniqueConstraint('scope_kind', 'scope_value', name='uq_rule_set_scope')
    )
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('image_url', sa.String(length=500), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('handle', name=op.f('uq_product_handle'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_category'), ['category'], unique=False)

    op.create_table('variant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price >= 0', name=op.f('ck_variant_price_not_negative')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_variant_stock_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_variant_product_id_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variant')),
    sa.UniqueConstraint('sku', name=op.f('uq_variant_sku'))
    )
    with op.batch_alter_table('variant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variant_product_id'), ['product_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('variant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variant_product_id'))

    op.drop_table('variant')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_category'))

    op.drop_table('product')
    op.drop_table('customization_rule_set')
