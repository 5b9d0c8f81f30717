"""additional evidence requests from the inspectors

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:20:00
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('asked', sa.Text(), nullable=False),
    sa.Column('inspector', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('head_of_service', sa.String(length=80), nullable=False),
    sa.Column('accountable_lead', sa.String(length=80), nullable=False),
    sa.Column('received_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('due_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_evidence_requests_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_requests')),
    sa.UniqueConstraint('inspection_id', 'number', name=op.f('uq_evidence_requests_inspection_id'))
    )


def downgrade() -> None:
    op.drop_table('evidence_requests')
