"""roles of the shop's accounts: owner (back office and console) or agent (console only)

Accounts made before are agents; an owner is made with
``python -m channels create-agent --role owner``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'role', sa.Enum('owner', 'agent', name='agentrole', native_enum=False, length=16),
            server_default='agent', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('role')
