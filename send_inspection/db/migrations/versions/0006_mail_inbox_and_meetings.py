"""mail: messages handled from a watched shared inbox, and Outlook meetings sent through EWS

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:30:00
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mailbox', sa.String(length=320), nullable=False),
    sa.Column('internet_message_id', sa.String(length=500), nullable=False),
    sa.Column('ews_item_id', sa.String(length=512), nullable=False),
    sa.Column('received_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('first_seen_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('handled_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages')),
    sa.UniqueConstraint('mailbox', 'internet_message_id', name=op.f('uq_inbox_messages_mailbox'))
    )
    op.create_table('ews_meetings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('mailbox', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('ews_item_id', sa.String(length=512), nullable=True),
    sa.Column('changekey', sa.String(length=200), nullable=True),
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
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ews_meetings')),
    sa.UniqueConstraint('key', name=op.f('uq_ews_meetings_key'))
    )


def downgrade() -> None:
    op.drop_table('ews_meetings')
    op.drop_table('inbox_messages')
