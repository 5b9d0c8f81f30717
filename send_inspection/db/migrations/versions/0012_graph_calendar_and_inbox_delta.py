"""mail through Graph: calendar events by key, the inbox delta state, and the handled mark on inbox messages

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 15:00:00
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('graph_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('mailbox', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=512), nullable=True),
    sa.Column('change_key', sa.String(length=200), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('start_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('sent_digests', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_sent_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_graph_events')),
    sa.UniqueConstraint('key', name=op.f('uq_graph_events_key'))
    )
    op.create_table('mailbox_deltas',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mailbox', sa.String(length=320), nullable=False),
    sa.Column('folder', sa.String(length=80), nullable=False),
    sa.Column('not_before', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('delta_link', sa.Text(), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('updated_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailbox_deltas')),
    sa.UniqueConstraint('mailbox', 'folder', name=op.f('uq_mailbox_deltas_mailbox'))
    )
    with op.batch_alter_table('inbox_messages') as batch:
        batch.alter_column('ews_item_id', new_column_name='item_id', existing_type=sa.String(length=512),
                           existing_nullable=False)
        batch.add_column(sa.Column('marked_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbox_messages') as batch:
        batch.drop_column('marked_at')
        batch.alter_column('item_id', new_column_name='ews_item_id', existing_type=sa.String(length=512),
                           existing_nullable=False)
    op.drop_table('mailbox_deltas')
    op.drop_table('graph_events')
