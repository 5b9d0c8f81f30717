"""retention: holds, record exports, deletion records

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import send_inspection.db.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('record_exports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('why', sa.String(length=40), nullable=False),
    sa.Column('made_by', sa.String(length=80), nullable=False),
    sa.Column('made_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_record_exports_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_exports'))
    )
    op.create_table('retention_holds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_by', sa.String(length=80), nullable=False),
    sa.Column('placed_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.String(length=80), nullable=True),
    sa.Column('lifted_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_retention_holds_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_holds'))
    )
    op.create_table('deletion_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspection_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('files', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('redacted', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('due_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', send_inspection.db.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('record_export_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_deletion_records_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['record_export_id'], ['record_exports.id'], name=op.f('fk_deletion_records_record_export_id_record_exports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_records')),
    sa.UniqueConstraint('inspection_id', 'kind', name=op.f('uq_deletion_records_inspection_id'))
    )


def downgrade() -> None:
    op.drop_table('deletion_records')
    op.drop_table('retention_holds')
    op.drop_table('record_exports')
