"""fieldwork slots and debriefs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:40:00
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fieldwork_slots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('slot_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('start_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('end_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('debriefer', sa.String(length=80), nullable=True),
    sa.Column('focus', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('pending_calendar', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_fieldwork_slots_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fieldwork_slots')),
    sa.UniqueConstraint('inspection_id', 'slot_id', name=op.f('uq_fieldwork_slots_inspection_id'))
    )
    op.create_table('debriefs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('slot_id', sa.String(length=80), nullable=False),
    sa.Column('debriefer', sa.String(length=80), nullable=False),
    sa.Column('interviewees', sa.Text(), nullable=False),
    sa.Column('focus', sa.Text(), nullable=False),
    sa.Column('evidence_used', sa.Text(), nullable=False),
    sa.Column('documents_requested', sa.JSON(), nullable=False),
    sa.Column('unexpected_questions', sa.Text(), nullable=False),
    sa.Column('points_for_others', sa.Text(), nullable=False),
    sa.Column('rating', sa.String(length=10), nullable=False),
    sa.Column('submitted_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_debriefs_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debriefs')),
    sa.UniqueConstraint('inspection_id', 'slot_id', name=op.f('uq_debriefs_inspection_id'))
    )


def downgrade() -> None:
    op.drop_table('debriefs')
    op.drop_table('fieldwork_slots')
