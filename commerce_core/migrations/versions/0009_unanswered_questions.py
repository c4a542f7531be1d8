"""questions the shop could not answer

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('unanswered_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unanswered_question'))
    )
    op.create_index(op.f('ix_unanswered_question_created_at'), 'unanswered_question', ['created_at'], unique=False)
    op.create_index(op.f('ix_unanswered_question_kind'), 'unanswered_question', ['kind'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_unanswered_question_kind'), table_name='unanswered_question')
    op.drop_index(op.f('ix_unanswered_question_created_at'), table_name='unanswered_question')
    op.drop_table('unanswered_question')
