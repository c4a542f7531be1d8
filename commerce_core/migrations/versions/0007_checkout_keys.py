"""idempotency keys of checkouts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkout_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_checkout_key_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_checkout_key_order_id_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_key')),
    sa.UniqueConstraint('customer_id', 'key', name=op.f('uq_checkout_key_customer_id'))
    )
    op.create_index(op.f('ix_checkout_key_order_id'), 'checkout_key', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_checkout_key_order_id'), table_name='checkout_key')
    op.drop_table('checkout_key')
