"""bot turns as the gateway measured them, and the merchant's search synonyms

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bot_turn',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('understood', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_bot_turn_conversation_id_conversation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_turn'))
    )
    op.create_index(op.f('ix_bot_turn_conversation_id'), 'bot_turn', ['conversation_id'], unique=False)
    op.create_index(op.f('ix_bot_turn_created_at'), 'bot_turn', ['created_at'], unique=False)
    op.create_table('search_synonym',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phrase', sa.String(length=60), nullable=False),
    sa.Column('target_name', sa.String(length=40), nullable=False),
    sa.Column('target_value', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonym')),
    sa.UniqueConstraint('phrase', name=op.f('uq_search_synonym_phrase'))
    )


def downgrade() -> None:
    op.drop_table('search_synonym')
    op.drop_index(op.f('ix_bot_turn_created_at'), table_name='bot_turn')
    op.drop_index(op.f('ix_bot_turn_conversation_id'), table_name='bot_turn')
    op.drop_table('bot_turn')
